"""Where trials run: the executor protocol and the in-process executor.

``fmin`` hands an executor :class:`TrialTask` objects and blocks on :meth:`Executor.wait`, which
returns events (:class:`Started`, :class:`Completion`) as they happen. An executor never decides
what to run next or when to stop; it only runs what it is given and reports back.

:class:`SerialExecutor` runs trials one at a time: on the caller's thread when the driver waits
without a deadline, else on a worker thread, so that the driver can stop waiting at the deadline
and the running trial can be interrupted.
"""

from __future__ import annotations

import ctypes
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .exceptions import TrialCancelled
from .objective import Domain, Outcome

__all__ = ["TrialTask", "Started", "Completion", "Event", "Executor", "SerialExecutor"]


@dataclass(frozen=True)
class TrialTask:
    """A trial to run: its id and its point (``{label: value}``, choices as indices)."""

    tid: int
    vals: dict[str, Any]


@dataclass(frozen=True)
class Started:
    """A trial began running (optional: executors may go straight to :class:`Completion`)."""

    tid: int
    time: float
    worker: str | None = None


@dataclass(frozen=True)
class Completion:
    """A trial finished, well or badly; ``outcome`` says which."""

    tid: int
    outcome: Outcome
    start_time: float
    end_time: float
    worker: str | None = None


Event = Started | Completion


class Executor(Protocol):
    """What ``fmin`` needs from a place that runs trials."""

    def capacity(self) -> int:
        """How many trials it wants in flight (running + queued) right now."""
        ...

    def submit(self, tasks: Sequence[TrialTask]) -> None:
        """Start running ``tasks``; returns at once."""
        ...

    def wait(self, timeout: float | None) -> list[Event]:
        """Block until at least one event or ``timeout`` seconds; ``[]`` on timeout."""
        ...

    def cancel(self, tids: Iterable[int] | None = None) -> None:
        """Stop these trials (all in flight when ``None``); no events are owed for them."""
        ...

    def close(self) -> None:
        """Release threads and resources; the executor is not used afterwards."""
        ...


def drain(events: queue.SimpleQueue[Any], timeout: float | None) -> list[Any]:
    """Block for the first item of ``events`` (up to ``timeout``), then take all that are ready."""
    try:
        first = events.get(timeout=None if timeout is None else max(timeout, 0.0))
    except queue.Empty:
        return []
    out = [first]
    while True:
        try:
            out.append(events.get_nowait())
        except queue.Empty:
            return out


class SerialExecutor:
    """Runs trials one after another in this process.

    ``max_queue_len`` trials may be handed out at once (Hyperopt's meaning: the algorithm
    proposes that many before any result comes back). ``wait(None)`` (no deadline) runs trials on
    the caller's thread, as Hyperopt does: one call reports the next trial started (so the driver
    records it as running), the next runs it and reports it finished; Ctrl-C reaches the objective
    directly and no thread hand-off is paid per trial. ``wait(seconds)`` hands trials to a worker thread (started
    then), so the caller regains control at the deadline; cancelling the running trial there
    raises :class:`~sparktune.exceptions.TrialCancelled` inside it at its next Python
    instruction, and a trial blocked in native code finishes in the background, its result
    discarded.
    """

    def __init__(self, domain: Domain, *, max_queue_len: int = 1) -> None:
        self._domain = domain
        self._capacity = max(1, int(max_queue_len))
        self._pending: deque[TrialTask] = deque()  # submitted, not yet given to anyone
        self._started: tuple[TrialTask, float] | None = None  # reported started, to run inline next
        self._tasks: queue.SimpleQueue[TrialTask | None] = queue.SimpleQueue()
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._cancelled: set[int] = set()
        self._guard = threading.Lock()
        self._current: int | None = None
        self._cancel_all = False
        self._thread: threading.Thread | None = None

    def capacity(self) -> int:
        return self._capacity

    def submit(self, tasks: Sequence[TrialTask]) -> None:
        self._pending.extend(tasks)

    def wait(self, timeout: float | None) -> list[Event]:
        if timeout is None and self._thread is None:
            return self._step_inline()
        # A deadline: from now on every trial runs on the worker thread, in submission order.
        if self._started is not None:
            self._pending.appendleft(self._started[0])
            self._started = None
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="sparktune-trial", daemon=True)
            self._thread.start()
        while self._pending:
            self._tasks.put(self._pending.popleft())
        return drain(self._events, timeout)

    def _step_inline(self) -> list[Event]:
        """Report the next trial as started (so the driver records it as running, as it would a
        trial on the worker thread), then, at the next wait, run it and report its completion."""
        if self._started is not None:
            task, start = self._started
            self._started = None
            outcome = self._domain.evaluate(task.vals)
            return [Completion(task.tid, outcome, start, time.time(), "local")]
        while self._pending:
            task = self._pending.popleft()
            if not (self._cancel_all or task.tid in self._cancelled):
                self._started = (task, time.time())
                return [Started(task.tid, self._started[1], "local")]
        return []

    def cancel(self, tids: Iterable[int] | None = None) -> None:
        with self._guard:
            if tids is None:
                self._cancel_all = True
                targets = {self._current} if self._current is not None else set()
            else:
                targets = set(tids)
            self._cancelled |= targets
            if self._started is not None and (self._cancel_all or self._started[0].tid in self._cancelled):
                self._started = None
            if self._current is not None and self._current in self._cancelled and self._thread is not None:
                _raise_in_thread(self._thread, TrialCancelled)

    def close(self) -> None:
        self.cancel()
        self._pending.clear()
        self._started = None
        self._tasks.put(None)

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            try:
                with self._guard:
                    if self._cancel_all or task.tid in self._cancelled:
                        continue
                    self._current = task.tid
                start = time.time()
                self._events.put(Started(task.tid, start, "local"))
                outcome = self._domain.evaluate(task.vals)
                with self._guard:
                    self._current = None
                self._events.put(Completion(task.tid, outcome, start, time.time(), "local"))
            except TrialCancelled:
                # Delivered between the objective's return and the guard: the trial is over.
                with self._guard:
                    self._current = None


def _raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    """Ask CPython to raise ``exc_type`` in ``thread`` at its next bytecode."""
    ident = thread.ident
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc_type))
