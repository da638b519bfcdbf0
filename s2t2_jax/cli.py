"""The `s2t2-jax` command line: `convert`, `translate`, `train`, `export`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from s2t2_jax.batching import gather_inputs
from s2t2_jax.checkpoint import convert
from s2t2_jax.export import export
from s2t2_jax.generation_config import check_settings
from s2t2_jax.train import add_train_parser
from s2t2_jax.translator import SpeechTranslator, default_model_dir


def _convert(args: argparse.Namespace) -> int:
    out = convert(args.src, args.out, dtype=args.dtype, force=args.force,
                  progress=not args.no_progress)
    print(f"converted {args.src} -> {out}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    out = export(args.src, args.out, step=args.step, force=args.force)
    print(f"exported {args.src} -> {out}", file=sys.stderr)
    return 0


def _read_generation_config(path: str) -> dict[str, Any]:
    """A `--generation-config` file: a JSON object of known generation settings of the right type."""
    try:
        with open(path, encoding="utf-8") as f:
            settings = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"--generation-config {path} is not valid JSON: {e}") from e
    if not isinstance(settings, dict):
        raise ValueError(f"--generation-config {path} must hold a JSON object")
    check_settings(settings, f"--generation-config {path}")
    return settings


def _translate(args: argparse.Namespace) -> int:
    options = {k: v for k, v in dict(
        num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
        min_new_tokens=args.min_new_tokens, length_penalty=args.length_penalty,
        do_sample=args.do_sample or None, temperature=args.temperature, top_k=args.top_k,
        top_p=args.top_p, no_repeat_ngram_size=args.no_repeat_ngram_size,
        repetition_penalty=args.repetition_penalty,
    ).items() if v is not None}
    settings = None if args.generation_config is None else _read_generation_config(args.generation_config)
    items = gather_inputs(args.inputs)
    model = args.model
    if model is None:
        model = default_model_dir()
    tr = SpeechTranslator.from_pretrained(model, progress=not args.no_progress)
    if settings is not None:  # over the checkpoint's settings, as the reference's generate(**settings)
        tr.config = tr.config.with_generation(settings)
    batcher = tr.batcher(args.batch_size, args.chunk_seconds,
                         tuple(args.bucket_seconds) if args.bucket_seconds else None,
                         seed=args.seed, **options)
    batcher.translate(items, progress=not args.no_progress and len(items) >= 16)
    rate = batcher.sampling_rate
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for it in items:
            out.write(json.dumps(it.record(rate), ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    failed = sum(it.error is not None for it in items)
    if failed:
        print(f"{failed} of {len(items)} inputs failed", file=sys.stderr)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2t2-jax", description="Speech2Text2 speech translation in JAX/Flax."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "convert", help="convert a Hugging Face PyTorch checkpoint (folder or hub id)",
        description="Convert a HF SpeechEncoderDecoder (wav2vec2 + Speech2Text2) checkpoint into "
        "a folder with config, tokenizer and preprocessor files and orbax-saved params.",
    )
    p.add_argument("src", help="local HF model folder, or a hub id (needs network)")
    p.add_argument("out", help="output folder (written atomically)")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32",
                   help="stored params dtype (bfloat16: half size)")
    p.add_argument("--force", action="store_true", help="replace a non-empty OUT")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_convert)

    p = sub.add_parser(
        "translate", help="translate audio files, folders or manifests",
        description="Translate speech to text. INPUTs are audio files (wav, flac, ogg, ...), "
        "folders of them, or manifests (.tsv: audio path in the first column; .jsonl: "
        '{"audio": path}). Writes one JSON line per input: path, translation, seconds - or '
        "error. Exit code 1 if any input failed.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--model", default=None,
                   help="converted folder, HF folder or hub id (default: the shipped small "
                   "English->German model, s2t2_jax/default_model)")
    p.add_argument("--output", help="write JSON lines here instead of stdout")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--chunk-seconds", type=float, default=None,
                   help="split audio longer than the largest bucket into overlapping windows")
    p.add_argument("--bucket-seconds", type=float, nargs="+", default=None,
                   help="padded lengths in seconds (default 1 2 3 4 5 6 8 10 12 15 18 21 25 30)")
    g = p.add_argument_group("generation (unset: the model's generation settings)")
    g.add_argument("--generation-config", metavar="FILE",
                   help="JSON object of generation settings (transformers' GenerationConfig names) "
                   "applied over the model's; the flags below apply over both")
    g.add_argument("--num-beams", type=int)
    g.add_argument("--max-new-tokens", type=int)
    g.add_argument("--min-new-tokens", type=int)
    g.add_argument("--length-penalty", type=float)
    g.add_argument("--no-repeat-ngram-size", type=int)
    g.add_argument("--repetition-penalty", type=float)
    g.add_argument("--do-sample", action="store_true")
    g.add_argument("--temperature", type=float)
    g.add_argument("--top-k", type=int)
    g.add_argument("--top-p", type=float)
    g.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_translate)

    p = sub.add_parser(
        "export", help="write a Hugging Face PyTorch folder (model.safetensors + config + tokenizer)",
        description="Export a training run folder (latest or --step checkpoint) or a converted "
        "folder as a folder that transformers' SpeechEncoderDecoderModel.from_pretrained loads.",
    )
    p.add_argument("src", help="training run folder or converted folder")
    p.add_argument("out", help="output folder (written atomically)")
    p.add_argument("--step", type=int, help="checkpoint (optimizer update) of a run folder")
    p.add_argument("--force", action="store_true", help="replace a non-empty OUT")
    p.set_defaults(func=_export)

    add_train_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"s2t2-jax {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"s2t2-jax {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
