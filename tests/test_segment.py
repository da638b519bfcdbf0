"""Long recordings: split at pauses, segment timestamps, subtitles.

Recordings are espeak-ng sentences joined with pauses at known places over a quiet noise floor;
the shipped default model translates them. Each segment must start and end within 0.3 s of its
sentence's speech and be translated as that sentence's own clip is alone. Also: 45 s of speech
with no pause (forced cuts, no sample lost or repeated), pure silence and stationary noise (no
segments, an empty translation), and SRT / WebVTT files read back by independent parsers
(`srt`, `webvtt-py`).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from s2t2_jax.cli import main
from s2t2_jax.segmenter import find_segments
from s2t2_jax.subtitles import MAX_CHARS, MAX_LINES, cues, output_names, to_srt, to_vtt
from s2t2_jax.translator import SpeechTranslator, default_model_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from make_corpus import synthesize  # noqa: E402

RATE = 16000
# Sentences the default model translates the same in each voice below with 0-0.3 s of silence
# before and 0.1-0.35 s after the speech (it is a small model: some translations, e.g. of "half
# past seven" or "bus number eighty", hinge on a few samples in some voices).
SENTENCES = [
    "A table for three, please.",
    "My appointment is on Friday at quarter to six.",
    "It is reduced to twenty-six euros thirty.",
    "The museum opens at ten o'clock.",
    "It costs twelve euros fifty.",
]
VOICES = [("en-us", 160), ("en-gb+m3", 150), ("en-029+f2", 170)]
NOISE_RMS = 0.003  # about -50 dBFS: a quiet room


@pytest.fixture(scope="session")
def clips() -> list[np.ndarray]:
    """Each sentence in each voice, as espeak-ng speaks it (16 kHz; a little silence after)."""
    out = []
    for voice, speed in VOICES:
        for text in SENTENCES:
            audio, rate = synthesize(text, voice, speed, 50)
            out.append(soxr.resample(audio, rate, RATE).astype(np.float32))
    return out


def _speech(clip: np.ndarray) -> tuple[int, int]:
    """The first and last sample of speech (not espeak's silence) in a clip."""
    loud = np.flatnonzero(np.abs(clip) > 1e-3)
    return int(loud[0]), int(loud[-1]) + 1


def _recording(clips: list[np.ndarray], seed: int, lead: float = 0.7):
    """Clips joined by pauses of 0.4-1.5 s (espeak's own trailing silence aside) over a noise
    floor. Returns the waveform, each clip's `(start, end)` in it, and its speech's."""
    rng = np.random.default_rng(seed)
    parts, places, pos = [np.zeros(int(lead * RATE), np.float32)], [], int(lead * RATE)
    for clip in clips:
        places.append((pos, pos + len(clip)))
        pause = np.zeros(int(rng.uniform(0.4, 1.5) * RATE), np.float32)
        parts += [clip, pause]
        pos += len(clip) + len(pause)
    x = np.concatenate(parts)
    x += (NOISE_RMS * rng.standard_normal(len(x))).astype(np.float32)
    speech = [(a + _speech(c)[0], a + _speech(c)[1]) for c, (a, _) in zip(clips, places, strict=True)]
    return x, places, speech


@pytest.fixture(scope="session")
def translator() -> SpeechTranslator:
    return SpeechTranslator.from_pretrained(default_model_dir(), progress=False)


def _check_segments(segs, x, places, speech, translator):
    """One segment per sentence, within 0.3 s of its speech, translated as its own audio alone
    (segment times are whole 10 ms frames, so they give back the exact samples)."""
    assert len(segs) == len(places)
    for seg, (a, b) in zip(segs, speech, strict=True):
        assert abs(seg["start"] - a / RATE) <= 0.3 and abs(seg["end"] - b / RATE) <= 0.3, (seg, a, b)
    alone = translator.translate([x[round(s["start"] * RATE):round(s["end"] * RATE)] for s in segs])
    assert [s["text"] for s in segs] == alone
    assert all(alone)


def test_sentences_with_pauses(clips, translator):
    x, places, speech = _recording(clips[:4], seed=0)
    assert len(x) < 30 * RATE  # a short file: split only when asked
    (segs,) = translator.translate(x, segments=True, segment_all=True)
    _check_segments(segs, x, places, speech, translator)
    assert all(0 < s["end"] - s["start"] and "score" in s for s in segs)
    assert all(a["end"] <= b["start"] for a, b in zip(segs, segs[1:], strict=False))
    (text,) = translator.translate(x, segment_all=True)
    assert text == " ".join(s["text"] for s in segs)
    (whole,) = translator.translate(x, segments=True)  # not split: one segment, the whole file
    assert [(s["start"], s["end"]) for s in whole] == [(0.0, round(len(x) / RATE, 3))]


def test_three_minute_recording_to_subtitles(clips, translator, tmp_path):
    """A 3-minute file (longer than the largest bucket: split without being asked), through the
    CLI as JSON records and SRT; the SRT and a VTT of its segments read back by other parsers."""
    import srt
    import webvtt

    order = [clips[i % len(clips)] for i in range(52)]
    x, places, speech = _recording(order, seed=1)
    assert 170 * RATE < len(x) < 200 * RATE
    sf.write(tmp_path / "talk.wav", x, RATE, subtype="FLOAT")
    out, subs = tmp_path / "out.jsonl", tmp_path / "subs"
    assert main(["translate", str(tmp_path / "talk.wav"), "--output", str(out), "--format", "srt",
                 "--output-dir", str(subs), "--no-progress", "--batch-size", "16"]) == 0
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    segs = rec["segments"]
    _check_segments(segs, x, places, speech, translator)
    assert rec["translation"] == " ".join(s["text"] for s in segs)
    assert rec["score"] == pytest.approx(np.mean([s["score"] for s in segs]), abs=1e-5)
    srt_cues = list(srt.parse((subs / "talk.srt").read_text(encoding="utf-8")))
    with io.StringIO(to_vtt(segs)) as f:
        vtt_cues = webvtt.from_buffer(f).captions
    for parsed in (
        [(c.start.total_seconds(), c.end.total_seconds(), c.content) for c in srt_cues],
        [(c.start_in_seconds + c.start_time.milliseconds / 1000,
          c.end_in_seconds + c.end_time.milliseconds / 1000, c.text) for c in vtt_cues],
    ):
        _check_cues(parsed, segs)


def _check_cues(parsed, segs):
    """Parsed cues `(start, end, text)` are the segments' texts in order, in lines of at most
    MAX_CHARS, at most MAX_LINES a cue, each segment's cues filling its time."""
    for start, end, text in parsed:
        lines = text.split("\n")
        assert len(lines) <= MAX_LINES and all(0 < len(line) <= MAX_CHARS for line in lines)
        assert start < end
    for seg in segs:
        mine = [c for c in parsed if seg["start"] <= c[0] < seg["end"]]
        assert " ".join(c[2].replace("\n", " ") for c in mine) == seg["text"]
        assert mine[0][0] == pytest.approx(seg["start"], abs=1e-6)
        assert mine[-1][1] == pytest.approx(seg["end"], abs=1e-6)
        assert all(a[1] == b[0] for a, b in zip(mine, mine[1:], strict=False))
    assert len({c[0] for c in parsed}) == len(parsed)


def test_long_segments_become_several_cues_read_back():
    """A segment too long for one cue is several cues, times in proportion to their text."""
    import srt
    import webvtt

    long = ("Mein Termin ist am Freitag um Viertel vor sechs, danach fährt der Zug um halb acht "
            "ab und kommt um neun Uhr in Hamburg an. Einen Tisch für drei Personen, bitte.")
    word = "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen"  # longer than a line
    segs = [{"start": 1.5, "end": 9.25, "text": long}, {"start": 10.0, "end": 10.5, "text": ""},
            {"start": 3600.0, "end": 3604.0, "text": f"Ja {word} ja."}]
    made = cues(segs)
    assert len([c for c in made if c.start < 9.25]) >= 2
    first = [c for c in made if c.start < 9.25]
    durations = np.array([c.end - c.start for c in first])
    lengths = np.array([len(" ".join(c.lines)) for c in first])
    np.testing.assert_allclose(durations / durations.sum(), lengths / lengths.sum(), atol=2e-3)
    parsed_srt = [(c.start.total_seconds(), c.end.total_seconds(), c.content)
                  for c in srt.parse(to_srt(segs))]
    with io.StringIO(to_vtt(segs)) as f:
        parsed_vtt = [(c.start_in_seconds + c.start_time.milliseconds / 1000,
                       c.end_in_seconds + c.end_time.milliseconds / 1000, c.text)
                      for c in webvtt.from_buffer(f).captions]
    assert parsed_srt == parsed_vtt == [(c.start, c.end, "\n".join(c.lines)) for c in made]
    # The over-long word is broken across lines, nothing of it lost.
    assert "".join(c[2].replace("\n", "").replace(" ", "") for c in parsed_srt if c[0] >= 3600) == \
        f"Ja{word}ja."
    for c in parsed_srt:
        assert all(len(line) <= MAX_CHARS for line in c[2].split("\n"))
    _check_cues(parsed_srt[:len(first)], segs[:1])


def test_speech_without_pause_is_cut_without_losing_a_sample(clips):
    """45 s of speech with no pause: forced cuts at quiet points; the segments cover the speech
    exactly once."""
    trimmed = [c[slice(*_speech(c))] for c in clips]
    x = np.concatenate(trimmed * 3)
    x = x[:45 * RATE] if len(x) >= 45 * RATE else np.concatenate([x, trimmed[0]])[:45 * RATE]
    assert len(x) == 45 * RATE
    first, last = _speech(x)
    frame_rms = np.sqrt(np.mean(x[: len(x) // 160 * 160].reshape(-1, 160) ** 2, axis=1))
    for max_seconds in (30, 8):
        segs = find_segments(x, RATE, max_seconds * RATE)
        assert len(segs) >= -(-(last - first) // (max_seconds * RATE))
        assert segs[0][0] <= first and segs[-1][1] >= last
        assert all(a[1] == b[0] for a, b in zip(segs, segs[1:], strict=False))  # no gap, no overlap
        assert all(0 < e - s <= max_seconds * RATE for s, e in segs)
        covered = np.zeros(len(x), np.int32)
        for s, e in segs:
            covered[s:e] += 1
        assert (covered[first:last] == 1).all()
        # Cut at a quiet point: the 50 ms around each cut is quieter than most speech.
        for _, cut in segs[:-1]:
            around = np.sqrt(np.mean(x[cut - 400:cut + 400] ** 2))
            assert around < np.percentile(frame_rms, 30), (max_seconds, cut / RATE)


def test_silence_and_noise_give_no_segments(translator, tmp_path):
    """Pure silence, a quiet noise floor and loud stationary (white, pink) noise have no speech:
    no segments and an empty translation, not an error."""
    rng = np.random.default_rng(3)
    n = 40 * RATE
    white = rng.standard_normal(n)
    pink = np.fft.irfft(np.fft.rfft(white) / np.sqrt(np.arange(n // 2 + 1) + 1.0), n)
    files = {"silence": np.zeros(n), "floor": NOISE_RMS * white,
             "white": 0.05 * white, "pink": 0.05 * pink / pink.std()}
    for name, x in files.items():
        x = x.astype(np.float32)
        assert find_segments(x, RATE, 30 * RATE) == [], name
        assert find_segments(x[:5 * RATE], RATE, 30 * RATE) == [], name
        sf.write(tmp_path / f"{name}.wav", x, RATE, subtype="FLOAT")
    assert translator.translate(np.zeros(3 * RATE, np.float32), segments=True, segment_all=True) == [[]]
    paths = [str(tmp_path / f"{name}.wav") for name in files]
    out = tmp_path / "out.jsonl"
    assert main(["translate", *paths, "--output", str(out), "--no-progress"]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["translation"], r["segments"], "score" in r) for r in recs] == [("", [], False)] * 4
    assert main(["translate", *paths[:1], "--format", "vtt", "--output-dir", str(tmp_path / "v"),
                 "--no-progress"]) == 0
    assert (tmp_path / "v" / "silence.vtt").read_text() == "WEBVTT\n\n"


def test_output_dir_names_clashes_and_existing_files(clips, tmp_path, capsys):
    """One file per input named after it; clashes renamed visibly; an existing file is never
    replaced unless --overwrite (or kept with --resume)."""
    x, _, _ = _recording(clips[:2], seed=2)
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        sf.write(tmp_path / sub / "talk.wav", x, RATE)
    paths = [str(tmp_path / "a" / "talk.wav"), str(tmp_path / "b" / "talk.wav")]
    subs = tmp_path / "subs"
    args = ["translate", *paths, "--format", "txt", "--output-dir", str(subs), "--segment",
            "--no-progress"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "name clash" in err and "talk-1.txt" in err
    texts = [(subs / n).read_text() for n in ("talk.txt", "talk-1.txt")]
    assert texts[0] == texts[1] and len(texts[0].splitlines()) == 2
    (subs / "talk-1.txt").write_text("kept")
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0  # both files exist: nothing to translate
    assert (subs / "talk-1.txt").read_text() == "kept"
    (subs / "talk.txt").unlink()
    assert main(args + ["--resume"]) == 0
    assert (subs / "talk.txt").read_text() == texts[0] and (subs / "talk-1.txt").read_text() == "kept"
    assert main(args + ["--overwrite"]) == 0
    assert (subs / "talk-1.txt").read_text() == texts[1]
    assert main(["translate", *paths, "--format", "srt", "--no-progress"]) == 2
    assert "--output-dir" in capsys.readouterr().err
    assert output_names(["x/Talk.wav", "y/talk.flac", None], "srt") == (
        ["Talk.srt", "talk-1.srt", None], ["y/talk.flac -> talk-1.srt (talk.srt is x/Talk.wav's)"])
