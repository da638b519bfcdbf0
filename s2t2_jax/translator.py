"""`SpeechTranslator`: a model folder (converted, or a Hugging Face PyTorch one) as one object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from s2t2_jax import model as M
from s2t2_jax.config import ModelConfig

DEFAULT_MODEL = Path(__file__).resolve().parent / "default_model"


def default_model_dir() -> Path:
    """The small English->German model shipped with the package (see its README.md)."""
    if not (DEFAULT_MODEL / "config.json").is_file():
        raise FileNotFoundError(
            f"the default model is missing from {DEFAULT_MODEL}; pass --model, or build it with "
            "examples/build_default_model.sh"
        )
    return DEFAULT_MODEL


def _is_converted(folder: Path) -> bool:
    from convert.checkpoint import PARAMS_DIR

    return (folder / PARAMS_DIR).is_dir()


class SpeechTranslator:
    """Config + params (+ tokenizer and feature extractor when the folder has their files).

    Attributes:
      config: the frozen `ModelConfig`.
      params: the params pytree.
      folder: where it was loaded from (None when built from parts).
    """

    def __init__(self, config: ModelConfig, params: Any, folder: str | os.PathLike | None = None):
        self.config = config
        self.params = params
        self.folder = None if folder is None else Path(folder)
        self._logits = jax.jit(M.forward, static_argnames=("config", "dtype"))
        self._processor = None
        self._stacked: tuple[Any, Any] | None = None  # (params it was made from, stacked copy)

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike, dtype: str | None = None, progress: bool = True
    ) -> SpeechTranslator:
        """Load a converted folder, or a HF PyTorch folder / hub id (converted in memory).

        `dtype` ("float32", "bfloat16") casts the stored params; None keeps them as stored
        (float32 for a PyTorch folder).
        """
        from convert.checkpoint import PARAMS_DIR, load_hf_folder, load_params, resolve_source

        folder = Path(path)
        if not folder.is_dir():
            folder = resolve_source(path)
        if _is_converted(folder):
            config = ModelConfig.from_json(folder)
            params = load_params(folder / PARAMS_DIR)
            if dtype is not None:
                params = jax.tree.map(lambda x: jnp.asarray(x, dtype), params)
        else:
            config, params = load_hf_folder(folder, dtype, progress)
        params = jax.tree.map(jnp.asarray, params)
        return cls(config, params, folder)

    def logits(
        self, input_values: np.ndarray, decoder_input_ids: np.ndarray,
        attention_mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Teacher-forced logits `[batch, tgt_len, vocab]` (float32 numpy).

        Args:
          input_values: audio `[batch, samples]` (normalised as the feature extractor does).
          decoder_input_ids: `[batch, tgt_len]`, starting with the decoder start token.
          attention_mask: `[batch, samples]` 1 for real samples, 0 for right padding.
        """
        x = np.asarray(input_values, np.float32)
        ids = np.asarray(decoder_input_ids, np.int32)
        if x.ndim == 1:
            x = x[None]
        if ids.ndim == 1:
            ids = ids[None]
        if x.ndim != 2 or ids.ndim != 2 or len(x) != len(ids):
            raise ValueError(
                f"expected input_values [batch, samples] and decoder_input_ids [batch, len] with "
                f"the same batch, got {x.shape} and {ids.shape}"
            )
        vocab = self.config.decoder.vocab_size
        if ids.size and (ids.min() < 0 or ids.max() >= vocab):
            bad = ids[(ids < 0) | (ids >= vocab)][0]
            raise ValueError(f"decoder_input_ids holds token id {bad}, outside the vocab [0, {vocab})")
        mask = None if attention_mask is None else np.asarray(attention_mask, np.int32)
        out = self._logits(self.params, self.config, x, ids, mask)
        return np.asarray(out["logits"], np.float32)

    @property
    def processor(self):
        """The folder's `Processor` (feature extractor + tokenizer), loaded on first use."""
        if self._processor is None:
            from s2t2_jax.features import load_feature_extractor
            from s2t2_jax.processor import Processor
            from s2t2_jax.tokenizer import Tokenizer

            if self.folder is None or not (self.folder / "vocab.json").is_file():
                raise FileNotFoundError(
                    f"model folder {self.folder} has no vocab.json: translating needs the tokenizer"
                )
            fe = load_feature_extractor(self.folder)
            self._processor = Processor(fe, Tokenizer.from_pretrained(self.folder))
        return self._processor

    def generate(self, input_values: np.ndarray, attention_mask: np.ndarray | None = None,
                 **options: Any) -> np.ndarray:
        """Token ids `[batch, width]` as the reference's `generate()` (see `decoding.generate`)."""
        from s2t2_jax.decoding import generate

        return generate(self.params, self.config, input_values, attention_mask, **options)

    def stacked_params(self) -> Any:
        """`params` with the encoder layers stacked (`encoder.stack_layers`), replicated over the
        devices: what batched translation runs on (each bucket's program compiles one scanned layer
        body instead of all of them, seconds less per program on a 2-core CPU). Made once and kept
        until `params` is replaced; it is a second copy of the encoder layers."""
        from s2t2_jax.encoder import stack_layers
        from s2t2_jax.sharding import Layout

        if self._stacked is None or self._stacked[0] is not self.params:
            stacked = stack_layers(self.params, self.config.encoder)
            self._stacked = (self.params, Layout.create(jax.local_devices()).put_state(stacked))
        return self._stacked[1]

    def batcher(self, batch_size: int = 8, chunk_seconds: float | None = None,
                bucket_seconds: tuple[float, ...] | None = None, **options: Any):
        """A `batching.Batcher` bound to this model and generation `options`."""
        from s2t2_jax.batching import DEFAULT_BUCKET_SECONDS, Batcher
        from s2t2_jax.encoder import min_input_samples

        proc = self.processor
        params = self.stacked_params()

        def generate_ids(x: jax.Array, mask: jax.Array) -> np.ndarray:
            from s2t2_jax.decoding import generate

            return generate(params, self.config, x, mask, **options)

        return Batcher(
            generate_ids=generate_ids,
            decode_text=lambda ids: proc.batch_decode(ids, skip_special_tokens=True),
            extract=proc.feature_extractor, sampling_rate=proc.feature_extractor.sampling_rate,
            batch_size=batch_size, bucket_seconds=bucket_seconds or DEFAULT_BUCKET_SECONDS,
            chunk_seconds=chunk_seconds, min_samples=min_input_samples(self.config.encoder),
        )

    def translate(self, audio: Any, batch_size: int = 8, chunk_seconds: float | None = None,
                  progress: bool = False, **options: Any) -> list[str]:
        """German text for each input: a path, an array at the model's rate, or a list of either.

        Raises the first input's error (e.g. `AudioError`) if any input cannot be translated.
        """
        from s2t2_jax.batching import Item

        if isinstance(audio, (str, os.PathLike)) or (isinstance(audio, np.ndarray) and audio.ndim == 1):
            audio = [audio]
        items = []
        for i, a in enumerate(audio):
            if isinstance(a, (str, os.PathLike)):
                items.append(Item(str(a), path=Path(a)))
            else:
                items.append(Item(f"<array {i}>", audio=np.asarray(a)))
        self.batcher(batch_size, chunk_seconds, **options).translate(items, progress=progress)
        for it in items:
            if it.error is not None:
                from s2t2_jax.audio import AudioError

                raise AudioError(it.error)
        return [it.translation for it in items]
