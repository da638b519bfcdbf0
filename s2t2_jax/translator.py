"""`SpeechTranslator`: a model folder (converted, or a Hugging Face PyTorch one) as one object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import numpy as np

from s2t2_jax import model as M
from s2t2_jax.audio import AudioError
from s2t2_jax.batching import DEFAULT_BUCKET_SECONDS, Batcher, Item
from s2t2_jax.checkpoint import load_model
from s2t2_jax.config import ModelConfig
from s2t2_jax.decoding import generate
from s2t2_jax.encoder import min_input_samples
from s2t2_jax.features import load_feature_extractor
from s2t2_jax.processor import Processor
from s2t2_jax.sharding import Layout
from s2t2_jax.tokenizer import Tokenizer

DEFAULT_MODEL = Path(__file__).resolve().parent / "default_model"


def default_model_dir() -> Path:
    """The small English->German model shipped with the package (see its README.md)."""
    if not (DEFAULT_MODEL / "config.json").is_file():
        raise FileNotFoundError(
            f"the default model is missing from {DEFAULT_MODEL}; pass --model, or build it with "
            "examples/build_default_model.sh"
        )
    return DEFAULT_MODEL


class SpeechTranslator:
    """Config + params (+ tokenizer and feature extractor when the folder has their files).

    Attributes:
      config: the frozen `ModelConfig`.
      params: the params pytree, placed once on every local device (replicated; assigning new
        params places them too): the one copy every method runs on.
      folder: where it was loaded from (None when built from parts).
    """

    def __init__(self, config: ModelConfig, params: Any, folder: str | os.PathLike | None = None):
        self.config = config
        self.layout = Layout.create(jax.local_devices())
        self.params = params
        self.folder = None if folder is None else Path(folder)
        self._logits = jax.jit(M.forward, static_argnames=("config", "dtype"))
        self._processor = None

    @property
    def params(self) -> Any:
        return self._params

    @params.setter
    def params(self, value: Any) -> None:
        self._params = self.layout.put_state(value)

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike, dtype: str | None = None, progress: bool = True
    ) -> SpeechTranslator:
        """Load a converted folder, or a HF PyTorch folder / hub id (converted in memory).

        `dtype` ("float32", "bfloat16") casts the stored params; None keeps them as stored
        (float32 for a PyTorch folder).
        """
        return cls(*load_model(path, dtype, progress))

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
            if self.folder is None or not (self.folder / "vocab.json").is_file():
                raise FileNotFoundError(
                    f"model folder {self.folder} has no vocab.json: translating needs the tokenizer"
                )
            self._processor = Processor(load_feature_extractor(self.folder),
                                        Tokenizer.from_pretrained(self.folder))
        return self._processor

    def generate(self, input_values: np.ndarray, attention_mask: np.ndarray | None = None,
                 **options: Any) -> np.ndarray:
        """Token ids `[batch, width]` as the reference's `generate()` (see `decoding.generate`)."""
        return generate(self.params, self.config, input_values, attention_mask, **options)

    def batcher(self, batch_size: int = 8, bucket_seconds: tuple[float, ...] | None = None,
                segment_all: bool = False, **options: Any) -> Batcher:
        """A `batching.Batcher` bound to this model and generation `options`; every row is
        translated as its audio alone (`padding_invariant`), whatever its batch and bucket, and
        scored (`decoding.generate(..., return_scores=True)`). Audio longer than the largest
        bucket (any audio with `segment_all`) is split at pauses (`s2t2_jax.segmenter`)."""
        proc = self.processor
        options = {k: v for k, v in options.items() if k != "return_scores"}

        def generate_ids(x: jax.Array, mask: jax.Array) -> tuple[np.ndarray, np.ndarray]:
            return generate(self.params, self.config, x, mask, return_scores=True,
                            padding_invariant=True, **options)

        return Batcher(
            generate_ids=generate_ids,
            decode_text=lambda ids: proc.batch_decode(ids, skip_special_tokens=True),
            extract=proc.feature_extractor, sampling_rate=proc.feature_extractor.sampling_rate,
            batch_size=batch_size, bucket_seconds=bucket_seconds or DEFAULT_BUCKET_SECONDS,
            segment_all=segment_all, min_samples=min_input_samples(self.config.encoder),
            layout=self.layout,
        )

    def translate(self, audio: Any, batch_size: int = 8, progress: bool = False,
                  return_scores: bool = False, segments: bool = False, segment_all: bool = False,
                  **options: Any) -> list[str] | list[tuple[str, float]] | list[list[dict[str, Any]]]:
        """German text for each input: a path, an array at the model's rate, or a list of either.

        Audio longer than the largest bucket is split at pauses and its segments' texts joined by
        a space (`segment_all`: every input is split; silence gives ""). `return_scores=True`:
        `(text, score)` pairs, the score as `decoding.generate` gives it (the mean over an
        input's segments; None for audio without speech). `segments=True`: for each input its
        segments, `[{"start", "end", "text", "score"}]` (seconds; one segment for an input
        translated whole, none for silence). Raises the first input's error (e.g. `AudioError`)
        if any input cannot be translated.
        """
        if isinstance(audio, (str, os.PathLike)) or (isinstance(audio, np.ndarray) and audio.ndim == 1):
            audio = [audio]
        items = []
        for i, a in enumerate(audio):
            if isinstance(a, (str, os.PathLike)):
                items.append(Item(str(a), path=Path(a), index=i))
            else:
                items.append(Item(f"<array {i}>", audio=np.asarray(a), index=i))
        batcher = self.batcher(batch_size, segment_all=segment_all, **options)
        batcher.translate(items, progress=progress)
        for it in items:
            if it.error is not None:
                raise AudioError(it.error)
        if segments:
            return [it.segments for it in items]
        if return_scores:
            return [(it.translation, it.score) for it in items]
        return [it.translation for it in items]
