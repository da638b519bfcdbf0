"""Build, evaluate and package the small default English->German model.

Steps (see `examples/build_default_model.sh` for the whole chain with its settings):

    python examples/default_model.py init CORPUS INIT_DIR       # BPE vocab + config + random params
    s2t2-jax train --model INIT_DIR --train CORPUS/train.jsonl --eval CORPUS/dev.jsonl --output RUN
    python examples/default_model.py package RUN OUT            # latest checkpoint -> model folder
    python examples/default_model.py evaluate OUT CORPUS/test.jsonl   # corpus BLEU, exact match

The architecture is this family's, only small: a 4-layer wav2vec2 encoder (the usual 7-layer conv
stack, stride 320, narrow) and a 3-layer Speech2Text2 decoder with a BPE vocabulary learned from
the corpus' German side. About 4M parameters, ~16 MB in float32.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ENCODER = dict(
    hidden_size=192, num_hidden_layers=4, num_attention_heads=4, intermediate_size=768,
    hidden_act="gelu", feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True,
    conv_dim=(64, 64, 64, 128, 128, 128, 128), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
    conv_stride=(5, 2, 2, 2, 2, 2, 2), num_conv_pos_embeddings=32,
    num_conv_pos_embedding_groups=8, hidden_dropout=0.1, activation_dropout=0.0,
    attention_dropout=0.0, feat_proj_dropout=0.0, layerdrop=0.0, mask_time_prob=0.05,
    mask_time_length=5, mask_time_min_masks=1,
)
DECODER = dict(
    d_model=192, decoder_layers=3, decoder_attention_heads=4, decoder_ffn_dim=768,
    max_target_positions=128, dropout=0.1, scale_embedding=True,
)


def _texts(manifest: Path) -> list[str]:
    return [json.loads(line)["text"] for line in manifest.read_text().splitlines() if line.strip()]


def init(corpus: Path, out: Path, vocab_size: int, seed: int) -> None:
    """A converted model folder with a learned BPE vocab and random params."""
    from convert.checkpoint import write_converted
    from s2t2_jax.bpe import learn_bpe, save_bpe
    from s2t2_jax.config import DecoderConfig, EncoderConfig, ModelConfig
    from s2t2_jax.features import FeatureExtractor
    from s2t2_jax.model import init_params

    vocab, merges = learn_bpe(_texts(corpus / "train.jsonl"), vocab_size=vocab_size)
    config = ModelConfig(
        encoder=EncoderConfig(**ENCODER),
        decoder=DecoderConfig(vocab_size=len(vocab), **DECODER),
        decoder_start_token_id=2, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        extra={"max_length": 64, "num_beams": 1},
    )
    params = init_params(config, seed)
    tmp = out.parent / f".{out.name}.parts"
    tmp.mkdir(parents=True, exist_ok=True)
    save_bpe(tmp, vocab, merges)
    FeatureExtractor(return_attention_mask=True).save_pretrained(tmp)
    config.save(tmp)
    write_converted(out, params, tmp)
    n = sum(x.size for x in __import__("jax").tree.leaves(params))
    print(f"{out}: vocab {len(vocab)}, {n / 1e6:.2f}M params", file=sys.stderr)


def package(run: Path, out: Path, force: bool) -> None:
    """The run's latest checkpoint as a converted model folder."""
    from convert.checkpoint import write_converted
    from convert.export import load_any

    config, params, model_dir = load_any(run, None)
    write_converted(out, params, model_dir, force=force, config=config)
    print(f"{out}: packaged from {run}", file=sys.stderr)


def evaluate(model: Path, manifest: Path, batch_size: int, num_beams: int) -> dict:
    """Corpus BLEU (sacrebleu) and exact match of the model's translations on a manifest."""
    from s2t2_jax.train import translation_scores
    from s2t2_jax.translator import SpeechTranslator

    lines = [json.loads(x) for x in manifest.read_text().splitlines() if x.strip()]
    paths = [str(manifest.parent / x["audio"]) for x in lines]
    tr = SpeechTranslator.from_pretrained(model)
    t0 = time.perf_counter()
    hyps = tr.translate(paths, batch_size=batch_size, num_beams=num_beams)
    scores = translation_scores(hyps, [x["text"] for x in lines])
    scores.update(seconds=round(time.perf_counter() - t0, 1), num_beams=num_beams,
                  manifest=str(manifest))
    return scores


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("init")
    a.add_argument("corpus", type=Path)
    a.add_argument("out", type=Path)
    a.add_argument("--vocab-size", type=int, default=600)
    a.add_argument("--seed", type=int, default=0)
    a = sub.add_parser("package")
    a.add_argument("run", type=Path)
    a.add_argument("out", type=Path)
    a.add_argument("--force", action="store_true")
    a = sub.add_parser("evaluate")
    a.add_argument("model", type=Path)
    a.add_argument("manifest", type=Path)
    a.add_argument("--batch-size", type=int, default=16)
    a.add_argument("--num-beams", type=int, default=1)
    args = p.parse_args(argv)
    if args.cmd == "init":
        init(args.corpus, args.out, args.vocab_size, args.seed)
    elif args.cmd == "package":
        package(args.run, args.out, args.force)
    else:
        print(json.dumps(evaluate(args.model, args.manifest, args.batch_size, args.num_beams)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
