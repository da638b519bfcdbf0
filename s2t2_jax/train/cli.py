"""`s2t2-jax train`: the subcommand's arguments (`add_train_parser`) and its entry point
(`train_main`), which fine-tunes a model into a run folder, resuming from its latest checkpoint."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from s2t2_jax.checkpoint import load_model
from s2t2_jax.data import BatchLoader, load_examples
from s2t2_jax.features import load_feature_extractor
from s2t2_jax.tokenizer import Tokenizer
from s2t2_jax.train.checkpoints import Checkpoints
from s2t2_jax.train.config import DECAYS, Params, TrainConfig
from s2t2_jax.train.loop import train_loop
from s2t2_jax.train.run_dir import RUN_CHECKPOINTS, RUN_LOG, RUN_MODEL_DIR, check_resume, prepare_run_dir
from s2t2_jax.train.step import Trainer

logger = logging.getLogger(__name__)


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `train` subcommand (calls `train_main`)."""
    d = TrainConfig()
    p = subparsers.add_parser(
        "train", help="fine-tune a model on a manifest of (audio, text) pairs",
        description="Fine-tune from a converted or HF PyTorch folder. The run folder gets model/ "
        "(config + tokenizer), checkpoints/ (orbax), train_config.json and log.jsonl; rerunning "
        "with the same run folder resumes from its latest checkpoint.",
    )
    p.add_argument("--model", required=True, help="initial model folder (converted or HF PyTorch)")
    p.add_argument("--train", required=True, dest="train_manifest",
                   help=".tsv (audio<TAB>text) or .jsonl ({audio, text})")
    p.add_argument("--output", required=True, dest="run_dir", help="output run folder")
    p.add_argument("--eval", dest="eval_manifest", help="evaluation manifest")
    p.add_argument("--steps", type=int, default=d.total_steps, help="optimizer updates")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.learning_rate)
    p.add_argument("--warmup-steps", type=int, default=d.warmup_steps)
    p.add_argument("--decay", choices=DECAYS, default=d.decay)
    p.add_argument("--min-lr-ratio", type=float, default=d.min_lr_ratio)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--clip-norm", type=float, default=d.clip_norm, help="0: no clipping")
    p.add_argument("--grad-accum", type=int, default=d.grad_accum)
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--ctc-weight", type=float, default=d.ctc_weight,
                   help="add this times an auxiliary CTC loss on the source transcripts (the "
                   "manifests' 'source' field; the head is dropped from exported models)")
    p.add_argument("--ctc-alphabet", default=d.ctc_alphabet,
                   help="characters of the CTC targets (others read as spaces)")
    p.add_argument("--train-feature-encoder", action="store_true",
                   help="also train the conv feature encoder (frozen by default)")
    p.add_argument("--no-spec-augment", action="store_true")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default=d.dtype,
                   help="computation dtype (params stay float32)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--save-every", type=int, default=d.save_every)
    p.add_argument("--keep", type=int, default=d.keep_checkpoints, help="checkpoints kept")
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--eval-every", type=int, default=d.eval_every,
                   help="evaluate (loss, BLEU) every N updates; 0: only at the end")
    p.add_argument("--eval-num-beams", type=int, default=d.eval_num_beams,
                   help="beams for the evaluation translations (1: greedy)")
    p.add_argument("--eval-max-new-tokens", type=int, default=d.eval_max_new_tokens,
                   help="longest evaluation translation (default: the eval set's largest label bucket)")
    p.add_argument("--fsdp", action="store_true",
                   help="shard params and optimizer state over the devices (FSDP) instead of "
                   "replicating them; batches are split over the devices either way")
    p.add_argument("--fsdp-min-size", type=int, default=d.fsdp_min_size,
                   help="with --fsdp: params with fewer elements stay replicated")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--audio-buckets", type=int, nargs="+", help="padded audio lengths (samples)")
    p.add_argument("--label-buckets", type=int, nargs="+", help="padded label lengths (tokens)")
    p.add_argument("--num-buckets", type=int, default=6, help="buckets when not given")
    p.add_argument("--on-bad-line", choices=["skip", "error"], default="error",
                   help="bad manifest lines: skip them (counted and reported) or stop")
    p.set_defaults(func=train_main)
    return p


def _train_cfg_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        learning_rate=args.lr, warmup_steps=args.warmup_steps, total_steps=args.steps,
        decay=args.decay, min_lr_ratio=args.min_lr_ratio, weight_decay=args.weight_decay,
        clip_norm=args.clip_norm or None, grad_accum=args.grad_accum,
        label_smoothing=args.label_smoothing, ctc_weight=args.ctc_weight,
        ctc_alphabet=args.ctc_alphabet, freeze_feature_encoder=not args.train_feature_encoder,
        spec_augment=not args.no_spec_augment, dtype=args.dtype, seed=args.seed,
        batch_size=args.batch_size, save_every=args.save_every, keep_checkpoints=args.keep,
        log_every=args.log_every, eval_every=args.eval_every, eval_num_beams=args.eval_num_beams,
        eval_max_new_tokens=args.eval_max_new_tokens, fsdp=args.fsdp, fsdp_min_size=args.fsdp_min_size,
    )


