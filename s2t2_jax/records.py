"""Translation records as JSON lines: written as inputs finish, resumed, merged across shards.

A record is one JSON object per line with the input's position among all inputs, `"index"`,
and its `"path"`, plus either its result (`"translation"`, `"seconds"`, ...) or `"error"`
(`batching.Item.record`); other keys are carried along untouched.

`RecordFile` appends and flushes each record as its input finishes (a killed run leaves
complete records, at most a torn last line), and when the run completes rewrites the file
atomically in input order. With `resume`, inputs that already have a successful record are
done; failed ones are run again, and a torn last line is dropped. `merge` joins the outputs of
several shards (hosts) into one input-ordered file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

Record = dict[str, Any]


class RecordError(ValueError):
    """A records file that cannot be used (a corrupt line, or records of other inputs)."""


def read_records(path: str | os.PathLike) -> list[Record]:
    """The records of a JSON-lines file, in file order. A torn (unparsable) last line, what a
    killed writer leaves, is dropped; a bad line anywhere else raises `RecordError`."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or not isinstance(rec.get("index"), int):
                raise ValueError("not a record with an integer index")
        except ValueError as e:
            if n == len(lines):
                break  # torn last line
            raise RecordError(f"{path}:{n}: not a translation record ({e})") from None
        out.append(rec)
    return out


def shard_path(path: str | os.PathLike, num_shards: int, shard_index: int) -> Path:
    """Where shard `shard_index` of `num_shards` writes `path`: `out.jsonl` ->
    `out-00001-of-00004.jsonl` (unchanged for one shard)."""
    path = Path(path)
    if num_shards == 1:
        return path
    return path.with_name(f"{path.stem}-{shard_index:05d}-of-{num_shards:05d}{path.suffix}")


def _dumps(rec: Record) -> str:
    return json.dumps(rec, ensure_ascii=False) + "\n"


def write_text_atomic(path: str | os.PathLike, text: str | Iterable[str]) -> None:
    """Write `text` (a string or its pieces) to `path` (UTF-8) through a temporary file and a
    rename: readers see the old file or the whole new one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines([text] if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, records: Iterable[Record]) -> None:
    """Write `records` as JSON lines to `path`, atomically (`write_text_atomic`)."""
    write_text_atomic(path, (_dumps(r) for r in records))


def _check(rec: Record, names: Sequence[str], path: Path) -> None:
    """`rec` must be the record of input `rec["index"]` of `names` (all inputs' path names)."""
    i = rec["index"]
    if not 0 <= i < len(names) or names[i] != rec.get("path"):
        what = f"input {i} is {names[i]!r}" if 0 <= i < len(names) else f"there are {len(names)} inputs"
        raise RecordError(
            f"{path}: record {i} is for {rec.get('path')!r}, but {what}: the file holds another "
            "run's records (different inputs)"
        )


class RecordFile:
    """The output of one run (or shard): records appended as they come, input order at the end.

    Args:
      path: the JSON-lines file.
      names: the path names of all inputs, in input order (records must match them).
      owned: the indexes this run translates (its shard; default all): records of others
        found when resuming are dropped.
      resume: keep the successful records already in `path` (see `done`); otherwise `path` is
        started afresh.
    """

    def __init__(self, path: str | os.PathLike, names: Sequence[str],
                 owned: Collection[int] | None = None, resume: bool = False):
        self.path = Path(path)
        self.done: set[int] = set()
        kept: list[Record] = []
        if resume and self.path.exists():
            owned = range(len(names)) if owned is None else set(owned)
            latest: dict[int, Record] = {}
            for rec in read_records(self.path):
                _check(rec, names, self.path)
                if rec["index"] in owned:
                    latest[rec["index"]] = rec
            kept = [r for r in latest.values() if "error" not in r]
            self.done = {r["index"] for r in kept}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, kept)  # drops a torn line and failed records before appending
        self._file: TextIO | None = open(self.path, "a", encoding="utf-8")

    def write(self, rec: Record) -> None:
        """Append one record and flush it to the OS (a killed process loses nothing written)."""
        assert self._file is not None, "the file is finished"
        self._file.write(_dumps(rec))
        self._file.flush()

    def finish(self) -> list[Record]:
        """Rewrite the file atomically in input order (the latest record per input); returns
        the records."""
        if self._file is not None:
            self._file.close()
            self._file = None
        latest = {r["index"]: r for r in read_records(self.path)}
        records = [latest[i] for i in sorted(latest)]
        write_atomic(self.path, records)
        return records

    def close(self) -> None:
        """Close without reordering (an interrupted run: what was written stays)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def merge(out: str | os.PathLike, shards: Sequence[str | os.PathLike],
          names: Sequence[str] | None = None) -> tuple[list[Record], list[int]]:
    """Join shard outputs into `out` (written atomically), one record per input in input order.

    A successful record wins over a failed one for the same input. `names` (all inputs' path
    names, in input order) checks the records and finds every missing input; without it, the
    missing are the gaps below the largest index. Returns the records and the missing indexes.
    """
    latest: dict[int, Record] = {}
    for shard in shards:
        for rec in read_records(shard):
            if names is not None:
                _check(rec, names, Path(shard))
            old = latest.get(rec["index"])
            if old is None or "error" in old or "error" not in rec:
                latest[rec["index"]] = rec
    total = len(names) if names is not None else (max(latest) + 1 if latest else 0)
    if any(i < 0 for i in latest):
        raise RecordError("a record has a negative index")
    records = [latest[i] for i in sorted(latest)]
    write_atomic(out, records)
    return records, [i for i in range(total) if i not in latest]
