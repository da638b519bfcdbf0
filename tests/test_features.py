"""Tests `../s2t2_jax/features.py` against transformers' Wav2Vec2FeatureExtractor (4.46.3)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from s2t2_jax.features import FeatureExtractor, pick_bucket

SR = 16000
LENGTHS = (1000, 1700, 523, 1700)


@pytest.fixture(scope="module")
def hf():
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    return transformers


def _batch(lengths=LENGTHS, dtype=np.float32, seed=0) -> list[np.ndarray]:
    """Utterances with different offsets and scales, so normalisation has work to do."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0.3 * i, 0.1 + 0.5 * i, size=n).astype(dtype) for i, n in enumerate(lengths)]


def _ref_arrays(out) -> dict[str, np.ndarray]:
    """Reference BatchFeature (lists of 1-D arrays or 2-D arrays) -> stacked arrays."""
    return {k: np.stack([np.asarray(v) for v in vals]) for k, vals in out.items()}


def _assert_same(ours: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> None:
    assert set(ours) == set(ref)
    assert ours["input_values"].dtype == np.float32
    assert ours["input_values"].shape == ref["input_values"].shape
    np.testing.assert_allclose(ours["input_values"], ref["input_values"], rtol=0, atol=1e-6)
    if "attention_mask" in ref:
        assert ours["attention_mask"].dtype == np.int32
        np.testing.assert_array_equal(ours["attention_mask"], ref["attention_mask"])


PAD_CASES = [
    dict(padding=True),
    dict(padding="longest", pad_to_multiple_of=320),
    dict(padding="max_length", max_length=2048),
    dict(padding="max_length", max_length=2000, pad_to_multiple_of=320),
    dict(padding="max_length", max_length=1200, truncation=True),
]


@pytest.mark.parametrize(
    "do_normalize,mask,pad_value,pad_kwargs",
    list(itertools.product([True, False], [True, False], [0.0, -0.75], PAD_CASES)),
)
def test_padded_batch_matches_reference(hf, do_normalize, mask, pad_value, pad_kwargs):
    settings = dict(do_normalize=do_normalize, return_attention_mask=mask, padding_value=pad_value)
    ref = hf.Wav2Vec2FeatureExtractor(**settings)
    ours = FeatureExtractor(**settings)
    batch = _batch()
    got = ours(batch, sampling_rate=SR, **pad_kwargs)
    want = _ref_arrays(ref(batch, sampling_rate=SR, **pad_kwargs))
    _assert_same(got, want)
    assert ("attention_mask" in got) == mask


@pytest.mark.parametrize("padding_side", ["left", "right"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_padding_side_and_dtype_match_reference(hf, padding_side, dtype):
    settings = dict(return_attention_mask=True, padding_side=padding_side, padding_value=0.25)
    ref = hf.Wav2Vec2FeatureExtractor(**settings)
    ours = FeatureExtractor(**settings)
    batch = _batch(dtype=dtype, seed=1)
    got = ours(batch, sampling_rate=SR, padding=True)
    _assert_same(got, _ref_arrays(ref(batch, sampling_rate=SR, padding=True)))


def test_call_time_mask_override(hf):
    ref = hf.Wav2Vec2FeatureExtractor(return_attention_mask=False)
    ours = FeatureExtractor()
    batch = _batch(seed=2)
    for flag in (True, False):
        got = ours(batch, sampling_rate=SR, padding=True, return_attention_mask=flag)
        want = ref(batch, sampling_rate=SR, padding=True, return_attention_mask=flag)
        _assert_same(got, _ref_arrays(want))


def test_masked_normalisation_independent():
    """Stats over the real samples only, padding reset to padding_value (computed in float64)."""
    batch = _batch(seed=3)
    out = FeatureExtractor(return_attention_mask=True, padding_value=-2.0)(
        batch, sampling_rate=SR, padding=True
    )
    width = max(LENGTHS)
    for row, x, mask in zip(out["input_values"], batch, out["attention_mask"], strict=True):
        x64 = x.astype(np.float64)
        expect = (x64 - x64.mean()) / np.sqrt(x64.var() + 1e-7)
        np.testing.assert_allclose(row[: len(x)], expect, atol=1e-5)
        np.testing.assert_array_equal(row[len(x) :], -2.0)
        np.testing.assert_array_equal(mask, np.arange(width) < len(x))


def test_padding_without_mask_normalises_whole_padded_vector():
    batch = _batch(seed=4)
    out = FeatureExtractor(padding_value=0.5)(batch, sampling_rate=SR, padding=True)
    x = np.pad(batch[2].astype(np.float64), (0, max(LENGTHS) - LENGTHS[2]), constant_values=0.5)
    expect = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    np.testing.assert_allclose(out["input_values"][2], expect, atol=1e-5)
    assert "attention_mask" not in out


@pytest.mark.parametrize("mask", [True, False])
def test_no_padding(hf, mask):
    ref = hf.Wav2Vec2FeatureExtractor(return_attention_mask=mask)
    ours = FeatureExtractor(return_attention_mask=mask)
    same = _batch(lengths=(800, 800, 800), seed=5)
    _assert_same(ours(same, sampling_rate=SR), _ref_arrays(ref(same, sampling_rate=SR)))

    # Unequal lengths: the reference returns a ragged list, each item normalised on its own;
    # we refuse to stack it, and each item alone gives the reference's numbers.
    ragged = _batch(seed=6)
    want = ref(ragged, sampling_rate=SR)["input_values"]
    with pytest.raises(ValueError, match="padding=True"):
        ours(ragged, sampling_rate=SR)
    for x, w in zip(ragged, want, strict=True):
        got = ours(x, sampling_rate=SR)["input_values"][0]
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-6)


def test_unbatched_and_list_inputs(hf):
    ref = hf.Wav2Vec2FeatureExtractor(return_attention_mask=True)
    ours = FeatureExtractor(return_attention_mask=True)
    x = _batch(lengths=(900,), seed=7)[0]
    for raw in (x, x.tolist(), x.astype(np.float64)):
        got = ours(raw, sampling_rate=SR, padding=True)
        assert got["input_values"].shape == (1, 900)
        _assert_same(got, _ref_arrays(ref(raw, sampling_rate=SR, padding=True)))
    lists = [a.tolist() for a in _batch(seed=8)]
    _assert_same(
        ours(lists, sampling_rate=SR, padding=True),
        _ref_arrays(ref(lists, sampling_rate=SR, padding=True)),
    )
    two_d = np.stack(_batch(lengths=(640, 640), seed=9))
    _assert_same(
        ours(two_d, sampling_rate=SR, padding=True),
        _ref_arrays(ref(two_d, sampling_rate=SR, padding=True)),
    )


def test_bad_inputs():
    fe = FeatureExtractor()
    with pytest.raises(ValueError, match="mono"):
        fe(np.zeros((2, 3, 400), np.float32), sampling_rate=SR)
    with pytest.raises(ValueError, match="max_length"):
        fe(_batch(), sampling_rate=SR, padding="max_length")
    with pytest.raises(ValueError, match="padding"):
        fe(_batch(), sampling_rate=SR, padding="sideways")
    with pytest.raises(ValueError, match="empty"):
        fe([], sampling_rate=SR)


def test_wrong_sampling_rate_names_both_rates():
    with pytest.raises(ValueError, match="8000") as info:
        FeatureExtractor()(np.zeros(1000, np.float32), sampling_rate=8000)
    assert "16000" in str(info.value)


def test_buckets(hf):
    assert pick_bucket([100, 900], [2048, 512, 1024]) == 1024
    assert pick_bucket(1024, [512, 1024]) == 1024
    assert pick_bucket(np.zeros((3, 600)), [512, 1024]) == 1024
    assert pick_bucket(_batch(), (4096, 1750, 1700)) == 1700
    with pytest.raises(ValueError, match="1700"):
        pick_bucket(_batch(), [512, 1024])

    ours = FeatureExtractor(return_attention_mask=True)
    batch = _batch(seed=10)
    got = ours(batch, sampling_rate=SR, buckets=[1024, 2048, 4096])
    assert got["input_values"].shape == (len(batch), 2048)
    ref = hf.Wav2Vec2FeatureExtractor(return_attention_mask=True)
    want = ref(batch, sampling_rate=SR, padding="max_length", max_length=2048)
    _assert_same(got, _ref_arrays(want))
    with pytest.raises(ValueError, match="1700 samples"):
        ours(batch, sampling_rate=SR, buckets=[1024])


def test_to_dict_matches_reference_and_round_trips(hf, tmp_path):
    settings = dict(return_attention_mask=True, padding_value=0.0, do_normalize=True)
    ref = hf.Wav2Vec2FeatureExtractor(**settings)
    ref._set_processor_class("Speech2Text2Processor")
    ref_dir = tmp_path / "ref"
    ref.save_pretrained(ref_dir)

    ours = FeatureExtractor.from_pretrained(ref_dir)
    assert ours.return_attention_mask is True
    assert ours.extra == {
        "feature_extractor_type": "Wav2Vec2FeatureExtractor",
        "processor_class": "Speech2Text2Processor",
    }
    assert ours.to_dict() == json.loads(ref.to_json_string())
    assert ours.to_json_string() == ref.to_json_string()

    # Ours -> disk -> reference and ours again.
    ours2 = FeatureExtractor(do_normalize=False, padding_value=-1.0, return_attention_mask=True)
    saved = ours2.save_pretrained(tmp_path / "ours")
    assert saved.name == "preprocessor_config.json"
    loaded = FeatureExtractor.from_pretrained(tmp_path / "ours")
    assert loaded == ours2
    assert loaded.to_dict() == ours2.to_dict()
    back = hf.AutoFeatureExtractor.from_pretrained(tmp_path / "ours")
    assert isinstance(back, hf.Wav2Vec2FeatureExtractor)
    assert back.do_normalize is False and back.return_attention_mask is True
    assert back.padding_value == -1.0
    batch = _batch(seed=11)
    _assert_same(
        ours2(batch, sampling_rate=SR, padding=True),
        _ref_arrays(back(batch, sampling_rate=SR, padding=True)),
    )


def test_from_dict_overrides_and_validation():
    fe = FeatureExtractor.from_dict(
        {"sampling_rate": 16000, "do_normalize": True, "foo": 1}, do_normalize=False
    )
    assert fe.do_normalize is False and fe.extra == {"foo": 1}
    assert fe.to_dict()["foo"] == 1
    assert hash(fe) == hash(FeatureExtractor(do_normalize=False, extra={"foo": 1}))
    with pytest.raises(ValueError, match="padding_side"):
        FeatureExtractor(padding_side="middle")
    with pytest.raises(ValueError, match="feature_size"):
        FeatureExtractor(feature_size=2)
