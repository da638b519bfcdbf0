"""Pure-Python Speech2Text2 tokenizer, compatible with HF ``Speech2Text2Tokenizer`` (4.46.3).

It reads this model family's files: ``vocab.json``, ``merges.txt`` (optional), and
``tokenizer_config.json`` / ``special_tokens_map.json`` naming the special tokens bos, eos, pad and
unk (defaults ``<s>``, ``</s>``, ``<pad>``, ``<unk>``), and behaves as the reference, quirks included:

- ``merges.txt`` is read as ``read().split("\\n")[:-1]``: a file without a final newline loses
  its last merge. Without ``merges.txt`` the tokenizer can only decode; encoding raises.
- Special-token strings in the text are kept whole (longest match first); with
  ``do_lower_case`` the other characters are lower-cased *one at a time* (so ``"Σ"`` is always
  ``"σ"``, never the final ``"ς"``, and ``"<S>"`` becomes the special ``"<s>"``).
- ``__call__`` adds no ``<s>``/``</s>``; batch padding appends the pad id on the right.
- Decoding maps an id outside the vocabulary to the unknown token (it does not fail); with
  ``skip_special_tokens`` those are dropped too. ``"@@ "`` is removed after joining with spaces,
  so a trailing ``"of@@"`` stays as is and ``"of@@ </s>"`` decodes to ``"of</s>"``.
- ``clean_up_tokenization_spaces`` defaults to False; ``split_special_tokens`` is honoured.

Added tokens are not supported: a ValueError naming the file refuses any extra special token
(``additional_special_tokens``, ``sep/cls/mask_token``), a special token missing from ``vocab.json``
(the reference gives it a new id after the vocabulary), an ``added_tokens_decoder`` /
``added_tokens.json`` entry other than a special token at its ``vocab.json`` id, and a ``single_word``
special token. The other AddedToken flags (``lstrip``, ``rstrip``, ``normalized``) cannot change the
output (BPE drops whitespace; special tokens are never lower-cased), so they are ignored.

No torch or transformers import; numpy is used only to accept array inputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from s2t2_jax.bpe import _merge

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"

BPE_TOKEN_MERGES = "</w>"
BPE_TOKEN_VOCAB = "@@ "
_CLEAN_UP = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
             (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]  # HF's clean_up_tokenization, in its order

# The reference's defaults, in its SPECIAL_TOKENS_ATTRIBUTES order (which fixes all_special_tokens).
SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
UNSUPPORTED_SPECIALS = ("sep_token", "cls_token", "mask_token", "additional_special_tokens")
_FLAGS = ("do_lower_case", "clean_up_tokenization_spaces", "split_special_tokens")  # all default to False
# Config keys read here or internal to HF; save_pretrained writes the others back unchanged.
_NOT_KEPT = {
    *SPECIAL_TOKENS, *_FLAGS, "added_tokens_decoder", "tokenizer_class", "name_or_path", "tokenizer_file",
    "vocab_file", "merges_file", "special_tokens_map_file", "tokenizer_config_file",
}


def _read_json(path: Path, default: Any = None) -> Any:
    """The content of a JSON file; ``default`` (when given) if there is no such file."""
    if default is not None and not path.is_file():
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _read_merges(path: Path) -> list[tuple[str, ...]]:
    """Read merges.txt exactly as the reference: drop the last '\\n'-separated element."""
    with open(path, encoding="utf-8") as f:
        return [tuple(line.split()[:2]) for line in f.read().split("\n")[:-1]]


def _content(token: Any, filename: str) -> str | None:
    """A special token's string, from a str or a serialized AddedToken (single_word refused)."""
    if isinstance(token, Mapping):
        if token.get("single_word"):
            raise ValueError(f"{filename}: single_word token {token['content']!r} is not supported")
        return token["content"]
    return token


def _refuse_extra_specials(config: Mapping[str, Any], filename: str) -> None:
    """Raise if ``config`` (read from ``filename``) sets a special token other than bos/eos/pad/unk."""
    for key in UNSUPPORTED_SPECIALS:
        if config.get(key):
            raise ValueError(f"{filename} sets {key}={config[key]!r}: only bos/eos/pad/unk are supported")


def _special_id(attribute: str) -> property:
    """A property: the id of the special token held by ``attribute`` (None when unset)."""

    def get(self: Tokenizer) -> int | None:
        token = getattr(self, attribute)
        return None if token is None else self.encoder[token]

    return property(get)


