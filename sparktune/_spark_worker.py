"""What runs inside a Spark task: evaluate trials and report every result.

Two ways out for results, chosen on the driver (see :mod:`sparktune._spark_executor`):

- :func:`serve_slot`: a long-lived task opens a TCP connection to the driver, asks for trials,
  and sends each result back the moment it is ready (one Spark job per slot, not per trial);
- :func:`run_batch`: a task evaluates a pack of trials it was given and returns the results as
  rows of the Spark job (used when executors cannot reach the driver, e.g. remote Spark Connect).

The unpickled objective is cached per Python worker process (Spark reuses workers), so it is
deserialized once per worker, not once per trial.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import cloudpickle

from ._spark_wire import recv_message, send_message, send_token

if TYPE_CHECKING:
    import pyarrow as pa

    from .objective import Domain

__all__ = [
    "RESULT_SCHEMA",
    "Row",
    "WorkerReport",
    "as_arrow",
    "as_rows",
    "serve_slot",
    "run_batch",
    "load_payload",
    "evaluate_point",
]

#: Spark schema of the rows every sparktune task returns.
RESULT_SCHEMA = "tid long, payload binary"
#: How long a task tries to reach the driver before reporting it unreachable (seconds).
CONNECT_TIMEOUT = 5.0
#: Objectives kept per Python worker (a worker rarely serves more than one run at a time), and
#: the pickled size they may add up to: an objective that captures a training set should not stay
#: in every worker's memory, several times over, after its run has ended.
_MAX_CACHED_DOMAINS = 4
_MAX_CACHED_BYTES = 64 << 20

#: ``(result, attachments, error as (type, message, traceback) or None, start, end, worker)``
WorkerReport = tuple[dict[str, Any], dict[str, Any], "tuple[str, str, str] | None", float, float, str]

_domains: OrderedDict[str, tuple[Domain, int]] = OrderedDict()  # run key -> (domain, pickled size)
_domains_lock = threading.Lock()


def cached_domain(run_key: str) -> Domain | None:
    """The objective of run ``run_key`` if this Python worker has unpickled it already. The key is
    per run, so a run never sees what an earlier run's trials did to the captured objects."""
    with _domains_lock:
        entry = _domains.get(run_key)
        if entry is None:
            return None
        _domains.move_to_end(run_key)
        return entry[0]


def cache_domain(run_key: str, payload: bytes) -> Domain:
    domain: Domain = cloudpickle.loads(payload)
    with _domains_lock:
        _domains[run_key] = (domain, len(payload))
        # The least recently used go first; the newest always stays.
        while len(_domains) > 1 and (
            len(_domains) > _MAX_CACHED_DOMAINS or sum(size for _, size in _domains.values()) > _MAX_CACHED_BYTES
        ):
            _domains.popitem(last=False)
    return domain


