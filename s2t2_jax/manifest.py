"""Manifests: lists of audio files (with texts, for training), read one line at a time.

One set of rules for translation (`s2t2_jax.batching`, audio only) and training
(`s2t2_jax.data`, audio + text, optional source):

- `.tsv`: tab-separated columns. If the first non-blank line names an audio column (`audio`, or
  `path`; case-insensitive) it is a header: the columns are found by name (`audio`/`path`,
  `text`, `source`; any order, extra columns ignored). Without a header the first column is the
  audio path and the second (if any) the text; there is no source.
- `.jsonl`: one object per line: `{"audio": path}` (or `{"path": path}`), with optional string
  `"text"` and `"source"`.

Relative audio paths resolve against the manifest's folder (`~` is expanded); they are not
checked here. Blank lines are skipped. A bad line (malformed, no audio path, a field of the
wrong type, no text when the caller requires it) is reported as that line's error; the others
are read on. `source` is the transcript in the spoken language (the CTC target in training).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, TextIO

MANIFEST_EXTENSIONS = (".tsv", ".jsonl")
AUDIO_COLUMNS = ("audio", "path")  # header names of the audio column; .jsonl keys, first wins


class ManifestError(ValueError):
    """A manifest that cannot be read at all (wrong extension, header without a needed column)."""


class ManifestLine(NamedTuple):
    """One non-blank line: its 1-based number and either its fields or its error."""

    line: int
    audio: str | None  # absolute (or `~`-expanded, manifest-relative) path; None on error
    text: str | None
    source: str | None
    error: str | None


def read_manifest(path: str | os.PathLike, *, require_text: bool = False) -> Iterator[ManifestLine]:
    """The lines of a `.tsv` / `.jsonl` manifest (see the module docstring), read lazily.

    `require_text`: a line without a text is bad (training). Raises `FileNotFoundError` (no such
    file) and `ManifestError` (not .tsv / .jsonl) at once; a header missing a needed column, and
    unreadable or undecodable files, raise when iterated.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no manifest at {path}")
    suffix = path.suffix.lower()
    if suffix not in MANIFEST_EXTENSIONS:
        raise ManifestError(f"{path}: manifest must be .tsv or .jsonl, got {suffix!r}")
    return _lines(path, suffix == ".jsonl", require_text)


def _lines(path: Path, jsonl: bool, require_text: bool) -> Iterator[ManifestLine]:
    base = path.absolute().parent

    def resolve(audio: str) -> str:
        p = Path(os.path.expanduser(audio))
        return str(p if p.is_absolute() else base / p)

    with open(path, encoding="utf-8") as f:
        rows = _jsonl_lines(f) if jsonl else _tsv_lines(f, path, require_text)
        for n, audio, text, source, error in rows:
            if error is None and not audio:
                error = "empty audio path"
            if error is None and require_text and text is None:
                error = "no text"
            if error is not None:
                yield ManifestLine(n, None, None, None, error)
            else:
                yield ManifestLine(n, resolve(audio), text, source, None)


def _numbered(f: TextIO) -> Iterator[tuple[int, str]]:
    """Non-blank lines (without their line ending) and their 1-based numbers."""
    for n, raw in enumerate(f, start=1):
        line = raw.rstrip("\r\n")
        if line.strip():
            yield n, line


def _jsonl_lines(f: TextIO) -> Iterator[ManifestLine]:
    """Raw fields of each `.jsonl` line (audio not resolved)."""
    for n, line in _numbered(f):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield ManifestLine(n, None, None, None, f"invalid JSON ({e.msg})")
            continue
        if not isinstance(obj, dict):
            yield ManifestLine(n, None, None, None, "expected a JSON object")
            continue
        audio = next((obj[k] for k in AUDIO_COLUMNS if k in obj), None)
        if not isinstance(audio, str):
            yield ManifestLine(n, None, None, None, 'expected a string "audio" path')
            continue
        bad = [k for k in ("text", "source") if obj.get(k) is not None and not isinstance(obj[k], str)]
        if bad:
            yield ManifestLine(n, None, None, None, f'"{bad[0]}" must be a string')
            continue
        yield ManifestLine(n, audio, obj.get("text"), obj.get("source"), None)


def _tsv_lines(f: TextIO, path: Path, require_text: bool) -> Iterator[ManifestLine]:
    """Raw fields of each `.tsv` line (audio not resolved); the header, if any, is not yielded."""
    audio_col, text_col, source_col = 0, 1, None  # without a header
    first = True
    for n, line in _numbered(f):
        fields = line.split("\t")
        if first:
            first = False
            names = [c.strip().lower() for c in fields]
            named = [c for c in AUDIO_COLUMNS if c in names]
            if named:
                audio_col = names.index(named[0])
                text_col = names.index("text") if "text" in names else None
                source_col = names.index("source") if "source" in names else None
                if require_text and text_col is None:
                    raise ManifestError(f"{path}:{n}: the header names no 'text' column")
                continue
        needed = (max(audio_col, text_col) if require_text else audio_col) + 1
        if len(fields) < needed:
            yield ManifestLine(n, None, None, None, f"expected at least {needed} tab-separated columns")
            continue
        text, source = (fields[c] if c is not None and c < len(fields) else None
                        for c in (text_col, source_col))
        yield ManifestLine(n, fields[audio_col].strip(), text, source, None)
