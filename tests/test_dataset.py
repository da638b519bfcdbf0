"""Translating a dataset: streaming with bounded memory, records as they finish, --resume after a
kill, a torn last line or a failed input, and two hosts (processes) sharding plus `merge`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from reference import build_reference, save_reference

from s2t2_jax import batching
from s2t2_jax.batching import Batcher, gather_inputs
from s2t2_jax.checkpoint import convert
from s2t2_jax.cli import main
from s2t2_jax.records import RecordError, RecordFile, read_records
from s2t2_jax.translator import SpeechTranslator

ROOT = Path(__file__).resolve().parents[1]
# 0.2-2 s at three rates: four buckets, so a fresh process compiles between its records.
SECONDS = [0.9, 0.2, 1.7, 1.4, 2.0, 0.6, 1.2, 1.1, 1.9, 0.4, 1.8, 0.3, 0.7, 1.6]
RATES = [16000, 8000, 22050]
BUCKETS = ["--bucket-seconds", "0.5", "1", "1.5", "2"]
ARGS = ["--batch-size", "2", "--max-new-tokens", "4", "--no-progress", *BUCKETS]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny group-norm model with a mask-free feature extractor (batching must not matter)."""
    from transformers import Wav2Vec2FeatureExtractor

    src = tmp_path_factory.mktemp("hf")
    save_reference(build_reference("group_postln_proj", seed=41), src)
    Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(src)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, **{f"w{i}": i for i in range(4, 61)}}
    (src / "vocab.json").write_text(json.dumps(vocab))
    (src / "tokenizer_config.json").write_text("{}")
    return convert(src, tmp_path_factory.mktemp("conv") / "model", progress=False)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """14 audio files (three rates), one that is not audio and one missing, as a manifest."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    lines = ["audio"]
    for i, s in enumerate(SECONDS):
        rate = RATES[i % 3]
        sf.write(folder / f"f{i:02d}.wav", 0.3 * rng.standard_normal(int(s * rate)), rate)
        lines.append(f"f{i:02d}.wav")
        if i == 4:
            (folder / "bad.wav").write_text("not audio")
            lines += ["bad.wav", "missing.wav"]
    (folder / "list.tsv").write_text("\n".join(lines) + "\n")
    return folder / "list.tsv"


@pytest.fixture(scope="module")
def full_run(model_dir, manifest, tmp_path_factory) -> str:
    """The uninterrupted run's output file."""
    out = tmp_path_factory.mktemp("full") / "out.jsonl"
    assert main(["translate", "--model", str(model_dir), str(manifest), "--output", str(out), *ARGS]) == 1
    return out.read_text()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
            "JAX_PLATFORMS": "cpu"}


def test_records_in_input_order_with_index(full_run, manifest):
    recs = [json.loads(line) for line in full_run.splitlines()]
    names = [it.name for it in gather_inputs([str(manifest)])]
    assert [r["index"] for r in recs] == list(range(len(names))) == list(range(len(SECONDS) + 2))
    assert [r["path"] for r in recs] == names
    assert "error" in recs[5] and "missing.wav" in recs[6]["error"]
    assert all(r["translation"] is not None and r["seconds"] > 0 for r in recs if r["index"] not in (5, 6))


