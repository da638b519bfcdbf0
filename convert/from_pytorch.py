"""Convert a Hugging Face PyTorch checkpoint of this family into a converted folder.

    python convert/from_pytorch.py SRC OUT [--dtype bfloat16] [--force]

SRC is a local HF folder (`model.safetensors` or `pytorch_model.bin`, sharded or not) or a hub id
(downloaded; needs network). The same as `s2t2-jax convert`; see `s2t2_jax.checkpoint.convert`.
"""

import sys

from s2t2_jax.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", *sys.argv[1:]]))
