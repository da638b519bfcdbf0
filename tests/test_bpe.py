"""BPE learner: files readable by HF Speech2Text2Tokenizer and our Tokenizer, no <unk>, round trip."""

from __future__ import annotations

import json

import pytest

from s2t2_jax.bpe import SPECIAL_TOKENS, learn_bpe, save_bpe
from s2t2_jax.tokenizer import Tokenizer

TRAIN = [
    "Guten Morgen, wie geht es Ihnen?",
    "Mir geht es gut, danke.",
    "Ich hätte gern zwei Brötchen und einen Kaffee.",
    "Der Zug fährt um halb acht von Gleis 14 ab.",
    "Am fünften Mai habe ich Geburtstag.",
    "Es kostet zwölf Euro fünfzig.",
    "Wo ist der Bahnhof?",
    "Biegen Sie an der Ampel links ab.",
    "Gehen Sie geradeaus bis zur Kreuzung.",
    "Das Wetter ist heute schön und sonnig.",
    "Morgen wird es regnen.",
    "Können Sie mir bitte helfen?",
    "Ich möchte ein Zimmer für drei Nächte.",
    "Die Rechnung, bitte!",
    "Wie viel kosten die Äpfel?",
    "Die Äpfel kosten 3,50 Euro pro Kilo.",
    "Im Jahr 2024 waren 1500 Gäste da.",
    "Um Viertel nach neun beginnt der Kurs.",
    "Um 18:40 Uhr landet das Flugzeug.",
    "Öffnen Sie bitte das Fenster.",
    "Schließen Sie die Tür.",
    "Die Straße ist sehr lang.",
    "Ich heiße Anna und komme aus Österreich.",
    "Wir wohnen in München, nicht in Köln.",
    "Gibt es hier in der Nähe eine Apotheke?",
    "Nehmen Sie die zweite Straße rechts.",
    "Es ist kalt und windig.",
    "Der Himmel ist grau, es schneit.",
    "Haben Sie Tomaten?",
    "Ich nehme den roten Pullover.",
    "Die grüne Jacke ist zu groß.",
    "Entschuldigung, sprechen Sie Englisch?",
    "Auf Wiedersehen und vielen Dank!",
    "Bis morgen um zehn Uhr.",
    "Die Antwort ist 42.",
    "Ich bin 35 Jahre alt.",
    "Mein Sohn ist sieben Jahre alt.",
    "Heute ist der dritte Oktober.",
    "Seit dem ersten Januar arbeite ich hier.",
    "Der Bus Nummer 23 fährt zum Flughafen.",
    "Fünf Minuten zu Fuß, gleich um die Ecke.",
    "Könnten Sie das bitte wiederholen?",
    "Ich verstehe das nicht.",
    "Wie spät ist es? Es ist fünf vor zwölf.",
    "Übermorgen fahren wir nach Zürich.",
    "Das Museum öffnet um neun und schließt um 17 Uhr.",
    "Ein Glas Wasser, bitte.",
    "Wo sind die Toiletten?",
    "Ich suche die Post; ist sie weit?",
    "Größe 38 passt mir gut.",
]
HELD_OUT = [
    "Guten Abend, ich hätte gern drei Äpfel.",
    "Der Zug nach München fährt um Viertel vor acht.",
    "Wie viel kostet die grüne Jacke? 48,50 Euro!",
    "Heute ist der fünfte Oktober; es regnet.",
    "Schöne Grüße aus Köln und Zürich.",
    "Straßenbahn",
    "a o ö",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("bpe")
    vocab, merges = learn_bpe(TRAIN, num_merges=300)
    save_bpe(path, vocab, merges)
    return str(path)


def _norm(text: str) -> str:
    return " ".join(text.split())


def test_files(folder: str) -> None:
    vocab = json.load(open(f"{folder}/vocab.json", encoding="utf-8"))
    assert [vocab[t] for t in SPECIAL_TOKENS] == [0, 1, 2, 3]
    assert sorted(vocab.values()) == list(range(len(vocab)))
    raw = open(f"{folder}/merges.txt", encoding="utf-8").read()
    assert raw.endswith("\n") and not raw.startswith("#")
    lines = raw.split("\n")[:-1]
    assert 0 < len(lines) <= 300 and len(set(lines)) == len(lines)
    for line in lines:
        first, second = line.split(" ")
        assert "</w>" not in first
        merged = first + second
        piece = merged[:-4] if merged.endswith("</w>") else merged + "@@"
        assert piece in vocab
    chars = {c for text in TRAIN for c in text if not c.isspace()}
    for c in chars:
        assert c in vocab and c + "@@" in vocab, c


@pytest.mark.parametrize("text", TRAIN + HELD_OUT)
def test_hf_roundtrip_and_parity(folder: str, text: str) -> None:
    from transformers import Speech2Text2Tokenizer

    hf = Speech2Text2Tokenizer.from_pretrained(folder)
    ours = Tokenizer.from_pretrained(folder)
    ids = hf(text)["input_ids"]
    assert 3 not in ids, hf.convert_ids_to_tokens(ids)
    assert ours.encode(text) == ids
    assert _norm(hf.decode(ids)) == _norm(text)
    assert ours.decode(ids) == hf.decode(ids)


def test_unseen_character_is_unk_only_there(folder: str) -> None:
    from transformers import Speech2Text2Tokenizer

    hf = Speech2Text2Tokenizer.from_pretrained(folder)
    ours = Tokenizer.from_pretrained(folder)
    text = "Köln & Zürich 9"  # '&' and '9' are not in TRAIN
    ids = hf(text)["input_ids"]
    assert ours.encode(text) == ids
    assert hf.convert_ids_to_tokens(ids).count("<unk>") == 2 and ids.count(3) == 2
    assert hf.decode(ids, skip_special_tokens=True).split() == ["Köln", "Zürich"]


def test_training_words_compress(folder: str) -> None:
    tok = Tokenizer.from_pretrained(folder)
    # Frequent training words end up as single pieces.
    assert tok.tokenize("Sie") == ["Sie"]
    assert tok.tokenize("die") == ["die"]
    n_chars = sum(len(w) for t in TRAIN for w in t.split())
    n_pieces = sum(len(tok.tokenize(t)) for t in TRAIN)
    assert n_pieces < 0.6 * n_chars


def test_limits_and_determinism() -> None:
    v1, m1 = learn_bpe(TRAIN, num_merges=50)
    v2, m2 = learn_bpe(list(reversed(TRAIN)), num_merges=50)
    assert (v1, m1) == (v2, m2) and len(m1) == 50
    vocab, merges = learn_bpe(TRAIN, vocab_size=len(v1) + 20)
    assert len(vocab) == len(v1) + 20 and merges[:50] == m1
    _, few = learn_bpe(TRAIN, num_merges=10_000, min_frequency=5)
    _, many = learn_bpe(TRAIN, num_merges=10_000, min_frequency=2)
    assert 0 < len(few) < len(many)
    with pytest.raises(ValueError, match="vocab_size"):
        learn_bpe(TRAIN, vocab_size=10)
    with pytest.raises(ValueError):
        learn_bpe(TRAIN)


def test_lower_case(tmp_path) -> None:
    from transformers import Speech2Text2Tokenizer

    vocab, merges = learn_bpe(TRAIN, num_merges=100, do_lower_case=True)
    assert "Ä" not in vocab and "ä" in vocab
    save_bpe(tmp_path, vocab, merges, do_lower_case=True)
    hf = Speech2Text2Tokenizer.from_pretrained(tmp_path)
    ours = Tokenizer.from_pretrained(tmp_path)
    text = "Über Österreich nach Zürich"
    ids = hf(text)["input_ids"]
    assert 3 not in ids and ours.encode(text) == ids
    assert hf.decode(ids) == text.lower()
