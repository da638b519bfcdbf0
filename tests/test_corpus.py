"""Synthetic corpus: grammar (German agreement, number conventions) and examples/make_corpus.py end to end.

Needs the espeak-ng program; without it the corpus tests fail (on purpose) with install help.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import acoustics  # noqa: E402
import default_model  # noqa: E402
import grammar  # noqa: E402
import heldout  # noqa: E402
import make_corpus  # noqa: E402
import phrases  # noqa: E402

SPLITS = make_corpus.SPLITS
SMALL = {"train": 12, "dev": 4, "test": 4, "heldout": 4, "numbers": 4, "nonspeech": 3}
SMALL_ARGS = dict(sizes=SMALL, train_numbers=3, train_nonspeech=2)


@pytest.fixture(scope="module")
def espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail(
            "espeak-ng is required by examples/make_corpus.py and this test. Install it with "
            "`apt-get install espeak-ng` (Debian/Ubuntu) or `brew install espeak-ng` (macOS)."
        )
    return exe


_rows = default_model._rows  # a corpus manifest's rows


def _read(folder: Path) -> dict[str, list[dict]]:
    return {s: _rows(folder / f"{s}.jsonl") for s in SPLITS}


@pytest.fixture(scope="module")
def corpus(espeak: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    cmd = [
        sys.executable,
        str(EXAMPLES / "make_corpus.py"),
        str(out),
        *[x for k, v in SMALL.items() for x in (f"--{k}", str(v))],
        "--train-numbers",
        "3",
        "--train-nonspeech",
        "2",
        "--seed",
        "3",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "utterances" in proc.stdout and "German vocabulary" in proc.stdout
    return out


def test_manifests_and_audio(corpus: Path) -> None:
    rows = _read(corpus)
    assert {s: len(r) for s, r in rows.items()} == {**SMALL, "train": 12 + 3 + 2}
    for split, split_rows in rows.items():
        for row in split_rows:
            speech = not row["category"].startswith("nonspeech")
            assert bool(row["text"].strip()) == bool(row["source"].strip()) == speech, row
            assert not re.search(r"\d", row["source"]), row["source"]  # English is spoken: words only
            path = corpus / row["audio"]
            assert not Path(row["audio"]).is_absolute() and path.is_file()
            info = sf.info(str(path))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            audio, _ = sf.read(str(path), dtype="float32")
            assert 0.5 < audio.size / 16000 < 20
            assert abs(row["duration"] - audio.size / 16000) < 1e-3
            assert float(np.abs(audio).max()) < 1.0
            if speech:
                assert 0.002 < float(np.sqrt(np.mean(audio**2)))
            else:
                assert 0.2 < audio.size / 16000 <= 5.0
            variant = row["voice"].partition("+")[2]
            if split in ("heldout", "numbers"):
                assert variant in make_corpus.HELDOUT_VARIANTS
            elif speech:
                assert variant in make_corpus.TRAIN_VARIANTS
                assert row["voice"].split("+")[0] in make_corpus.TRAIN_VOICES
    cats = {s: [r["category"].split(":")[0] for r in rows[s]] for s in SPLITS}
    assert cats["train"].count("nonspeech") == 2 and cats["train"].count("numbers_alone") == 3
    assert [set(cats[s]) for s in ("heldout", "numbers", "nonspeech")] == [
        {"heldout"}, {"numbers_alone"}, {"nonspeech"}]
    summary = json.loads((corpus / "corpus.json").read_text(encoding="utf-8"))
    assert summary["utterances"] == {**SMALL, "train": 17} and summary["german_vocab"] > 20


def test_easy_subset_is_the_easy_speech_of_train(corpus: Path, tmp_path: Path) -> None:
    """Stage 1's subset: speech with a training variant of the first 16, 140-190 wpm, no room,
    SNR >= 15 dB; each condition alone excludes a row, and the audio paths still resolve."""
    row = {"audio": "audio/train/000000.wav", "text": "Ja.", "source": "Yes.", "voice": "en-us+m3",
           "speed": 160, "pitch": 50, "snr_db": 30.0, "rt60_s": 0.0}
    assert default_model.is_easy(row) and default_model.is_easy({**row, "voice": "en-gb"})
    for change in ({"text": "", "source": ""}, {"voice": "en-us+zac"}, {"speed": 139}, {"speed": 191},
                   {"rt60_s": 0.3}, {"snr_db": 14.9}):
        assert not default_model.is_easy({**row, **change}), change
    n = default_model.easy_subset(corpus / "train.jsonl", tmp_path / "easy.jsonl")
    train = _rows(corpus / "train.jsonl")
    easy = _rows(tmp_path / "easy.jsonl")
    assert n == len(easy) == sum(map(default_model.is_easy, train))
    assert all(Path(r["audio"]).is_file() for r in easy)


def test_transcribe_reads_a_runs_ctc_head(corpus: Path, tmp_path: Path) -> None:
    """`default_model.py transcribe`: the CTC head's transcripts of batches padded together are
    each clip's alone, scored by word and character edit distance."""
    import jax

    from s2t2_jax import model as M
    from s2t2_jax.audio import load_audio
    from s2t2_jax.checkpoint import PARAMS_DIR, load_params
    from s2t2_jax.config import ModelConfig
    from s2t2_jax.data import ctc_text
    from s2t2_jax.features import load_feature_extractor
    from s2t2_jax.train import (
        RUN_CHECKPOINTS,
        Checkpoints,
        TrainConfig,
        Trainer,
        ctc_transcripts,
        prepare_run_dir,
    )

    assert default_model._edits("kitten", "sitting") == 3
    assert default_model._edits("a b c".split(), "a c d e".split()) == 3
    default_model.init(corpus, tmp_path / "init", vocab_size=120, seed=0)
    config = ModelConfig.from_json(tmp_path / "init" / "config.json")
    tc = TrainConfig(ctc_weight=0.5, batch_size=2)
    run = tmp_path / "run"
    prepare_run_dir(run, tmp_path / "init", config, tc)
    params = load_params(tmp_path / "init" / PARAMS_DIR, config)
    state = Trainer(config, tc).init_state(params)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        default_model.transcribe(run, corpus, sets=("test",))
    ckpt = Checkpoints(run / RUN_CHECKPOINTS)
    ckpt.save(1, state)
    ckpt.close()
    out = default_model.transcribe(run, corpus, batch_size=2, sets=("test", "nonspeech"), limit=2)
    assert [r["set"] for r in out] == ["test"]  # non-speech has no transcript to score
    rows = _rows(corpus / "test.jsonl")[:2]
    fe = load_feature_extractor(run / "model")
    encode = jax.jit(lambda p, x: M.encode(p, config, x))
    heard = []
    for r in rows:  # each clip alone, unpadded
        x = fe([load_audio(corpus / r["audio"])], sampling_rate=16000)["input_values"]
        enc, mask = encode(params, x)
        heard.append(" ".join(ctc_transcripts(jax.device_get(state.params["ctc_head"]), enc, mask,
                                               tc.ctc_alphabet)[0].split()))
    refs = [ctc_text(r["source"], tc.ctc_alphabet) for r in rows]
    assert out[0]["examples"] == [{"source": r, "heard": h} for r, h in zip(refs, heard, strict=True)]
    pairs = list(zip(heard, refs, strict=True))
    words = sum(default_model._edits(h.split(), r.split()) for h, r in pairs)
    assert out[0]["wer"] == pytest.approx(words / sum(len(r.split()) for r in refs))
    chars = sum(default_model._edits(h, r) for h, r in pairs)
    assert out[0]["cer"] == pytest.approx(chars / sum(map(len, refs)))


