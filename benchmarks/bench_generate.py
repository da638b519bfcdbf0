"""Benchmark: our compiled `generate` vs the reference's `generate()` (transformers 4.46.3, torch).

One random model with the real checkpoint's shapes (wav2vec2-large-lv60 encoder, 7-layer S2T2
decoder, vocab 10224) is converted in memory. Both sides use the same threads and do the same
work: EOS is banned for the first N tokens (`min_new_tokens` = `max_new_tokens` = N), so every
row runs exactly N steps. Cases: decoder-only greedy and beam-5 (encoder states given; the
reference gets `encoder_outputs=`), and end to end (audio -> ids) greedy. Ours runs in a fresh
child process (its cold compile time and peak RSS are its own); the two sides alternate runs so
both see the same machine load, and each keeps its best time.

    python -m benchmarks.bench_generate [--quick] [--threads 2] [--dtype bfloat16]
        [--no-repeat-ngram-size 3] [--repetition-penalty 1.2]   # logits processors, both sides
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {"greedy": 1, "beam": 5, "e2e": 1}  # case -> num_beams
# The real checkpoint's shapes (facebook/s2t-wav2vec2-large-en-de), as HF config keywords.
FULL_ENCODER = dict(
    hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
    feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True,
    conv_dim=[512] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
    num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16,
)
FULL_DECODER = dict(
    vocab_size=10224, d_model=256, decoder_layers=7, decoder_attention_heads=4,
    decoder_ffn_dim=2048, activation_function="relu", scale_embedding=True,
    max_target_positions=1024,
)


def build(seed: int = 0):
    """The reference model (random weights, full shapes) and our config + params converted from it."""
    import torch
    from transformers import (
        Speech2Text2Config,
        SpeechEncoderDecoderConfig,
        SpeechEncoderDecoderModel,
        Wav2Vec2Config,
    )

    from s2t2_jax.config import ModelConfig
    from s2t2_jax.pytorch import state_dict_to_params

    enc, dec = Wav2Vec2Config(**FULL_ENCODER), Speech2Text2Config(**FULL_DECODER)
    torch.manual_seed(seed)
    config = SpeechEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    config.decoder_start_token_id, config.pad_token_id = 2, 1
    ref = SpeechEncoderDecoderModel(config=config).eval()
    ours = ModelConfig.from_hf_dict(config.to_dict())
    params = state_dict_to_params({k: v.numpy() for k, v in ref.state_dict().items()}, ours)
    return ref, ours, params


def _rss_gb() -> float:
    """This process's peak RSS. Linux: `VmHWM`, which starts afresh at exec (`ru_maxrss` of a
    spawned child also counts the parent's peak at the fork)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")) / 2**20  # KiB
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _pin(threads: int) -> None:
    """Use `threads` cores: XLA:CPU sizes its pool from the visible cores, torch from set_num_threads."""
    cores = sorted(os.sched_getaffinity(0))
    if threads < len(cores):
        os.sched_setaffinity(0, set(cores[:threads]))


def _processors(args: argparse.Namespace) -> dict:
    """The logits-processor settings both sides get (none by default)."""
    out = {}
    if args.no_repeat_ngram_size:
        out["no_repeat_ngram_size"] = args.no_repeat_ngram_size
    if args.repetition_penalty != 1.0:
        out["repetition_penalty"] = args.repetition_penalty
    return out


