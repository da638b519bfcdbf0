"""s2t2-jax: Speech2Text2 speech translation (wav2vec2 encoder + S2T2 decoder) in JAX/Flax."""

from s2t2_jax.config import ConfigError, DecoderConfig, EncoderConfig, ModelConfig
from s2t2_jax.decoder import KVCache
from s2t2_jax.model import (
    decode,
    encode,
    forward,
    init_cache,
    init_params,
    param_shapes,
    shift_tokens_right,
)

__all__ = [
    "ConfigError", "DecoderConfig", "EncoderConfig", "KVCache", "ModelConfig", "decode",
    "encode", "forward", "init_cache", "init_params", "param_shapes", "shift_tokens_right",
]
__version__ = "0.1.0"
