"""Tests `../s2t2_jax/audio.py` on the recordings in ../shared/audio and on generated bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from s2t2_jax.audio import AudioError, check_audio, load_audio, resample

AUDIO = Path(__file__).resolve().parents[1].parent / "shared" / "audio"
SR = 16000


def _fft_resample(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Independent band-limited resampling (zero-pad / cut the spectrum), for comparison."""
    n_out = round(len(x) * target_sr / orig_sr)
    spec = np.fft.rfft(x.astype(np.float64))
    keep = min(len(spec), n_out // 2 + 1)
    out = np.zeros(n_out // 2 + 1, dtype=complex)
    out[:keep] = spec[:keep]
    return np.fft.irfft(out, n_out) * (n_out / len(x))


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def _sine(hz: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * hz * np.arange(int(sr * seconds)) / sr)).astype(np.float32)


# ---------------------------------------------------------------- real recordings


def test_short_16k_mono_is_read_unchanged():
    x = load_audio(AUDIO / "short.wav")
    raw, sr = sf.read(AUDIO / "short.wav", dtype="int16")
    assert sr == SR and x.dtype == np.float32 and x.ndim == 1
    assert x.shape == (14577,)
    np.testing.assert_array_equal(x, raw.astype(np.float32) / 32768)


def test_stereo_44k_flac_is_downmixed_and_resampled():
    x = load_audio(AUDIO / "stereo_44k.flac")
    raw, sr = sf.read(AUDIO / "stereo_44k.flac", dtype="float64")
    assert sr == 44100 and raw.shape[1] == 2
    assert x.ndim == 1 and x.dtype == np.float32
    assert abs(len(x) - len(raw) * SR / sr) <= 1
    assert abs(len(x) / SR - 2.84) < 0.02
    expect = _fft_resample(raw.mean(axis=1), sr, SR)
    # soxr's transition band near 8 kHz differs from the brick wall; a 1-sample shift gives ~0.86.
    assert _corr(x, expect) > 0.995
    assert np.sqrt(np.mean((x - expect) ** 2)) < 0.1 * np.sqrt(np.mean(expect**2))


def test_phone_8k_is_upsampled():
    x = load_audio(AUDIO / "phone_8k.wav")
    raw, sr = sf.read(AUDIO / "phone_8k.wav", dtype="float64")
    assert sr == 8000
    assert abs(len(x) - 2 * len(raw)) <= 1
    assert _corr(x, _fft_resample(raw, sr, SR)) > 0.999
    # Resampling to another rate works too, and keeps the duration.
    y = load_audio(AUDIO / "phone_8k.wav", sampling_rate=22050)
    assert abs(len(y) - len(raw) * 22050 / 8000) <= 1


# ---------------------------------------------------------------- generated audio


@pytest.mark.parametrize("orig_sr,hz", [(44100, 1000.0), (8000, 440.0), (48000, 3150.0)])
def test_resampled_sine_keeps_frequency(orig_sr, hz):
    x = _sine(hz, orig_sr, 1.0)
    y = resample(x, orig_sr, SR)
    assert y.dtype == np.float32 and abs(len(y) - SR) <= 1
    assert abs(_peak_hz(y, SR) - hz) <= 1.0
    np.testing.assert_allclose(np.sqrt(np.mean(y[200:-200] ** 2)), 0.5 / np.sqrt(2), rtol=0.01)
    vhq = resample(x, orig_sr, SR, quality="VHQ")
    assert abs(_peak_hz(vhq, SR) - hz) <= 1.0
    with pytest.raises(ValueError, match="quality"):
        resample(x, orig_sr, SR, quality="LQ")


def test_resample_rejects_bad_rates():
    with pytest.raises(ValueError, match="orig_sr"):
        resample(np.zeros(100, np.float32), 0, SR)
    with pytest.raises(ValueError, match="target_sr"):
        resample(np.zeros(100, np.float32), SR, 441.5)


def test_stereo_file_sine_frequency_and_downmix(tmp_path):
    left, right = _sine(700.0, 44100, 1.0, 0.6), _sine(700.0, 44100, 1.0, 0.2)
    path = tmp_path / "st.wav"
    sf.write(path, np.stack([left, right], axis=1), 44100, subtype="FLOAT")
    x = load_audio(path)
    assert abs(len(x) - SR) <= 1
    assert abs(_peak_hz(x, SR) - 700.0) <= 1.0
    # Downmix is the average: amplitude (0.6 + 0.2) / 2.
    np.testing.assert_allclose(np.sqrt(np.mean(x[200:-200] ** 2)), 0.4 / np.sqrt(2), rtol=0.01)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_int_and_float_wav_read_the_same(tmp_path, subtype):
    # Values on the int16 grid are exact in every subtype.
    x = np.round(_sine(523.0, SR, 0.5) * 32767) / 32768
    sf.write(tmp_path / "ref.wav", x, SR, subtype="PCM_16")
    sf.write(tmp_path / "x.wav", x, SR, subtype=subtype)
    a, b = load_audio(tmp_path / "ref.wav"), load_audio(tmp_path / "x.wav")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, x.astype(np.float32))


