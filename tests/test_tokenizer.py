"""Parity tests: s2t2_jax.tokenizer.Tokenizer vs transformers' Speech2Text2Tokenizer (4.46.3).

Every check compares our output with the reference loaded from the same folder.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from s2t2_jax.tokenizer import Tokenizer

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]

# The vocabulary and merges of transformers' own test_tokenization_speech_to_text_2.py
# (merges written without a final newline, so the reference drops "here a").
HF_TEST_VOCAB = "<s> <pad> </s> <unk> here@@ a couple of@@ words for the he@@ re@@ vocab".split()
HF_TEST_MERGES = ["he re</w> 123", "here a 1456"]

SENTENCES = [
    "here is a couple of words for the vocab .",
    "the weather will be sunny tomorrow , with a light wind from the west .",
    "Das Wetter wird morgen sonnig , mit leichtem Wind aus dem Westen .",
    "Größe Straße Übung schön über Äpfel öffnen müssen Grüße",
    "it 's fine , isn 't it ? I 'm sure we 've seen what you 're doing !",
    "emoji time 🙂 🙂👍 and ünïcödé wörds like café naïve",
    "three thousand four hundred and twelve people attended the meeting",
    "Please translate this sentence into German . Bitte übersetzen Sie diesen Satz .",
]


def _merge(symbols: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    out: list[str] = []
    i = 0
    while i < len(symbols):
        if i < len(symbols) - 1 and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


def learn_bpe(sentences: list[str], n_merges: int) -> tuple[list[str], list[tuple[str, str]]]:
    """A tiny BPE learner: returns (vocab tokens in '@@' form, merges in rank order)."""
    freqs = Counter(w for s in sentences for w in s.split())
    words = {w: tuple(w[:-1]) + (w[-1] + "</w>",) for w in freqs}
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: Counter[tuple[str, str]] = Counter()
        for w, f in freqs.items():
            sym = words[w]
            for p in zip(sym[:-1], sym[1:], strict=True):
                pairs[p] += f
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        words = {w: _merge(sym, best) for w, sym in words.items()}
    pieces: set[str] = set()
    for sym in words.values():
        pieces.update(s + "@@" for s in sym[:-1])
        pieces.add(sym[-1].removesuffix("</w>"))
    # Leave some pieces out so that encoding meets unknown pieces too.
    pieces = {p for p in pieces if "z" not in p and "ö" not in p}
    return sorted(pieces), merges


def write_dir(
    path: Path,
    vocab_tokens: list[str],
    merges_text: str | None,
    config: dict | None = None,
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    vocab = dict(zip(vocab_tokens, range(len(vocab_tokens)), strict=True))
    (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
    if merges_text is not None:
        (path / "merges.txt").write_text(merges_text, encoding="utf-8")
    if config is not None:
        (path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hf():
    import transformers  # the reference: a test-only dependency, never skipped

    transformers.logging.set_verbosity_error()
    return transformers.Speech2Text2Tokenizer


@pytest.fixture(scope="module")
def hf_test_dir(tmp_path_factory) -> Path:
    return write_dir(tmp_path_factory.mktemp("hftest"), HF_TEST_VOCAB, "\n".join(HF_TEST_MERGES))


@pytest.fixture(scope="module")
def bpe_dir(tmp_path_factory) -> Path:
    pieces, merges = learn_bpe(SENTENCES, 120)
    lines = [" ".join(m) + " 7" for m in merges]  # a count column, as fairseq writes
    text = "\n".join(lines) + "\n"
    return write_dir(tmp_path_factory.mktemp("bpe"), SPECIALS + pieces, text)


def random_texts(vocab_tokens: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [w for s in SENTENCES for w in s.split()]
    pieces = [t for t in vocab_tokens if t not in SPECIALS]
    odd = ["ΟΔΟΣ", "Σ", "İstanbul", "STRASSE", "quiz", "zzz", "x", "🤖", "ßẞ", "ǅ", "Ω"]
    specials = SPECIALS + ["<S>", "</S>", "<PAD>", "<s", "s>", "<<s>>", "</s></s>"]
    seps = [" ", " ", " ", "  ", "\t", "\n", "", "\u3000", "\xa0", " \n "]
    texts = ["", " ", "<s>", "a", "A", "here", "HERE </s>"]
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            kind = rng.random()
            if kind < 0.4:
                w = rng.choice(words)
            elif kind < 0.6:
                w = "".join(rng.choice(pieces).removesuffix("@@") for _ in range(rng.randint(1, 3)))
            elif kind < 0.75:
                w = rng.choice(odd)
            else:
                w = rng.choice(specials)
            if rng.random() < 0.2:
                w = w.upper() if rng.random() < 0.5 else w.title()
            parts.append(w)
            parts.append(rng.choice(seps))
        texts.append("".join(parts[:-1]))
    return texts


def vocab_tokens_of(path: Path) -> list[str]:
    return list(json.loads((path / "vocab.json").read_text(encoding="utf-8")))


def assert_same_encoding(ours: Tokenizer, ref, texts: list[str]) -> None:
    for text in texts:
        assert ours.tokenize(text) == ref.tokenize(text), repr(text)
        assert ours.encode(text) == ref.encode(text), repr(text)
        assert ours(text) == dict(ref(text)), repr(text)


def test_hf_test_vocabulary(hf, hf_test_dir):
    ours, ref = Tokenizer.from_pretrained(hf_test_dir), hf.from_pretrained(hf_test_dir)
    assert ours.bpe_ranks == ref.bpe_ranks  # last merge line dropped by both
    assert ours.get_vocab() == ref.get_vocab()
    assert (ours.vocab_size, len(ours)) == (ref.vocab_size, len(ref))
    ids = [4, 6, 8, 7, 10]  # from the HF test: "herecouple words ofthe"
    assert ours.decode(ids) == ref.decode(ids)
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.all_special_ids == ref.all_special_ids


@pytest.mark.parametrize("which", ["hf_test_dir", "bpe_dir"])
def test_properties(hf, which, request):
    path = request.getfixturevalue(which)
    ours, ref = Tokenizer.from_pretrained(path), hf.from_pretrained(path)
    for name in [
        "vocab_size",
        "pad_token_id",
        "eos_token_id",
        "bos_token_id",
        "unk_token_id",
        "pad_token",
        "eos_token",
        "bos_token",
        "unk_token",
    ]:
        assert getattr(ours, name) == getattr(ref, name), name
    assert len(ours) == len(ref)
    assert ours.added_tokens_encoder == ref.added_tokens_encoder


@pytest.mark.parametrize("do_lower_case", [False, True])
@pytest.mark.parametrize("which", ["hf_test_dir", "bpe_dir"])
def test_encode_random_texts(hf, which, do_lower_case, request):
    path = request.getfixturevalue(which)
    ours = Tokenizer.from_pretrained(path, do_lower_case=do_lower_case)
    ref = hf.from_pretrained(path, do_lower_case=do_lower_case)
    texts = SENTENCES + [s.upper() for s in SENTENCES] + random_texts(vocab_tokens_of(path), 150, 0)
    assert_same_encoding(ours, ref, texts)


def test_encode_gives_known_pieces(hf, bpe_dir):
    # Guard against a vacuous parity test: the learned vocabulary must cover real words.
    ours, ref = Tokenizer.from_pretrained(bpe_dir), hf.from_pretrained(bpe_dir)
    text = "the weather will be sunny tomorrow , Größe Straße 🙂👍 </s>"
    ids = ours.encode(text)
    assert ids == ref.encode(text)
    assert ids.count(ref.unk_token_id) < len(ids) // 2
    assert ids[-1] == ref.eos_token_id
    assert ours.decode(ids) == ref.decode(ids)


@pytest.mark.parametrize("clean_up", [None, False, True])
@pytest.mark.parametrize("skip_special_tokens", [False, True])
@pytest.mark.parametrize("which", ["hf_test_dir", "bpe_dir"])
def test_decode_random_ids(hf, which, skip_special_tokens, clean_up, request):
    path = request.getfixturevalue(which)
    ours, ref = Tokenizer.from_pretrained(path), hf.from_pretrained(path)
    n = ref.vocab_size
    rng = np.random.default_rng(1)
    kw = {"skip_special_tokens": skip_special_tokens, "clean_up_tokenization_spaces": clean_up}
    seqs = [[], [2], [3], [n], [n + 7, -1, 10**6], [0, 5, 2, 1, 1]]
    seqs += [rng.integers(-2, n + 3, size=rng.integers(1, 25)).tolist() for _ in range(60)]
    for seq in seqs:
        assert ours.decode(seq, **kw) == ref.decode(seq, **kw), seq
    # Texts that hit the clean-up rules (spaces before punctuation, contractions).
    for text in SENTENCES:
        ids = ref.encode(text)
        assert ours.decode(ids, **kw) == ref.decode(ids, **kw), text
    assert ours.batch_decode(seqs, **kw) == ref.batch_decode(seqs, **kw)


def test_decode_array_inputs(hf, bpe_dir):
    import jax.numpy as jnp

    ours, ref = Tokenizer.from_pretrained(bpe_dir), hf.from_pretrained(bpe_dir)
    ids = ref.encode(SENTENCES[1])[:8] + [2, 1, 1]
    batch = np.array([ids, ids[::-1]], dtype=np.int32)
    for kw in [{}, {"skip_special_tokens": True}]:
        assert ours.decode(np.array(ids), **kw) == ref.decode(np.array(ids), **kw)
        assert ours.decode(jnp.asarray(ids), **kw) == ref.decode(np.array(ids), **kw)
        assert ours.decode(tuple(ids), **kw) == ref.decode(list(ids), **kw)
        assert ours.batch_decode(batch, **kw) == ref.batch_decode(batch, **kw)
        assert ours.batch_decode(jnp.asarray(batch), **kw) == ref.batch_decode(batch, **kw)
        assert ours.batch_decode(batch.tolist(), **kw) == ref.batch_decode(batch.tolist(), **kw)
        for single in [5, np.int64(5), 2, np.int32(2), jnp.asarray(2)]:
            assert ours.decode(single, **kw) == ref.decode(np.asarray(single), **kw)
    # A flat list given to batch_decode decodes each id alone, as in the reference.
    assert ours.batch_decode(ids) == ref.batch_decode(ids)


def test_decode_nested_list_rejected(hf, bpe_dir):
    ours, ref = Tokenizer.from_pretrained(bpe_dir), hf.from_pretrained(bpe_dir)
    with pytest.raises(TypeError):  # the reference crashes inside int()
        ref.decode([[4, 5]])
    with pytest.raises(ValueError, match="batch_decode"):
        ours.decode([[4, 5]])


@pytest.mark.parametrize("clean_up", [False, True])
@pytest.mark.parametrize("do_lower_case", [False, True])
def test_config_flags(hf, tmp_path, bpe_dir, clean_up, do_lower_case):
    config = {
        "do_lower_case": do_lower_case,
        "clean_up_tokenization_spaces": clean_up,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "tokenizer_class": "Speech2Text2Tokenizer",
    }
    path = write_dir(
        tmp_path, vocab_tokens_of(bpe_dir), (bpe_dir / "merges.txt").read_text("utf-8"), config
    )
    ours, ref = Tokenizer.from_pretrained(path), hf.from_pretrained(path)
    assert (ours.do_lower_case, ours.clean_up_tokenization_spaces) == (do_lower_case, clean_up)
    assert (ref.do_lower_case, ref.clean_up_tokenization_spaces) == (do_lower_case, clean_up)
    assert_same_encoding(ours, ref, SENTENCES + [s.upper() for s in SENTENCES])
    for text in SENTENCES:
        ids = ref.encode(text)
        assert ours.decode(ids) == ref.decode(ids)


@pytest.mark.parametrize("padding", [False, True, "longest", "do_not_pad", "max_length"])
def test_batch_call_padding(hf, bpe_dir, padding):
    ours, ref = Tokenizer.from_pretrained(bpe_dir), hf.from_pretrained(bpe_dir)
    texts = ["the weather", "", "Größe Straße 🙂 </s> xyz", SENTENCES[1], "a"]
    kw = {"max_length": 12} if padding == "max_length" else {}
    assert ours(texts, padding=padding, **kw) == dict(ref(texts, padding=padding, **kw))
    assert ours(texts[0], padding=padding, **kw) == dict(ref(texts[0], padding=padding, **kw))
    with pytest.raises(ValueError):
        ref([], padding=padding, **kw)
    with pytest.raises(ValueError, match="empty batch"):
        ours([], padding=padding, **kw)


def test_call_truncation_and_numpy(hf, bpe_dir):
    ours, ref = Tokenizer.from_pretrained(bpe_dir), hf.from_pretrained(bpe_dir)
    texts = ["the weather", SENTENCES[1], "a"]
    # HF legacy rule: max_length without padding truncates.
    assert ours(texts, max_length=4) == dict(ref(texts, max_length=4))
    assert ours(texts, padding="max_length", max_length=6, truncation=True) == dict(
        ref(texts, padding="max_length", max_length=6, truncation=True)
    )
    got = ours(texts, padding=True, return_tensors="np")
    want = ref(texts, padding=True, return_tensors="np")
    for key in ("input_ids", "attention_mask"):
        np.testing.assert_array_equal(got[key], want[key])
        assert got[key].shape == want[key].shape
    got, want = ours(texts[1], return_tensors="np"), ref(texts[1], return_tensors="np")
    np.testing.assert_array_equal(got["input_ids"], want["input_ids"])
    assert got["input_ids"].shape == want["input_ids"].shape


def test_decode_only_without_merges(hf, tmp_path, bpe_dir):
    path = write_dir(tmp_path, vocab_tokens_of(bpe_dir), None)
    ours, ref = Tokenizer.from_pretrained(path), hf.from_pretrained(path)
    assert ours.bpe_ranks is None and ref.bpe_ranks is None
    ids = hf.from_pretrained(bpe_dir).encode(SENTENCES[1] + " </s>")
    for kw in [{}, {"skip_special_tokens": True}]:
        assert ours.decode(ids, **kw) == ref.decode(ids, **kw)
    with pytest.raises(ValueError):
        ref.encode("the weather")
    with pytest.raises(ValueError, match="merges.txt"):
        ours.encode("the weather")
    with pytest.raises(ValueError, match="merges.txt"):
        ours(["the weather"])
    # Text made only of special tokens never reaches BPE, in either implementation.
    assert ours.encode("</s>") == ref.encode("</s>")


def test_constructor_matches_from_pretrained(hf, bpe_dir):
    vocab = json.loads((bpe_dir / "vocab.json").read_text("utf-8"))
    lines = (bpe_dir / "merges.txt").read_text("utf-8").split("\n")[:-1]
    ref = hf.from_pretrained(bpe_dir)
    for merges in (lines, [tuple(line.split()[:2]) for line in lines]):
        ours = Tokenizer(vocab, merges)
        assert ours.bpe_ranks == ref.bpe_ranks
        assert_same_encoding(ours, ref, SENTENCES)
    assert Tokenizer(vocab, None).decode([4, 5, 2]) == ref.decode([4, 5, 2])


def _load_both(hf, path):
    return Tokenizer.from_pretrained(path), hf.from_pretrained(path)


@pytest.mark.parametrize("with_merges", [True, False])
@pytest.mark.parametrize("do_lower_case", [False, True])
def test_save_pretrained_round_trip(hf, tmp_path, bpe_dir, with_merges, do_lower_case):
    src = write_dir(
        tmp_path / "src",
        vocab_tokens_of(bpe_dir),
        (bpe_dir / "merges.txt").read_text("utf-8") if with_merges else None,
        {"do_lower_case": do_lower_case, "clean_up_tokenization_spaces": True},
    )
    original = hf.from_pretrained(src)
    Tokenizer.from_pretrained(src).save_pretrained(tmp_path / "ours")
    original.save_pretrained(tmp_path / "ref")
    assert os.path.exists(tmp_path / "ours" / "merges.txt") == with_merges
    texts = SENTENCES + random_texts(vocab_tokens_of(bpe_dir), 40, 3)
    ids = [original.encode(t) for t in texts] if with_merges else [[4, 7, 2, 9, 1]]
    for folder in ("ours", "ref"):
        ours, ref = _load_both(hf, tmp_path / folder)
        for tok in (ours, ref):
            assert tok.get_vocab() == original.get_vocab()
            assert tok.bpe_ranks == original.bpe_ranks
            assert tok.do_lower_case == do_lower_case
            assert tok.clean_up_tokenization_spaces is True
            assert tok.all_special_tokens == original.all_special_tokens
            assert {i: str(t) for i, t in tok.added_tokens_decoder.items()} == {
                i: str(t) for i, t in original.added_tokens_decoder.items()
            }
            assert tok.batch_decode(ids) == original.batch_decode(ids)
            if with_merges:
                for text in texts:
                    assert tok.tokenize(text) == original.tokenize(text), repr(text)
        # Our files and the reference's files describe the same vocabulary and merges.
        for name in ["vocab.json"] + (["merges.txt"] if with_merges else []):
            assert (tmp_path / "ours" / name).read_text("utf-8") == (
                tmp_path / "ref" / name
            ).read_text("utf-8")


def test_added_tokens_from_config(hf, tmp_path, bpe_dir):
    # (The strip flags cannot change the output: HF tests single_word on the unstripped
    # neighbours, and BPE drops whitespace anyway. They are kept here to show no crash.)
    # Special tokens with strip flags, an extra special token and a plain added token that are
    # not in vocab.json, and "<pad>" missing from vocab.json (it gets an id after it).
    vocab = [t for t in vocab_tokens_of(bpe_dir) if t != "<pad>"]
    n = len(vocab)

    def added(content, special, **flags):
        base = {"lstrip": False, "rstrip": False, "single_word": False}
        return {"content": content, "special": special, "normalized": not special, **base, **flags}

    config = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "additional_special_tokens": ["<lang:de>"],
        "added_tokens_decoder": {
            "0": added("<s>", True),
            "1": added("</s>", True, lstrip=True, rstrip=True),
            "2": added("<unk>", True),
            str(n): added("<pad>", True),
            str(n + 1): added("<lang:de>", True, rstrip=True, single_word=True),
            str(n + 2): added("Wind", False, lstrip=True, single_word=True),
        },
        "do_lower_case": True,
    }
    path = write_dir(tmp_path, vocab, (bpe_dir / "merges.txt").read_text("utf-8"), config)
    ours, ref = _load_both(hf, path)
    assert ours.pad_token_id == ref.pad_token_id == n
    texts = [
        "<lang:de> the weather </s>  ",
        "<lang:de>   sunny x  Wind xWind",
        "the <lang:de>  ",
        "the   </s>   weather<lang:de>   sunny",
        "Wind aus Wind, xWind Windy WIND <unk>",
        "<s><lang:de></s>qq",
    ] + random_texts(vocab, 60, 5)
    assert_same_encoding(ours, ref, texts)
    cont = next(i for i, t in enumerate(vocab) if t.endswith("@@"))  # a continuation piece
    seqs = [[0, n + 1, 5, 6, n + 2, 2, n, n + 5, 1, n, n], [n + 2, n + 2, 9], [1, -3]]
    seqs += [[cont, n + 2, cont, n + 1, cont, 1, cont], [n + 1, cont, cont, n + 2]]
    for kw in [{}, {"skip_special_tokens": True}]:
        assert ours.batch_decode(seqs, **kw) == ref.batch_decode(seqs, **kw)

    ours.save_pretrained(tmp_path / "saved")
    ours2, ref2 = _load_both(hf, tmp_path / "saved")
    assert ref2.added_tokens_decoder == ref.added_tokens_decoder
    assert ours2.added_tokens_encoder == ref.added_tokens_encoder
    assert_same_encoding(ours2, ref2, texts)


def test_unk_missing_from_vocab(hf, tmp_path, bpe_dir):
    # "<unk>" becomes an added token after the vocabulary; the reference then maps unknown
    # pieces to None (vocab.json has no "<unk>") and encode() fails; we raise a clear error.
    vocab = [t for t in vocab_tokens_of(bpe_dir) if t != "<unk>"]
    path = write_dir(tmp_path, vocab, (bpe_dir / "merges.txt").read_text("utf-8"))
    ours, ref = _load_both(hf, path)
    assert ours.unk_token_id == ref.unk_token_id == len(vocab)
    assert None in ref.convert_tokens_to_ids(ref.tokenize("qqq the"))
    with pytest.raises(ValueError):
        ref.encode("qqq the")
    with pytest.raises(ValueError, match="unknown token"):
        ours.encode("qqq the")
    assert ours.encode("the <unk>") == ref.encode("the <unk>")
    seq = [4, len(vocab), len(vocab) + 3, 2]
    for kw in [{}, {"skip_special_tokens": True}]:
        assert ours.decode(seq, **kw) == ref.decode(seq, **kw)


def test_legacy_special_tokens_map(hf, tmp_path, bpe_dir):
    # Old checkpoints: no added_tokens_decoder; special_tokens_map.json overrides the config.
    path = write_dir(
        tmp_path,
        vocab_tokens_of(bpe_dir) + ["<eos2>"],
        (bpe_dir / "merges.txt").read_text("utf-8"),
        {"eos_token": "</s>", "do_lower_case": False},
    )
    special_map = {
        "eos_token": "<eos2>",
        "pad_token": {"content": "<pad>", "lstrip": True},
        "additional_special_tokens": ["<new>"],  # not in vocab.json: gets the next id
    }
    (path / "special_tokens_map.json").write_text(json.dumps(special_map), encoding="utf-8")
    ours, ref = _load_both(hf, path)
    assert ours.eos_token_id == ref.eos_token_id
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.get_vocab() == ref.get_vocab()
    assert_same_encoding(ours, ref, ["a <eos2> b </s>", "x   <pad> y", "<pad><pad>", "q<new>"])
    ids = [5, 2, len(ref) - 1, len(ref) - 2, 1, len(ref)]
    assert ours.decode(ids, skip_special_tokens=True) == ref.decode(ids, skip_special_tokens=True)


def test_tokenizer_module_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, s2t2_jax.tokenizer;"
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