def serve_ours(folder: Path, n_new: int, dtype: str, extra: dict) -> None:
    """Child process: load params and inputs from `folder`, then run one case per stdin line.

    Each answer is a JSON line: seconds taken and peak RSS; ids go to `folder/ids_<case>.npy`.
    """
    import jax
    import numpy as np
    from flax.traverse_util import unflatten_dict

    from s2t2_jax import decoding
    from s2t2_jax.config import ModelConfig

    config = ModelConfig.from_json(folder / "config.json")
    with np.load(folder / "params.npz") as f:  # leaf by leaf: one host copy at a time
        params = unflatten_dict({tuple(k.split("/")): jax.device_put(f[k]) for k in f.files})
    data = dict(np.load(folder / "inputs.npz"))
    force = dict(max_new_tokens=n_new, min_new_tokens=n_new, dtype=dtype, **extra)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        case = line.strip()
        t = time.perf_counter()
        if case == "e2e":
            ids = decoding.generate(params, config, data["x"], data["mask"], num_beams=1, **force)
        else:
            ids = decoding.generate_from_encoder(
                params, config, data["enc"], data["enc_mask"], num_beams=CASES[case], **force)
        seconds = time.perf_counter() - t
        np.save(folder / f"ids_{case}.npy", ids)
        print(json.dumps({"seconds": seconds, "rss": _rss_gb()}), flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="B=2, 16 tokens, 2 s audio, 2 repeats")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--dtype", default="float32", help="our compute dtype (the reference: float32)")
    ap.add_argument("--no-repeat-ngram-size", type=int, default=0)
    ap.add_argument("--repetition-penalty", type=float, default=1.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    _pin(args.threads)
    b, n_new, seconds, repeats = (2, 16, 2.0, 2) if args.quick else (8, 64, 5.0, args.repeats)
    cases = args.cases.split(",")
    if args.child:
        return serve_ours(Path(args.child), n_new, args.dtype, _processors(args))

    import numpy as np
    import torch
    import transformers
    from flax.traverse_util import flatten_dict
    from transformers.modeling_outputs import BaseModelOutput

    from s2t2_jax.encoder import frame_mask

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    ref, config, params = build()
    from benchmarks.machine import describe

    print(describe())
    print(f"B={b}, {n_new} new tokens, {seconds:g} s audio, {args.threads} threads, ours in "
          f"{args.dtype}; torch {torch.__version__}; model built in {time.perf_counter() - t0:.0f} s; "
          f"processors {_processors(args) or 'none'}", flush=True)

    x = np.random.default_rng(0).standard_normal((b, int(16000 * seconds))).astype(np.float32)
    mask = np.ones_like(x, dtype=np.int32)
    tx, tm = torch.tensor(x), torch.tensor(mask)
    with torch.no_grad():  # raw encoder states: the reference projects them (enc_to_dec_proj) itself
        raw = ref.encoder(tx, attention_mask=tm).last_hidden_state
    proj = params["enc_to_dec_proj"]
    enc = raw.numpy() @ proj["kernel"] + proj["bias"]
    enc_mask = np.asarray(frame_mask(mask, enc.shape[1], config.encoder))

    force = dict(max_new_tokens=n_new, min_new_tokens=n_new, **_processors(args))

    def reference(case: str) -> np.ndarray:
        with torch.no_grad():
            if case == "e2e":
                return ref.generate(tx, attention_mask=tm, num_beams=1, **force).numpy()
            out = BaseModelOutput(last_hidden_state=raw)
            return ref.generate(encoder_outputs=out, attention_mask=tm, num_beams=CASES[case],
                                **force).numpy()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config.save(folder)
        np.savez(folder / "params.npz", **{"/".join(k): v for k, v in flatten_dict(params).items()})
        np.savez(folder / "inputs.npz", x=x, mask=mask, enc=enc, enc_mask=enc_mask)
        del params
        cmd = [sys.executable, "-m", "benchmarks.bench_generate", "--child", tmp,
               "--threads", str(args.threads), "--dtype", args.dtype,
               "--no-repeat-ngram-size", str(args.no_repeat_ngram_size),
               "--repetition-penalty", str(args.repetition_penalty)] + ["--quick"] * args.quick
        child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 cwd=Path(__file__).resolve().parents[1])

        def ours(case: str) -> dict:
            child.stdin.write(case + "\n")
            child.stdin.flush()
            return json.loads(child.stdout.readline())

        json.loads(child.stdout.readline())  # loaded
        for case in cases:
            first = ours(case)  # compiles
            ours_t, ref_t = [], []
            for _ in range(repeats):  # alternate, so both sides see the same machine load
                ours_t.append(ours(case)["seconds"])
                t = time.perf_counter()
                ref_ids = reference(case)
                ref_t.append(time.perf_counter() - t)
            ids, best, rss = np.load(folder / f"ids_{case}.npy"), min(ours_t), first["rss"]
            same = ids.shape == ref_ids.shape and float((ids == ref_ids).mean())
            rows.append((case, b * n_new / min(ref_t), b * n_new / best, min(ref_t) / best,
                         first["seconds"] - best, rss, same))
            print(f"  {case}: reference {min(ref_t):.2f} s, ours {best:.3f} s "
                  f"(all: {[round(v, 2) for v in ref_t]} / {[round(v, 3) for v in ours_t]})", flush=True)
        child.stdin.close()
        child.wait()

    print(f"\n| case (B={b}, {n_new} tokens) | reference tok/s | ours tok/s | speed-up "
          "| ours compile s | ours peak RSS GB | ids equal |")
    print("|---|---|---|---|---|---|---|")
    for case, r, o, s, c, rss, same in rows:
        print(f"| {case} | {r:.1f} | {o:.1f} | {s:.2f}x | {c:.1f} | {rss:.2f} | {same:.0%} |")
    print(f"reference process peak RSS: {_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
