"""Trials: the record of every trial of a run, with Hyperopt-shaped views.

Inside, a trial is a typed :class:`Trial` record and the history is kept as columns
(:class:`~sparktune.history.History`) for algorithms. For users, ``trials.trials`` and friends
are the dicts Hyperopt documents (``tid``, ``state``, ``result``, ``misc: {vals, idxs, ...}``),
kept in sync in place so reading them costs nothing per trial. Every write goes through one lock
and, when a journal is attached, is appended to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import journal as _journal
from .exceptions import AllTrialsFailed, InvalidArgumentError, InvalidTrial
from .history import History, HistoryView
from .objective import DOMAIN_CMD, STATUS_FAIL, STATUS_NEW, STATUS_OK, ErrorInfo, Outcome, _as_loss
from .utils import coarse_utcnow

if TYPE_CHECKING:
    from .executors import Executor
    from .objective import Domain

__all__ = [
    "TrialState",
    "Trial",
    "Trials",
    "JOB_STATE_NEW",
    "JOB_STATE_RUNNING",
    "JOB_STATE_DONE",
    "JOB_STATE_ERROR",
    "JOB_STATE_CANCEL",
    "JOB_STATES",
    "JOB_VALID_STATES",
    "trials_from_docs",
]

logger = logging.getLogger(__name__)


class TrialState(enum.IntEnum):
    """A trial's lifecycle; the values are Hyperopt's ``JOB_STATE_*`` codes."""

    NEW = 0
    RUNNING = 1
    DONE = 2
    ERROR = 3
    CANCEL = 4

    @property
    def finished(self) -> bool:
        return self >= TrialState.DONE


JOB_STATE_NEW = TrialState.NEW.value
JOB_STATE_RUNNING = TrialState.RUNNING.value
JOB_STATE_DONE = TrialState.DONE.value
JOB_STATE_ERROR = TrialState.ERROR.value
JOB_STATE_CANCEL = TrialState.CANCEL.value
JOB_STATES = [JOB_STATE_NEW, JOB_STATE_RUNNING, JOB_STATE_DONE, JOB_STATE_ERROR, JOB_STATE_CANCEL]
JOB_VALID_STATES = {JOB_STATE_NEW, JOB_STATE_RUNNING, JOB_STATE_DONE}

#: Start of the reason of every trial that ``fmin`` cancels when it stops; such trials run again
#: when the run is resumed.
CANCELLED_BY_FMIN = "cancelled by fmin"


@dataclass
class Trial:
    """One trial: its point, state, result and timing."""

    tid: int
    vals: dict[str, int | float]
    labels: tuple[str, ...] = ()
    state: TrialState = TrialState.NEW
    result: dict[str, Any] = field(default_factory=lambda: {"status": STATUS_NEW})
    book_time: dt.datetime | None = None
    refresh_time: dt.datetime | None = None
    error: ErrorInfo | None = None
    worker: str | None = None
    seed: int | None = None
    spec: Any = None
    exp_key: str | None = None
    owner: Any = None
    workdir: str | None = None
    version: int = 0

    @property
    def loss(self) -> float | None:
        """The loss when the trial finished ``ok``, else ``None``."""
        if self.state is TrialState.DONE and self.result.get("status") == STATUS_OK:
            return float(self.result["loss"])
        return None

    def misc(self) -> dict[str, Any]:
        labels = self.labels or tuple(self.vals)
        misc: dict[str, Any] = {
            "tid": self.tid,
            "cmd": DOMAIN_CMD,
            "workdir": self.workdir,
            "idxs": {k: [self.tid] if k in self.vals else [] for k in labels},
            "vals": {k: [self.vals[k]] if k in self.vals else [] for k in labels},
        }
        if self.error is not None:
            misc["error"] = (self.error.type, self.error.message)
        return misc

    def to_doc(self) -> dict[str, Any]:
        """The Hyperopt trial document."""
        return {
            "state": int(self.state),
            "tid": self.tid,
            "spec": self.spec,
            "result": self.result,
            "misc": self.misc(),
            "exp_key": self.exp_key,
            "owner": self.owner,
            "version": self.version,
            "book_time": self.book_time,
            "refresh_time": self.refresh_time,
        }

    def to_record(self) -> dict[str, Any]:
        """Plain data for trial files."""
        return {
            "tid": self.tid,
            "state": self.state.name,
            "vals": self.vals,
            "labels": list(self.labels),
            "result": self.result,
            "book_time": self.book_time,
            "refresh_time": self.refresh_time,
            "error": None if self.error is None else vars(self.error),
            "worker": self.worker,
            "seed": self.seed,
            "exp_key": self.exp_key,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Trial:
        error = record.get("error")
        return cls(
            tid=int(record["tid"]),
            vals=dict(record["vals"]),
            labels=tuple(record.get("labels") or ()),
            state=TrialState[record["state"]],
            result=dict(record["result"]),
            book_time=record.get("book_time"),
            refresh_time=record.get("refresh_time"),
            error=None if error is None else ErrorInfo(**error),
            worker=record.get("worker"),
            seed=record.get("seed"),
            exp_key=record.get("exp_key"),
        )

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Trial:
        """Parse a Hyperopt trial document (as returned by ``suggest`` or built by a user)."""
        try:
            tid = int(doc["tid"])
            misc = doc["misc"]
            raw_vals = misc["vals"]
            if misc.get("tid", tid) != tid:
                raise InvalidTrial(f"trial doc tid {tid} differs from misc['tid'] {misc['tid']}")
            vals: dict[str, int | float] = {}
            for label, value in raw_vals.items():
                if isinstance(value, (list, tuple, np.ndarray)):
                    if len(value) > 1:
                        raise InvalidTrial(f"trial {tid}: misc['vals'][{label!r}] has {len(value)} values; give 0 or 1")
                    if len(value) == 0:
                        continue
                    value = value[0]
                vals[label] = value.item() if isinstance(value, np.generic) else value
            error = misc.get("error")
            return cls(
                tid=tid,
                vals=vals,
                labels=tuple(raw_vals),
                state=TrialState(int(doc.get("state", JOB_STATE_NEW))),
                result=dict(doc.get("result") or {"status": STATUS_NEW}),
                book_time=doc.get("book_time"),
                refresh_time=doc.get("refresh_time"),
                error=None if error is None else ErrorInfo(str(error[0]), str(error[1]), ""),
                spec=doc.get("spec"),
                exp_key=doc.get("exp_key"),
                owner=doc.get("owner"),
                workdir=misc.get("workdir"),
                version=int(doc.get("version", 0)),
            )
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, InvalidTrial):
                raise
            raise InvalidTrial(
                f"not a valid trial document ({type(err).__name__}: {err}); a trial needs 'tid', 'state', "
                "'result' and 'misc' with 'vals' ({label: [value]})"
            ) from err


class Trials:
    """The trials of one or more ``fmin`` runs, in memory (Hyperopt's ``Trials``)."""

    asynchronous = False

    def __init__(self, exp_key: str | None = None, refresh: bool = True, *, journal_pickle: bool = False) -> None:
        self._exp_key = exp_key
        #: Opt-in: results that are not plain data are pickled into trials files (and read back).
        self.journal_pickle = journal_pickle
        self._lock = threading.RLock()
        self._records: list[Trial] = []
        self._docs: list[dict[str, Any]] = []
        self._row: dict[int, int] = {}
        self._history = History()
        self._counts: Counter[TrialState] = Counter()
        self._best_row: int | None = None
        self._next_tid = 0
        self._attachments: dict[int, dict[str, Any]] = {}
        self._journal: _journal.JournalWriter | None = None
        self._batch: list[Trial] | None = None  # changes held for one journal write
        self._listeners: list[Callable[[Trial], None]] = []
        self._unjournaled: set[int] = set()
        self._space_info: dict[str, Any] = {}
        self._run_seed: int | None = None  # the base seed of the last fmin on these trials
        self._fmin_cancelled_reason: str | None = None
        self.attachments: dict[str, Any] = {}

    # ----- pickling: locks and open files stay behind -------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_journal"] = None
        state["_listeners"] = []
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self.__dict__.setdefault("_listeners", [])
        self.__dict__.setdefault("_batch", None)
        self.__dict__.setdefault("_run_seed", None)
        self.__dict__.setdefault("_fmin_cancelled_reason", None)

    # ----- listeners ---------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[Trial], None]) -> None:
        """Call ``listener(trial)`` with the record of each trial as soon as it finishes.

        Finished means done, failed or cancelled. Listeners run in the thread that records the
        result (``fmin``'s driver loop, on the driver for SparkTrials), after the trial's state is
        written and outside the lock, in the order they were added. An exception raised by a
        listener propagates (and stops ``fmin``). Listeners are not pickled or saved.
        """
        if not callable(listener):
            raise InvalidArgumentError(
                f"add_listener: listener must be callable (trial) -> None, got {type(listener).__name__}"
            )
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Trial], None]) -> None:
        """Stop calling ``listener``; a listener that was never added is ignored."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _notify(self, record: Trial) -> None:
        for listener in list(self._listeners):
            listener(record)

    # ----- writes ---------------------------------------------------------------------------

    def _changed(self, record: Trial) -> None:
        """Refresh the views of ``record`` after a change (lock held)."""
        row = self._row[record.tid]
        doc = self._docs[row]
        doc["state"] = int(record.state)
        doc["result"] = record.result
        doc["book_time"] = record.book_time
        doc["refresh_time"] = record.refresh_time
        if record.error is not None:
            doc["misc"]["error"] = (record.error.type, record.error.message)
        loss = record.loss
        given = record.result.get("loss")
        infeasible = record.state is TrialState.DONE and isinstance(given, float) and given == math.inf
        self._history.update(row, int(record.state), loss, infeasible=infeasible)
        best = self.best_loss()
        if loss is not None and (best is None or loss < best):
            self._best_row = row
        if self._journal is not None:
            # Marked first, so that a change whose line was not written is retried when fmin ends.
            # After a failed write the file takes no more lines: changes stay in memory only.
            self._unjournaled.add(record.tid)
            if self._batch is not None:
                self._batch.append(record)
            elif not self._journal.failed:
                self._journal.append(self._file_record(record), durable=record.state.finished)
                self._unjournaled.discard(record.tid)

    @contextlib.contextmanager
    def _journal_batch(self) -> Iterator[None]:
        """Journal the changes made inside the block in one write, so that a kill keeps all of
        them or none (a round of proposals: a resumed run then proposes the same round again)."""
        with self._lock:
            self._batch = []
            try:
                yield
            finally:
                batch, self._batch = self._batch, None
                if batch and self._journal is not None and not self._journal.failed:
                    self._journal.append_many([self._file_record(r) for r in batch])
                    self._unjournaled.difference_update(r.tid for r in batch)

    def _file_record(self, record: Trial) -> dict[str, Any]:
        """``record`` as plain data for a trials file, with its attachments once it has finished."""
        out = record.to_record()
        attachments = self._attachments.get(record.tid)
        if attachments and record.state.finished:
            out["attachments"] = attachments
        return out

    def _add(self, record: Trial, doc: dict[str, Any] | None = None) -> None:
        """Add ``record``; ``doc``, the document it was parsed from, then serves as its view."""
        with self._lock:
            if record.tid in self._row:
                raise InvalidTrial(
                    f"a trial with tid {record.tid} is already in these trials; to merge the trials of "
                    "two runs, give the added documents new tids first (tid = trials.new_trial_ids(1)[0], "
                    "set in doc['tid'] and doc['misc']['tid'])"
                )
            if record.exp_key is None:
                record.exp_key = self._exp_key
            row = len(self._records)
            self._records.append(record)
            view = record.to_doc()
            if doc is not None:  # the caller's own dict becomes the view, as Hyperopt keeps it
                doc.update(view)
                view = doc
            self._docs.append(view)
            self._row[record.tid] = row
            self._history.append(record.tid, int(record.state), record.vals)
            self._counts[record.state] += 1
            self._next_tid = max(self._next_tid, record.tid + 1)
            self._changed(record)

    def _set_state(self, record: Trial, state: TrialState) -> None:
        self._counts[record.state] -= 1
        self._counts[state] += 1
        record.state = state

    def _mark_running(self, tid: int, worker: str | None = None) -> None:
        with self._lock:
            record = self.trial(tid)
            self._set_state(record, TrialState.RUNNING)
            record.book_time = record.book_time or coarse_utcnow()
            record.refresh_time = coarse_utcnow()
            record.worker = worker
            record.result = {"status": "running"}
            self._changed(record)

    def _record_outcome(self, tid: int, outcome: Outcome, worker: str | None = None) -> Trial:
        with self._lock:
            record = self.trial(tid)
            self._set_state(record, TrialState.DONE if outcome.error is None else TrialState.ERROR)
            record.result = outcome.result
            record.error = outcome.error
            record.book_time = record.book_time or coarse_utcnow()
            record.refresh_time = coarse_utcnow()
            record.worker = worker or record.worker
            if outcome.attachments:
                self._attachments.setdefault(tid, {}).update(outcome.attachments)
            self._changed(record)
        self._notify(record)
        return record

    def _mark_cancelled(self, tid: int, reason: str) -> None:
        with self._lock:
            record = self.trial(tid)
            if record.state.finished:
                return
            self._set_state(record, TrialState.CANCEL)
            record.result = {"status": STATUS_FAIL, "failure": {"type": "TrialCancelled", "message": reason}}
            record.refresh_time = coarse_utcnow()
            self._changed(record)
        self._notify(record)

    def _interrupted(self, record: Trial) -> bool:
        """Whether ``record`` never produced a result: left running, or cancelled when an fmin stopped."""
        if record.state in (TrialState.RUNNING, TrialState.NEW):
            return True
        failure = record.result.get("failure")
        return (
            record.state is TrialState.CANCEL
            and isinstance(failure, Mapping)
            and str(failure.get("message", "")).startswith(CANCELLED_BY_FMIN)
        )

    def _requeue(self, tid: int) -> None:
        """Put an unfinished trial (e.g. in flight when a run was killed) back to NEW."""
        with self._lock:
            record = self.trial(tid)
            self._set_state(record, TrialState.NEW)
            record.result = {"status": STATUS_NEW}
            self._changed(record)

    # ----- journal ---------------------------------------------------------------------------

    def _attach_journal(self, writer: _journal.JournalWriter | None) -> None:
        with self._lock:
            self._journal = writer

    def _flush_journal(self) -> None:
        """Write the changes whose journal line was not written (e.g. Ctrl-C between change and write)."""
        with self._lock:
            if self._journal is None or self._journal.failed:
                return
            for tid in sorted(self._unjournaled):
                record = self.trial(tid)
                self._journal.append(self._file_record(record), durable=record.state.finished)
            self._unjournaled.clear()

    def save(self, path: str) -> None:
        """Write every trial to ``path`` atomically (a temporary file, then a rename).

        The file is data only (JSON lines) unless these trials were made with
        ``journal_pickle=True``; a result that is not plain data otherwise raises
        :class:`~sparktune.exceptions.UnstorableValue` and leaves ``path`` untouched.
        """
        with self._lock:
            if self._journal is not None and _same_file(path, self._journal.path):
                self._journal.sync()  # the running journal already holds every trial; replacing it would orphan it
                return
            records = [self._file_record(r) for r in self._records]
        header = {"exp_key": self._exp_key, **self._space_info}
        if self._run_seed is not None:
            header["seed"] = self._run_seed
        _journal.write_snapshot(path, header, records, allow_pickle=self.journal_pickle)

    @classmethod
    def load(cls, path: str, allow_pickle: bool = False) -> Trials:
        """Read trials saved by :meth:`save` or written as ``trials_save_file``.

        Loading runs no code. With ``allow_pickle=True`` (only for files you trust) pickled
        values written with ``journal_pickle=True`` are unpickled, and a Hyperopt ``Trials``
        pickle (Hyperopt's ``trials_save_file``) is converted.
        """
        if allow_pickle and _journal.is_pickle(path):
            return cls._from_hyperopt_pickle(path)
        contents = _journal.read_journal(path, allow_pickle=allow_pickle)
        header = contents.header or {}
        trials = cls(exp_key=header.get("exp_key"), journal_pickle=allow_pickle)
        trials._space_info = {k: header[k] for k in _journal.SPACE_KEYS if k in header}
        seed = header.get("seed")
        trials._run_seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
        trials._load_records(contents.records)
        return trials

    @classmethod
    def _from_hyperopt_pickle(cls, path: str) -> Trials:
        import pickle

        with open(path, "rb") as f:
            old = pickle.load(f)  # the caller opted in: allow_pickle=True
        docs = getattr(old, "trials", None)
        if not isinstance(docs, list):
            raise InvalidTrial(f"{path!r} is a pickle of {type(old).__name__}, not of a Hyperopt Trials")
        trials = cls(journal_pickle=True)
        trials.insert_trial_docs(docs)
        for key, value in (getattr(old, "attachments", None) or {}).items():
            parts = str(key).split("::", 2)  # Hyperopt stores trial attachments as 'ATTACH::<tid>::<name>'
            if len(parts) == 3 and parts[0] == "ATTACH" and parts[1].isdigit() and int(parts[1]) in trials._row:
                trials._attachments.setdefault(int(parts[1]), {})[parts[2]] = value
        return trials

    def _load_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        for rec in records:
            attachments = rec.get("attachments")
            if attachments:
                self._attachments.setdefault(int(rec["tid"]), {}).update(attachments)
            self._add(Trial.from_record(rec))

    # ----- Hyperopt's document API -------------------------------------------------------------

    def new_trial_ids(self, n: int) -> list[int]:
        with self._lock:
            start = self._next_tid
            self._next_tid += n
            return list(range(start, start + n))

    def new_trial_docs(
        self, tids: Sequence[int], specs: Sequence[Any], results: Sequence[Any], miscs: Sequence[Any]
    ) -> list[dict[str, Any]]:
        if not len(tids) == len(specs) == len(results) == len(miscs):
            raise InvalidTrial("new_trial_docs: tids, specs, results and miscs must have the same length")
        return [
            {
                "state": JOB_STATE_NEW,
                "tid": tid,
                "spec": spec,
                "result": result,
                "misc": misc,
                "exp_key": self._exp_key,
                "owner": None,
                "version": 0,
                "book_time": None,
                "refresh_time": None,
            }
            for tid, spec, result, misc in zip(tids, specs, results, miscs, strict=True)
        ]

    def insert_trial_doc(self, doc: Mapping[str, Any]) -> int:
        return self._insert_trial_docs([doc])[0]

    def insert_trial_docs(self, docs: Iterable[Mapping[str, Any]]) -> list[int]:
        return self._insert_trial_docs(list(docs))

    def _insert_trial_docs(self, docs: Sequence[Mapping[str, Any]]) -> list[int]:
        """Add trial documents (every ``fmin`` proposal comes through here, so a subclass that
        persists trials may override it, as with Hyperopt). A ``dict`` given becomes the stored
        document itself, filled in, so that later edits to it reach :meth:`refresh`."""
        records = [Trial.from_doc(doc) for doc in docs]  # all checked before any is added
        with self._lock:
            for record, doc in zip(records, docs, strict=True):
                if not isinstance(doc, dict):
                    self._add(record)
                    continue
                if isinstance(doc.get("result"), dict) and doc["result"]:
                    record.result = doc["result"]  # shared, as the document is (also by another Trials)
                self._add(record, doc)
        return [r.tid for r in records]

    def refresh(self) -> None:
        """Take in edits made to the documents of :attr:`trials`: Hyperopt's way of telling a result
        is to set a document's ``"state"`` (e.g. ``JOB_STATE_DONE``) and ``"result"``, then call
        ``refresh()``. ``fmin`` calls it when it starts. Everything else is always current."""
        changed = []
        with self._lock:
            losses = self._history.view().losses
            for row, (record, doc) in enumerate(zip(self._records, self._docs, strict=True)):
                if self._take_edits(record, doc, float(losses[row])):
                    changed.append(record)
            if changed:  # an edit may also have taken the best trial's result away
                ok = [(loss, row) for row, r in enumerate(self._records) if _finite(loss := r.loss)]
                self._best_row = min(ok)[1] if ok else None
        for record in changed:
            self._notify(record)

    def _take_edits(self, record: Trial, doc: Mapping[str, Any], held_loss: float) -> bool:
        """Apply the user's edits of ``doc`` to ``record``; whether there were any. ``held_loss``
        is the loss the history holds for it (NaN or inf for none), which an edit made inside
        ``doc["result"]`` (the record's own dict) leaves behind."""
        state, result = doc.get("state"), doc.get("result")
        times = doc.get("book_time"), doc.get("refresh_time")
        if state not in JOB_STATES:
            raise InvalidTrial(
                f"trial {record.tid}: doc['state'] must be one of the JOB_STATE_* values {JOB_STATES}, got {state!r}"
            )
        if not isinstance(result, Mapping) or (
            result.get("status") == STATUS_OK and _as_loss(result.get("loss")) is None
        ):
            raise InvalidTrial(
                f"trial {record.tid}: doc['result'] must be a dict with 'status' and, when the status is "
                f"'ok', a numeric 'loss'; got {result!r}"
            )
        if state == record.state and result is record.result and times == (record.book_time, record.refresh_time):
            loss = record.loss
            if (loss is None and not math.isfinite(held_loss)) or loss == held_loss:
                return False
        if state != record.state:
            self._set_state(record, TrialState(state))
        record.result = result if isinstance(result, dict) else dict(result)
        record.book_time, record.refresh_time = times
        self._changed(record)
        return True

    def delete_all(self) -> None:
        with self._lock:
            journal, listeners = self._journal, self._listeners
            # Trials.__init__, not self.__init__: a subclass (SparkTrials) keeps its own settings.
            Trials.__init__(self, exp_key=self._exp_key, journal_pickle=self.journal_pickle)
            self._journal, self._listeners = journal, listeners

    def view(self, exp_key: str | None = None, refresh: bool = True) -> Trials:
        """Trials of one experiment key, as a new ``Trials`` sharing the trial records."""
        out = Trials(exp_key=exp_key)
        for r in self._records:
            if exp_key is None or r.exp_key == exp_key:
                out._add(r)
        return out

    # ----- views -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._docs))

    def __getitem__(self, item: int) -> dict[str, Any]:
        return self._docs[item]

    def trial(self, tid: int) -> Trial:
        """The typed record of trial ``tid``."""
        try:
            return self._records[self._row[tid]]
        except KeyError:
            raise KeyError(f"no trial with tid {tid}") from None

    def _doc(self, tid: int) -> dict[str, Any] | None:
        """The Hyperopt-shaped document of trial ``tid`` (the one in :attr:`trials`), if any."""
        row = self._row.get(tid)
        return None if row is None else self._docs[row]

    @property
    def records(self) -> list[Trial]:
        return list(self._records)

    def history(self) -> HistoryView:
        """Columnar, read-only view for algorithms (one row per trial, insertion order)."""
        return self._history.view()

    @property
    def trials(self) -> list[dict[str, Any]]:
        return self._docs

    @property
    def _trials(self) -> list[dict[str, Any]]:  # some Hyperopt-era code reads this directly
        return self._docs

    @property
    def _dynamic_trials(self) -> list[dict[str, Any]]:  # likewise (Hyperopt's unfiltered list)
        return self._docs

    @property
    def _ids(self) -> set[int]:  # likewise: the tids in use
        return {r.tid for r in self._records}

    @property
    def exp_key(self) -> str | None:
        return self._exp_key

    @property
    def tids(self) -> list[int]:
        return [r.tid for r in self._records]

    @property
    def specs(self) -> list[Any]:
        return [r.spec for r in self._records]

    # results, losses() and statuses() read the documents, so that a result a user wrote into
    # one (as Hyperopt allows) shows at once; best_trial and the algorithms see it after refresh().
    @property
    def results(self) -> list[dict[str, Any]]:
        return [d["result"] for d in self._docs]

    @property
    def miscs(self) -> list[dict[str, Any]]:
        return [d["misc"] for d in self._docs]

    @property
    def idxs_vals(self) -> tuple[dict[str, list[int]], dict[str, list[Any]]]:
        idxs: dict[str, list[int]] = {}
        vals: dict[str, list[Any]] = {}
        for r in self._records:
            for label in r.labels or tuple(r.vals):
                idxs.setdefault(label, [])
                vals.setdefault(label, [])
                if label in r.vals:
                    idxs[label].append(r.tid)
                    vals[label].append(r.vals[label])
        return idxs, vals

    @property
    def idxs(self) -> dict[str, list[int]]:
        return self.idxs_vals[0]

    @property
    def vals(self) -> dict[str, list[Any]]:
        return self.idxs_vals[1]

    def losses(self, bandit: Any = None) -> list[float | None]:
        return [d["result"].get("loss") for d in self._docs]

    def statuses(self, bandit: Any = None) -> list[str]:
        return [str(d["result"].get("status")) for d in self._docs]

    def trial_attachments(self, trial: Mapping[str, Any] | Trial) -> dict[str, Any]:
        """The attachments of one trial (a dict you may also write to)."""
        tid = trial.tid if isinstance(trial, Trial) else int(trial["tid"])
        return self._attachments.setdefault(tid, {})

    def count_by_state_synced(self, arg: int | Iterable[int], trials: Any = None) -> int:
        if trials is not None:
            states = {arg} if isinstance(arg, int) else set(arg)
            return sum(1 for t in trials if t["state"] in states)
        return self.count_by_state_unsynced(arg)

    def count_by_state_unsynced(self, arg: int | Iterable[int]) -> int:
        states = [arg] if isinstance(arg, int) else list(arg)
        return sum(self._counts[TrialState(s)] for s in states)

    def _first_failure(self) -> Trial | None:
        for r in self._records:
            if r.state.finished and r.result.get("status") != STATUS_OK:
                return r
        return None

    @property
    def best_trial(self) -> dict[str, Any]:
        """The document of the trial with the lowest loss among those that finished ``ok``."""
        if self._best_row is None:
            first = self._first_failure()
            detail = ""
            if first is not None:
                failure = first.result.get("failure")
                if first.error is None and isinstance(failure, Mapping) and "message" in failure:
                    reason: object = f"{failure.get('type', 'failure')}: {failure['message']}"
                else:
                    reason = first.error or failure or first.result
                detail = f"; the first failure was trial {first.tid}: {reason}"
                if first.state is TrialState.CANCEL and "(timeout)" in str(reason):
                    detail += " (the run's timeout ended before any trial finished: raise timeout)"
                if first.error is not None and first.error.traceback:
                    detail += f"\n{first.error.traceback}"
            raise AllTrialsFailed(f"there is no best trial: none of the {len(self)} trials finished ok{detail}")
        return self._docs[self._best_row]

    @property
    def argmin(self) -> dict[str, int | float]:
        """The best trial's point, ``{label: value}`` (choices as indices): what ``fmin`` returns.

        Floats come as numpy ``float64``, as Hyperopt gives them (code calls ``.astype`` or
        ``.item()`` on them; ``float64`` is a ``float``, so float code and ``json`` keep working);
        integers and choice indices as Python ints (Hyperopt's ``int64`` fails ``json.dumps``)."""
        best = self.best_trial
        vals = self._records[self._row[best["tid"]]].vals
        return {label: np.float64(v) if isinstance(v, float) else v for label, v in vals.items()}

    @property
    def fmin_cancelled_reason(self) -> str | None:
        """Why the last ``fmin`` on these trials stopped before ``max_evals`` (Hyperopt's
        SparkTrials texts: ``"fmin run timeout"``, ``"early stopping condition"``, also for
        ``loss_threshold``, ``"fmin run cancelled by user"``), else ``None``."""
        return self._fmin_cancelled_reason

    def best_loss(self) -> float | None:
        return None if self._best_row is None else self._records[self._best_row].loss

    def average_best_error(self, bandit: Any = None) -> float:
        """Hyperopt's estimate of the true loss of the best trial, accounting for loss variance."""
        ok = [r.result for r in self._records if r.loss is not None]
        if not ok:
            raise AllTrialsFailed("average_best_error: no trial finished ok")
        loss = np.array([r["loss"] for r in ok], dtype=float)
        var = np.array([r.get("loss_variance", 0.0) for r in ok], dtype=float)
        true = np.array([r.get("true_loss", r["loss"]) for r in ok], dtype=float)
        if not np.all(np.isfinite(np.concatenate([var, true]))):
            raise ValueError("average_best_error: loss_variance and true_loss must be finite")
        best = int(np.argmin(loss))
        if np.all(var == 0):
            return float(true[best])
        # Candidates within one standard deviation of the best; weight each by the
        # probability that it is truly the minimum, estimated by sampling.
        near = loss < loss[best] + np.sqrt(var[best])
        near[best] = True
        rng = np.random.default_rng(0)
        draws = rng.normal(loss[near], np.sqrt(var[near]), size=(_PMIN_SAMPLES, int(near.sum())))
        p_min = np.bincount(draws.argmin(axis=1), minlength=int(near.sum())) / _PMIN_SAMPLES
        return float((p_min * true[near]).sum())

    # ----- fmin ------------------------------------------------------------------------------

    #: Whether a trial whose objective raised stops ``fmin`` (unless ``catch_eval_exceptions``), as
    #: with Hyperopt's ``Trials``; SparkTrials goes on, as Hyperopt's SparkTrials does.
    errors_stop_fmin = True

    def _make_executor(
        self,
        domain: Domain,
        *,
        max_queue_len: int,
        adaptive: bool = True,
        parallelism: int | None = None,
        deadline: float | None = None,
    ) -> Executor:
        """The executor that runs this object's trials: in-process, ``max_queue_len`` queued
        (``adaptive``: whether the algorithm learns from results; ``parallelism``: a cap on trials
        at once, one at a time here anyway; ``deadline``: the run's end, ``time.monotonic()``
        based, which ``fmin`` enforces here through ``wait``'s timeout)."""
        from .executors import SerialExecutor

        return SerialExecutor(domain, max_queue_len=max_queue_len, trials=self)

    def fmin(self, fn: Any, space: Any, algo: Any = None, max_evals: int | None = None, **kwargs: Any) -> Any:
        """``fmin`` with these trials (Hyperopt's ``Trials.fmin``)."""
        from .fmin import fmin

        return fmin(fn, space, algo=algo, max_evals=max_evals, trials=self, allow_trials_fmin=False, **kwargs)


def _finite(loss: float | None) -> bool:
    return loss is not None and math.isfinite(loss)


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


#: Samples used by :meth:`Trials.average_best_error`; enough for two-digit probabilities.
_PMIN_SAMPLES = 10_000


def trials_from_docs(docs: Iterable[Mapping[str, Any]], validate: bool = True, **kwargs: Any) -> Trials:
    """A ``Trials`` holding the given trial documents."""
    trials = Trials(**kwargs)
    trials.insert_trial_docs(docs)
    return trials
