"""Subtitles and plain text from translated segments: SRT, WebVTT, txt; one file per input.

A segment is `{"start", "end", "text", ...}` (seconds; `batching.Item.segments`). Cues follow
the usual subtitle conventions: at most `MAX_LINES` lines of at most `MAX_CHARS` characters,
the two lines of a cue balanced; a segment whose text needs more becomes several consecutive
cues, its time shared among them in proportion to their text length. A word longer than a line
is broken across lines. Segments without text make no cue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

MAX_CHARS = 42
MAX_LINES = 2
FORMATS = ("srt", "vtt", "txt")


@dataclasses.dataclass(frozen=True)
class Cue:
    """One subtitle: shown from `start` to `end` (seconds), its lines."""

    start: float
    end: float
    lines: tuple[str, ...]


def _words(text: str, width: int) -> list[str]:
    """The words of `text`, those longer than `width` broken into pieces of at most `width`."""
    return [w[i:i + width] for w in text.split() for i in range(0, len(w), width)]


def _fill(words: Sequence[str], width: int) -> list[list[str]]:
    """Greedy line filling: lines (lists of words) of at most `width` characters."""
    lines: list[list[str]] = []
    for w in words:
        if lines and len(" ".join(lines[-1])) + 1 + len(w) <= width:
            lines[-1].append(w)
        else:
            lines.append([w])
    return lines


def _balance(words: Sequence[str], width: int) -> tuple[str, str]:
    """`words` (which fill two lines of `width`) as two lines, the longer as short as possible."""
    splits = [(" ".join(words[:k]), " ".join(words[k:])) for k in range(1, len(words))]
    fitting = [s for s in splits if max(map(len, s)) <= width]
    return min(fitting, key=lambda s: (max(map(len, s)), -len(s[0])))


def cues(segments: Iterable[Mapping[str, Any]], max_chars: int = MAX_CHARS,
         max_lines: int = MAX_LINES) -> list[Cue]:
    """The cues of `segments` (in order): each segment's text in cues of at most `max_lines`
    lines of at most `max_chars` characters, its time shared in proportion to their length
    (times rounded to milliseconds)."""
    if max_chars < 1 or max_lines < 1:
        raise ValueError(f"max_chars and max_lines must be >= 1, got {max_chars}, {max_lines}")
    out: list[Cue] = []
    for seg in segments:
        lines = _fill(_words(seg["text"], max_chars), max_chars)
        groups = [lines[i:i + max_lines] for i in range(0, len(lines), max_lines)]
        texts = [_balance(sum(g, []), max_chars) if len(g) == 2 else tuple(map(" ".join, g))
                 for g in groups]
        weights = [len(" ".join(t)) for t in texts]
        start, end = float(seg["start"]), float(seg["end"])
        done, t0 = 0, start
        for lines_, w in zip(texts, weights, strict=True):
            done += w
            t1 = round(start + (end - start) * done / sum(weights), 3)
            out.append(Cue(t0, t1, lines_))
            t0 = t1
    return out


def _timestamp(seconds: float, sep: str) -> str:
    """`HH:MM:SS<sep>mmm`."""
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def to_srt(segments: Iterable[Mapping[str, Any]]) -> str:
    """SubRip text: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, blank-line separated."""
    return "".join(f"{n}\n{_timestamp(c.start, ',')} --> {_timestamp(c.end, ',')}\n"
                   + "\n".join(c.lines) + "\n\n" for n, c in enumerate(cues(segments), start=1))


def to_vtt(segments: Iterable[Mapping[str, Any]]) -> str:
    """WebVTT text: the `WEBVTT` header, then cues `HH:MM:SS.mmm --> HH:MM:SS.mmm`."""
    return "WEBVTT\n\n" + "".join(f"{_timestamp(c.start, '.')} --> {_timestamp(c.end, '.')}\n"
                                  + "\n".join(c.lines) + "\n\n" for c in cues(segments))


def to_txt(segments: Iterable[Mapping[str, Any]]) -> str:
    """Plain text: one line per segment that has text."""
    return "".join(s["text"] + "\n" for s in segments if s["text"])


def render(fmt: str, segments: Iterable[Mapping[str, Any]]) -> str:
    """`segments` as `fmt` ("srt", "vtt" or "txt")."""
    writers = {"srt": to_srt, "vtt": to_vtt, "txt": to_txt}
    if fmt not in writers:
        raise ValueError(f"unknown subtitle format {fmt!r}; use one of {', '.join(FORMATS)}")
    return writers[fmt](segments)


def output_names(names: Sequence[str | None], fmt: str) -> tuple[list[str | None], list[str]]:
    """One file name per input, named after it (`a/talk.wav` -> `talk.srt`), unique ignoring case
    (for case-insensitive file systems): an input whose name is taken gets `talk-1.srt`,
    `talk-2.srt`, ... in input order. None (an input without a path) gets None.

    Returns the names and a notice for every input that was renamed.
    """
    taken: dict[str, str] = {}  # casefolded name -> the input that has it
    out: list[str | None] = []
    notices = []
    for name in names:
        if name is None:
            out.append(None)
            continue
        stem = Path(name).stem or "audio"
        cand, k = f"{stem}.{fmt}", 0
        while cand.casefold() in taken:
            k += 1
            cand = f"{stem}-{k}.{fmt}"
        if k:
            notices.append(f"{name} -> {cand} ({stem}.{fmt} is {taken[f'{stem}.{fmt}'.casefold()]}'s)")
        taken[cand.casefold()] = name
        out.append(cand)
    return out, notices
