"""Tests `s2t2_jax/manifest.py` (one set of manifest rules) and its two callers' views of it:
translation inputs (`batching.gather_inputs`, audio only) and training (`require_text=True`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from s2t2_jax.batching import gather_inputs
from s2t2_jax.manifest import ManifestError, ManifestLine, read_manifest


def _rows(path: Path, **kw) -> list[tuple]:
    return [tuple(r) for r in read_manifest(path, **kw)]


def test_tsv_headers_and_columns(tmp_path):
    a = str(tmp_path / "a.wav")
    (tmp_path / "plain.tsv").write_text("a.wav\thallo\n\n/abs/b.wav\n")
    assert _rows(tmp_path / "plain.tsv") == [(1, a, "hallo", None, None), (3, "/abs/b.wav", None, None, None)]
    # Training needs the text column.
    rows = _rows(tmp_path / "plain.tsv", require_text=True)
    assert rows[0] == (1, a, "hallo", None, None)
    assert rows[1][:4] == (3, None, None, None) and "2 tab-separated columns" in rows[1][4]
    # A header (the first non-blank line) names the columns, in any order, case-insensitively.
    (tmp_path / "h.tsv").write_text("\nText\tSOURCE\textra\tAudio\nhallo\thello\tx\ta.wav\n")
    assert _rows(tmp_path / "h.tsv", require_text=True) == [(3, a, "hallo", "hello", None)]
    # `path` names the audio column too (translation's form); no text column: text None.
    (tmp_path / "p.tsv").write_text("path\na.wav\n\tx\n")
    assert _rows(tmp_path / "p.tsv") == [(2, a, None, None, None), (3, None, None, None, "empty audio path")]
    with pytest.raises(ManifestError, match=r"p.tsv:1: .*no 'text' column"):
        list(read_manifest(tmp_path / "p.tsv", require_text=True))


def test_jsonl_keys_and_bad_lines(tmp_path):
    a = str(tmp_path / "a.wav")
    lines = [{"audio": "a.wav", "text": "hallo", "source": "hello"}, {"path": "a.wav"}, {"text": "x"},
             {"audio": "a.wav", "text": 3}, ["a.wav"]]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines) + "{oops\n")
    rows = _rows(tmp_path / "m.jsonl")
    assert rows[:2] == [(1, a, "hallo", "hello", None), (2, a, None, None, None)]
    assert [r[4] for r in rows[2:]] == ['expected a string "audio" path', '"text" must be a string',
                                       "expected a JSON object", "invalid JSON (Expecting property name "
                                       "enclosed in double quotes)"]
    assert all(r[1:4] == (None, None, None) for r in rows[2:])
    assert _rows(tmp_path / "m.jsonl", require_text=True)[1] == (2, None, None, None, "no text")


def test_paths_resolve_against_the_manifest_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "m.tsv").write_text("x/a.wav\n~/b.wav\n/abs/c.wav\n")
    monkeypatch.chdir(tmp_path)  # a relative manifest path still resolves against its own folder
    assert [r.audio for r in read_manifest(Path("sub/m.tsv"))] == [
        str(sub / "x" / "a.wav"), str(tmp_path / "home" / "b.wav"), "/abs/c.wav"]


def test_errors_and_laziness(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_manifest(tmp_path / "none.tsv")  # at once, not when iterated
    (tmp_path / "m.csv").write_text("a.wav\n")
    with pytest.raises(ManifestError, match=r"\.tsv or \.jsonl"):
        read_manifest(tmp_path / "m.csv")
    # Lines are read as they are asked for: the first comes before a bad byte 1 MB further on.
    (tmp_path / "big.tsv").write_bytes(b"a.wav\n" + b"b.wav\n" * 200_000 + b"\xff\n")
    lines = read_manifest(tmp_path / "big.tsv")
    assert next(lines) == ManifestLine(1, str(tmp_path / "a.wav"), None, None, None)
    with pytest.raises(UnicodeDecodeError):
        list(lines)


def test_translation_inputs_from_manifests(tmp_path):
    """Translation keeps its forms: `path` header / key, audio-only lines; names as written."""
    (tmp_path / "d").mkdir()
    (tmp_path / "p.tsv").write_text("path\nd/a.wav\n/abs/b.wav\n")
    (tmp_path / "m.jsonl").write_text('{"path": "d/a.wav"}\n{"audio": 1}\n')
    (tmp_path / "bad.jsonl").write_bytes(b"\xff\xfe\n")
    items = gather_inputs([str(tmp_path / "p.tsv"), str(tmp_path / "m.jsonl"), str(tmp_path / "bad.jsonl")])
    a = os.path.join("d", "a.wav")
    assert [it.name for it in items[:3]] == [a, "/abs/b.wav", a]
    assert items[0].path == tmp_path / "d" / "a.wav" and items[0].error is None
    assert items[3].name == f"{tmp_path / 'm.jsonl'}:2" and "manifest line 2" in items[3].error
    assert items[4].name == str(tmp_path / "bad.jsonl") and "cannot read manifest" in items[4].error
    assert len(items) == 5
