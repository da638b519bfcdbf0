"""Tests `s2t2_jax/data.py`: manifests, bad-line reporting, bucketed batches, resumable order."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from s2t2_jax.config import DecoderConfig, ModelConfig
from s2t2_jax.data import BatchLoader, DataError, default_buckets, load_examples
from s2t2_jax.encoder import min_input_samples
from s2t2_jax.features import FeatureExtractor
from s2t2_jax.manifest import ManifestError, read_manifest
from s2t2_jax.tokenizer import Tokenizer

WORDS = "a b c d e f g h".split()
VOCAB = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, **{w: 4 + i for i, w in enumerate(WORDS)}}
CONFIG = ModelConfig(decoder=DecoderConfig(vocab_size=len(VOCAB), max_target_positions=6))


@pytest.fixture()
def tokenizer() -> Tokenizer:
    return Tokenizer(VOCAB, merges=[])


def _wav(path: Path, n: int, seed: int = 0, sr: int = 16000) -> str:
    x = np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.1
    sf.write(path, x, sr, subtype="FLOAT")
    return path.name


def _corpus(tmp_path: Path, lengths=(800, 1200, 3000, 3100, 5000, 700, 2500)) -> list[tuple[str, str]]:
    rows = []
    for i, n in enumerate(lengths):
        words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(1 + i % 4))
        rows.append((_wav(tmp_path / f"u{i}.wav", n, seed=i), words))
    return rows


def test_manifest_formats(tmp_path, tokenizer):
    (tmp_path / "audio").mkdir()
    name = _wav(tmp_path / "audio" / "x.wav", 1000)
    (tmp_path / "h.tsv").write_text(f"text\taudio\nb a\taudio/{name}\n\n")
    (tmp_path / "n.tsv").write_text(f"audio/{name}\tb a\n")
    (tmp_path / "j.jsonl").write_text(json.dumps({"audio": f"audio/{name}", "text": "b a"}) + "\n")
    for manifest in ("h.tsv", "n.tsv", "j.jsonl"):
        [ex] = load_examples(tmp_path / manifest, tokenizer, CONFIG)
        assert ex.audio == str(tmp_path / "audio" / name)
        assert ex.labels == (VOCAB["b"], VOCAB["a"], 2)  # + </s>
        assert ex.num_samples == 1000
    # Resampled audio is counted at 16 kHz.
    sf.write(tmp_path / "audio" / "y.wav", np.zeros(800, np.float32), 8000)
    (tmp_path / "r.tsv").write_text("audio/y.wav\ta\n")
    assert load_examples(tmp_path / "r.tsv", tokenizer, CONFIG)[0].num_samples == 1600
    with pytest.raises(ManifestError, match=r"\.tsv or \.jsonl"):
        list(read_manifest(_touch(tmp_path / "m.csv")))


def _touch(path: Path) -> Path:
    path.write_text("")
    return path


def test_bad_lines_are_reported_with_line_numbers(tmp_path, tokenizer, caplog):
    good = _wav(tmp_path / "good.wav", 1000)
    (tmp_path / "garbage.wav").write_bytes(b"not audio at all" * 10)
    _wav(tmp_path / "short.wav", 100)
    lines = [
        "audio\ttext",
        f"{good}\ta b",                 # 2 ok
        "missing.wav\ta",               # 3 missing audio
        "garbage.wav\ta",               # 4 unreadable
        f"{good}\tzz yy",               # 5 no known tokens
        f"{good}\ta b c d e f",         # 6 labels too long (6 + </s> > 6 positions)
        f"{good}",                      # 7 one column
        "short.wav\ta",                 # 8 too short
        f"{good}\t",                    # 9 ok: empty text, non-speech (labels </s> alone)
        f"{good}\tc",                   # 10 ok
    ]
    manifest = tmp_path / "m.tsv"
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load_examples(manifest, tokenizer, CONFIG, on_error="raise")
    msg = str(err.value)
    assert "6 bad line(s)" in msg
    for n, what in [(3, "not found"), (4, "cannot read"), (5, "no known tokens"),
                    (6, "positions"), (7, "columns"), (8, "too short")]:
        assert f"m.tsv:{n}: " in msg and what in msg, (n, what)
    assert "m.tsv:2:" not in msg and "m.tsv:9:" not in msg and "m.tsv:10:" not in msg

    with caplog.at_level(logging.INFO, logger="s2t2_jax.data"):
        examples = load_examples(manifest, tokenizer, CONFIG, on_error="skip")
    assert [e.line for e in examples] == [2, 9, 10]
    assert examples[1].labels == (tokenizer.eos_token_id,)
    assert "skipping 6 bad line(s) of 9" in caplog.text and "m.tsv:4:" in caplog.text
    assert "1 of 3 examples have an empty text" in caplog.text

    (tmp_path / "j.jsonl").write_text('{"audio": 1}\nnot json\n')
    with pytest.raises(DataError, match=r"j.jsonl:1: .*\n.*j.jsonl:2: invalid JSON"):
        load_examples(tmp_path / "j.jsonl", tokenizer, CONFIG)


def test_batches_are_bucketed_complete_and_deterministic(tmp_path, tokenizer):
    rows = _corpus(tmp_path)
    (tmp_path / "m.tsv").write_text("".join(f"{a}\t{t}\n" for a, t in rows))
    examples = load_examples(tmp_path / "m.tsv", tokenizer, CONFIG)
    fe = FeatureExtractor(return_attention_mask=True)
    loader = BatchLoader(examples, 2, fe, seed=3, audio_buckets=[1600, 3200, 6400], label_buckets=[4, 6])
    assert len(loader) == 5  # buckets of 3, 3 and 1 examples -> 2 + 2 + 1 batches
    seen, shapes = [], set()
    for _ in range(len(loader)):
        batch = next(loader)
        x, mask, labels = batch["input_values"], batch["attention_mask"], batch["labels"]
        shapes.add((x.shape[1], labels.shape[1]))
        assert x.shape[0] == labels.shape[0] == 2 and x.dtype == np.float32
        assert x.shape[1] in (1600, 3200, 6400) and labels.shape[1] in (4, 6)
        for row in range(2):
            n = int(mask[row].sum())
            if n == 0:  # a padding row
                assert np.all(labels[row] == -100) and np.all(x[row] == 0)
                continue
            [i] = [i for i, e in enumerate(examples) if e.num_samples == n]
            seen.append(i)
            ex = examples[i]
            assert list(labels[row, :len(ex.labels)]) == list(ex.labels)
            assert np.all(labels[row, len(ex.labels):] == -100)
            assert abs(x[row, :n].mean()) < 1e-3 and abs(x[row, :n].std() - 1) < 1e-2  # normalised
            assert np.all(x[row, n:] == 0)
            assert x.shape[1] == min(b for b in (1600, 3200, 6400) if b >= n)  # smallest bucket
    assert sorted(seen) == list(range(len(examples)))  # each example exactly once per epoch
    # One label length per audio bucket (its longest labels' bucket): one program per audio bucket.
    assert len(shapes) == len({s[0] for s in shapes})
    longest = {a: max(len(e.labels) for e, b in zip(examples, loader._bucket, strict=True) if b == a)
               for a in set(loader._bucket)}
    for i, a in enumerate(loader._bucket):  # also a batch of one example with short labels
        assert loader.load_batch([i])["labels"].shape[1] == min(b for b in (4, 6) if b >= longest[a])
    assert any(len(e.labels) <= 4 < longest[a]  # the check above can fail
               for e, a in zip(examples, loader._bucket, strict=True))
    assert loader.state() == {"epoch": 1, "index": 0}
    loader.close()

    again = BatchLoader(examples, 2, fe, seed=3, audio_buckets=[1600, 3200, 6400], label_buckets=[4, 6])
    assert again.epoch_batches(0) == loader.epoch_batches(0)
    assert again.epoch_batches(1) != again.epoch_batches(0)
    other = BatchLoader(examples, 2, fe, seed=4, audio_buckets=[1600, 3200, 6400], label_buckets=[4, 6])
    assert [other.epoch_batches(e) for e in range(4)] != [again.epoch_batches(e) for e in range(4)]
    assert default_buckets([100, 200, 300, 4000], 2, 1600) == [1600, 4800]


def test_default_buckets_minimise_padding():
    """The buckets are the best of every choice of `num` rounded lengths (brute force)."""
    import itertools

    rng = np.random.default_rng(0)
    lengths = np.concatenate([rng.normal(3.0, 0.6, 300), rng.uniform(5, 10, 20)]) * 1600
    lengths = np.maximum(lengths, 100).astype(np.int64)
    rounded = -(-lengths // 1600) * 1600

    def padded(buckets):
        b = np.sort(buckets)
        return int(b[np.searchsorted(b, rounded)].sum())

    values = np.unique(rounded)
    for num in (1, 2, 3, 4):
        best = min(padded([*combo, values[-1]])
                   for combo in itertools.combinations(values[:-1], num - 1))
        got = default_buckets(lengths, num, 1600)
        assert len(got) <= num and got[-1] == values[-1] and padded(got) == best
    assert default_buckets([700, 700], 4, 1600) == [1600]


def test_resume_position_gives_the_same_batches(tmp_path, tokenizer):
    rows = _corpus(tmp_path)
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"audio": a, "text": t}) + "\n" for a, t in rows))
    examples = load_examples(tmp_path / "m.jsonl", tokenizer, CONFIG)
    kw = dict(seed=7, num_buckets=3, prefetch=2)
    straight = BatchLoader(examples, 2, **kw)
    expected = [next(straight) for _ in range(11)]  # crosses two epoch boundaries
    straight.close()

    first = BatchLoader(examples, 2, **kw)
    got = [next(first) for _ in range(5)]
    position = json.loads(json.dumps(first.state()))  # as saved in a checkpoint
    first.close()
    second = BatchLoader(examples, 2, **kw)
    second.restore(position)
    got += [next(second) for _ in range(6)]
    second.close()
    for a, b in zip(expected, got, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert np.array_equal(a[k], b[k]), k


def test_unreadable_audio_at_load_time(tmp_path, tokenizer, caplog):
    rows = _corpus(tmp_path, lengths=(1000, 1100))
    (tmp_path / "m.tsv").write_text("".join(f"{a}\t{t}\n" for a, t in rows))
    examples = load_examples(tmp_path / "m.tsv", tokenizer, CONFIG)
    # The file breaks after the manifest was checked (truncated WAV: the header still reads).
    data = (tmp_path / rows[1][0]).read_bytes()
    (tmp_path / rows[1][0]).write_bytes(data[: len(data) // 2])

    loader = BatchLoader(examples, 2, seed=0, on_error="raise")
    with pytest.raises(DataError, match=r"m.tsv:2: .*truncated"):
        next(loader)
    loader.close()
    loader = BatchLoader(examples, 2, seed=0, on_error="skip")
    with caplog.at_level(logging.WARNING, logger="s2t2_jax.data"):
        batch = next(loader)
    loader.close()
    assert [str(b) for b in loader.bad_lines] and loader.bad_lines[0].line == 2
    assert "m.tsv:2:" in caplog.text
    assert sorted(batch["attention_mask"].sum(1).tolist()) == [0, 1000]
    assert (batch["labels"] != -100).any(1).sum() == 1


def test_eval_batches_carry_their_texts_and_label_limits(tmp_path, tokenizer, caplog):
    rows = _corpus(tmp_path, lengths=(1000, 1100, 1200))
    long_row = (rows[0][0], "a b c d e")  # 5 tokens + </s> = 6: fits the decoder, not the bucket 4
    (tmp_path / "m.tsv").write_text("".join(f"{a}\t{t}\n" for a, t in [*rows, long_row]))
    bad: list = []
    with caplog.at_level(logging.WARNING, logger="s2t2_jax.data"):
        examples = load_examples(tmp_path / "m.tsv", tokenizer, CONFIG, on_error="skip", max_labels=4,
                                 bad_lines=bad)
    assert [e.line for e in examples] == [1, 2, 3]
    assert [b.line for b in bad] == [4] and "label bucket 4" in bad[0].reason
    with pytest.raises(DataError, match=r"m.tsv:4: .*label bucket"):
        load_examples(tmp_path / "m.tsv", tokenizer, CONFIG, max_labels=4)

    (tmp_path / rows[1][0]).write_bytes(b"RIFF")  # unreadable when loaded
    loader = BatchLoader(examples, 2, seed=0, shuffle=False, on_error="skip", label_buckets=[4])
    batches = list(loader.one_epoch(texts=True))
    texts = [t for b in batches for t in b["texts"]]
    assert texts == [rows[0][1], None, rows[2][1], None]  # unreadable row and padding row: None
    for b in batches:
        real = (b["labels"] != -100).any(1)
        assert real.tolist() == [t is not None for t in b["texts"]]
    assert "texts" not in next(iter(loader.one_epoch()))
    assert [b.line for b in loader.bad_lines] == [2]


def test_audio_shorter_than_the_models_minimum_is_bad(tmp_path):
    """The minimum is the model's (its conv stack), not a fixed 400 samples: 720 for the default model."""
    from s2t2_jax.translator import default_model_dir

    folder = default_model_dir()
    config, tokenizer = ModelConfig.from_json(folder), Tokenizer.from_pretrained(folder)
    assert min_input_samples(config.encoder) == 720
    short, enough = _wav(tmp_path / "short.wav", 500), _wav(tmp_path / "enough.wav", 720)
    (tmp_path / "m.tsv").write_text(f"{short}\tguten Morgen\n{enough}\tguten Morgen\n")
    want = r"m.tsv:1: .*too short \(500 samples; the model's minimum is 720,"
    with pytest.raises(DataError, match=want) as err:
        load_examples(tmp_path / "m.tsv", tokenizer, config)
    assert "1 bad line(s)" in str(err.value)
    [ex] = load_examples(tmp_path / "m.tsv", tokenizer, config, on_error="skip")
    assert ex.line == 2 and ex.num_samples == 720
    # The same clip fits a model whose conv stack needs fewer samples (the wav2vec2 default, 400).
    assert len(load_examples(tmp_path / "m.tsv", tokenizer, CONFIG)) == 2
