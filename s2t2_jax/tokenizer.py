"""Pure-Python Speech2Text2 tokenizer, compatible with HF ``Speech2Text2Tokenizer`` (4.46.3).

The behaviour follows ``transformers`` 4.46.3 ``tokenization_speech_to_text_2.py`` and the slow
tokenizer base classes (``tokenization_utils.py`` / ``tokenization_utils_base.py``) exactly,
quirks included:

- ``merges.txt`` is read as ``read().split("\\n")[:-1]``: a file without a final newline loses
  its last merge.
- Special-token strings in the text are kept whole (a trie split, longest match first); with
  ``do_lower_case`` the other characters are lower-cased *one at a time* (so ``"Σ"`` is always
  ``"σ"``, never the final ``"ς"``, and ``"<S>"`` becomes the special ``"<s>"``).
- ``__call__`` adds no ``<s>``/``</s>``; batch padding appends the pad id on the right.
- Decoding maps an id outside the vocabulary to the unknown token (it does not fail); with
  ``skip_special_tokens`` those are dropped too. ``"@@ "`` is removed after joining with spaces,
  so a trailing ``"of@@"`` stays as is and ``"of@@ </s>"`` decodes to ``"of</s>"``.
- ``clean_up_tokenization_spaces`` defaults to False.

No torch or transformers import; numpy is used only to accept array inputs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"

BPE_TOKEN_MERGES = "</w>"
BPE_TOKEN_VOCAB = "@@ "

# Same order as HF's SPECIAL_TOKENS_ATTRIBUTES; it fixes `all_special_tokens`.
SPECIAL_TOKEN_ATTRIBUTES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
# Config keys this class reads itself (anything else is kept and written back on save).
_KNOWN_CONFIG_KEYS = {
    *SPECIAL_TOKEN_ATTRIBUTES,
    "additional_special_tokens",
    "added_tokens_decoder",
    "do_lower_case",
    "clean_up_tokenization_spaces",
    "split_special_tokens",
    "tokenizer_class",
    "vocab_file",
    "merges_file",
    "tokenizer_config_file",
    "name_or_path",
    "special_tokens_map_file",
    "tokenizer_file",
}


@dataclasses.dataclass(frozen=True)
class AddedToken:
    """A token matched whole (HF ``AddedToken``); ``normalized`` defaults to not special."""

    content: str
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    special: bool = False
    normalized: bool | None = None

    def __post_init__(self) -> None:
        if self.normalized is None:
            object.__setattr__(self, "normalized", not self.special)

    def __str__(self) -> str:
        return self.content

    def to_dict(self) -> dict[str, Any]:
        """The dict HF writes in ``added_tokens_decoder``."""
        return {
            "content": self.content,
            "lstrip": self.lstrip,
            "normalized": self.normalized,
            "rstrip": self.rstrip,
            "single_word": self.single_word,
            "special": self.special,
        }


SpecialToken = str | AddedToken


def _as_added_token(value: Any) -> Any:
    """Turn serialized ``{"__type": "AddedToken", ...}`` dicts (or lists) into AddedToken."""
    if isinstance(value, Mapping) and value.get("__type") == "AddedToken":
        fields = {k: v for k, v in value.items() if k != "__type"}
        return AddedToken(**fields)
    if isinstance(value, list | tuple):
        return [_as_added_token(v) for v in value]
    return value


class _Trie:
    """Splits text on a set of words, longest match first (a port of HF ``Trie``)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.tokens: set[str] = set()

    def add(self, word: str) -> None:
        if not word:
            return
        self.tokens.add(word)
        ref = self.data
        for char in word:
            ref = ref.setdefault(char, {})
        ref[""] = 1

    def split(self, text: str) -> list[str]:
        # Same algorithm as transformers.tokenization_utils.Trie.split, comments trimmed.
        states: dict[int, dict[str, Any]] = {}
        offsets = [0]
        skip = 0
        for current, current_char in enumerate(text):
            if skip and current < skip:
                continue
            to_remove = set()
            reset = False
            for start, trie_pointer in states.items():
                if "" in trie_pointer:
                    # A full match: look ahead for the longest match starting at or before it.
                    for lookstart, looktrie_pointer in states.items():
                        if lookstart > start:
                            break
                        elif lookstart < start:
                            lookahead_index = current + 1
                            end = current + 1
                        else:
                            lookahead_index = current
                            end = current
                        next_char = text[lookahead_index] if lookahead_index < len(text) else None
                        if "" in looktrie_pointer:
                            start = lookstart
                            end = lookahead_index
                            skip = lookahead_index
                        while next_char in looktrie_pointer:
                            looktrie_pointer = looktrie_pointer[next_char]
                            lookahead_index += 1
                            if "" in looktrie_pointer:
                                start = lookstart
                                end = lookahead_index
                                skip = lookahead_index
                            if lookahead_index == len(text):
                                break
                            next_char = text[lookahead_index]
                    offsets.append(start)
                    offsets.append(end)
                    reset = True
                    break
                elif current_char in trie_pointer:
                    states[start] = trie_pointer[current_char]
                else:
                    to_remove.add(start)
            if reset:
                states = {}
            else:
                for start in to_remove:
                    del states[start]
            if current >= skip and current_char in self.data:
                states[current] = self.data[current_char]
        for start, trie_pointer in states.items():
            if "" in trie_pointer:
                offsets.append(start)
                offsets.append(len(text))
                break
        offsets.append(len(text))
        pieces = []
        start = 0
        for end in offsets:
            if start >= end:
                continue
            pieces.append(text[start:end])
            start = end
        return pieces