def test_ogg_and_flac(tmp_path):
    x = _sine(880.0, 24000, 1.0)
    sf.write(tmp_path / "a.ogg", x, 24000, format="OGG", subtype="VORBIS")
    sf.write(tmp_path / "a.flac", x, 24000, format="FLAC")
    for name in ("a.ogg", "a.flac"):
        y = load_audio(tmp_path / name)
        assert abs(len(y) - SR) <= 2
        assert abs(_peak_hz(y, SR) - 880.0) <= 1.0


# ---------------------------------------------------------------- bad files


def _assert_audio_error(path: Path, *words: str, min_samples: int = 1) -> str:
    with pytest.raises(AudioError) as info:
        load_audio(path, min_samples=min_samples)
    msg = str(info.value)
    assert str(path) in msg
    for word in words:
        assert word in msg, msg
    return msg


def test_missing_file(tmp_path):
    _assert_audio_error(tmp_path / "nope.wav", "not found")


def test_empty_files(tmp_path):
    sf.write(tmp_path / "zero_frames.wav", np.zeros((0, 1), np.float32), SR)
    _assert_audio_error(tmp_path / "zero_frames.wav", "empty", "0 samples")
    (tmp_path / "zero_bytes.wav").write_bytes(b"")
    _assert_audio_error(tmp_path / "zero_bytes.wav", "empty", "0 bytes")


def test_too_short(tmp_path):
    # The minimum is the caller's (the model's, `encoder.min_input_samples`); 400 here.
    sf.write(tmp_path / "short.wav", _sine(440.0, SR, 0.01), SR)  # 160 samples
    _assert_audio_error(tmp_path / "short.wav", "too short", "160 samples", "400", min_samples=400)
    # Checked after resampling: 150 samples at 8 kHz become 300 at 16 kHz.
    sf.write(tmp_path / "short8k.wav", _sine(440.0, 8000, 150 / 8000), 8000)
    _assert_audio_error(tmp_path / "short8k.wav", "too short", "300 samples", min_samples=400)
    # 250 samples at 8 kHz -> 500 at 16 kHz: accepted.
    sf.write(tmp_path / "ok8k.wav", _sine(440.0, 8000, 250 / 8000), 8000)
    assert len(load_audio(tmp_path / "ok8k.wav", min_samples=400)) == 500
    # Without a minimum, any non-empty audio is accepted (the audio module knows no model).
    assert len(load_audio(tmp_path / "short.wav")) == 160


@pytest.mark.parametrize("bad,word", [(np.nan, "NaN"), (np.inf, "inf")])
def test_non_finite_samples(tmp_path, bad, word):
    x = _sine(440.0, 44100, 0.5)
    x[1234] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, x, 44100, subtype="FLOAT")
    msg = _assert_audio_error(path, "non-finite", word)
    assert "1234" in msg


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20)
    _assert_audio_error(path, "cannot read")


@pytest.mark.parametrize("keep", [0.5, 44])
def test_truncated_wav(tmp_path, keep):
    good = tmp_path / "good.wav"
    sf.write(good, _sine(440.0, SR, 1.0), SR, subtype="PCM_16")
    data = good.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[:keep])
    _assert_audio_error(cut, "truncated", "32000 bytes")


def test_truncated_flac(tmp_path):
    good = tmp_path / "good.flac"
    sf.write(good, _sine(440.0, SR, 2.0), SR, format="FLAC")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[:3000])
    _assert_audio_error(cut, "cannot read")


def test_directory_is_not_audio(tmp_path):
    _assert_audio_error(tmp_path, "not a regular file")


# ---------------------------------------------------------------- arrays


def test_check_audio_arrays():
    x = _sine(440.0, SR, 0.1)
    out = check_audio(x, SR)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_array_equal(check_audio(x.tolist(), SR), x)
    # [N, C] is averaged; integer PCM is scaled like soundfile does.
    stereo = np.stack([x, np.zeros_like(x)], axis=1)
    np.testing.assert_allclose(check_audio(stereo, SR), x / 2, atol=1e-7)
    pcm = np.round(x * 32767).astype(np.int16)
    np.testing.assert_array_equal(check_audio(pcm, SR), pcm.astype(np.float32) / 32768)

    with pytest.raises(AudioError, match="3-D"):
        check_audio(np.zeros((2, 2, 1000), np.float32), SR)
    with pytest.raises(AudioError, match="transpose"):
        check_audio(np.stack([x, x]), SR)
    with pytest.raises(AudioError, match="empty"):
        check_audio(np.zeros(0, np.float32), SR)
    with pytest.raises(AudioError, match=r"<array>: audio too short: 399 samples"):
        check_audio(np.zeros(399, np.float32), SR, min_samples=400)
    with pytest.raises(AudioError, match="1 NaN"):
        check_audio(np.where(np.arange(1000) == 5, np.nan, 0.0), SR)
    assert len(check_audio(np.zeros(10, np.float32), SR, min_samples=10)) == 10
    assert issubclass(AudioError, ValueError)
