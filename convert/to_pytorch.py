"""Export a training run, a converted folder or a HF folder as a HF PyTorch folder.

    python convert/to_pytorch.py RUN OUT [--step N] [--force]

OUT holds `model.safetensors`, `config.json` and the tokenizer / preprocessor / generation files,
loadable by transformers' `SpeechEncoderDecoderModel.from_pretrained`. The same as
`s2t2-jax export`; see `s2t2_jax.export.export`.
"""

import sys

from s2t2_jax.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
