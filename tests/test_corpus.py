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

import grammar  # noqa: E402
import make_corpus  # noqa: E402

SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail(
            "espeak-ng is required by examples/make_corpus.py and this test. Install it with "
            "`apt-get install espeak-ng` (Debian/Ubuntu) or `brew install espeak-ng` (macOS)."
        )
    return exe


def _read(folder: Path) -> dict[str, list[dict]]:
    return {
        s: [json.loads(line) for line in (folder / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()]
        for s in SPLITS
    }


@pytest.fixture(scope="module")
def corpus(espeak: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    cmd = [
        sys.executable,
        str(EXAMPLES / "make_corpus.py"),
        str(out),
        "--train",
        "12",
        "--dev",
        "4",
        "--test",
        "4",
        "--seed",
        "3",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "sentences" in proc.stdout and "German vocabulary" in proc.stdout
    return out


def test_manifests_and_audio(corpus: Path) -> None:
    rows = _read(corpus)
    assert {s: len(r) for s, r in rows.items()} == {"train": 12, "dev": 4, "test": 4}
    for split_rows in rows.values():
        for row in split_rows:
            assert row["text"].strip() and row["source"].strip()
            assert not re.search(r"\d", row["source"]), row["source"]  # English is spoken: words only
            path = corpus / row["audio"]
            assert not Path(row["audio"]).is_absolute() and path.is_file()
            info = sf.info(str(path))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            audio, _ = sf.read(str(path), dtype="float32")
            assert 0.5 < audio.size / 16000 < 20
            assert abs(row["duration"] - audio.size / 16000) < 1e-3
            assert 0.005 < float(np.sqrt(np.mean(audio**2))) and float(np.abs(audio).max()) < 1.0
    summary = json.loads((corpus / "corpus.json").read_text(encoding="utf-8"))
    assert summary["sentences"] == {"train": 12, "dev": 4, "test": 4} and summary["german_vocab"] > 20


def test_splits_share_no_sentence(corpus: Path) -> None:
    rows = _read(corpus)
    for key in ("source", "text"):
        sets = {s: {r[key] for r in rows[s]} for s in SPLITS}
        assert all(len(sets[s]) == len(rows[s]) for s in SPLITS)
        assert (
            not sets["train"] & sets["dev"]
            and not sets["train"] & sets["test"]
            and not sets["dev"] & sets["test"]
        )


def test_same_seed_same_corpus(corpus: Path, tmp_path: Path) -> None:
    make_corpus.make_corpus(tmp_path, train=12, dev=4, test=4, seed=3, log=False)
    a, b = _read(corpus), _read(tmp_path)
    assert a == b
    row = a["dev"][0]
    assert (corpus / row["audio"]).read_bytes() == (tmp_path / row["audio"]).read_bytes()
    with pytest.raises(FileExistsError):
        make_corpus.make_corpus(tmp_path, train=1, dev=1, test=1, seed=3, log=False)


def test_other_seed_other_sentences() -> None:
    a = grammar.generate(30, seed=1)
    assert a == grammar.generate(30, seed=1)
    assert grammar.generate(10, seed=1) == a[:10]
    assert {x[0] for x in a} != {x[0] for x in grammar.generate(30, seed=2)}


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
        make_corpus.make_corpus(tmp_path, train=1, dev=1, test=1)