def train_main(args: argparse.Namespace) -> int:
    """`s2t2-jax train`: fine-tune, resuming from the run folder's latest checkpoint if any."""
    # Our own progress at INFO; libraries (orbax logs every save and load) at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("s2t2_jax").setLevel(logging.INFO)
    train_cfg = _train_cfg_from_args(args)
    if args.eval_manifest:
        try:  # fail now, not at the first evaluation
            import sacrebleu  # noqa: F401
        except ImportError as e:
            raise ImportError("evaluation (--eval) needs sacrebleu: pip install sacrebleu") from e
    run_dir = Path(args.run_dir).absolute()
    resuming = check_resume(run_dir, train_cfg)
    config, params, source = load_model(args.model, progress=False)
    if not resuming:
        prepare_run_dir(run_dir, source, config, train_cfg)
    model_dir = run_dir / RUN_MODEL_DIR
    tokenizer = Tokenizer.from_pretrained(model_dir)
    features = load_feature_extractor(model_dir)
    on_error = "raise" if args.on_bad_line == "error" else "skip"
    bad_lines: list = []  # manifest lines skipped (on_error="skip")
    data_kw = dict(sampling_rate=features.sampling_rate, on_error=on_error, bad_lines=bad_lines,
                   max_samples=max(args.audio_buckets) if args.audio_buckets else None,
                   max_labels=max(args.label_buckets) if args.label_buckets else None)
    ctc_alphabet = train_cfg.ctc_alphabet if train_cfg.ctc_weight > 0 else None
    examples = load_examples(args.train_manifest, tokenizer, config, ctc_alphabet=ctc_alphabet,
                             **data_kw)
    loader_kw = dict(audio_buckets=args.audio_buckets, label_buckets=args.label_buckets,
                     num_buckets=args.num_buckets, on_error=on_error)
    loader = BatchLoader(examples, train_cfg.batch_size, features, seed=train_cfg.seed, **loader_kw)
    loaders = [loader]
    evaluate = None
    if args.eval_manifest:
        eval_examples = load_examples(args.eval_manifest, tokenizer, config, **data_kw)
        eval_loader = BatchLoader(eval_examples, train_cfg.batch_size, features, seed=0,
                                  shuffle=False, **loader_kw)
        loaders.append(eval_loader)
        limit = config.decoder.num_positions - 1 - config.decoder.pad_token_id
        max_new = train_cfg.eval_max_new_tokens or min(max(eval_loader.label_buckets), limit)

        def evaluate(params: Params) -> dict[str, Any]:
            return trainer.evaluate(params, eval_loader.one_epoch(texts=True), tokenizer,
                                    max_new_tokens=max_new)

    trainer = Trainer(config, train_cfg)
    if trainer.layout.num_devices > 1:
        logger.info("training on %d devices (%s)", trainer.layout.num_devices,
                    "FSDP" if train_cfg.fsdp else "data parallel")
    checkpoints = Checkpoints(run_dir / RUN_CHECKPOINTS, keep=train_cfg.keep_checkpoints)
    if resuming:
        state, position = checkpoints.restore(trainer.abstract_state(params))
        loader.restore(position)
        logger.info("resumed from update %d (%s)", int(state.step) // train_cfg.grad_accum, position)
    else:
        state = trainer.init_state(params)
    del params
    log_file = open(run_dir / RUN_LOG, "a", encoding="utf-8")  # noqa: SIM115

    def log(rec: dict[str, Any]) -> None:
        print(json.dumps(rec), file=log_file, flush=True)
        tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in rec.items()), file=sys.stderr)

    try:
        train_loop(trainer, state, loader, checkpoints, evaluate, log,
                   progress=not args.no_progress)
    finally:
        for ld in loaders:
            ld.close()
        checkpoints.close()
        log_file.close()
    unreadable = [b for ld in loaders for b in ld.bad_lines]
    if bad_lines or unreadable:
        print(f"skipped {len(bad_lines) + len(unreadable)} bad line(s): {len(bad_lines)} when the "
              f"manifests were read, {len(unreadable)} unreadable when loaded:", file=sys.stderr)
        for b in (bad_lines + unreadable)[:20]:
            print(f"  {b}", file=sys.stderr)
        if len(bad_lines) + len(unreadable) > 20:
            print("  ...", file=sys.stderr)
    print(f"done: {run_dir}", file=sys.stderr)
    return 0