def test_splits_share_no_sentence(corpus: Path) -> None:
    """Speech splits share no sentence (numbers alone repeat by design: there are few of them)."""
    rows = _read(corpus)
    speech = ("train", "dev", "test", "heldout")
    for key in ("source", "text"):
        sets = {s: {r[key] for r in rows[s] if r["category"] not in ("numbers_alone",) and r[key]}
                for s in speech}
        assert all(len(sets[s]) == sum(r["category"] not in ("numbers_alone",) and bool(r[key])
                                       for r in rows[s]) for s in speech)
        for i, a in enumerate(speech):
            for b in speech[i + 1:]:
                assert not sets[a] & sets[b], (a, b)


def test_same_seed_same_corpus(corpus: Path, tmp_path: Path) -> None:
    make_corpus.make_corpus(tmp_path, seed=3, log=False, jobs=2, **SMALL_ARGS)
    a, b = _read(corpus), _read(tmp_path)
    assert a == b
    for split in ("dev", "heldout", "nonspeech"):
        row = a[split][-1]
        assert (corpus / row["audio"]).read_bytes() == (tmp_path / row["audio"]).read_bytes()
    with pytest.raises(FileExistsError):
        make_corpus.make_corpus(tmp_path, seed=3, log=False, **SMALL_ARGS)
    # A sample (some splits, the first N of each) is the same files as in the whole corpus.
    part = tmp_path / "part"
    make_corpus.make_corpus(part, seed=3, log=False, splits=("heldout", "nonspeech"), limit=2, **SMALL_ARGS)
    assert sorted(p.name for p in part.glob("*.jsonl")) == ["heldout.jsonl", "nonspeech.jsonl"]
    for split in ("heldout", "nonspeech"):
        got = _rows(part / f"{split}.jsonl")
        assert got == a[split][:2]
        assert all((part / r["audio"]).read_bytes() == (corpus / r["audio"]).read_bytes() for r in got)


