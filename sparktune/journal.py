"""Crash-safe trial files: an append-only JSON-lines journal and atomic snapshots.

A journal starts with one header line (format, version, space fingerprint) followed by one line
per trial change; the last line for a ``tid`` wins. Each line is written with a single ``write``
and flushed, so a killed process leaves every earlier line intact; a torn last line is detected
on load, skipped, and reported with a warning. Snapshots (``Trials.save``) are written to a
temporary file and renamed over the target. Files hold plain data only: loading one never runs
code.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from .exceptions import JournalError

__all__ = ["FORMAT", "VERSION", "JournalWriter", "read_journal", "write_snapshot", "to_plain"]

FORMAT = "sparktune-trials"
VERSION = 1


def to_plain(value: Any, where: str = "result") -> Any:
    """Convert ``value`` to JSON-ready data, or raise :class:`JournalError` saying what is not."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic):
        return to_plain(value.item(), where)
    if isinstance(value, np.ndarray):
        return [to_plain(v, where) for v in value.tolist()]
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise JournalError(f"{where}: key {k!r} is not a str; trial files store str keys only")
            out[k] = to_plain(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [to_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise JournalError(
        f"{where} holds a {type(value).__module__}.{type(value).__qualname__}, which a trial file cannot store "
        "as plain data; return numbers, strings, lists and dicts in the result, put bytes in "
        "'attachments', or keep such objects out of the result"
    )


def _from_plain(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "__bytes__":
                return base64.b64decode(inner)
            if key == "__float__":
                return float(inner)
            if key == "__datetime__":
                return dt.datetime.fromisoformat(inner)
        return {k: _from_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_plain(v) for v in value]
    return value


def _line(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n"


class JournalWriter:
    """Appends trial records to a journal file, creating it with a header when new."""

    def __init__(self, path: str | os.PathLike[str], header: Mapping[str, Any]) -> None:
        self.path = Path(path)
        new = not self.path.exists() or self.path.stat().st_size == 0
        try:
            self._file: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        except OSError as err:
            raise JournalError(f"cannot open trials file {str(self.path)!r} for writing: {err}") from err
        if new:
            self._write(_line({"format": FORMAT, "version": VERSION, **to_plain(dict(header), "header")}))

    def _write(self, text: str) -> None:
        assert self._file is not None, "journal is closed"
        try:
            self._file.write(text)
            self._file.flush()
        except OSError as err:
            raise JournalError(
                f"cannot write to trials file {str(self.path)!r}: {err}; the trials stay in memory"
            ) from err

    def append(self, record: Mapping[str, Any]) -> None:
        self._write(_line(to_plain(dict(record), f"trial {record.get('tid')}")))

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            finally:
                self._file.close()
                self._file = None


def read_journal(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a journal or snapshot: ``(header, records)`` with the last record per tid, in tid order."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise JournalError(f"cannot read trials file {str(path)!r}: {err}") from err
    except UnicodeDecodeError as err:
        raise JournalError(
            f"trials file {str(path)!r} is not text, so it is not a sparktune trials file "
            "(Hyperopt's pickled Trials are not loaded: unpickling can run arbitrary code)"
        ) from err
    lines = text.split("\n")
    torn = lines.pop() if lines else ""
    if torn.strip():
        warnings.warn(
            f"trials file {str(path)!r}: the last line is incomplete (the writer was stopped mid-write); "
            "it is skipped and every complete trial is kept",
            stacklevel=2,
        )
    if not lines or not lines[0].strip():
        raise JournalError(f"trials file {str(path)!r} is empty or has no header line")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError as err:
        raise JournalError(
            f"trials file {str(path)!r} does not start with a sparktune header; "
            "it is not a sparktune trials file (Hyperopt's pickled Trials cannot be loaded safely)"
        ) from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise JournalError(f"trials file {str(path)!r} is not a {FORMAT} file (header {header!r})")
    if header.get("version", 0) > VERSION:
        raise JournalError(
            f"trials file {str(path)!r} has version {header['version']}, newer than this sparktune ({VERSION}); "
            "upgrade sparktune"
        )
    records: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            record = _from_plain(json.loads(line))
        except json.JSONDecodeError as err:
            raise JournalError(f"trials file {str(path)!r}: line {number} is corrupt ({err.msg})") from err
        records[int(record["tid"])] = record
    return _from_plain(header), [records[t] for t in sorted(records)]


def write_snapshot(
    path: str | os.PathLike[str], header: Mapping[str, Any], records: Iterable[Mapping[str, Any]]
) -> None:
    """Write a complete file atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    body = [_line({"format": FORMAT, "version": VERSION, **to_plain(dict(header), "header")})]
    body.extend(_line(to_plain(dict(r), f"trial {r.get('tid')}")) for r in records)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        raise JournalError(f"cannot write trials file {str(path)!r}: {err}") from err
