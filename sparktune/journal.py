"""Crash-safe trial files: an append-only JSON-lines journal and atomic snapshots.

A trials file starts with one header line (format, version, the search space's fingerprint and
parameter definitions, the run's base seed) followed by one line per trial change: the trial's
state, point, result, timing and seed. The last line for a ``tid`` wins, so writing a change
costs one line whatever the number of trials (O(1) per trial).

Durability rules:

- Every line is written with a single ``os.write`` on a descriptor opened with ``O_APPEND`` (no
  buffer in this process), so a process killed at any instant, ``SIGKILL`` included, leaves
  every earlier line intact and at most one torn last line.
- The file is ``fsync``-ed after a trial finishes when at least :data:`FSYNC_INTERVAL` seconds
  passed since the last ``fsync`` (else once that interval has passed, by a timer, even if no
  other trial finishes), and when the writer closes. A process crash loses nothing; an
  operating-system crash or power loss loses at most about a second of results, which are then
  run again on resume. (``fsync`` after every line would cost milliseconds per trial.)
- A torn last line is skipped with a warning when read, and cut off before a writer appends to
  the file again, so a new line never merges with it.
- A failed write (disk full, quota, I/O error) is rolled back to the last complete line and the
  writer refuses further writes: the file stays loadable with every trial written before.
- One writer per file: the writer holds an exclusive ``flock``, so two runs cannot interleave
  their trials in one file.

Files hold plain data only: JSON with tagged values for non-finite floats, ``bytes`` and
datetimes. Any other object is rejected with :class:`~sparktune.exceptions.UnstorableValue`
naming where it is, unless the writer opts in with ``allow_pickle=True``; then it is stored as a
base64 pickle and reading the file needs ``allow_pickle=True`` too, because unpickling can run
code. Reading a file never runs code otherwise.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import errno
import json
import math
import os
import pickle
import tempfile
import threading
import time
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import JournalError, UnstorableValue

__all__ = [
    "FORMAT",
    "VERSION",
    "FSYNC_INTERVAL",
    "JournalContents",
    "JournalWriter",
    "read_journal",
    "write_snapshot",
    "to_plain",
    "from_plain",
    "encode_line",
    "is_pickle",
    "SPACE_KEYS",
]

FORMAT = "sparktune-trials"
VERSION = 1

#: Seconds between two ``fsync`` calls while trials finish (bounds what an OS crash can lose).
FSYNC_INTERVAL = 1.0

_FLOAT, _BYTES, _DATETIME, _PICKLE, _DICT = "__float__", "__bytes__", "__datetime__", "__pickle__", "__dict__"
_TAGS = frozenset({_FLOAT, _BYTES, _DATETIME, _PICKLE, _DICT})
_STATES = frozenset({"NEW", "RUNNING", "DONE", "ERROR", "CANCEL"})
_PICKLE_MAGIC = b"\x80"
_SEAL_LEN = len(b',"crc":"00000000"}')

#: Header keys that describe the search space a file was written for.
SPACE_KEYS = ("space", "labels", "params", "choices")


# ----- values -----------------------------------------------------------------------------------


def to_plain(value: Any, where: str = "result", *, allow_pickle: bool = False) -> Any:
    """Convert ``value`` to JSON-ready data.

    Raises :class:`UnstorableValue` naming the first part that is not plain data, unless
    ``allow_pickle`` is true, in which case such parts are stored as tagged base64 pickles.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {_FLOAT: repr(value)}
    if isinstance(value, np.generic):
        return to_plain(value.item(), where, allow_pickle=allow_pickle)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        if value.ndim == 0:  # a 0-d array is one number
            return to_plain(value.item(), where, allow_pickle=allow_pickle)
        return [to_plain(v, where, allow_pickle=allow_pickle) for v in value.tolist()]
    if isinstance(value, (bytes, bytearray)):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        out = {k: to_plain(v, f"{where}[{k!r}]", allow_pickle=allow_pickle) for k, v in value.items()}
        # A user dict that looks like one of our tags is wrapped so it reads back as itself.
        return {_DICT: out} if len(out) == 1 and next(iter(out)) in _TAGS else out
    if isinstance(value, (list, tuple)):
        return [to_plain(v, f"{where}[{i}]", allow_pickle=allow_pickle) for i, v in enumerate(value)]
    if allow_pickle:
        return {_PICKLE: base64.b64encode(_pickle(value, where)).decode("ascii")}
    if isinstance(value, Mapping):
        key = next(k for k in value if not isinstance(k, str))
        raise UnstorableValue(
            f"{where} has the key {key!r} ({type(key).__name__}); trials files store dicts with str keys only. "
            "Use str keys, or opt in to pickled values with Trials(journal_pickle=True)"
        )
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    raise UnstorableValue(
        f"{where} holds a {kind}, which a trial file cannot store as plain data. Return numbers, "
        "strings, lists and dicts in the result (put bytes under 'attachments'), or opt in to pickled "
        "values with Trials(journal_pickle=True); reading such a file then needs allow_pickle=True"
    )


