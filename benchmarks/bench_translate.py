"""Benchmark: translating a manifest of 64 utterances (1-20 s) with ours vs the reference.

One random model with the real checkpoint's shapes (see `bench_generate.build`) is converted into a
model folder with a tokenizer and a preprocessor config. 64 recordings of mixed lengths (speech
from ../shared/audio, cut and tiled to 1-20 s) are written as WAV files with a manifest.

- reference: soundfile -> `Speech2Text2Processor` (padding to the longest in the batch) ->
  batched `generate()` (greedy), batches of `--batch-size` in manifest order -> `batch_decode`.
- ours: `s2t2-jax translate`'s pipeline (`SpeechTranslator.batcher(...).translate`): sorted by
  length, padded to bucket lengths, one compiled program per bucket.

Both generate exactly `--new-tokens` tokens per row (EOS banned until then), so both do the same
decoder work. Prints wall times, the ratio, our compiled-program count vs buckets used, and how
much audio each side encodes, padding included, and the process's peak RSS after our runs (the
reference model is resident then too). `--query-block 0` runs our encoder with full attention
scores at every length (`encoder.QUERY_BLOCK` otherwise); `--dtype bfloat16` computes ours in
bfloat16 (the reference stays float32).

    python -m benchmarks.bench_translate [--quick] [--threads 2] [--query-block N] [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"


def make_inputs(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """`n` 16 kHz WAV files of 1-20 s cut from the shared speech recordings."""
    import soundfile as sf

    from s2t2_jax.audio import load_audio

    speech = np.concatenate([load_audio(p) for p in sorted(SHARED_AUDIO.glob("*.wav"))])
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        length = int(rng.uniform(1.0, 20.0) * 16000)
        start = int(rng.integers(0, len(speech)))
        clip = np.resize(np.roll(speech, -start), length)
        path = folder / f"utt{i:03d}.wav"
        sf.write(path, clip, 16000, subtype="PCM_16")
        paths.append(path)
    return paths


def make_model_folder(folder: Path, ref, config, params) -> None:
    from transformers import Wav2Vec2FeatureExtractor

    from s2t2_jax.checkpoint import write_converted

    src = folder / "files"
    src.mkdir()
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    vocab.update({f"t{i}": i for i in range(4, config.decoder.vocab_size)})
    (src / "vocab.json").write_text(json.dumps(vocab))
    (src / "tokenizer_config.json").write_text("{}")
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(src)
    config.save(src)
    write_converted(folder / "model", params, src)


def run_reference(ref, model_dir: Path, paths: list[Path], batch_size: int, n_new: int) -> float:
    import soundfile as sf
    import torch
    from transformers import Speech2Text2Processor

    proc = Speech2Text2Processor.from_pretrained(model_dir)
    t0 = time.perf_counter()
    for i in range(0, len(paths), batch_size):
        audio = [sf.read(p, dtype="float32")[0] for p in paths[i:i + batch_size]]
        feats = proc(audio=audio, sampling_rate=16000, padding=True, return_tensors="pt")
        with torch.no_grad():
            ids = ref.generate(feats.input_values, attention_mask=feats.attention_mask,
                               max_new_tokens=n_new, min_new_tokens=n_new, num_beams=1)
        proc.batch_decode(ids, skip_special_tokens=True)
    return time.perf_counter() - t0


def run_ours(model_dir: Path, paths: list[Path], batch_size: int, n_new: int, query_block: int,
             dtype: str = "float32") -> dict:
    """Cold and warm runs of our pipeline."""
    import resource

    from s2t2_jax import decoding
    from s2t2_jax.batching import Item
    from s2t2_jax.features import pick_bucket
    from s2t2_jax.translator import SpeechTranslator

    tr = SpeechTranslator.from_pretrained(model_dir)
    batcher = tr.batcher(batch_size, max_new_tokens=n_new, min_new_tokens=n_new, num_beams=1,
                         query_block=query_block, dtype=dtype)
    out = {}
    for label in ("cold", "warm"):
        before = decoding.compile_count()
        items = [Item(str(p), path=p, index=i) for i, p in enumerate(paths)]
        t0 = time.perf_counter()
        batcher.translate(items)
        out[label] = time.perf_counter() - t0
        out[f"{label}_compiles"] = decoding.compile_count() - before
        assert all(it.error is None for it in items), [it.error for it in items if it.error]
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    lengths = sorted(round(it.seconds * 16000) for it in items)  # the batcher's batches: sorted
    buckets = [pick_bucket(lengths[i:i + batch_size], batcher.buckets)
               for i in range(0, len(lengths), batch_size)]
    out["buckets_used"] = len(set(buckets))
    out["padded_seconds"] = sum(buckets) * batch_size / 16000
    return out


def reference_padded_seconds(paths: list[Path], batch_size: int) -> float:
    """Audio the reference encodes: each batch (manifest order) padded to its longest file."""
    import soundfile as sf

    frames = [sf.info(str(p)).frames for p in paths]
    return sum(max(frames[i:i + batch_size]) * batch_size
               for i in range(0, len(frames), batch_size)) / 16000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="16 utterances, 8 new tokens")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--new-tokens", type=int, default=20)
    p.add_argument("--query-block", type=int, default=None,
                   help="our encoder's attention query block (default encoder.QUERY_BLOCK; 0: full)")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"),
                   help="our compute dtype (the reference: float32)")
    args = p.parse_args()
    import torch

    from benchmarks.bench_generate import _pin, build
    from benchmarks.machine import describe
    from s2t2_jax.encoder import QUERY_BLOCK

    _pin(args.threads)
    torch.set_num_threads(args.threads)
    n = 16 if args.quick else 64
    n_new = 8 if args.quick else args.new_tokens
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref, config, params = build()
        make_model_folder(tmp, ref, config, params)
        (tmp / "audio").mkdir()
        paths = make_inputs(tmp / "audio", n)
        del params
        block = QUERY_BLOCK if args.query_block is None else args.query_block
        ours = run_ours(tmp / "model", paths, args.batch_size, n_new, block, args.dtype)
        reference = run_reference(ref, tmp / "model", paths, args.batch_size, n_new)
        ref_padded = reference_padded_seconds(paths, args.batch_size)
    print(describe())
    print(f"{n} utterances (1-20 s), batch {args.batch_size}, {n_new} new tokens each, "
          f"{args.threads} threads; ours in {args.dtype}, the reference in float32")
    print(f"{'':<24}{'seconds':>10}{'vs reference':>16}")
    print(f"{'reference':<24}{reference:>10.1f}{1.0:>15.2f}x")
    for label in ("cold", "warm"):
        print(f"{'ours ' + label:<24}{ours[label]:>10.1f}{reference / ours[label]:>15.2f}x")
    print(f"compiled programs: cold {ours['cold_compiles']}, warm {ours['warm_compiles']}; "
          f"buckets used: {ours['buckets_used']} (one batch shape)")
    print(f"audio encoded, padding included: reference {ref_padded:.0f} s, "
          f"ours {ours['padded_seconds']:.0f} s")
    print(f"peak RSS after our runs (reference model resident too): {ours['peak_rss_gb']:.2f} GB")


if __name__ == "__main__":
    main()