def test_killed_run_resumes_to_the_same_file(model_dir, manifest, full_run, tmp_path):
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "s2t2_jax.cli", "translate", "--model", str(model_dir), str(manifest),
           "--output", str(out), *ARGS]
    proc = subprocess.Popen(cmd, env=_env(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 4:  # records appear as inputs finish
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    partial = [json.loads(line) for line in out.read_text().splitlines()]
    assert 4 <= len(partial) < len(SECONDS) + 2
    assert [r["index"] for r in partial] != sorted(r["index"] for r in partial)  # finish order
    code = main(["translate", "--model", str(model_dir), str(manifest), "--output", str(out),
                 "--resume", *ARGS])
    assert code == 1  # bad.wav and missing.wav failed again
    assert out.read_text() == full_run


def test_resume_drops_a_torn_line_and_retries_failures(model_dir, manifest, full_run, tmp_path,
                                                      monkeypatch):
    recs = [json.loads(line) for line in full_run.splitlines()]
    kept = [recs[i] for i in (0, 2, 3, 7, 9)] + [{"index": 8, "path": recs[8]["path"], "error": "flaky"}]
    out = tmp_path / "out.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
                   + json.dumps(recs[10])[:25])  # torn last line
    loaded = []
    load = Batcher.load
    monkeypatch.setattr(Batcher, "load", lambda self, it: loaded.append(it.index) or load(self, it))
    code = main(["translate", "--model", str(model_dir), str(manifest), "--output", str(out),
                 "--resume", *ARGS])
    assert code == 1
    assert out.read_text() == full_run
    done = {0, 2, 3, 7, 9}
    assert sorted(loaded) == [i for i in range(len(recs)) if i not in done]  # failed ones again


def test_resume_refuses_another_runs_file(model_dir, manifest, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"index": 0, "path": "elsewhere.wav", "translation": "x"}) + "\n")
    code = main(["translate", "--model", str(model_dir), str(manifest), "--output", str(out),
                 "--resume", *ARGS])
    assert code == 2
    with pytest.raises(RecordError, match="another run"):
        RecordFile(out, ["a.wav"], resume=True)


def test_read_records_only_forgives_the_last_line(tmp_path):
    f = tmp_path / "r.jsonl"
    f.write_text('{"index": 0, "path": "a"}\n{"index": 1, "pa\n{"index": 2, "path": "c"}\n')
    with pytest.raises(RecordError, match=":2:"):
        read_records(f)
    f.write_text('{"index": 0, "path": "a"}\n{"index": 1, "pa')
    assert read_records(f) == [{"index": 0, "path": "a"}]


def test_stream_keeps_few_items_loaded(model_dir, manifest, monkeypatch):
    """Items are loaded a few batches ahead and dropped once done: never all at once."""
    tr = SpeechTranslator.from_pretrained(model_dir, progress=False)
    batcher = tr.batcher(2, bucket_seconds=tuple(float(s) for s in BUCKETS[1:]), max_new_tokens=4)
    live, peak = set(), [0]
    load = Batcher.load

    def counting_load(self, it):
        load(self, it)
        if it.error is None:
            live.add(it.index)
            peak[0] = max(peak[0], len(live))
        return it

    monkeypatch.setattr(Batcher, "load", counting_load)
    items = gather_inputs([str(manifest)] * 3)
    done = []
    for it in batcher.stream(items, workers=2, prefetch=1):
        live.discard(it.index)
        assert it.audio is None
        done.append(it.index)
    assert sorted(done) == list(range(len(items)))
    assert peak[0] <= (1 + 2) * 2 + 2 < len(items)  # (prefetch + 1) batches loading + one queued
    assert batching.estimated_samples(items[0], 16000) > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SHARD_HOST = """
import sys, jax
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2, process_id=int(sys.argv[2]))
assert jax.process_count() == 2
from s2t2_jax.cli import main
sys.exit(main(sys.argv[3:]))
"""


def test_two_hosts_shard_and_merge_equal_one_run(model_dir, manifest, full_run, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    address = f"127.0.0.1:{_free_port()}"
    procs = [subprocess.Popen([sys.executable, "-c", SHARD_HOST, address, str(i), "translate",
                               "--model", str(model_dir), str(manifest), "--output", str(out), *ARGS],
                              env=_env(), stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode in (0, 1), err
    shards = [tmp_path / f"out-{i:05d}-of-00002.jsonl" for i in range(2)]
    sizes = [len(read_records(s)) for s in shards]
    assert sum(sizes) == len(SECONDS) + 2 and abs(sizes[0] - sizes[1]) <= 1
    merged = tmp_path / "merged.jsonl"
    assert main(["merge", str(merged), *map(str, shards), "--inputs", str(manifest)]) == 1  # 2 failed
    assert merged.read_text() == full_run
    capsys.readouterr()
    assert main(["merge", str(tmp_path / "half.jsonl"), str(shards[0]), "--inputs", str(manifest)]) == 1
    assert f"{sizes[1]} inputs missing from every shard" in capsys.readouterr().err