def worker_name() -> str:
    """``host:pid`` of this Python worker, plus the Spark task attempt when inside one."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    try:
        from pyspark import TaskContext

        ctx = TaskContext.get()
    except ImportError:  # pragma: no cover - tasks always have pyspark
        ctx = None
    if ctx is not None:
        name += f" (stage {ctx.stageId()} task {ctx.partitionId()}.{ctx.attemptNumber()})"
    return name


def _attempt_number() -> int:
    from pyspark import TaskContext

    ctx = TaskContext.get()
    return 0 if ctx is None else ctx.attemptNumber()


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`~sparktune.exceptions.TrialTimeout` in this thread after ``seconds``.

    Uses ``SIGALRM``, so it works where the objective runs Python code (or sleeps) on the main
    thread, which is where Spark's Python worker runs tasks. Elsewhere the driver's backstop
    (killing the task) applies.
    """
    usable = (
        seconds is not None and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return
    from .exceptions import TrialTimeout

    def _expire(signum: int, frame: Any) -> None:
        raise TrialTimeout(f"the trial ran longer than its trial_timeout of {seconds:g} s and was stopped")

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def evaluate_point(domain: Domain, vals: dict[str, Any], trial_timeout: float | None, worker: str) -> WorkerReport:
    """Run one trial; always returns a report (objective errors are data)."""
    from .exceptions import TrialCancelled, TrialTimeout
    from .objective import Outcome

    start = time.time()
    try:
        with _time_limit(trial_timeout):
            outcome = domain.outcome(vals)
    except (TrialTimeout, TrialCancelled) as exc:  # delivered outside the objective's own frames
        outcome = Outcome.failed(exc)
    except SystemExit as exc:  # sys.exit or argparse in the objective: an error of this trial,
        outcome = Outcome.failed(exc)  # not a dead worker
    end = time.time()
    error = outcome.error
    return (
        outcome.result,
        outcome.attachments,
        None if error is None else (error.type, error.message, error.traceback),
        start,
        end,
        worker,
    )


def unloadable_report(exc: BaseException, worker: str) -> WorkerReport:
    """The report of a trial whose objective could not be unpickled in this Python worker."""
    return _setup_failure(
        exc,
        worker,
        "the objective could not be unpickled on the executor ({}); make the modules it uses importable "
        "there (install them on the workers, or ship them with spark-submit --py-files / "
        "SparkContext.addPyFile, or spark.addArtifacts(path, pyfile=True) on Spark Connect), or pickle "
        "them by value with cloudpickle.register_pickle_by_value(module)",
    )


def unreadable_report(exc: BaseException, worker: str) -> WorkerReport:
    """The report of a trial whose objective, shipped once for the run, could not be read here."""
    return _setup_failure(
        exc,
        worker,
        "the objective shipped for this run (a file of the Spark Connect session, or a broadcast) "
        "could not be read on the executor ({}); the Spark session may have ended, or the executor "
        "lost the file",
    )


def _setup_failure(exc: BaseException, worker: str, template: str) -> WorkerReport:
    from .objective import ErrorInfo, Outcome

    error = ErrorInfo.from_exception(exc)
    message = template.format(f"{error.type}: {error.message}")
    outcome = Outcome.failed(exc)
    outcome.result["failure"]["message"] = message
    now = time.time()
    return (outcome.result, {}, (error.type, message, error.traceback), now, now, worker)


#: A result row: ``(tid, pickled message)``; tid -1 for a message about the task itself.
Row = tuple[int, bytes]


def as_arrow(core: Callable[[], list[Row]], batches: Iterator[Any]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` adapter (DataFrame API: classic and Spark Connect)."""
    import pyarrow as pa

    for _ in batches:  # the one-row input only gives the task a partition
        pass
    rows = core()
    tids = pa.array([r[0] for r in rows], pa.int64())
    yield pa.RecordBatch.from_pydict({"tid": tids, "payload": pa.array([r[1] for r in rows], pa.binary())})


def as_rows(core: Callable[[], list[Row]], items: Iterator[Any], broadcasts: Sequence[Any] = ()) -> Iterator[Row]:
    """``mapPartitions`` adapter (RDD API, classic only: no SQL planning, no Arrow import).
    ``broadcasts`` is there only to travel with the job: Spark ships the broadcast variables that a
    job's function refers to, and the objective's pickle needs them loaded."""
    for _ in items:
        pass
    yield from core()


def _dumps(obj: Any) -> bytes:
    return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


#: Signal the connection's reader thread sends the main thread to stop a cancelled trial.
_CANCEL_SIGNAL = getattr(signal, "SIGUSR2", None)


class _Canceller:
    """Stops the trial running on the main thread when the driver cancels it.

    The reader thread cannot raise in the main thread directly; it sends ``SIGUSR2``, whose
    handler (run by the main thread) raises :class:`~sparktune.exceptions.TrialCancelled` only
    if that trial is still the one running. Objectives stuck in native code are stopped by the
    driver killing the Spark task instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: int | None = None
        self._target: int | None = None
        self.usable = _CANCEL_SIGNAL is not None and threading.current_thread() is threading.main_thread()
        self._previous: Any = None

    def __enter__(self) -> _Canceller:
        if self.usable:
            self._previous = signal.signal(_CANCEL_SIGNAL, self._on_signal)  # type: ignore[arg-type]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.usable:
            signal.signal(_CANCEL_SIGNAL, self._previous)  # type: ignore[arg-type]

    def running(self, tid: int | None) -> None:
        with self._lock:
            self.current = tid

    def cancel(self, tid: int | None) -> None:
        with self._lock:  # held while signalling: the main thread cannot leave the trial (and later
            if tid is None or tid != self.current:  # restore the default handler) before delivery
                return
            self._target = tid
            if self.usable:
                signal.pthread_kill(threading.main_thread().ident or 0, _CANCEL_SIGNAL)  # type: ignore[arg-type]

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._target is not None and self._target == self.current:
            from .exceptions import TrialCancelled

            raise TrialCancelled(f"trial {self._target} was cancelled by the driver")


def _read_into(sock: socket.socket, inbox: queue.SimpleQueue[tuple[Any, ...] | None], canceller: _Canceller) -> None:
    """Reader thread: queue the driver's messages; act on cancels at once; stop the trial if the driver goes."""
    try:
        while True:
            message = recv_message(sock)
            if message[0] == "cancel":
                canceller.cancel(message[1])
            else:
                inbox.put(message)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError):
        inbox.put(None)
        canceller.cancel(canceller.current)


def serve_slot(address: tuple[str, int], token: bytes, run_key: str, slot: int) -> list[Row]:
    """A long-lived task: pull trials from the driver, push each result as soon as it is ready.

    Returns one row ``(-1, payload)``: ``("served", n)`` after the driver said stop (or went
    away), or ``("unreachable", text)`` when the driver could not be reached from here.
    """
    worker = worker_name()
    try:
        sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        return [(-1, _dumps(("unreachable", f"{worker} cannot connect to {address}: {exc}")))]
    served = 0
    inbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
    with sock, _Canceller() as canceller:
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        send_token(sock, token)
        domain = cached_domain(run_key)
        unloadable: BaseException | None = None
        send_message(sock, ("hello", slot, worker, domain is not None))
        reader = threading.Thread(target=_read_into, args=(sock, inbox, canceller), daemon=True)
        reader.start()
        while True:
            message = inbox.get()
            if message is None or message[0] == "stop":
                break
            if message[0] == "domain":
                try:
                    domain = cache_domain(run_key, message[1])
                except Exception as exc:  # e.g. a module of the objective is missing here
                    unloadable = exc
            elif message[0] == "run":
                _, tasks, trial_timeout = message
                for tid, vals in tasks:
                    send_message(sock, ("start", tid, time.time()))
                    canceller.running(tid)
                    try:
                        if domain is None:
                            report = unloadable_report(unloadable or RuntimeError("no objective was sent"), worker)
                        else:
                            report = evaluate_point(domain, vals, trial_timeout, worker)
                    finally:
                        canceller.running(None)
                    send_message(sock, ("done", tid, report))
                    served += 1
            send_message(sock, ("ready",))
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # ends the reader thread
    return [(-1, _dumps(("served", served)))]


def load_payload(ref: Any) -> bytes:
    """The pickled objective a pack job was given: the bytes themselves, the name of a file added
    to the Spark Connect session (``addArtifacts``), or a classic session's broadcast of them."""
    if isinstance(ref, bytes):
        return ref
    if isinstance(ref, str):
        from pyspark import SparkFiles

        with open(SparkFiles.get(ref), "rb") as f:
            return f.read()
    return bytes(ref.value)


def run_batch(
    run_key: str,
    payload: Any,
    tasks: Sequence[tuple[int, dict[str, Any]]],
    trial_timeout: float | None,
    stop_in: float | None = None,
) -> list[Row]:
    """Evaluate a pack of trials and return their reports as rows ``(tid, pickled report)``.

    ``stop_in``: seconds left in the run when the job was handed out; a trial not started by then
    is not started (its row is ``("unstarted",)``), so that a pack running at the run's deadline
    returns the trials it finished within one trial's time.

    ``payload`` is the pickled objective or a handle to it (:func:`load_payload`), read only by
    a Python worker that has not cached this run's objective yet.

    A retried attempt (the previous one lost its Python worker or executor) does not run the
    pack again: it returns ``("lost", attempt)`` rows and the driver decides what to rerun.
    """
    attempt = _attempt_number()
    if attempt > 0:
        marker = _dumps(("lost", attempt))
        return [(tid, marker) for tid, _ in tasks]
    worker = worker_name()
    domain = cached_domain(run_key)
    if domain is None:
        try:
            data = load_payload(payload)
        except Exception as exc:
            return [(tid, _dumps(("done", unreadable_report(exc, worker)))) for tid, _ in tasks]
        try:
            domain = cache_domain(run_key, data)
        except Exception as exc:  # e.g. a module of the objective is missing here
            return [(tid, _dumps(("done", unloadable_report(exc, worker)))) for tid, _ in tasks]
    stop_at = None if stop_in is None else time.monotonic() + stop_in
    rows: list[Row] = []
    for tid, vals in tasks:
        if stop_at is not None and time.monotonic() >= stop_at:
            rows.append((tid, _dumps(("unstarted",))))
        else:
            rows.append((tid, _dumps(("done", evaluate_point(domain, vals, trial_timeout, worker)))))
    return rows