def _pickle(value: Any, where: str) -> bytes:
    import cloudpickle

    try:
        return bytes(cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as err:
        raise UnstorableValue(
            f"{where} holds a {type(value).__qualname__} that cannot be pickled either "
            f"({type(err).__name__}: {err}); keep it out of the result"
        ) from err


def from_plain(value: Any, *, allow_pickle: bool = False, where: str = "trials file") -> Any:
    """Invert :func:`to_plain`. Pickled values are refused unless ``allow_pickle`` is true."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == _FLOAT:
                return float(inner)
            if key == _BYTES:
                return base64.b64decode(inner)
            if key == _DATETIME:
                return dt.datetime.fromisoformat(inner)
            if key == _DICT:
                return {k: from_plain(v, allow_pickle=allow_pickle, where=where) for k, v in inner.items()}
            if key == _PICKLE:
                if not allow_pickle:
                    raise JournalError(
                        f"{where} holds pickled values (it was written with journal_pickle=True); loading them "
                        "can run code, so it is refused by default. If you trust this file, load it with "
                        "Trials.load(path, allow_pickle=True), or resume with Trials(journal_pickle=True)"
                    )
                return pickle.loads(base64.b64decode(inner))  # the caller opted in: allow_pickle=True
        return {k: from_plain(v, allow_pickle=allow_pickle, where=where) for k, v in value.items()}
    if isinstance(value, list):
        return [from_plain(v, allow_pickle=allow_pickle, where=where) for v in value]
    return value


def encode_line(record: Mapping[str, Any], where: str, *, allow_pickle: bool = False) -> bytes:
    """One journal line for ``record``: an ASCII JSON object sealed with a checksum, and a newline.

    The last member is ``"crc"``: the CRC-32 of the line with that member removed, so a damaged
    line is recognised even when it is still valid JSON (a flipped digit in a loss, say).
    """
    plain = to_plain(dict(record), where, allow_pickle=allow_pickle)
    body = json.dumps(plain, separators=(",", ":"), allow_nan=False).encode("ascii")
    return body[:-1] + b',"crc":"%08x"}\n' % zlib.crc32(body)


def _checked_json(line: bytes) -> Any:
    """Parse one line; raises ``ValueError`` when it is not JSON or its checksum does not match."""
    sealed = line.endswith(b'"}') and line[-_SEAL_LEN:].startswith(b',"crc":"')
    if sealed and zlib.crc32(line[:-_SEAL_LEN] + b"}") != int(line[-10:-2], 16):
        raise ValueError("checksum mismatch")
    value = json.loads(line)
    if sealed and isinstance(value, dict):
        value.pop("crc", None)
    return value


def _header_line(header: Mapping[str, Any]) -> bytes:
    return encode_line({"format": FORMAT, "version": VERSION, **header}, "header")


def is_pickle(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` starts like a pickle (e.g. a Hyperopt ``trials_save_file``)."""
    try:
        with open(path, "rb") as f:
            return f.read(1) == _PICKLE_MAGIC
    except OSError:
        return False


# ----- reading ----------------------------------------------------------------------------------


@dataclass
class JournalContents:
    """What :func:`read_journal` found.

    ``header`` is ``None`` when the file holds no complete line (a writer was killed while
    creating it). ``valid_size`` is the byte length of the complete lines, where a writer
    resumes. ``skipped`` lists the line numbers that were damaged and left out.
    """

    header: dict[str, Any] | None
    records: list[dict[str, Any]]
    valid_size: int
    torn: bool = False
    skipped: list[int] = field(default_factory=list)


def read_journal(path: str | os.PathLike[str], *, allow_pickle: bool = False) -> JournalContents:
    """Read a journal or snapshot: the header and the last record of each tid, in tid order.

    A torn last line and damaged lines in the middle are skipped with a warning (each is one
    state change of one trial; a trial whose last change is lost reads as its previous state and
    is run again on resume). A file that is not a sparktune trials file raises
    :class:`JournalError`. Nothing is unpickled unless ``allow_pickle`` is true.
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise JournalError(f"cannot read trials file {name!r}: {err.strerror or err}") from err
    if data.startswith(_PICKLE_MAGIC):
        raise JournalError(
            f"trials file {name!r} is a pickle (as Hyperopt writes), not a sparktune trials file. Unpickling can "
            "run code, so sparktune does not do it by default; if you trust the file, convert it with "
            "Trials.load(path, allow_pickle=True) and save it with trials.save(new_path)"
        )
    end = data.rfind(b"\n") + 1
    torn = bool(data[end:].strip())
    lines = data[:end].split(b"\n")[:-1]
    if not lines:
        prefix = b'{"format":"' + FORMAT.encode() + b'"'
        start = data.strip()[: len(prefix)]
        if start and not prefix.startswith(start):
            raise JournalError(f"trials file {name!r} is not a {FORMAT} file (it has no header line)")
    if torn:
        warnings.warn(
            f"trials file {name!r}: the last line is incomplete (its writer was stopped mid-write); "
            "it is skipped and every complete line is kept",
            stacklevel=2,
        )
    if not lines:
        return JournalContents(header=None, records=[], valid_size=0, torn=torn)
    header = _parse_header(name, lines[0], allow_pickle)
    records: dict[int, dict[str, Any]] = {}
    skipped: list[int] = []
    # Newest line first: only the last intact line of each trial is parsed (its earlier lines are
    # superseded), which makes reading about three times cheaper than parsing every line.
    for number in range(len(lines) - 1, 0, -1):
        line = lines[number]
        if not line.strip() or _tid_prefix(line) in records:
            continue
        record = _parse_record(line, allow_pickle, f"trials file {name!r}")
        if record is None:
            skipped.append(number + 1)
        elif record["tid"] not in records:
            records[record["tid"]] = record
    skipped.reverse()
    if skipped:
        shown = ", ".join(map(str, skipped[:10])) + (", ..." if len(skipped) > 10 else "")
        warnings.warn(
            f"trials file {name!r}: {len(skipped)} damaged line(s) skipped (line {shown}); the other lines are "
            "kept, and a trial whose latest line was damaged reads as its previous state (it runs again on resume)",
            stacklevel=2,
        )
    return JournalContents(
        header=header, records=[records[t] for t in sorted(records)], valid_size=end, torn=torn, skipped=skipped
    )


def _parse_header(name: str, line: bytes, allow_pickle: bool) -> dict[str, Any]:
    try:
        header = _checked_json(line)
    except ValueError as err:
        raise JournalError(
            f"trials file {name!r} is not a sparktune trials file, or its first line is damaged: it does not "
            f"start with a {FORMAT} header (it starts with {line[:40]!r})"
        ) from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise JournalError(f"trials file {name!r} is not a {FORMAT} file (its first line is {line[:120]!r})")
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise JournalError(
            f"trials file {name!r} has format version {version!r}; this sparktune reads versions up to {VERSION}. "
            "Upgrade sparktune to read it"
        )
    try:
        result = from_plain(header, allow_pickle=allow_pickle, where=f"trials file {name!r}")
    except (ValueError, TypeError, AttributeError) as err:
        raise JournalError(f"trials file {name!r}: its header line is damaged ({err})") from err
    assert isinstance(result, dict)
    return result


def _tid_prefix(line: bytes) -> int | None:
    """The tid of a line written by this module (``{"tid":N,...``) without parsing it; else ``None``."""
    if not line.startswith(b'{"tid":'):
        return None
    end = line.find(b",", 7)
    digits = line[7:end]
    return int(digits) if end > 7 and digits.isdigit() else None


def _parse_record(line: bytes, allow_pickle: bool, where: str) -> dict[str, Any] | None:
    try:
        raw = _checked_json(line)
    except ValueError:
        return None
    if not (
        isinstance(raw, dict)
        and isinstance(raw.get("tid"), int)
        and raw.get("state") in _STATES
        and isinstance(raw.get("vals"), dict)
        and isinstance(raw.get("result"), dict)
    ):
        return None
    if b'"__' not in line:  # nothing tagged: skip the decoding walk
        return raw
    try:
        record = from_plain(raw, allow_pickle=allow_pickle, where=where)
    except (ValueError, TypeError):  # a damaged tagged value (binascii.Error is a ValueError)
        return None
    except (AttributeError, ImportError, EOFError, pickle.UnpicklingError) as err:
        # The line is intact (its CRC matched) but a pickled value no longer loads (a class was
        # renamed or a module is missing): that is not damage, and re-running would lose it.
        raise _unpickle_error(raw, where, err) from err
    return record if isinstance(record, dict) else None


def _unpickle_error(raw: Mapping[str, Any], where: str, err: BaseException) -> JournalError:
    return JournalError(
        f"{where}: trial {raw.get('tid')}'s pickled values cannot be loaded ({type(err).__name__}: {err}); "
        "make the classes and modules they were pickled from importable again, then load the file"
    )


# ----- writing ----------------------------------------------------------------------------------


def _complete_lines_after(fd: int, start: int, end: int) -> bool:
    """Whether bytes ``[start, end)`` of the file hold a complete line (a torn tail has none)."""
    return b"\n" in os.pread(fd, end - start, start)


def _describe_os_error(err: OSError) -> str:
    code = errno.errorcode.get(err.errno or 0, "")
    text = err.strerror or str(err)
    return f"{text} ({code})" if code else text


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _lock(fd: int, name: str) -> None:
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            os.close(fd)
            raise JournalError(
                f"trials file {name!r} is being written by another running process; two runs cannot share one "
                "trials file. Wait for the other run to finish, or give this run its own trials_save_file"
            ) from err
        # Filesystems without flock support (some network mounts): go on without the lock.


def _is_regular_or_missing(path: Path) -> bool:
    try:
        return path.is_file() or not path.exists()
    except OSError:
        return True


def _atomic_write(path: Path, lines: Iterable[bytes]) -> None:
    """Write ``lines`` to a temporary file beside ``path``, ``fsync`` it, and put it at ``path``:
    by a hard link when ``path`` does not exist (so that of two runs creating it at once, one
    fails instead of both writing), else by a rename over a file no running run holds."""
    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            for line in lines:
                f.write(line)
            f.flush()
            os.fsync(f.fileno())
        if os.path.lexists(path):
            _refuse_if_locked(path)
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise JournalError(
                    f"trials file {str(path)!r} was created by another run at the same moment; two runs cannot "
                    "share one trials file. Give this run its own trials_save_file"
                ) from None
            except OSError as err:
                if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                os.replace(tmp, path)  # a filesystem without hard links
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _refuse_if_locked(path: Path) -> None:
    """Raise :class:`JournalError` when a running fmin holds ``path`` (replacing it would orphan its writes)."""
    try:
        import fcntl
    except ImportError:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise JournalError(
                f"trials file {str(path)!r} is being written by a running fmin; replacing it would lose that "
                "run's next trials. Save to another path, or wait for the run to finish"
            ) from err
    finally:
        os.close(fd)


class JournalWriter:
    """Appends trial records to a trials file; see the module docstring for the guarantees.

    Make one with :meth:`create` (a new file with a header) or :meth:`reopen` (an existing file,
    after :func:`read_journal`).
    """

    def __init__(self, path: Path, fd: int, size: int, *, allow_pickle: bool) -> None:
        self.path = path
        self.allow_pickle = allow_pickle
        self._fd: int | None = fd
        self._size = size
        self._error: str | None = None
        self._last_sync = time.monotonic()
        self._timer: threading.Timer | None = None  # a deferred fsync, at most one at a time
        self._sync_lock = threading.Lock()  # between that fsync and close()

    @classmethod
    def create(
        cls, path: str | os.PathLike[str], header: Mapping[str, Any], *, allow_pickle: bool = False
    ) -> JournalWriter:
        """Create ``path`` holding only ``header`` (atomically: the file appears complete or not at all)."""
        target = Path(path)
        name = str(target)
        line = _header_line(header)
        try:
            if _is_regular_or_missing(target):
                _atomic_write(target, [line])
                fd = os.open(target, os.O_WRONLY | os.O_APPEND)
                _lock(fd, name)
            else:  # a device or pipe: it cannot be replaced, so write to it in place
                fd = os.open(target, os.O_WRONLY | os.O_APPEND)
                _lock(fd, name)
                try:
                    os.write(fd, line)
                except OSError:
                    os.close(fd)
                    raise
        except OSError as err:
            raise JournalError(_cannot_create(name, err)) from err
        return cls(target, fd, len(line), allow_pickle=allow_pickle)

    @classmethod
    def reopen(cls, path: str | os.PathLike[str], valid_size: int, *, allow_pickle: bool = False) -> JournalWriter:
        """Open an existing file for appending after its first ``valid_size`` bytes (cutting a torn tail)."""
        target = Path(path)
        name = str(target)
        try:
            fd = os.open(target, os.O_RDWR | os.O_APPEND)  # read too: to look at what another run added
        except OSError as err:
            raise JournalError(f"cannot open trials file {name!r} for writing: {_describe_os_error(err)}") from err
        _lock(fd, name)
        try:
            size = os.fstat(fd).st_size
            if size > valid_size and _complete_lines_after(fd, valid_size, size):
                # Another run appended finished lines between our read and our lock: cutting
                # them would lose its trials.
                os.close(fd)
                raise JournalError(
                    f"trials file {name!r} grew while this run was loading it: another run is writing "
                    "it. Wait for that run to finish (or stop it), then start this one again"
                )
            if size > valid_size:
                os.ftruncate(fd, valid_size)
        except OSError as err:
            os.close(fd)
            raise JournalError(
                f"cannot repair the torn end of trials file {name!r}: {_describe_os_error(err)}"
            ) from err
        return cls(target, fd, valid_size, allow_pickle=allow_pickle)

    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def failed(self) -> bool:
        """Whether a write failed; the writer then takes no more lines."""
        return self._error is not None

    def append(self, record: Mapping[str, Any], *, durable: bool = False) -> None:
        """Append one record. ``durable`` marks a finished trial: ``fsync`` if the interval has passed.

        Raises :class:`UnstorableValue` (nothing written) when the record is not plain data,
        :class:`JournalError` when the file cannot be written (the file keeps its earlier lines).
        """
        line = encode_line(record, f"trial {record.get('tid')}", allow_pickle=self.allow_pickle)
        self._write(line)
        if durable:
            wait = FSYNC_INTERVAL - (time.monotonic() - self._last_sync)
            if wait <= 0:
                self.sync()
            elif self._timer is None:
                # Synced less than the interval ago: sync when it has passed, even if no other
                # trial finishes by then (trials may be long).
                self._timer = threading.Timer(wait, self._deferred_sync)
                self._timer.daemon = True
                self._timer.start()

    def _deferred_sync(self) -> None:
        with self._sync_lock:
            self._timer = None
            if self._fd is not None:
                with contextlib.suppress(JournalError):  # the next write or close reports it
                    self.sync()

    def append_many(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append ``records`` in one write: after a kill the file holds all of them or none
        (a torn last line is cut when the file is next opened)."""
        lines = [encode_line(r, f"trial {r.get('tid')}", allow_pickle=self.allow_pickle) for r in records]
        self._write(b"".join(lines))

    def _write(self, data: bytes) -> None:
        name = str(self.path)
        if self._fd is None:
            raise JournalError(f"trials file {name!r} is closed")
        if self._error is not None:
            raise JournalError(f"trials file {name!r} is not written any more after an earlier error: {self._error}")
        view = memoryview(data)
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, view[done:])
        except OSError as err:
            self._error = _describe_os_error(err)
            with contextlib.suppress(OSError):  # drop the partial line: readers then see only complete ones
                os.ftruncate(self._fd, self._size)
            raise JournalError(
                f"cannot write to trials file {name!r}: {self._error}. The file keeps every trial recorded before "
                "this one, and every trial stays in memory: the error's .trials attribute holds them; save them "
                "elsewhere with trials.save(other_path), free space, and rerun to resume"
            ) from err
        self._size += len(data)

    def sync(self) -> None:
        """Force the file's contents to disk."""
        if self._fd is None or self._error is not None:
            return
        try:
            os.fsync(self._fd)
        except OSError as err:
            if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EROFS):  # not a syncable file: nothing to do
                self._error = _describe_os_error(err)
                raise JournalError(f"cannot flush trials file {str(self.path)!r} to disk: {self._error}") from err
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """``fsync`` and close; safe to call twice."""
        timer = self._timer
        if timer is not None:
            timer.cancel()
        with self._sync_lock:
            if self._fd is None:
                return
            try:
                self.sync()
            finally:
                os.close(self._fd)
                self._fd = None