def _get_pairs(word: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in zip(word[:-1], word[1:], strict=True)}


def _to_py(obj: Any) -> Any:
    """numpy / jax / torch arrays and numpy scalars -> Python ints and (nested) lists."""
    if isinstance(obj, list | tuple):
        return [_to_py(o) for o in obj]
    if isinstance(obj, np.ndarray | np.generic) or hasattr(obj, "__array__"):
        return np.asarray(obj).tolist()
    return obj


def _read_merges(path: str | os.PathLike[str]) -> list[tuple[str, ...]]:
    """Read merges.txt exactly as the reference: drop the last '\\n'-separated element."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")[:-1]
    return [tuple(line.split()[:2]) for line in lines]


class Tokenizer:
    """Speech2Text2 BPE tokenizer (``@@ `` continuation pieces), HF-compatible.

    Args:
        vocab: ``{token: id}`` (the content of ``vocab.json``).
        merges: BPE merges in rank order, as pairs or ``"a b"`` lines; ``None`` = decode-only.
        bos_token, pad_token, eos_token, unk_token, sep_token, cls_token, mask_token: special
            tokens (``None`` = unset). Special tokens missing from ``vocab`` get new ids after it.
        additional_special_tokens: extra special tokens.
        do_lower_case: lower-case non-special text before BPE.
        clean_up_tokenization_spaces: default for ``decode`` (HF 4.46.3 default: False).
        split_special_tokens: if True, special-token strings in text are not kept whole.
        added_tokens_decoder: ``{id: AddedToken}`` as saved in ``tokenizer_config.json``.
    """

    def __init__(
        self,
        vocab: Mapping[str, int],
        merges: Iterable[Sequence[str] | str] | None = None,
        *,
        bos_token: SpecialToken | None = "<s>",
        pad_token: SpecialToken | None = "<pad>",
        eos_token: SpecialToken | None = "</s>",
        unk_token: SpecialToken | None = "<unk>",
        sep_token: SpecialToken | None = None,
        cls_token: SpecialToken | None = None,
        mask_token: SpecialToken | None = None,
        additional_special_tokens: Sequence[SpecialToken] | None = None,
        do_lower_case: bool = False,
        clean_up_tokenization_spaces: bool = False,
        split_special_tokens: bool = False,
        added_tokens_decoder: Mapping[int, AddedToken] | None = None,
    ) -> None:
        self.encoder: dict[str, int] = dict(vocab)
        self.decoder: dict[int, str] = {v: k for k, v in self.encoder.items()}
        if merges is None:
            self.bpe_ranks: dict[tuple[str, ...], int] | None = None
        else:
            pairs = [tuple(m.split()[:2]) if isinstance(m, str) else tuple(m) for m in merges]
            self.bpe_ranks = dict(zip(pairs, range(len(pairs)), strict=True))
        self._cache: dict[str, str] = {}
        self.do_lower_case = bool(do_lower_case)
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)
        self.split_special_tokens = bool(split_special_tokens)
        self._config_extra: dict[str, Any] = {}

        self._special: dict[str, SpecialToken] = {}
        specials = {
            "bos_token": bos_token,
            "eos_token": eos_token,
            "unk_token": unk_token,
            "sep_token": sep_token,
            "pad_token": pad_token,
            "cls_token": cls_token,
            "mask_token": mask_token,
        }
        for key, value in specials.items():
            if value is None:
                continue
            if not isinstance(value, str | AddedToken):
                raise TypeError(f"{key} must be a str or AddedToken, got {type(value).__name__}")
            self._special[key] = value
        self._additional: list[SpecialToken] = list(additional_special_tokens or [])

        self._added: dict[int, AddedToken] = {}
        for index, token in (added_tokens_decoder or {}).items():
            if isinstance(token, str):
                token = AddedToken(token)
            self._added[int(index)] = token
        self._added_encoder = {t.content: i for i, t in self._added.items()}
        self._trie = _Trie()
        self._add_special_tokens()

    # ----------------------------------------------------------------- loading / saving

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], **overrides: Any) -> Tokenizer:
        """Load ``vocab.json``, optional ``merges.txt`` and ``tokenizer_config.json`` from a folder.

        Legacy ``special_tokens_map.json`` / ``added_tokens.json`` are read as HF does when the
        config has no ``added_tokens_decoder``. Keyword ``overrides`` replace config values.
        """
        path = os.fspath(path)
        with open(os.path.join(path, VOCAB_FILE), encoding="utf-8") as f:
            vocab = json.load(f)
        merges_path = os.path.join(path, MERGES_FILE)
        merges = _read_merges(merges_path) if os.path.isfile(merges_path) else None

        config_path = os.path.join(path, CONFIG_FILE)
        config: dict[str, Any] = {}
        if os.path.isfile(config_path):
            with open(config_path, encoding="utf-8") as f:
                config = json.load(f)
        config.update(overrides)

        added: dict[int, AddedToken] = {}
        if "added_tokens_decoder" in config:
            for index, token in config["added_tokens_decoder"].items():
                if isinstance(token, Mapping):
                    token = AddedToken(**{k: v for k, v in token.items() if k != "__type"})
                if not isinstance(token, AddedToken):
                    raise ValueError(f"bad added_tokens_decoder entry {index}: {token!r}")
                added[int(index)] = token
        else:
            special_map_path = os.path.join(path, SPECIAL_TOKENS_MAP_FILE)
            if os.path.isfile(special_map_path):
                with open(special_map_path, encoding="utf-8") as f:
                    special_map = json.load(f)
                for key, value in special_map.items():
                    if overrides.get(key):
                        continue
                    if isinstance(value, Mapping):
                        value = AddedToken(**{**value, "special": True})
                    elif key == "additional_special_tokens" and isinstance(value, list):
                        extra = list(config.get("additional_special_tokens") or [])
                        for token in value:
                            if isinstance(token, Mapping):
                                token = AddedToken(**{**token, "special": True})
                            if token not in extra:
                                extra.append(token)
                        value = extra
                    config[key] = value
            added_path = os.path.join(path, ADDED_TOKENS_FILE)
            if os.path.isfile(added_path):
                names = [
                    str(t)
                    for key in (*SPECIAL_TOKEN_ATTRIBUTES, "additional_special_tokens")
                    if config.get(key) is not None
                    for t in (config[key] if isinstance(config[key], list) else [config[key]])
                ]
                with open(added_path, encoding="utf-8") as f:
                    for content, index in json.load(f).items():
                        special = content in names
                        added[index] = AddedToken(content, special=special, normalized=not special)

        by_content = {t.content: t for t in added.values()}
        kwargs: dict[str, Any] = {}
        for key in SPECIAL_TOKEN_ATTRIBUTES:
            if key in config:
                value = _as_added_token(config[key])
                if added and value is not None:
                    value = by_content.get(str(value), value)
                kwargs[key] = value
        if config.get("additional_special_tokens") is not None:
            kwargs["additional_special_tokens"] = _as_added_token(
                config["additional_special_tokens"]
            )
        tok = cls(
            vocab,
            merges,
            do_lower_case=config.get("do_lower_case", False),
            clean_up_tokenization_spaces=config.get("clean_up_tokenization_spaces", False),
            split_special_tokens=config.get("split_special_tokens", False),
            added_tokens_decoder=added,
            **kwargs,
        )
        tok._config_extra = {k: v for k, v in config.items() if k not in _KNOWN_CONFIG_KEYS}
        return tok

    def save_pretrained(self, path: str | os.PathLike[str]) -> tuple[str, ...]:
        """Write ``vocab.json``, ``merges.txt`` (if any) and ``tokenizer_config.json`` as HF."""
        path = os.fspath(path)
        os.makedirs(path, exist_ok=True)
        vocab_path = os.path.join(path, VOCAB_FILE)
        with open(vocab_path, "w", encoding="utf-8") as f:
            f.write(json.dumps(self.encoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written = [vocab_path]
        if self.bpe_ranks is not None:
            merges_path = os.path.join(path, MERGES_FILE)
            with open(merges_path, "w", encoding="utf-8") as f:
                for pair, _ in sorted(self.bpe_ranks.items(), key=lambda kv: kv[1]):
                    f.write(" ".join(pair) + "\n")
            written.append(merges_path)

        config: dict[str, Any] = dict(self._config_extra)
        for key, value in self._special.items():
            config[key] = str(value)
        if self._additional:
            config["additional_special_tokens"] = [str(t) for t in self._additional]
        config["do_lower_case"] = self.do_lower_case
        config["clean_up_tokenization_spaces"] = self.clean_up_tokenization_spaces
        if self.split_special_tokens:
            config["split_special_tokens"] = True
        config["added_tokens_decoder"] = {
            str(i): t.to_dict() for i, t in sorted(self._added.items())
        }
        config["tokenizer_class"] = "Speech2Text2Tokenizer"
        config_path = os.path.join(path, CONFIG_FILE)
        with open(config_path, "w", encoding="utf-8") as f:
            f.write(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(config_path)
        return tuple(written)

    # ----------------------------------------------------------------- special tokens

    def _all_special_tokens_extended(self) -> list[SpecialToken]:
        out: list[SpecialToken] = []
        seen: set[str] = set()
        for value in [*self._special.values(), *self._additional]:
            if str(value) and str(value) not in seen:
                seen.add(str(value))
                out.append(value)
        return out

    def _add_special_tokens(self) -> None:
        """Register special tokens as added tokens, as HF ``PreTrainedTokenizer.__init__`` does."""
        vocab = self.get_vocab()
        new_index = len(vocab)
        n_new = 0
        for token in self._all_special_tokens_extended():
            if isinstance(token, str):
                if token in self._added_encoder:
                    continue
                token = AddedToken(token, special=True, normalized=False)
            else:
                token = dataclasses.replace(token, special=True)
            if token.content not in vocab:
                index = new_index + n_new
                vocab[token.content] = index
                n_new += 1
            else:
                index = vocab[token.content]
            self._added[index] = token
            self._added_encoder[token.content] = index
        for token in self._added.values():
            self._trie.add(token.content)

    @property
    def all_special_tokens(self) -> list[str]:
        """Unique special-token strings (bos, eos, unk, sep, pad, cls, mask, additional)."""
        return [str(t) for t in self._all_special_tokens_extended()]

    @property
    def all_special_ids(self) -> list[int | None]:
        """Ids of ``all_special_tokens``."""
        return [self._token_to_id(t) for t in self.all_special_tokens]

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        """``{content: id}`` of the added (incl. special) tokens, sorted by id."""
        return {t.content: i for i, t in sorted(self._added.items())}

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        """``{id: AddedToken}`` of the added (incl. special) tokens, sorted by id."""
        return dict(sorted(self._added.items()))

    def _special_id(self, key: str) -> int | None:
        value = self._special.get(key)
        return None if value is None else self._token_to_id(str(value))

    def _special_str(self, key: str) -> str | None:
        value = self._special.get(key)
        return None if value is None else str(value)

    @property
    def bos_token(self) -> str | None:
        return self._special_str("bos_token")

    @property
    def eos_token(self) -> str | None:
        return self._special_str("eos_token")

    @property
    def pad_token(self) -> str | None:
        return self._special_str("pad_token")

    @property
    def unk_token(self) -> str | None:
        return self._special_str("unk_token")

    @property
    def bos_token_id(self) -> int | None:
        return self._special_id("bos_token")

    @property
    def eos_token_id(self) -> int | None:
        return self._special_id("eos_token")

    @property
    def pad_token_id(self) -> int | None:
        return self._special_id("pad_token")

    @property
    def unk_token_id(self) -> int | None:
        return self._special_id("unk_token")

    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary (distinct ids in ``vocab.json``), as HF."""
        return len(self.decoder)

    def __len__(self) -> int:
        return len(self.get_vocab())

    def get_vocab(self) -> dict[str, int]:
        """The vocabulary with the added tokens."""
        return dict(self.encoder, **self.added_tokens_encoder)

    # ----------------------------------------------------------------- encoding

    def _bpe(self, token: str) -> str:
        word = tuple(token[:-1]) + (token[-1] + BPE_TOKEN_MERGES,)
        if token in self._cache:
            return self._cache[token]
        pairs = _get_pairs(word)
        if not pairs:
            return token
        assert self.bpe_ranks is not None
        ranks = self.bpe_ranks
        while True:
            bigram = min(pairs, key=lambda pair: ranks.get(pair, float("inf")))
            if bigram not in ranks:
                break
            first, second = bigram
            new_word: list[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = _get_pairs(word)
        out = " ".join(word)
        if out == "\n  " + BPE_TOKEN_MERGES:
            out = "\n" + BPE_TOKEN_MERGES
        if out.endswith(BPE_TOKEN_MERGES):
            out = out.replace(BPE_TOKEN_MERGES, "")
        out = out.replace(" ", BPE_TOKEN_VOCAB)
        self._cache[token] = out
        return out

    def _tokenize_chunk(self, text: str) -> list[str]:
        """BPE-tokenize text that holds no added token."""
        if self.bpe_ranks is None:
            raise ValueError(
                "This tokenizer was loaded without a merges.txt file, so it can only decode, not "
                "encode. Provide merges.txt (or `merges=`) to enable encoding."
            )
        if self.do_lower_case:
            text = text.lower()
        pieces: list[str] = []
        for word in text.split():
            if word:
                pieces.extend(self._bpe(word).split(" "))
        return pieces

    def _lower_outside_specials(self, text: str) -> str:
        # HF: re.sub(r"(specials...)|(.+?)", ...): specials kept, every other char lowered alone.
        keep = [re.escape(s) for s in self.all_special_tokens]
        keep += [
            re.escape(t.content) for t in self._added.values() if not t.special and t.normalized
        ]
        pattern = r"(" + r"|".join(keep) + r")|" + r"(.+?)"
        return re.sub(pattern, lambda m: m.groups()[0] or m.groups()[1].lower(), text)

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into BPE pieces; special-token strings stay whole."""
        if not isinstance(text, str):
            raise TypeError(f"tokenize expects a str, got {type(text).__name__}")
        if self.do_lower_case:
            text = self._lower_outside_specials(text)
        if self.split_special_tokens:
            no_split: Mapping[str, int] = {}
            chunks = [text]
        else:
            no_split = self._added_encoder
            chunks = self._trie.split(text)
        for i, chunk in enumerate(chunks):
            if chunk not in no_split:
                continue
            tok = self._added[self._added_encoder[chunk]]
            left = chunks[i - 1] if i > 0 else None
            right = chunks[i + 1] if i < len(chunks) - 1 else None
            if tok.rstrip and right:
                chunks[i + 1] = right.lstrip()
            if tok.lstrip and left:
                chunks[i - 1] = left.rstrip()
            if tok.single_word and left and left[-1] != " ":
                chunks[i - 1] += chunk
                chunks[i] = ""
            elif tok.single_word and right and right[0] != " ":
                chunks[i + 1] = chunk + chunks[i + 1]
                chunks[i] = ""
        tokens: list[str] = []
        for chunk in chunks:
            if not chunk:
                continue
            if chunk in no_split:
                tokens.append(chunk)
            else:
                tokens.extend(self._tokenize_chunk(chunk))
        return tokens

    def _token_to_id(self, token: str) -> int | None:
        if token in self._added_encoder:
            return self._added_encoder[token]
        unk = self.unk_token
        return self.encoder.get(token, self.encoder.get(unk) if unk is not None else None)

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Token(s) -> id(s); unknown tokens map to the unknown token's id."""
        if isinstance(tokens, str):
            return self._checked_id(tokens)
        return [self._checked_id(t) for t in tokens]

    def _checked_id(self, token: str) -> int:
        index = self._token_to_id(token)
        if index is None:
            # HF would put None in input_ids here; fail clearly instead.
            raise ValueError(
                f"token {token!r} is not in the vocabulary and the unknown token "
                f"{self.unk_token!r} has no id in vocab.json"
            )
        return index

    def encode(self, text: str) -> list[int]:
        """Ids of ``text`` (no bos/eos added)."""
        return self.convert_tokens_to_ids(self.tokenize(text))  # type: ignore[return-value]

    def __call__(
        self,
        text: str | Sequence[str],
        padding: bool | str = False,
        max_length: int | None = None,
        truncation: bool | None = None,
        return_tensors: str | None = None,
    ) -> dict[str, Any]:
        """Encode one text or a batch, like HF ``tokenizer(text, padding=...)``.

        Args:
            text: a string, or a list/tuple of strings (a batch).
            padding: False/"do_not_pad", True/"longest" (pad a batch to its longest), or
                "max_length" (pad to ``max_length``). Padding is on the right with the pad id.
            max_length: target length for ``padding="max_length"`` and for truncation.
            truncation: cut each sequence to ``max_length``. ``None`` means HF's legacy rule:
                truncate when ``max_length`` is given and ``padding`` is False.
            return_tensors: None (lists) or "np" (int64 arrays; a single text gets a batch axis).

        Returns:
            ``{"input_ids": ..., "attention_mask": ...}``.
        """
        if truncation is None:
            truncation = max_length is not None and padding is False
        if padding is True:
            padding = "longest"
        elif padding is False:
            padding = "do_not_pad"
        if padding not in ("longest", "max_length", "do_not_pad"):
            raise ValueError(f"unknown padding {padding!r}")
        if padding == "max_length" and max_length is None:
            raise ValueError('padding="max_length" needs max_length')
        if padding != "do_not_pad" and self.pad_token_id is None:
            raise ValueError("padding needs a pad token, and this tokenizer has none")
        if return_tensors not in (None, "np"):
            raise ValueError(f"return_tensors must be None or 'np', got {return_tensors!r}")

        def encode(t: str) -> list[int]:
            ids = self.encode(t)
            return ids[:max_length] if truncation and max_length is not None else ids

        if isinstance(text, str):
            ids = encode(text)
            target = max_length if padding == "max_length" else len(ids)
            out = self._pad(ids, target)
            if return_tensors == "np":
                return {k: np.asarray([v], dtype=np.int64) for k, v in out.items()}
            return out
        if not isinstance(text, list | tuple) or not all(isinstance(t, str) for t in text):
            raise ValueError("text must be a str or a list/tuple of str")
        if not text:
            raise ValueError("empty batch: text is an empty list")  # the reference fails here too
        batch = [encode(t) for t in text]
        if padding == "longest":
            target = max((len(ids) for ids in batch), default=0)
        elif padding == "max_length":
            target = max_length  # type: ignore[assignment]
        else:
            target = 0
        rows = [self._pad(ids, target) for ids in batch]
        out = {
            "input_ids": [r["input_ids"] for r in rows],
            "attention_mask": [r["attention_mask"] for r in rows],
        }
        if return_tensors == "np":
            lengths = {len(r) for r in out["input_ids"]}
            if len(lengths) > 1:
                raise ValueError("sequences differ in length; use padding=True with 'np'")
            return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}
        return out

    def _pad(self, ids: list[int], length: int) -> dict[str, list[int]]:
        n_pad = max(length - len(ids), 0)
        return {
            "input_ids": ids + [self.pad_token_id] * n_pad,  # type: ignore[list-item]
            "attention_mask": [1] * len(ids) + [0] * n_pad,
        }

    # ----------------------------------------------------------------- decoding

    def _id_to_token(self, index: int) -> str:
        if index in self._added:
            return self._added[index].content
        unk = self.unk_token
        return self.decoder.get(index, unk)  # type: ignore[arg-type]

    def convert_ids_to_tokens(
        self, ids: int | Sequence[int], skip_special_tokens: bool = False
    ) -> str | list[str]:
        """Id(s) -> token(s); an id outside the vocabulary becomes the unknown token."""
        ids = _to_py(ids)
        if isinstance(ids, int):
            return self._id_to_token(ids)
        special_ids = set(self.all_special_ids)
        tokens = []
        for index in ids:
            if isinstance(index, list):
                raise ValueError(
                    "decode expects a flat sequence of ids; use batch_decode for a batch"
                )
            index = int(index)
            if skip_special_tokens and index in special_ids:
                continue
            tokens.append(self._id_to_token(index))
        return tokens

    @staticmethod
    def convert_tokens_to_string(tokens: Sequence[str]) -> str:
        """Join pieces with spaces and glue ``@@`` continuations."""
        return "".join(" ".join(tokens).split(BPE_TOKEN_VOCAB))

    @staticmethod
    def clean_up_tokenization(text: str) -> str:
        """HF's English clean-up of spaces before punctuation and contractions."""
        return (
            text.replace(" .", ".")
            .replace(" ?", "?")
            .replace(" !", "!")
            .replace(" ,", ",")
            .replace(" ' ", "'")
            .replace(" n't", "n't")
            .replace(" 'm", "'m")
            .replace(" 's", "'s")
            .replace(" 've", "'ve")
            .replace(" 're", "'re")
        )

    def decode(
        self,
        ids: int | Sequence[int] | np.ndarray,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        spaces_between_special_tokens: bool = True,
    ) -> str:
        """Ids (list, numpy/jax array or a single int) -> text, as HF ``decode``."""
        tokens = self.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens)
        if isinstance(tokens, str):
            tokens = [tokens]
        specials = set(self.all_special_tokens)
        legacy_added = (set(self._added_encoder) - specials) | {
            str(t) for t in self._additional if (self._token_to_id(str(t)) or 0) >= self.vocab_size
        }
        sub_texts: list[str] = []
        current: list[str] = []
        for token in tokens:
            if skip_special_tokens and token in specials:
                continue
            if token in legacy_added:
                if current:
                    string = self.convert_tokens_to_string(current)
                    if string:
                        sub_texts.append(string)
                    current = []
                sub_texts.append(token)
            else:
                current.append(token)
        if current:
            sub_texts.append(self.convert_tokens_to_string(current))
        text = (" " if spaces_between_special_tokens else "").join(sub_texts)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return self.clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(
        self,
        sequences: Iterable[Sequence[int]] | np.ndarray,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> list[str]:
        """Decode each sequence of a batch (nested lists or a 2-D numpy/jax array)."""
        return [
            self.decode(
                seq,
                skip_special_tokens=skip_special_tokens,
                clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            )
            for seq in _to_py(sequences)
        ]
