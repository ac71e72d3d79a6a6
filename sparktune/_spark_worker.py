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

import os
import pickle
import signal
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import cloudpickle

from ._spark_wire import recv_message, send_message, send_token

if TYPE_CHECKING:
    import pyarrow as pa

    from .objective import Domain

__all__ = ["RESULT_SCHEMA", "WorkerReport", "serve_slot", "run_batch", "evaluate_point"]

#: Spark schema of the rows every sparktune task returns.
RESULT_SCHEMA = "tid long, payload binary"
#: How long a task tries to reach the driver before reporting it unreachable (seconds).
CONNECT_TIMEOUT = 5.0
#: Objectives kept per Python worker; a worker rarely serves more than one run at a time.
_MAX_CACHED_DOMAINS = 4

#: ``(result, attachments, error as (type, message, traceback) or None, start, end, worker)``
WorkerReport = tuple[dict[str, Any], dict[str, Any], "tuple[str, str, str] | None", float, float, str]

_domains: OrderedDict[str, Domain] = OrderedDict()
_domains_lock = threading.Lock()


def cached_domain(run_key: str) -> Domain | None:
    with _domains_lock:
        return _domains.get(run_key)


def cache_domain(run_key: str, payload: bytes) -> Domain:
    domain: Domain = cloudpickle.loads(payload)
    with _domains_lock:
        _domains[run_key] = domain
        while len(_domains) > _MAX_CACHED_DOMAINS:
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
    from .exceptions import TrialTimeout
    from .objective import Outcome

    start = time.time()
    try:
        with _time_limit(trial_timeout):
            outcome = domain.evaluate(vals)
    except TrialTimeout as exc:  # the alarm fired outside the objective's own frames
        outcome = Outcome.failed(exc)
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


def _rows(tids: Sequence[int], payloads: Sequence[bytes]) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_pydict({"tid": pa.array(tids, pa.int64()), "payload": pa.array(payloads, pa.binary())})


def _dumps(obj: Any) -> bytes:
    return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def serve_slot(
    address: tuple[str, int], token: bytes, run_key: str, slot: int, batches: Iterator[Any]
) -> Iterator[pa.RecordBatch]:
    """A long-lived task: pull trials from the driver, push each result as soon as it is ready.

    Yields one row ``(-1, payload)``: ``("served", n)`` after the driver said stop, or
    ``("unreachable", text)`` when the driver could not be reached from here.
    """
    for _ in batches:  # the one-row input only gives the task a partition
        pass
    worker = worker_name()
    try:
        sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        yield _rows([-1], [_dumps(("unreachable", f"{worker} cannot connect to {address}: {exc}"))])
        return
    served = 0
    with sock:
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        send_token(sock, token)
        domain = cached_domain(run_key)
        send_message(sock, ("hello", slot, worker, domain is not None))
        while True:
            message = recv_message(sock)
            kind = message[0]
            if kind == "stop":
                break
            if kind == "domain":
                domain = cache_domain(run_key, message[1])
            elif kind == "run":
                assert domain is not None, "the driver sends the objective before any trial"
                _, tasks, trial_timeout = message
                for tid, vals in tasks:
                    send_message(sock, ("start", tid, time.time()))
                    report = evaluate_point(domain, vals, trial_timeout, worker)
                    send_message(sock, ("done", tid, report))
                    served += 1
            send_message(sock, ("ready",))
    yield _rows([-1], [_dumps(("served", served))])


def run_batch(
    run_key: str,
    payload: bytes,
    tasks: Sequence[tuple[int, dict[str, Any]]],
    trial_timeout: float | None,
    batches: Iterator[Any],
) -> Iterator[pa.RecordBatch]:
    """Evaluate a pack of trials and return their reports as rows ``(tid, pickled report)``.

    A retried attempt (the previous one lost its Python worker or executor) does not run the
    pack again: it returns ``("lost", attempt)`` rows and the driver decides what to rerun.
    """
    for _ in batches:
        pass
    attempt = _attempt_number()
    if attempt > 0:
        marker = _dumps(("lost", attempt))
        yield _rows([tid for tid, _ in tasks], [marker] * len(tasks))
        return
    domain = cached_domain(run_key) or cache_domain(run_key, payload)
    worker = worker_name()
    tids: list[int] = []
    payloads: list[bytes] = []
    for tid, vals in tasks:
        tids.append(tid)
        payloads.append(_dumps(("done", evaluate_point(domain, vals, trial_timeout, worker))))
    yield _rows(tids, payloads)
