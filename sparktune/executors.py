"""Where trials run: the executor protocol and the in-process executor.

``fmin`` hands an executor :class:`TrialTask` objects and blocks on :meth:`Executor.wait`, which
returns events (:class:`Started`, :class:`Completion`) as they happen. An executor never decides
what to run next or when to stop; it only runs what it is given and reports back.

:class:`SerialExecutor` runs trials one at a time on the caller's thread, as Hyperopt does; a
deadline interrupts the running trial at its next Python instruction.
"""

from __future__ import annotations

import ctypes
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .exceptions import TrialCancelled
from .objective import Ctrl, Domain, Outcome

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

    def settle(self, seconds: float) -> list[Event]:
        """The run is stopping (timeout, early stop): start no new trial, and return the events of
        trials worth waiting for that finish within ``seconds`` (those the executor could only
        stop together with trials that already finished); ``fmin`` cancels the rest next."""
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
    """Runs trials one after another in this process, on the caller's thread, as Hyperopt does:
    the objective sees the caller's thread-local state and context, may use ``signal``, and
    Ctrl-C reaches it directly.

    ``max_queue_len`` trials may be handed out at once (Hyperopt's meaning: the algorithm
    proposes that many before any result comes back). Each trial takes two waits: the first
    reports it started (so the driver records it as running), the second runs it and reports it
    finished. With a deadline (``wait(seconds)``) a watchdog thread raises
    :class:`~sparktune.exceptions.TrialCancelled` inside the objective when the deadline passes,
    at its next Python instruction; the wait then returns no event and the driver cancels the
    trial. A trial inside one long native call (a C extension, ``time.sleep``) is stopped only
    when that call returns: nothing is left running in the background.
    """

    #: fmin proposes ``max_queue_len`` trials, runs them all, then proposes again (Hyperopt's way).
    runs_in_rounds = True

    def __init__(self, domain: Domain, *, max_queue_len: int = 1, trials: Any = None) -> None:
        self._domain = domain
        self._trials = trials  # for a pass_expr_memo_ctrl objective's ctrl
        self._capacity = max(1, int(max_queue_len))
        self._pending: deque[TrialTask] = deque()  # submitted, not yet reported started
        self._started: tuple[TrialTask, float] | None = None  # reported started, to run next
        self._cancelled: set[int] = set()
        self._cancel_all = False
        self._watchdog: _Watchdog | None = None  # started at the first wait with a deadline

    def capacity(self) -> int:
        return self._capacity

    def submit(self, tasks: Sequence[TrialTask]) -> None:
        self._pending.extend(tasks)

    def wait(self, timeout: float | None) -> list[Event]:
        if self._started is not None:
            if timeout is not None and timeout <= 0:
                return []  # the deadline has passed: do not start what would be stopped at once
            task, start = self._started
            self._started = None
            ctrl = self._ctrl(task.tid) if self._domain.pass_expr_memo_ctrl else None
            if timeout is None:
                outcome: Outcome | None = self._domain.outcome(task.vals, ctrl)
            else:
                self._watchdog = self._watchdog or _Watchdog()
                outcome = self._watchdog.call(lambda: self._domain.outcome(task.vals, ctrl), timeout)
            if outcome is None:
                return []  # stopped at the deadline; the driver cancels it
            return [Completion(task.tid, outcome, start, time.time(), "local")]
        while self._pending:
            task = self._pending.popleft()
            if not (self._cancel_all or task.tid in self._cancelled):
                self._started = (task, time.time())
                return [Started(task.tid, self._started[1], "local")]
        return []

    def settle(self, seconds: float) -> list[Event]:
        # Trials run inside wait(): between waits nothing runs, so nothing is owed.
        self._pending.clear()
        return []

    def _ctrl(self, tid: int) -> Ctrl:
        """Hyperopt's ``ctrl``: the trials object and the running trial's document."""
        if self._trials is None:
            return Ctrl()
        return Ctrl(trials=self._trials, current_trial=self._trials._doc(tid))

    def cancel(self, tids: Iterable[int] | None = None) -> None:
        # Called by the driver between waits, so no trial is running on its thread now.
        if tids is None:
            self._cancel_all = True
        else:
            self._cancelled |= set(tids)
        if self._started is not None and (self._cancel_all or self._started[0].tid in self._cancelled):
            self._started = None

    def close(self) -> None:
        self.cancel()
        self._pending.clear()
        if self._watchdog is not None:
            self._watchdog.close()


_T = TypeVar("_T")


class _Watchdog:
    """One thread that raises :class:`TrialCancelled` in the calling thread when an armed
    deadline passes (a thread per trial would cost ~0.1 ms a trial)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._target = 0
        self._deadline: float | None = None
        self._fired = False
        self._closed = False
        threading.Thread(target=self._watch, name="sparktune-watchdog", daemon=True).start()

    def call(self, fn: Callable[[], _T], seconds: float) -> _T | None:
        """``fn()`` on this thread, or ``None`` if it was still running after ``seconds``: it is
        then interrupted at its next Python instruction."""
        with self._cond:
            self._target = threading.get_ident()
            self._deadline = time.monotonic() + max(seconds, 0.0)
            self._fired = False
            self._cond.notify()
        fired = False
        result: _T | None = None
        try:
            try:
                result = fn()
            finally:
                with self._cond:
                    self._deadline = None
                    if self._fired:
                        fired = True
                        _raise_in_thread(self._target, None)  # withdraw it if not raised yet
        except TrialCancelled:
            fired = True  # raised after fn returned (fn itself turns it into a failed outcome)
        return None if fired else result

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _watch(self) -> None:
        with self._cond:
            while not self._closed:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._fired = True
                self._deadline = None
                _raise_in_thread(self._target, TrialCancelled)


def _raise_in_thread(ident: int, exc_type: type[BaseException] | None) -> None:
    """Ask CPython to raise ``exc_type`` in the thread ``ident`` at its next bytecode (``None``:
    withdraw a pending one)."""
    exc = ctypes.py_object(exc_type) if exc_type is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), exc)