def _cannot_create(name: str, err: OSError) -> str:
    folder = os.path.dirname(name) or "."
    hint = ""
    if err.errno == errno.ENOENT:
        hint = f"; the folder {folder!r} does not exist: create it first"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f"; the folder {folder!r} is not writable: choose a path you can write to"
    elif err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "; the disk is full: free space or choose another disk"
    elif err.errno == errno.ENOTDIR:
        hint = f"; {folder!r} is not a folder"
    return f"cannot create trials file {name!r}: {_describe_os_error(err)}{hint}"


def write_snapshot(
    path: str | os.PathLike[str],
    header: Mapping[str, Any],
    records: Iterable[Mapping[str, Any]],
    *,
    allow_pickle: bool = False,
) -> None:
    """Write a complete trials file atomically: a temporary file in the same folder, then a rename.

    Every record is encoded before anything is written, so a record that is not plain data
    raises :class:`UnstorableValue` and leaves any existing file untouched.
    """
    target = Path(path)
    body = [_header_line(header)]
    body.extend(encode_line(r, f"trial {r.get('tid')}", allow_pickle=allow_pickle) for r in records)
    try:
        if _is_regular_or_missing(target):
            _atomic_write(target, body)
        else:
            with open(target, "ab") as f:
                f.writelines(body)
    except OSError as err:
        raise JournalError(_cannot_create(str(target), err)) from err
