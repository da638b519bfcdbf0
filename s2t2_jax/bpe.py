"""Learn a Speech2Text2 BPE vocabulary (``vocab.json`` + ``merges.txt``) from text.

The files are those that ``transformers`` 4.46.3 ``Speech2Text2Tokenizer`` (and
:class:`s2t2_jax.tokenizer.Tokenizer`) read:

- Words are the whitespace-separated pieces of a text (``str.split()``), lower-cased first when
  ``do_lower_case``. A word is a sequence of characters, the last one marked ``</w>``.
- ``merges.txt``: one merge ``"a b"`` per line in rank order (the learning order), ``</w>`` on the
  second symbol where it ends a word, every line (the last one included) ending with ``"\\n"``:
  the reader drops whatever follows the last newline (``read().split("\\n")[:-1]``).
- ``vocab.json``: ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, then every character seen in
  training in both forms (``"x@@"`` inside a word, ``"x"`` at its end or alone), then the product
  of each merge: a word-final symbol ``"ab</w>"`` is stored as ``"ab"``, any other as ``"ab@@"``.
  So every symbol the tokenizer's ``bpe()`` can produce from seen characters has an id, and
  encoding never gives ``<unk>`` for them.
- Ties between equally frequent pairs go to the smallest pair (string order), so learning is
  deterministic.
"""

from __future__ import annotations

import heapq
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")
END = "</w>"
CONT = "@@"

__all__ = ["SPECIAL_TOKENS", "learn_bpe", "save_bpe", "symbol_to_piece"]


def symbol_to_piece(symbol: str) -> str:
    """BPE symbol -> vocabulary piece: ``"ab</w>"`` -> ``"ab"``, ``"ab"`` -> ``"ab@@"``."""
    return symbol[: -len(END)] if symbol.endswith(END) else symbol + CONT


def _word_symbols(word: str) -> list[str]:
    """A word as the tokenizer's ``bpe()`` starts it: characters, ``</w>`` on the last."""
    return [*word[:-1], word[-1] + END]


def _pair_counts(symbols: list[str]) -> Counter[tuple[str, str]]:
    return Counter(zip(symbols[:-1], symbols[1:], strict=True))


def _merge(symbols: list[str], first: str, second: str) -> list[str]:
    """Merge every ``first second`` left to right, without overlaps (as the tokenizer does)."""
    out: list[str] = []
    i = 0
    n = len(symbols)
    while i < n:
        if i < n - 1 and symbols[i] == first and symbols[i + 1] == second:
            out.append(first + second)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def learn_bpe(
    texts: Iterable[str],
    num_merges: int | None = None,
    *,
    vocab_size: int | None = None,
    min_frequency: int = 2,
    do_lower_case: bool = False,
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Learn BPE merges from ``texts`` and build the matching Speech2Text2 vocabulary.

    Args:
        texts: training sentences.
        num_merges: stop after this many merges (None: no limit).
        vocab_size: stop once the vocabulary (specials and both forms of every character
            included) has this many entries (None: no limit). At least one of the two limits must be
            given; with both, the first reached stops learning.
        min_frequency: a pair must occur at least this often (counted over word occurrences).
        do_lower_case: lower-case texts first (save with the same flag).

    Returns:
        ``(vocab, merges)``: ``{piece: id}`` and the merges in rank order.
    """
    if num_merges is None and vocab_size is None:
        raise ValueError("give num_merges or vocab_size")
    if num_merges is not None and num_merges < 0:
        raise ValueError(f"num_merges must be >= 0, got {num_merges}")
    if min_frequency < 1:
        raise ValueError(f"min_frequency must be >= 1, got {min_frequency}")

    word_freq: Counter[str] = Counter()
    for text in texts:
        if do_lower_case:
            text = text.lower()
        word_freq.update(text.split())

    vocab: dict[str, int] = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}

    def add(piece: str) -> None:
        if piece not in vocab:
            vocab[piece] = len(vocab)

    chars = sorted({c for word in word_freq for c in word})
    for c in chars:
        add(c)
    for c in chars:
        add(c + CONT)
    if vocab_size is not None and vocab_size < len(vocab):
        raise ValueError(
            f"vocab_size={vocab_size} is below the {len(vocab)} entries the special tokens and the "
            f"{len(chars)} characters (two forms each) need"
        )

    # Words sorted so that the data structures (and hence tie-breaking) do not depend on input order.
    words = [_word_symbols(w) for w in sorted(word_freq)]
    freqs = [word_freq[w] for w in sorted(word_freq)]
    counts: defaultdict[tuple[str, str], int] = defaultdict(int)
    where: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for index, (symbols, freq) in enumerate(zip(words, freqs, strict=True)):
        for pair, n in _pair_counts(symbols).items():
            counts[pair] += n * freq
            where[pair].add(index)
    # Max-heap on count with lazy invalidation; ties -> smallest pair.
    heap = [(-n, pair) for pair, n in counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[str, str]] = []
    merged: set[tuple[str, str]] = set()
    while heap:
        if num_merges is not None and len(merges) >= num_merges:
            break
        if vocab_size is not None and len(vocab) >= vocab_size:
            break
        neg, pair = heapq.heappop(heap)
        if counts.get(pair, 0) != -neg:
            continue  # stale entry
        if -neg < min_frequency:
            break
        first, second = pair
        # A pair merged before can come back when its product is built another way ("ab c" vs
        # "a bc"); it keeps its first rank (no duplicate line) and is applied again.
        if pair not in merged:
            merged.add(pair)
            merges.append(pair)
            add(symbol_to_piece(first + second))
        changed: set[tuple[str, str]] = set()
        for index in where.pop(pair, ()):
            old = words[index]
            new = _merge(old, first, second)
            if len(new) == len(old):
                continue
            freq = freqs[index]
            for p, n in _pair_counts(old).items():
                counts[p] -= n * freq
                changed.add(p)
            for p, n in _pair_counts(new).items():
                counts[p] += n * freq
                where[p].add(index)
                changed.add(p)
            words[index] = new
        counts.pop(pair, None)
        for p in changed:
            n = counts.get(p, 0)
            if n > 0:
                heapq.heappush(heap, (-n, p))
            else:
                counts.pop(p, None)
    return vocab, merges


def save_bpe(
    folder: str | os.PathLike[str],
    vocab: dict[str, int],
    merges: Iterable[tuple[str, str]],
    do_lower_case: bool = False,
) -> tuple[str, str, str]:
    """Write ``vocab.json``, ``merges.txt`` and ``tokenizer_config.json`` into ``folder``.

    The layout is what ``Speech2Text2Tokenizer.save_pretrained`` writes (minus
    ``special_tokens_map.json``, which the config makes redundant). Returns the three paths.
    """
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    for i, tok in enumerate(SPECIAL_TOKENS):
        if vocab.get(tok) != i:
            raise ValueError(f"vocab must map {tok!r} to {i}, got {vocab.get(tok)!r}")
    vocab_path = os.path.join(folder, "vocab.json")
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    merges_path = os.path.join(folder, "merges.txt")
    with open(merges_path, "w", encoding="utf-8", newline="\n") as f:
        for first, second in merges:
            f.write(f"{first} {second}\n")
    config = {
        "added_tokens_decoder": {
            str(i): {
                "content": tok,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for i, tok in enumerate(SPECIAL_TOKENS)
        },
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "do_lower_case": bool(do_lower_case),
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "tokenizer_class": "Speech2Text2Tokenizer",
        "unk_token": "<unk>",
    }
    config_path = os.path.join(folder, "tokenizer_config.json")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return vocab_path, merges_path, config_path
