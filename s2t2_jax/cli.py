"""The `s2t2-jax` command line: `convert` (and more subcommands as they land)."""

from __future__ import annotations

import argparse
import sys


def _convert(args: argparse.Namespace) -> int:
    from convert.checkpoint import convert

    out = convert(args.src, args.out, dtype=args.dtype, force=args.force,
                  progress=not args.no_progress)
    print(f"converted {args.src} -> {out}", file=sys.stderr)
    return 0


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
