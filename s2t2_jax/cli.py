"""The `s2t2-jax` command line: `convert`, `translate`, `merge`, `train`, `export`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import jax

from s2t2_jax.batching import Item, gather_inputs, take_shard
from s2t2_jax.checkpoint import convert
from s2t2_jax.export import export
from s2t2_jax.generation_config import check_settings
from s2t2_jax.records import RecordFile, merge, shard_path, write_text_atomic
from s2t2_jax.subtitles import FORMATS, output_names, render
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


def _subtitle_targets(items: list[Item], mine: list[Item], args: argparse.Namespace) -> dict[int, Path]:
    """Where each input's --format file goes in --output-dir (named after the input; clashes get
    `-1`, `-2`, ... and a notice); refuses files of this run's inputs that exist already unless
    --overwrite or --resume."""
    folder = Path(args.output_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--output-dir {folder} is not a folder")
    names, notices = output_names([it.name if it.path is not None else None for it in items],
                                  args.format)
    for notice in notices:
        print(f"name clash: {notice}", file=sys.stderr)
    targets = {i: folder / n for i, n in enumerate(names) if n is not None}
    existing = [targets[it.index] for it in mine if it.index in targets and targets[it.index].exists()]
    if existing and not (args.overwrite or args.resume):
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise FileExistsError(f"{existing[0]} already exists{more}: pass --overwrite to replace, or "
                              "--resume to keep them and translate only the other inputs")
    folder.mkdir(parents=True, exist_ok=True)
    return targets


def _translate(args: argparse.Namespace) -> int:
    options = {k: v for k, v in dict(
        num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
        min_new_tokens=args.min_new_tokens, length_penalty=args.length_penalty,
        do_sample=args.do_sample or None, temperature=args.temperature, top_k=args.top_k,
        top_p=args.top_p, no_repeat_ngram_size=args.no_repeat_ngram_size,
        repetition_penalty=args.repetition_penalty,
    ).items() if v is not None}
    settings = None if args.generation_config is None else _read_generation_config(args.generation_config)
    if args.chunk_seconds is not None:
        raise ValueError("--chunk-seconds was removed: audio longer than the largest bucket is now "
                         "split at pauses, without overlap (--segment splits shorter audio too)")
    if args.format != "jsonl" and not args.output_dir:
        raise ValueError(f"--format {args.format} writes one file per input: give --output-dir DIR")
    if args.format == "jsonl" and args.output_dir:
        raise ValueError("--output-dir is for --format srt, vtt or txt (JSON lines go to --output "
                         "or stdout)")
    if args.resume and not (args.output or args.output_dir):
        raise ValueError("--resume needs --output or --output-dir (the output to resume)")
    if args.resume and args.overwrite:
        raise ValueError("--resume keeps existing output files and --overwrite replaces them: "
                         "give one of them")
    num_shards = jax.process_count() if args.num_shards is None else args.num_shards
    shard_index = jax.process_index() if args.shard_index is None else args.shard_index
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(f"--shard-index {shard_index} must be in [0, --num-shards {num_shards})")
    items = gather_inputs(args.inputs)
    model = args.model
    if model is None:
        model = default_model_dir()
    tr = SpeechTranslator.from_pretrained(model, progress=not args.no_progress)
    if settings is not None:  # over the checkpoint's settings, as the reference's generate(**settings)
        tr.config = tr.config.with_generation(settings)
    batcher = tr.batcher(args.batch_size, tuple(args.bucket_seconds) if args.bucket_seconds else None,
                         segment_all=args.segment, seed=args.seed, dtype=args.dtype, **options)
    mine = take_shard(items, batcher.sampling_rate, num_shards, shard_index)  # sorted by length
    targets = None if args.output_dir is None else _subtitle_targets(items, mine, args)
    sink = None
    if args.output:
        path = shard_path(args.output, num_shards, shard_index)
        if num_shards > 1:
            print(f"shard {shard_index} of {num_shards}: {len(mine)} of {len(items)} inputs -> {path}",
                  file=sys.stderr)
        sink = RecordFile(path, [it.name for it in items], {it.index for it in mine}, args.resume)
    if args.resume:  # done: a successful record (--output) and a file (--output-dir)
        mine = [it for it in mine if not (
            (sink is None or it.index in sink.done)
            and (targets is None or (it.index in targets and targets[it.index].exists())))]
    records, written = [], 0
    try:
        for it in batcher.stream(mine, ordered=True,
                                 progress=not args.no_progress and len(mine) >= 16):
            if targets is not None and it.error is None:
                write_text_atomic(targets[it.index], render(args.format, it.segments))
                written += 1
            if sink is not None:
                sink.write(it.record())
            else:
                records.append(it.record())
    except BaseException:
        if sink is not None:
            sink.close()  # what was written stays, for --resume
        raise
    if sink is not None:
        records = sink.finish()
    elif targets is None:
        for rec in sorted(records, key=lambda r: r["index"]):
            sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
    if targets is not None:
        print(f"wrote {written} {args.format} files to {args.output_dir}", file=sys.stderr)
        for rec in sorted(records, key=lambda r: r["index"]):
            if "error" in rec:
                print(f"{rec['path']}: {rec['error']}", file=sys.stderr)
    failed = sum("error" in r for r in records)
    if failed:
        print(f"{failed} of {len(records)} inputs failed", file=sys.stderr)
    return 1 if failed else 0


def _merge(args: argparse.Namespace) -> int:
    names = [it.name for it in gather_inputs(args.inputs)] if args.inputs else None
    records, missing = merge(args.out, args.shards, names)
    failed = sum("error" in r for r in records)
    print(f"merged {len(records)} records from {len(args.shards)} shards -> {args.out}"
          + (f"; {failed} failed" if failed else ""), file=sys.stderr)
    if missing:
        shown = ", ".join(str(i) if names is None else f"{i} ({names[i]})" for i in missing[:20])
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        print(f"{len(missing)} inputs missing from every shard: {shown}{more}", file=sys.stderr)
    return 1 if failed or missing else 0


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
        '{"audio": path}). Writes one JSON line per input: path, translation, seconds, timed '
        "segments - or error; or, with --format srt/vtt/txt, a file per input. Audio longer than "
        "the largest bucket is split at pauses. Exit code 1 if any input failed.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--model", default=None,
                   help="converted folder, HF folder or hub id (default: the shipped small "
                   "English->German model, s2t2_jax/default_model)")
    p.add_argument("--output", help="write JSON lines here instead of stdout: each record as its "
                   "input finishes, the whole file in input order at the end (written atomically)")
    p.add_argument("--resume", action="store_true",
                   help="keep --output's successful records (and --output-dir's files) and "
                   "translate only the other inputs (failed ones again)")
    p.add_argument("--num-shards", type=int, default=None,
                   help="split the inputs into this many length-balanced shards (default: "
                   "jax.process_count(), the hosts of the distributed runtime)")
    p.add_argument("--shard-index", type=int, default=None,
                   help="the shard to translate (default: jax.process_index()); with several "
                   "shards --output OUT.jsonl is written as OUT-0000I-of-0000N.jsonl")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--chunk-seconds", type=float, default=None, help=argparse.SUPPRESS)  # removed
    p.add_argument("--segment", action="store_true",
                   help="split every input at pauses (inputs longer than the largest bucket always "
                   "are): one record segment per stretch of speech")
    p.add_argument("--format", choices=["jsonl", *FORMATS], default="jsonl",
                   help="jsonl: one JSON record per input (stdout or --output); srt, vtt (subtitles, "
                   "timed per segment) or txt (one line per segment): one file per input in "
                   "--output-dir, named after it")
    p.add_argument("--output-dir", metavar="DIR",
                   help="folder for --format srt/vtt/txt files (talk.wav -> DIR/talk.srt)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --output-dir files that exist already (default: refuse)")
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
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32",
                   help="compute dtype (bfloat16: ~1.8x faster on CPUs with AMX; close calls may "
                   "pick other tokens than float32)")
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

    p = sub.add_parser(
        "merge", help="join translate shard outputs into one input-ordered file",
        description="Join the JSON-lines outputs of `translate --num-shards N` into OUT, one record "
        "per input in input order. Reports inputs missing from every shard (give the translate "
        "INPUTs with --inputs to check all of them); exit code 1 if any is missing or failed.",
    )
    p.add_argument("out", help="merged output file (written atomically)")
    p.add_argument("shards", nargs="+", metavar="SHARD")
    p.add_argument("--inputs", nargs="+", metavar="INPUT",
                   help="the INPUTs given to translate: check records against them, find every "
                   "missing one")
    p.set_defaults(func=_merge)

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
