"""Parity tests: s2t2_jax.tokenizer.Tokenizer vs transformers' Speech2Text2Tokenizer (4.46.3).

Every check compares our output with the reference loaded from the same folder; for the files we
refuse (added tokens), the tests check that the reference really gives added tokens there.
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
    # The reference's added tokens are exactly our special tokens, at the same ids.
    assert dict(zip(ours.all_special_tokens, ours.all_special_ids, strict=True)) == ref.added_tokens_encoder


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
        assert ours.batch_decode([ids, ids[:3], []], **kw) == ref.batch_decode([ids, ids[:3], []], **kw)
        assert ours.convert_ids_to_tokens(ids, **kw) == ref.convert_ids_to_tokens(ids, **kw)
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
            assert dict(zip(tok.all_special_ids, tok.all_special_tokens, strict=True)) == {
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


def test_special_token_flags_from_config(hf, tmp_path, bpe_dir):
    # Serialized special tokens with lstrip/rstrip/normalized flags: the flags cannot change the
    # output (HF strips whitespace next to the token, BPE drops it anyway), so they are ignored.
    vocab = vocab_tokens_of(bpe_dir)

    def added(content, **flags):
        base = {"lstrip": False, "rstrip": False, "single_word": False, "normalized": False}
        return {"content": content, "special": True, **base, **flags}

    config = {
        "bos_token": "<s>",
        "eos_token": {"__type": "AddedToken", **added("</s>", rstrip=True)},
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "added_tokens_decoder": {
            "0": added("<s>", normalized=True),
            "1": added("<pad>", lstrip=True, rstrip=True),
            "2": added("</s>", lstrip=True, rstrip=True),
            "3": added("<unk>", special=False),
        },
        "do_lower_case": True,
        "model_max_length": 1024,  # a key we do not model: kept on save
    }
    path = write_dir(tmp_path, vocab, (bpe_dir / "merges.txt").read_text("utf-8"), config)
    ours, ref = _load_both(hf, path)
    texts = [
        "<S> the weather </s>  ",
        "  sunny x  </s>x<pad>  <pad>Wind",
        "the <unk>  ",
        "the   </s>   weather<s>   sunny",
        "<s><pad></s>qq",
    ] + random_texts(vocab, 60, 5)
    assert_same_encoding(ours, ref, texts)
    seqs = [[0, 5, 6, 2, 1, 1], [1, 4, 3, 9, 2], [1, -3]]
    for kw in [{}, {"skip_special_tokens": True}]:
        assert ours.batch_decode(seqs, **kw) == ref.batch_decode(seqs, **kw)

    ours.save_pretrained(tmp_path / "saved")
    assert json.loads((tmp_path / "saved" / "tokenizer_config.json").read_text())["model_max_length"] == 1024
    ours2, ref2 = _load_both(hf, tmp_path / "saved")
    assert {i: str(t) for i, t in ref2.added_tokens_decoder.items()} == {
        i: str(t) for i, t in ref.added_tokens_decoder.items()
    }
    assert ref2.model_max_length == ref.model_max_length == 1024
    assert_same_encoding(ours2, ref2, texts)


def test_split_special_tokens(hf, tmp_path, bpe_dir):
    texts = ["<s> the weather </s>", "<S>x</s>"] + random_texts(vocab_tokens_of(bpe_dir), 40, 7)
    for lower in (False, True):
        ours = Tokenizer.from_pretrained(bpe_dir, split_special_tokens=True, do_lower_case=lower)
        ref = hf.from_pretrained(bpe_dir, split_special_tokens=True, do_lower_case=lower)
        assert ref.tokenize("</s>") != [ref.eos_token]  # the flag matters
        assert_same_encoding(ours, ref, texts)
        ours.save_pretrained(tmp_path / str(lower))
        assert hf.from_pretrained(tmp_path / str(lower)).tokenize("a </s>") == ref.tokenize("a </s>")


def test_token_sharing_an_id_with_a_special_token(hf, tmp_path, bpe_dir):
    # vocab.json maps "dup" to the id of "</s>": the reference's added-token table wins on decode.
    path = write_dir(tmp_path, vocab_tokens_of(bpe_dir), (bpe_dir / "merges.txt").read_text("utf-8"))
    vocab = json.loads((path / "vocab.json").read_text("utf-8"))
    (path / "vocab.json").write_text(json.dumps({**vocab, "dup": 2}), encoding="utf-8")
    ours, ref = _load_both(hf, path)
    assert (ours.vocab_size, len(ours), ours.get_vocab()) == (ref.vocab_size, len(ref), ref.get_vocab())
    assert_same_encoding(ours, ref, ["dup </s> the", "dup"])
    for kw in [{}, {"skip_special_tokens": True}]:
        assert ours.decode([4, 2, 5], **kw) == ref.decode([4, 2, 5], **kw)


def _unsupported(n: int) -> dict[str, tuple[dict, dict | None, dict | None, str]]:
    """Files the reference loads, giving added tokens, that we refuse; ``n`` is the first free id.

    Each case: (tokenizer_config.json, special_tokens_map.json, added_tokens.json, the file our error names).
    """
    config, special_map, added = "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"
    return {
        "config_additional": ({"additional_special_tokens": ["<lang:de>"]}, None, None, config),
        "config_mask": ({"mask_token": "<mask>"}, None, None, config),
        "map_additional": ({}, {"additional_special_tokens": ["<new>"]}, None, special_map),
        "map_sep": ({}, {"sep_token": {"content": "<sep>"}}, None, special_map),
        "map_single_word": ({}, {"eos_token": {"content": "</s>", "single_word": True}}, None, special_map),
        "added_json_new": ({}, None, {"<new>": n}, added),
        "added_json_moved": ({}, None, {"</s>": n}, added),
        "decoder_plain": ({"added_tokens_decoder": {str(n): {"content": "Wind"}}}, None, None, config),
        "decoder_moved": ({"added_tokens_decoder": {str(n): {"content": "</s>"}}}, None, None, config),
        "decoder_single_word": (
            {"added_tokens_decoder": {"2": {"content": "</s>", "single_word": True}}}, None, None, config
        ),
    }


@pytest.mark.parametrize("case", sorted(_unsupported(0)))
def test_added_tokens_are_refused(hf, tmp_path, bpe_dir, case):
    vocab = vocab_tokens_of(bpe_dir)
    config, special_map, added, named = _unsupported(len(vocab))[case]
    path = write_dir(tmp_path, vocab, (bpe_dir / "merges.txt").read_text("utf-8"), config)
    for name, content in [("special_tokens_map.json", special_map), ("added_tokens.json", added)]:
        if content is not None:
            (path / name).write_text(json.dumps(content), encoding="utf-8")
    ref = hf.from_pretrained(path)  # the reference takes these files and adds tokens (or word flags)
    plain = {t: vocab.index(t) for t in SPECIALS}
    assert ref.added_tokens_encoder != plain or any(t.single_word for t in ref.added_tokens_decoder.values())
    with pytest.raises(ValueError, match=f"{named}.* supported"):
        Tokenizer.from_pretrained(path)


def test_special_token_missing_from_vocab_is_refused(hf, tmp_path, bpe_dir):
    # The reference gives "<unk>" / "<pad>" a new id after the vocabulary; we refuse such files.
    for missing in ("<unk>", "<pad>"):
        vocab = [t for t in vocab_tokens_of(bpe_dir) if t != missing]
        path = write_dir(tmp_path / missing, vocab, (bpe_dir / "merges.txt").read_text("utf-8"))
        assert hf.from_pretrained(path).convert_tokens_to_ids(missing) == len(vocab)
        with pytest.raises(ValueError, match=f"'{missing}'.* not in vocab.json"):
            Tokenizer.from_pretrained(path)


def test_no_unknown_token(hf, tmp_path, bpe_dir):
    # unk_token null: the reference maps unknown pieces to None and encode() fails; ours says why.
    path = write_dir(tmp_path, vocab_tokens_of(bpe_dir), (bpe_dir / "merges.txt").read_text("utf-8"),
                     {"unk_token": None})
    ours, ref = _load_both(hf, path)
    assert ours.unk_token is ref.unk_token is None and ours.all_special_tokens == ref.all_special_tokens
    texts = ["the </s>", "<s>", "<unk>", *SENTENCES]
    known = [t for t in texts if None not in ref.convert_tokens_to_ids(ref.tokenize(t))]
    assert len(known) >= 3
    assert_same_encoding(ours, ref, known)
    assert None in ref.convert_tokens_to_ids(ref.tokenize("qqq the"))
    with pytest.raises(ValueError):
        ref.encode("qqq the")
    with pytest.raises(ValueError, match="no unknown token"):
        ours.encode("qqq the")
    seq = [4, 3, 2, ref.vocab_size + 5]
    for tok in (ours, ref):  # an unknown id has no token to decode to, in either implementation
        with pytest.raises(TypeError):
            tok.decode(seq)
    assert ours.decode(seq[:3], skip_special_tokens=True) == ref.decode(seq[:3], skip_special_tokens=True)


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
        "additional_special_tokens": [],
    }
    (path / "special_tokens_map.json").write_text(json.dumps(special_map), encoding="utf-8")
    ours, ref = _load_both(hf, path)
    assert ours.eos_token_id == ref.eos_token_id
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.get_vocab() == ref.get_vocab()
    assert_same_encoding(ours, ref, ["a <eos2> b </s>", "x   <pad> y", "<pad><pad>", "q<eos2>"])
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
