"""`Processor`: the feature extractor and the tokenizer together (HF `Speech2Text2Processor`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from s2t2_jax.features import FeatureExtractor
from s2t2_jax.tokenizer import Tokenizer


class Processor:
    """Audio -> `input_values` (+ `attention_mask`), text -> ids, ids -> text."""

    def __init__(self, feature_extractor: FeatureExtractor, tokenizer: Tokenizer):
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> Processor:
        """Read `preprocessor_config.json` and the tokenizer files of a model folder."""
        return cls(FeatureExtractor.from_pretrained(path), Tokenizer.from_pretrained(path))

    def save_pretrained(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        self.feature_extractor.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        return path

    def __call__(self, audio: Any = None, text: Any = None, sampling_rate: int | None = None,
                 **kwargs: Any) -> dict[str, np.ndarray]:
        """As the reference: audio -> features, text -> tokenizer; both -> `labels` = text ids."""
        if audio is None and text is None:
            raise ValueError("give audio, text or both")
        inputs = None
        if audio is not None:
            inputs = self.feature_extractor(audio, sampling_rate=sampling_rate, **kwargs)
        if text is None:
            return inputs
        encodings = self.tokenizer(text, **kwargs)
        if inputs is None:
            return encodings
        inputs["labels"] = encodings["input_ids"]
        return inputs

    def decode(self, ids: Any, **kwargs: Any) -> str:
        return self.tokenizer.decode(ids, **kwargs)

    def batch_decode(self, ids: Any, **kwargs: Any) -> list[str]:
        return self.tokenizer.batch_decode(ids, **kwargs)
