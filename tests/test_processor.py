"""Processor parity with `Speech2Text2Processor`."""

from __future__ import annotations

import json

import numpy as np

from s2t2_jax.processor import Processor


def _folder(tmp_path):
    from transformers import Wav2Vec2FeatureExtractor

    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(tmp_path)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "h": 4, "a": 5, "l": 6, "o": 7,
             "ha@@": 8, "ll@@": 9, "hallo": 10, "welt": 11}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "merges.txt").write_text("h a\nl l\nha ll\nhall o</w>\n")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({}))
    return tmp_path


def test_processor_matches_reference(tmp_path):
    from transformers import Speech2Text2Processor

    folder = _folder(tmp_path)
    ours, ref = Processor.from_pretrained(folder), Speech2Text2Processor.from_pretrained(folder)
    rng = np.random.default_rng(0)
    audio = [rng.standard_normal(n).astype(np.float32) for n in (1200, 800)]
    got = ours(audio=audio, sampling_rate=16000, padding=True)
    want = ref(audio=audio, sampling_rate=16000, padding=True, return_tensors="np")
    np.testing.assert_allclose(got["input_values"], want["input_values"], atol=1e-6)
    assert (got["attention_mask"] == want["attention_mask"]).all()
    text = ["hallo welt", "hallo"]
    got = ours(text=text, padding=True)
    want = ref(text=text, padding=True)
    assert np.asarray(got["input_ids"]).tolist() == want["input_ids"]
    both = ours(audio=audio[0], text="hallo", sampling_rate=16000)
    assert np.asarray(both["labels"]).tolist() == ref(text="hallo")["input_ids"]
    ids = [[2, 10, 11, 2, 1], [2, 8, 9, 7, 2]]
    assert ours.batch_decode(ids, skip_special_tokens=True) == ref.batch_decode(
        ids, skip_special_tokens=True)
    assert ours.decode(ids[1]) == ref.decode(ids[1])
    ours.save_pretrained(tmp_path / "again")
    again = Speech2Text2Processor.from_pretrained(tmp_path / "again")
    assert again.batch_decode(ids) == ref.batch_decode(ids)