def test_other_seed_other_sentences() -> None:
    a = grammar.generate(30, seed=1)
    assert a == grammar.generate(30, seed=1)
    assert grammar.generate(10, seed=1) == a[:10]
    assert {x[0] for x in a} != {x[0] for x in grammar.generate(30, seed=2)}


def test_phrases_and_heldout_are_functions_and_well_formed() -> None:
    """Fragments have no final punctuation (both sides), sentences end in .?! (both sides); the
    English is spoken (no digits); each English has one German."""
    rng = random.Random(0)
    seen: dict[str, str] = {}
    draws = [phrases.CATEGORIES[c][0] for c in ("fragments", "commands", "compositions")]
    for _ in range(3000):
        en, de = rng.choice(rng.choice(draws + [heldout.TEMPLATES])).sample(rng, "mixed")
        assert seen.setdefault(en, de) == de, (en, seen[en], de)
        assert (en[-1] in ".?!") == (de[-1] in ".?!"), (en, de)
        assert en[0].isupper() and not de[0].islower() and "{" not in en + de and "  " not in en + de
        assert not re.search(r"\d", en), en
    for en, de, cat in phrases.numbers_alone(300, 0):
        assert cat == "numbers_alone" and not re.search(r"\d", en)
        assert default_model.number_value(de) is not None, de


def test_heldout_frames_are_not_training_frames() -> None:
    """No held-out sentence comes out of the training generator (its frames are its own), and
    heldout.generate leaves out what it is told to."""
    train = {en for en, _, _ in grammar.generate(20000, 0, categories=phrases.CATEGORIES)}
    held = heldout.generate(300, 1)
    assert len(held) == 300 and not {en for en, _, _ in held} & train
    again = heldout.generate(300, 1, exclude={held[0][0]})
    assert held[0] not in again and again[0] == held[1]


def test_number_value_accepts_digits_and_german_words() -> None:
    nv = default_model.number_value
    assert nv("Sieben") == nv("7") == nv("sieben.") == ("card", 7)
    assert nv("312") == nv("Dreihundertzwölf") == ("card", 312)
    assert nv("Fünfte") == nv("5.") == nv("fünften") == ("ord", 5)
    assert nv("Einundzwanzigste") == ("ord", 21) and nv("Eins") == nv("ein") == ("card", 1)
    assert nv("Sieben Äpfel") is None and nv("") is None and nv("1,50") is None


def test_acoustics_are_deterministic_and_nonspeech_has_every_kind() -> None:
    clean = np.sin(np.arange(16000) / 10).astype(np.float32) * 0.5
    ranges = acoustics.Ranges(reverb_prob=1.0)
    a = acoustics.draw(np.random.default_rng(1), ranges)
    assert a.rt60_s > 0 and a == acoustics.draw(np.random.default_rng(1), ranges)
    x = acoustics.apply(np.random.default_rng(2), clean, a)
    assert np.array_equal(x, acoustics.apply(np.random.default_rng(2), clean, a))
    assert x.dtype == np.float32 and x.size == 16000 + sum(int(p * 16000) for p in a.pad_s)
    assert abs(20 * np.log10(np.abs(x).max()) - a.peak_db) < 3
    for kind in acoustics.NONSPEECH_KINDS:
        y = acoustics.nonspeech(np.random.default_rng(3), kind, 1.5)
        assert y.shape == (24000,) and 0 < np.abs(y).max() < 1, kind
        assert np.array_equal(y, acoustics.nonspeech(np.random.default_rng(3), kind, 1.5))
    with pytest.raises(ValueError, match="unknown non-speech kind"):
        acoustics.nonspeech(np.random.default_rng(0), "music", 1.0)


