"""s2t2-jax: Speech2Text2 speech translation (wav2vec2 encoder + S2T2 decoder) in JAX/Flax.

    import s2t2_jax as s2t
    tr = s2t.SpeechTranslator.from_pretrained("models/s2t-en-de")
    tr.translate("talk.wav")

The functional core (`encode`, `init_cache`, `decode`, `forward`, `generate`) is pure:
`params, config, inputs -> outputs`, with `config` a frozen, hashable `ModelConfig`.

Shape letters, one meaning each in every module's einsums and docstrings:

    B  batch (items: audio inputs)        L  audio samples
    G  rows per item (beams or samples)   R  rows, B * G (item-major)
    F  conv frames (before the adapter)   C  conv channels
    S  encoder states the decoder attends (after the adapter); in attention, key positions
    T  tokens (new decoder tokens); in attention, query positions
    M  cache positions                    W  columns of generated ids
    N  attention heads                    H  head dim
    D  model width                        V  vocabulary
    K  conv kernel width                  Y  CTC target characters (training)
    P  positions on a masked axis (SpecAugment: frames F or channels D)
"""

from s2t2_jax.audio import AudioError, load_audio
from s2t2_jax.config import ConfigError, DecoderConfig, EncoderConfig, ModelConfig
from s2t2_jax.decoder import KVCache
from s2t2_jax.decoding import generate, generate_from_encoder
from s2t2_jax.features import FeatureExtractor
from s2t2_jax.model import (
    cross_attentions,
    decode,
    encode,
    forward,
    init_cache,
    init_params,
    param_shapes,
    shift_tokens_right,
)
from s2t2_jax.processor import Processor
from s2t2_jax.tokenizer import Tokenizer
from s2t2_jax.translator import SpeechTranslator

__all__ = [
    "AudioError", "ConfigError", "DecoderConfig", "EncoderConfig", "FeatureExtractor", "KVCache",
    "ModelConfig", "Processor", "SpeechTranslator", "Tokenizer", "cross_attentions", "decode",
    "encode", "forward", "generate", "generate_from_encoder", "init_cache", "init_params",
    "load_audio", "param_shapes", "shift_tokens_right",
]
__version__ = "0.1.0"