def _to_py(obj: Any) -> Any:
    """numpy / jax / torch arrays and numpy scalars -> Python ints and (nested) lists."""
    if isinstance(obj, list | tuple):
        return [_to_py(o) for o in obj]
    if hasattr(obj, "__array__"):
        return np.asarray(obj).tolist()
    return obj


class Tokenizer:
    """Speech2Text2 BPE tokenizer (``@@ `` continuation pieces), HF-compatible.

    ``vocab`` is ``{token: id}`` and must hold the special tokens (``None`` = unset); ``merges`` are in
    rank order, as pairs or ``"a b"`` lines (``None``: decode-only). ``clean_up_tokenization_spaces`` is
    ``decode``'s default; with ``split_special_tokens`` special-token strings in text are BPE-encoded.
    """

    def __init__(self, vocab: Mapping[str, int], merges: Iterable[Sequence[str] | str] | None = None, *,
                 bos_token: str | None = "<s>", pad_token: str | None = "<pad>",
                 eos_token: str | None = "</s>", unk_token: str | None = "<unk>", do_lower_case: bool = False,
                 clean_up_tokenization_spaces: bool = False, split_special_tokens: bool = False) -> None:
        self.encoder: dict[str, int] = dict(vocab)
        self.decoder: dict[int, str] = {v: k for k, v in self.encoder.items()}
        self.bpe_ranks: dict[tuple[str, ...], int] | None = None
        if merges is not None:
            pairs = [tuple(m.split()[:2]) if isinstance(m, str) else tuple(m) for m in merges]
            self.bpe_ranks = dict(zip(pairs, range(len(pairs)), strict=True))
        self._cache: dict[str, str] = {}
        self.bos_token, self.eos_token = bos_token, eos_token
        self.unk_token, self.pad_token = unk_token, pad_token
        self.do_lower_case = bool(do_lower_case)
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)
        self.split_special_tokens = bool(split_special_tokens)
        self._config_extra: dict[str, Any] = {}
        missing = [t for t in self.all_special_tokens if t not in self.encoder]
        if missing:
            raise ValueError(f"special tokens {missing} not in {VOCAB_FILE}: added tokens are not supported")
        # As the reference's added-token table, a special token wins over another token with its id.
        self.decoder.update({self.encoder[t]: t for t in self.all_special_tokens})

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides: Any) -> Tokenizer:
        """Load a folder's tokenizer files as the reference; keyword ``overrides`` replace config values."""
        path = Path(path)
        merges = _read_merges(path / MERGES_FILE) if (path / MERGES_FILE).is_file() else None
        config = {**_read_json(path / CONFIG_FILE, {}), **overrides}
        _refuse_extra_specials(config, CONFIG_FILE)
        if "added_tokens_decoder" in config:
            added_file = CONFIG_FILE
            added = {int(i): _content(t, CONFIG_FILE) for i, t in config["added_tokens_decoder"].items()}
        else:  # legacy files, read as the reference does
            special_map = _read_json(path / SPECIAL_TOKENS_MAP_FILE, {})
            _refuse_extra_specials(special_map, SPECIAL_TOKENS_MAP_FILE)
            for key in SPECIAL_TOKENS.keys() & special_map.keys():
                if not overrides.get(key):
                    config[key] = _content(special_map[key], SPECIAL_TOKENS_MAP_FILE)
            added_file = ADDED_TOKENS_FILE
            added = {i: t for t, i in _read_json(path / ADDED_TOKENS_FILE, {}).items()}
        specials = {k: _content(config.get(k, default), CONFIG_FILE) for k, default in SPECIAL_TOKENS.items()}
        flags = {flag: config.get(flag, False) for flag in _FLAGS}
        tok = cls(_read_json(path / VOCAB_FILE), merges, **specials, **flags)
        for index, token in added.items():
            if token not in tok.all_special_tokens or tok.encoder[token] != index:
                raise ValueError(f"{added_file} adds token {token!r} with id {index}: only the special "
                                 f"tokens, at their {VOCAB_FILE} ids, are supported")
        tok._config_extra = {k: v for k, v in config.items() if k not in _NOT_KEPT}
        return tok

    def save_pretrained(self, path: str | Path) -> tuple[str, ...]:
        """Write ``vocab.json``, ``merges.txt`` (if any) and ``tokenizer_config.json`` as the reference."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        files: dict[str, Any] = {VOCAB_FILE: self.encoder}
        if self.bpe_ranks is not None:
            ranked = sorted(self.bpe_ranks, key=self.bpe_ranks.get)
            files[MERGES_FILE] = "".join(" ".join(pair) + "\n" for pair in ranked)
        flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
        files[CONFIG_FILE] = {
            **self._config_extra,
            **{key: getattr(self, key) for key in (*SPECIAL_TOKENS, *_FLAGS)},
            "added_tokens_decoder": {
                str(self.encoder[t]): {"content": t, **flags}
                for t in sorted(self.all_special_tokens, key=self.encoder.get)
            },
            "tokenizer_class": "Speech2Text2Tokenizer",
        }
        for name, content in files.items():
            if not isinstance(content, str):
                content = json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            (path / name).write_text(content, encoding="utf-8")
        return tuple(str(path / name) for name in files)

    @property
    def all_special_tokens(self) -> list[str]:
        """Unique special-token strings (bos, eos, unk, pad)."""
        tokens = (self.bos_token, self.eos_token, self.unk_token, self.pad_token)
        return list(dict.fromkeys(t for t in tokens if t is not None))

    @property
    def all_special_ids(self) -> list[int]:
        """Ids of ``all_special_tokens``."""
        return [self.encoder[t] for t in self.all_special_tokens]

    bos_token_id = _special_id("bos_token")
    eos_token_id = _special_id("eos_token")
    unk_token_id = _special_id("unk_token")
    pad_token_id = _special_id("pad_token")

    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary (distinct ids in ``vocab.json``), as HF."""
        return len(self.decoder)

    def __len__(self) -> int:
        return len(self.encoder)  # as HF: the number of distinct tokens

    def get_vocab(self) -> dict[str, int]:
        """``{token: id}``."""
        return dict(self.encoder)

    def _bpe(self, word: str) -> str:
        """The reference's ``bpe()``: a word's pieces joined by ``"@@ "``."""
        if word in self._cache:
            return self._cache[word]
        symbols = [*word[:-1], word[-1] + BPE_TOKEN_MERGES]
        if len(symbols) == 1:
            return word  # as the reference: a one-character word is returned as it is
        ranks = self.bpe_ranks or {}
        while len(symbols) > 1:
            pairs = set(zip(symbols[:-1], symbols[1:], strict=True))
            bigram = min(pairs, key=lambda pair: ranks.get(pair, float("inf")))
            if bigram not in ranks:
                break
            symbols = _merge(symbols, *bigram)
        self._cache[word] = " ".join(symbols).replace(BPE_TOKEN_MERGES, "").replace(" ", BPE_TOKEN_VOCAB)
        return self._cache[word]

    def _bpe_pieces(self, text: str) -> list[str]:
        """BPE pieces of text that holds no special token."""
        if self.bpe_ranks is None:
            raise ValueError(f"This tokenizer was loaded without a {MERGES_FILE} file, so it can only "
                             f"decode, not encode. Provide {MERGES_FILE} (or `merges=`) to enable encoding.")
        text = text.lower() if self.do_lower_case else text
        return [piece for word in text.split() for piece in self._bpe(word).split(" ")]

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into BPE pieces; special-token strings stay whole."""
        if not isinstance(text, str):
            raise TypeError(f"tokenize expects a str, got {type(text).__name__}")
        specials = self.all_special_tokens
        if self.do_lower_case:  # the reference's pattern: specials kept, every other char lowered alone
            pattern = "(" + "|".join(map(re.escape, specials)) + r")|(.+?)"
            text = re.sub(pattern, lambda m: m.group(1) or m.group(2).lower(), text)
        chunks = [text]
        if specials and not self.split_special_tokens:
            longest_first = sorted(specials, key=len, reverse=True)
            chunks = re.split("(" + "|".join(map(re.escape, longest_first)) + ")", text)
        return [piece for i, chunk in enumerate(chunks) if chunk  # odd chunks are special tokens
                for piece in ([chunk] if i % 2 else self._bpe_pieces(chunk))]

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Token(s) -> id(s); unknown tokens map to the unknown token's id."""
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(t) for t in tokens]

    def _token_to_id(self, token: str) -> int:
        index = self.encoder.get(token, self.unk_token_id)
        if index is None:  # the reference would put None in input_ids here
            raise ValueError(f"token {token!r} is not in the vocabulary and there is no unknown token")
        return index

    def encode(self, text: str) -> list[int]:
        """Ids of ``text`` (no bos/eos added)."""
        return self.convert_tokens_to_ids(self.tokenize(text))  # type: ignore[return-value]

    def __call__(self, text: str | Sequence[str], padding: bool | str = False, max_length: int | None = None,
                 truncation: bool | None = None, return_tensors: str | None = None) -> dict[str, Any]:
        """Encode a text or a batch (list/tuple) into ``{"input_ids", "attention_mask"}``, as HF.

        ``padding``: False/"do_not_pad", True/"longest" or "max_length", with the pad id on the right;
        ``truncation`` cuts to ``max_length`` (None: HF's legacy rule, truncate when ``max_length`` is given
        without padding); ``return_tensors``: None or "np" (int64, a single text gets a batch axis).
        """
        if truncation is None:
            truncation = max_length is not None and padding is False
        padding = {True: "longest", False: "do_not_pad"}.get(padding, padding)  # type: ignore[arg-type]
        if padding not in ("longest", "max_length", "do_not_pad"):
            raise ValueError(f"unknown padding {padding!r}")
        if padding == "max_length" and max_length is None:
            raise ValueError('padding="max_length" needs max_length')
        if padding != "do_not_pad" and self.pad_token_id is None:
            raise ValueError("padding needs a pad token, and this tokenizer has none")
        if return_tensors not in (None, "np"):
            raise ValueError(f"return_tensors must be None or 'np', got {return_tensors!r}")
        single = isinstance(text, str)
        if not single and (not isinstance(text, list | tuple) or not all(isinstance(t, str) for t in text)):
            raise ValueError("text must be a str or a list/tuple of str")
        if not single and not text:
            raise ValueError("empty batch: text is an empty list")  # the reference fails here too
        batch = [self.encode(t) for t in ([text] if single else text)]
        if truncation and max_length is not None:
            batch = [ids[:max_length] for ids in batch]
        target = {"longest": max(map(len, batch)), "max_length": max_length, "do_not_pad": 0}[padding]
        rows = [(ids, max(target - len(ids), 0)) for ids in batch]  # type: ignore[operator]
        out = {"input_ids": [ids + [self.pad_token_id] * n for ids, n in rows],
               "attention_mask": [[1] * len(ids) + [0] * n for ids, n in rows]}
        if return_tensors == "np":
            if len(set(map(len, out["input_ids"]))) > 1:
                raise ValueError("sequences differ in length; use padding=True with 'np'")
            return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}
        return {k: v[0] for k, v in out.items()} if single else out

    def convert_ids_to_tokens(self, ids: int | Sequence[int], skip_special_tokens: bool = False
                              ) -> str | list[str]:
        """Id(s) -> token(s); an id outside the vocabulary becomes the unknown token."""
        ids = _to_py(ids)
        if isinstance(ids, int):
            return self.decoder.get(ids, self.unk_token)  # type: ignore[return-value]
        if any(isinstance(index, list) for index in ids):
            raise ValueError("decode expects a flat sequence of ids; use batch_decode for a batch")
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return [self.decoder.get(i, self.unk_token) for i in map(int, ids) if i not in skip]  # type: ignore[misc]

    @staticmethod
    def convert_tokens_to_string(tokens: Sequence[str]) -> str:
        """Join pieces with spaces and glue ``@@`` continuations."""
        return "".join(" ".join(tokens).split(BPE_TOKEN_VOCAB))

    @staticmethod
    def clean_up_tokenization(text: str) -> str:
        """HF's English clean-up of spaces before punctuation and contractions."""
        for before, after in _CLEAN_UP:
            text = text.replace(before, after)
        return text

    def decode(self, ids: int | Sequence[int] | np.ndarray, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None,
               spaces_between_special_tokens: bool = True) -> str:
        """Ids (list, array or one int) -> text, as HF; ``spaces_between_special_tokens`` has no effect."""
        tokens = self.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens)
        tokens = [tokens] if isinstance(tokens, str) else tokens
        if skip_special_tokens:  # also drops the unknown token that stands for an unknown id
            tokens = [t for t in tokens if t not in self.all_special_tokens]
        text = self.convert_tokens_to_string(tokens)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return self.clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(self, sequences: Iterable[Sequence[int]] | np.ndarray, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None) -> list[str]:
        """Decode each sequence of a batch (nested lists or a 2-D numpy/jax array)."""
        return [self.decode(ids, skip_special_tokens, clean_up_tokenization_spaces)
                for ids in _to_py(sequences)]