def test_grammar_is_a_function_and_well_formed() -> None:
    for style in grammar.STYLES:
        rng = random.Random(0)
        seen: dict[str, str] = {}
        for _ in range(3000):
            en, de, _ = grammar.sample(rng, style)
            assert seen.setdefault(en, de) == de, (en, seen[en], de)
            assert en[-1] in ".?!" and de[-1] in ".?!" and en[0].isupper() and not de[0].islower()
            assert "  " not in en + de and "{" not in en + de and not re.search(r"\d", en)
            if style == "words":
                assert not re.search(r"\d", de), de


def test_numbers() -> None:
    assert grammar.en_cardinal(345) == "three hundred and forty-five"
    assert grammar.en_cardinal(2021, use_and=False) == "two thousand twenty-one"
    assert grammar.de_cardinal(21) == "einundzwanzig"
    assert grammar.de_cardinal(101) == "einhunderteins"
    assert grammar.de_cardinal(1999) == "eintausendneunhundertneunundneunzig"
    assert grammar.de_cardinal(1, final=False) == "ein"
    assert [grammar.de_quantity(n, "mixed") for n in (0, 12, 13, 250)] == ["null", "zwölf", "13", "250"]
    assert grammar.de_quantity(13, "words") == "dreizehn"
    assert grammar.de_year(1985, "words") == "neunzehnhundertfünfundachtzig"
    assert [grammar.de_ordinal_stem(n) + "en" for n in (1, 3, 5, 7, 20, 31)] == [
        "ersten",
        "dritten",
        "fünften",
        "siebten",
        "zwanzigsten",
        "einunddreißigsten",
    ]
    assert grammar.en_ordinal(22) == "twenty-second"


def test_german_noun_phrases() -> None:
    apfel = grammar.N("apple", "Apfel", "m", "Äpfel")
    post = grammar.N("post office", "Post", "f", "Postämter")
    hemd = grammar.N("shirt", "Hemd", "n", "Hemden")
    rot = grammar.Adj("red", "rot")
    assert grammar.de_np(apfel, "indef", "acc") == "einen Apfel"
    assert grammar.de_np(hemd, "indef", "acc", adj=rot) == "ein rotes Hemd"
    assert grammar.de_np(apfel, "def", "acc", adj=rot) == "den roten Apfel"
    assert grammar.de_np(post, "mein", "dat") == "meiner Post"
    assert grammar.de_np(apfel, "none", "nom", adj=rot, count=13) == "13 rote Äpfel"
    assert grammar.de_np(hemd, "none", "dat", count=3, style="words") == "drei Hemden"
    assert grammar.de_np(apfel, "none", "dat", plural=True) == "Äpfeln"
    assert grammar.de_pp("zu", post) == "zur Post" and grammar.de_pp("zu", apfel) == "zum Apfel"
    assert grammar.de_pp("an", hemd) == "am Hemd" and grammar.de_pp("neben", post) == "neben der Post"
    np_ = grammar.NP(apfel, count=1)
    assert (np_.en("q"), np_.de("q_acc")) == ("an apple", "einen Apfel")


def test_templates_render_expected_pairs() -> None:
    t = grammar.Template(
        "How do I get to the {p}?",
        "Wie komme ich {p:zu}?",
        {"p": grammar.pick([grammar.N("station", "Bahnhof", "m", "Bahnhöfe")])},
    )
    assert t.sample(random.Random(0), "mixed") == (
        "How do I get to the station?",
        "Wie komme ich zum Bahnhof?",
    )
    rng = random.Random(0)
    pairs = {grammar.clock_time(rng, "mixed").en(""): None for _ in range(200)}
    assert any("half past" in p for p in pairs)
    price = grammar.Fixed("", "")
    for _ in range(200):
        price = grammar.price(rng, "mixed")
        if price.en("").startswith("one euro "):
            break
    assert re.fullmatch(r"1,\d\d Euro", price.de("")), price


def test_missing_espeak_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(make_corpus.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        make_corpus.make_corpus(tmp_path, **SMALL_ARGS)
