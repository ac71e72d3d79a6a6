"""The executor behind SparkTrials: keeps every Spark task slot busy and streams results back.

Trials wait on the driver in one queue. How they reach the executors depends on the channel:

- ``socket`` (classic sessions, and Spark Connect on a local master): one long-lived Spark task
  per slot connects back to the driver over TCP, takes one trial at a time and sends each result
  the moment it exists. A Spark job is paid once per slot per run, not once per trial, and the
  Python worker, its imports and the unpickled objective stay warm.
- ``spark`` (Spark Connect to a remote cluster, or executors that cannot reach the driver):
  each hand-out is a one-task Spark job whose rows are the results. Short trials are packed
  several per job, long ones go alone; one extra job per slot waits in Spark's queue so that a
  slot never idles while the driver reacts. A large objective (over ``SHIP_ONCE_BYTES``) is
  shipped once per run (a Connect artifact, or a broadcast), not with every job.

Queueing ahead (a pack per job, work queued per slot) is for algorithms whose proposals do not
depend on results (random search). For the others the driver keeps one trial per slot in flight,
plus ``max_queue_len`` waiting, so that each proposal sees the results that exist.

Every job carries the run's tag (and its own), so cancelling a trial or the whole run is one
call. When the run stops (timeout, early stop), the jobs carrying packs are first given a moment
to return (:meth:`SparkExecutor.settle`; a pack starts no trial after the run's deadline), so
that the trials they finished are recorded rather than killed with them. A trial whose Python
worker dies (``os._exit``, segfault, lost executor) fails alone: other trials of the same slot or
pack are run again, not lost.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import hmac
import logging
import os
import pickle
import queue
import secrets
import socket
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._preflight import serialize_with_broadcasts
from ._spark_packing import PackSizer
from ._spark_session import SessionFacts, cancel_tag, tag_jobs
from ._spark_wire import ChannelClosed, recv_message, recv_token, send_message
from ._spark_worker import RESULT_SCHEMA, Row, WorkerReport, as_arrow, as_rows, run_batch, serve_slot
from .exceptions import SparktuneError
from .executors import Completion, Event, Started, TrialTask, drain
from .objective import STATUS_FAIL, Domain, ErrorInfo, Outcome

__all__ = ["SparkExecutor", "CHANNELS", "serialize_domain"]

logger = logging.getLogger(__name__)

CHANNELS = ("auto", "socket", "spark")
#: Socket channel: work queued per slot beyond the running trial, in seconds of trials. It hides
#: the driver's reaction time (algorithm + bookkeeping, a few ms) for very short trials.
_SOCKET_TARGET_S = 0.05
_SOCKET_MAX_DEPTH = 32
#: Spark channel: work per job, in seconds. A one-task job costs 0.1-0.2 s on local[4]
#: (measured, pyspark 4.3, classic and Connect), so a pack should carry a few times that.
_BATCH_TARGET_S = 0.5
_BATCH_MAX_PACK = 256
#: Spark channel: an objective that pickles larger than this is shipped once per run (a broadcast
#: on a classic session, a file added to a Spark Connect session) instead of with every job.
SHIP_ONCE_BYTES = 1 << 20
#: Larger than this, an objective that could not be shipped once is refused rather than sent with
#: every job: a few jobs of it in flight can exhaust a Spark Connect server's memory.
PER_JOB_MAX_BYTES = 64 << 20
#: After trial_timeout, how long the in-worker alarm gets before the driver kills the task.
_TIMEOUT_GRACE_S = 3.0
#: After a cancel message, how long a trial gets to stop before the driver kills its task
#: (Python code stops at once; only native code that ignores signals needs the kill).
_CANCEL_GRACE_S = 2.0
#: How often settle() looks whether the packs it waits for have returned.
_SETTLE_POLL_S = 0.05
#: Slot jobs that fail before connecting, in a row, before the run gives up.
_MAX_SLOT_FAILURES = 3
#: At interpreter exit, how long to let slot jobs of finished runs wrap up. Without this, a
#: script that ends right after ``fmin`` exits while their tasks still report to the driver,
#: and Spark logs "Failed to update accumulator ... Connection reset" stack traces.
_EXIT_GRACE_S = 5.0

_job_threads: set[threading.Thread] = set()
_job_threads_lock = threading.Lock()


def _join_job_threads() -> None:
    deadline = time.monotonic() + _EXIT_GRACE_S
    with _job_threads_lock:
        threads = list(_job_threads)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


atexit.register(_join_job_threads)
#: How long a lost trial's report waits for Spark's reason (the failed task) to come back.
_CRASH_DETAIL_WAIT_S = 2.0
#: Hosts whose executors could not reach the driver, per session: use the spark channel there.
_unreachable: dict[tuple[int, str], str] = {}


class _Fatal:
    def __init__(self, error: SparktuneError) -> None:
        self.error = error


@dataclass
class _Slot:
    """One long-lived slot job (socket channel)."""

    index: int
    tag: str = ""
    connected: bool = False
    ended: threading.Event = field(default_factory=threading.Event)
    error: str | None = None


class _Conn:
    """The driver's end of one slot task's connection; sends may come from two threads."""

    def __init__(self, sock: socket.socket, worker: str | None) -> None:
        self.sock = sock
        self.worker = worker
        self._lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> bool:
        try:
            with self._lock:
                send_message(self.sock, message)
        except OSError:
            return False
        return True


@dataclass
class _Running:
    """Where an in-flight trial is being run: a slot connection or a batch job."""

    tag: str
    start: float
    worker: str | None = None
    conn: _Conn | None = None


def _error_text(exc: BaseException, limit: int = 4000) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + " ..."


def _failed(error_type: str, message: str, detail: str) -> Outcome:
    error = ErrorInfo(type=error_type, message=message, traceback=detail)
    return Outcome(result={"status": STATUS_FAIL, "failure": {"type": error_type, "message": message}}, error=error)


def _outcome(report: WorkerReport) -> Outcome:
    result, attachments, error, _, _, _ = report
    return Outcome(result=result, attachments=attachments, error=None if error is None else ErrorInfo(*error))


def serialize_domain(domain: Domain) -> tuple[bytes, str, list[Any]]:
    """Pre-flight: ``(cloudpickled domain, content digest, broadcast variables it refers to)``, once
    per run; fails before any Spark job.

    An objective that captures Spark driver objects or something unpicklable raises
    :class:`~sparktune.exceptions.SerializationError` naming what it captured.
    """
    payload, broadcasts = serialize_with_broadcasts(domain, domain.fn, where="SparkTrials")
    return payload, hashlib.sha256(payload).hexdigest()[:32], broadcasts


class SparkExecutor:
    """Runs trials on Spark task slots (see the module doc for the two channels)."""

    def __init__(
        self,
        session: Any,
        facts: SessionFacts,
        domain: Domain,
        *,
        parallelism: int,
        trial_timeout: float | None = None,
        max_queue_len: int = 1,
        queue_ahead: bool = False,
        channel: str = "auto",
        profile: Any = None,
        deadline: float | None = None,
    ) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
        self._payload, self._digest, self._broadcasts = serialize_domain(domain)
        self._session = session
        self._facts = facts
        self._parallelism = max(1, int(parallelism))
        self._trial_timeout = trial_timeout
        self._max_queue_len = max(1, int(max_queue_len))
        self._queue_ahead = queue_ahead
        self._profile = profile
        self._deadline = deadline  # the run's end (time.monotonic()): packs start no trial after it
        self._run_tag = f"sparktune-{uuid.uuid4().hex[:12]}"
        # The workers' cache key: per run, so that no run inherits the captured objects an earlier
        # run's trials changed in a reused Python worker (Hyperopt unpickles per trial).
        self._run_key = f"{self._digest}-{self._run_tag}"
        self._events: queue.SimpleQueue[Event | _Fatal] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._pending: deque[TrialTask] = deque()
        self._solo: set[int] = set()
        self._live: set[int] = set()
        self._running: dict[int, _Running] = {}
        self._timed_out: set[int] = set()
        self._doomed: set[str] = set()  # slot tags being killed: they get no more trials
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._slots: list[_Slot] = []
        self._slot_failures = 0
        self._batch_count = 0
        self._payload_ref: Any = None  # spark channel: what jobs carry to reach the objective
        self._broadcast: Any = None
        self._deadlines: dict[int, tuple[float, str]] = {}  # tid -> (when, "timeout" | "cancel")
        self._watch = threading.Condition(threading.Lock())
        self._listener: socket.socket | None = None
        self._token = secrets.token_bytes(32)
        self._host = self._listen_host()
        self._channel = self._choose_channel(channel)
        self._sizer = (
            PackSizer(_SOCKET_TARGET_S, _SOCKET_MAX_DEPTH)
            if self._channel == "socket"
            else PackSizer(_BATCH_TARGET_S, _BATCH_MAX_PACK)
        )
        if self._channel == "socket":
            self._start_socket_channel()
        else:
            self._start_batch_channel()  # may refuse the objective, before it starts any thread
        self._spawn(self._watchdog, "sparktune-watchdog")
        logger.info(
            "SparkTrials run %s: %d slots, %s channel, %s session",
            self._run_tag, self._parallelism, self._channel, "Connect" if facts.connect else "classic",
        )  # fmt: skip

    # ----- the Executor protocol ---------------------------------------------------------------

    @property
    def channel(self) -> str:
        return self._channel

    def capacity(self) -> int:
        if not self._queue_ahead:
            # An algorithm that learns from results gets them before it proposes again: one
            # trial per slot plus max_queue_len waiting (Hyperopt's SparkTrials keeps as many).
            # Queueing a pack of short trials per slot ahead had TPE propose 28 of 30 points
            # after a single result.
            return self._parallelism + self._max_queue_len
        extra = self._max_queue_len - 1
        if self._channel == "socket":
            return self._parallelism * self._sizer.size + extra
        return self._batch_jobs() * self._sizer.size + extra

    def submit(self, tasks: Sequence[TrialTask]) -> None:
        with self._work:
            for task in tasks:
                self._live.add(task.tid)
                self._pending.append(task)
            self._work.notify_all()

    def wait(self, timeout: float | None) -> list[Event]:
        out: list[Event] = []
        for item in drain(self._events, timeout):
            if isinstance(item, _Fatal):
                raise item.error
            out.append(item)
        return out

    def cancel(self, tids: Iterable[int] | None = None) -> None:
        with self._work:
            targets = set(self._live) if tids is None else set(tids) & self._live
            self._live -= targets
            self._pending = deque(t for t in self._pending if t.tid not in targets)
            running = {tid: self._running[tid] for tid in targets if tid in self._running}
        kill: set[str] = set()
        asked: list[int] = []
        for tid, where in running.items():
            # A slot task stops the trial itself and stays warm; a batch job is killed.
            if where.conn is not None and where.conn.send(("cancel", tid)):
                asked.append(tid)
            else:
                kill.add(where.tag)
        if asked:
            with self._watch:
                for tid in asked:
                    self._deadlines[tid] = (time.time() + _CANCEL_GRACE_S, "cancel")
                self._watch.notify_all()
        for tag in kill:
            cancel_tag(self._session, self._facts.connect, tag)

    def settle(self, seconds: float) -> list[Event]:
        """Start no new trial; wait up to ``seconds`` for the Spark jobs that carry several trials
        (a pack of short ones) and return what they report, so that trials they finished are
        recorded instead of being killed with their job. A trial running alone (in a slot, or a
        long one in its own job) is not waited for. A pack started no trial after the run's
        deadline, so at a timeout it returns within one trial's time."""
        with self._work:
            self._pending.clear()
            by_job = Counter(r.tag for r in self._running.values() if r.conn is None)
            packed = {tid for tid, r in self._running.items() if r.conn is None and by_job[r.tag] > 1}
        events: list[Event] = []
        end = time.monotonic() + seconds
        while packed and (left := end - time.monotonic()) > 0:
            events += [e for e in drain(self._events, min(left, _SETTLE_POLL_S)) if not isinstance(e, _Fatal)]
            with self._work:
                packed &= self._running.keys()
        return events + [e for e in drain(self._events, 0.0) if not isinstance(e, _Fatal)]

    def close(self) -> None:
        with self._work:
            self._closing = True
            busy = bool(self._running)
            self._work.notify_all()
        with self._watch:
            self._watch.notify_all()
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes accept() (close() alone does not, on Linux)
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        try:
            self._end_jobs(busy)
        finally:
            if self._broadcast is not None:
                with contextlib.suppress(Exception):  # the session may be gone already
                    self._broadcast.destroy(blocking=False)

    def _end_jobs(self, busy: bool) -> None:
        # A normal end: nothing runs any more and every slot task has been told to stop; their
        # jobs wrap up in tens of ms (longer on Connect), and close() waits for that, so that a
        # script may stop Spark right after fmin without Spark logging errors about them.
        # A stop with trials still running (timeout, early stop, Ctrl-C): their jobs are
        # interrupted at once and close() returns only when they are gone.
        if not busy:
            deadline = time.monotonic() + _EXIT_GRACE_S
            for thread in self._threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            return
        cancel_tag(self._session, self._facts.connect, self._run_tag)
        grace = time.monotonic() + _CANCEL_GRACE_S
        for thread in self._threads:
            thread.join(max(0.0, grace - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            cancel_tag(self._session, self._facts.connect, self._run_tag)
            deadline = time.monotonic() + 10.0
            for thread in self._threads:
                thread.join(max(0.0, deadline - time.monotonic()))

    # ----- shared bookkeeping ------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: Any) -> None:
        def run() -> None:
            try:
                target(*args)
            finally:
                with _job_threads_lock:
                    _job_threads.discard(threading.current_thread())

        thread = threading.Thread(target=run, name=name, daemon=True)
        self._threads.append(thread)
        with _job_threads_lock:
            _job_threads.add(thread)
        thread.start()

    def _take(self, limit: int) -> list[TrialTask] | None:
        """Up to ``limit`` waiting trials (a solo trial always alone); ``None`` once closing."""
        with self._work:
            while not self._pending and not self._closing:
                self._work.wait()
            if self._closing:
                return None
            first = self._pending.popleft()
            tasks = [first]
            if first.tid not in self._solo:
                while len(tasks) < limit and self._pending and self._pending[0].tid not in self._solo:
                    tasks.append(self._pending.popleft())
            return tasks

    def _requeue(self, tasks: Sequence[TrialTask], *, solo: bool) -> None:
        with self._work:
            for task in reversed(tasks):
                if task.tid in self._live:
                    self._pending.appendleft(task)
                    if solo:
                        self._solo.add(task.tid)
            self._work.notify_all()

    def _mark_running(
        self, tids: Sequence[int], tag: str, worker: str | None, start: float, conn: _Conn | None = None
    ) -> None:
        with self._work:
            for tid in tids:
                self._running[tid] = _Running(tag, start, worker, conn)
        if self._trial_timeout is not None:
            budget = self._trial_timeout * len(tids) + _TIMEOUT_GRACE_S
            with self._watch:
                for tid in tids:
                    self._deadlines[tid] = (start + budget, "timeout")
                self._watch.notify_all()

    def _finish(self, tid: int, outcome: Outcome, start: float, end: float, worker: str | None) -> None:
        with self._work:
            self._running.pop(tid, None)
            if tid not in self._live:
                return  # cancelled: fmin has already marked it
            self._live.discard(tid)
            self._solo.discard(tid)
        with self._watch:
            self._deadlines.pop(tid, None)
        self._events.put(Completion(tid, outcome.portable(), start, end, worker))

    def _report(self, tid: int, report: WorkerReport) -> None:
        _, _, _, start, end, worker = report
        if tid in self._live:  # a cancelled trial's short run says nothing about durations
            self._sizer.observe(end - start)
        self._finish(tid, _outcome(report), start, end, worker)

    def _fail_lost(self, tid: int, worker: str | None, detail: str) -> None:
        with self._work:
            running = self._running.get(tid)
            timed_out = tid in self._timed_out
        start = running.start if running else time.time()
        if timed_out:
            outcome = _failed(
                "TrialTimeout",
                f"trial {tid} ran longer than trial_timeout={self._trial_timeout:g} s and did not stop "
                f"within {_TIMEOUT_GRACE_S:g} s of the alarm, so its Spark task was killed",
                detail,
            )
        else:
            outcome = _failed(
                "WorkerLost",
                f"the Python worker running trial {tid}{f' on {worker}' if worker else ''} died while the "
                "trial ran (os._exit, a crash in native code, out of memory, or a lost executor); "
                "the other trials were not affected",
                detail,
            )
        self._finish(tid, outcome, start, time.time(), worker)

    def _fatal(self, message: str) -> None:
        logger.error("%s", message)
        self._events.put(_Fatal(SparktuneError(message)))

    def _watchdog(self) -> None:
        """Kill the Spark task of a trial that outlived its time limit, or its cancel, plus a grace."""
        with self._watch:
            while not self._closing:
                now = time.time()
                expired = [(tid, why) for tid, (at, why) in self._deadlines.items() if at <= now]
                for tid, _ in expired:
                    del self._deadlines[tid]
                if expired:
                    self._watch.release()
                    try:
                        self._expire(expired)
                    finally:
                        self._watch.acquire()
                    continue
                wake = min((at for at, _ in self._deadlines.values()), default=None)
                self._watch.wait(None if wake is None else max(0.0, wake - now))

    def _expire(self, expired: list[tuple[int, str]]) -> None:
        with self._work:
            stuck = [(tid, why, self._running[tid].tag) for tid, why in expired if tid in self._running]
            self._timed_out.update(tid for tid, why, _ in stuck if why == "timeout")
            # The kill reaches the task some time later; if the trial ends first, its slot must
            # not start another trial that the kill would then take down.
            self._doomed.update(tag for _, _, tag in stuck)
        for tid, why, tag in stuck:
            logger.warning("trial %d did not stop after its %s: killing its Spark task (%s)", tid, why, tag)
            cancel_tag(self._session, self._facts.connect, tag)

    def _collect(self, core: Callable[[], list[Row]], tags: list[str]) -> list[Row]:
        """Run ``core`` as a one-task Spark job; its ``(tid, payload)`` rows.

        Classic sessions use an RDD job (no SQL planning, no Arrow in the worker); Spark Connect
        has no RDDs, so there it is ``mapInArrow`` over a one-row DataFrame.
        """
        with tag_jobs(self._session, self._facts.connect, [self._run_tag, *tags]):
            if not self._facts.connect:
                rdd = self._session.sparkContext.parallelize([0], 1)
                if self._profile is not None:
                    rdd = rdd.withResources(self._profile)
                # The job's function holds the broadcast variables the objective uses, so that
                # Spark ships them with the job: the objective's pickle holds only their ids.
                fn = functools.partial(as_rows, core, broadcasts=self._broadcasts)
                return list(rdd.mapPartitions(fn).collect())
            frame = self._session.range(0, 1, 1, 1)
            fn = functools.partial(as_arrow, core)
            if self._profile is not None:
                frame = frame.mapInArrow(fn, RESULT_SCHEMA, profile=self._profile)
            else:
                frame = frame.mapInArrow(fn, RESULT_SCHEMA)
            return [(int(row["tid"]), bytes(row["payload"])) for row in frame.collect()]

    # ----- choosing a channel ------------------------------------------------------------------

    def _listen_host(self) -> str:
        if self._facts.local:
            return "127.0.0.1"
        if self._facts.connect:
            return ""  # remote Connect: the client's address is unknown to the cluster
        return str(self._session.sparkContext.getConf().get("spark.driver.host", "127.0.0.1"))

    def _choose_channel(self, requested: str) -> str:
        if requested != "auto":
            if requested == "socket" and not self._host:
                raise ValueError(
                    "channel='socket' needs executors that can connect to this process; with a "
                    "remote Spark Connect session use channel='spark' (or 'auto')"
                )
            return requested
        if not self._host or (id(self._session), self._host) in _unreachable:
            return "spark"
        return "socket"

    # ----- socket channel ----------------------------------------------------------------------

    def _start_socket_channel(self) -> None:
        self._listener = socket.create_server((self._host, 0), backlog=max(16, 2 * self._parallelism))
        self._address = (self._host, self._listener.getsockname()[1])
        self._spawn(self._accept, "sparktune-accept")
        for index in range(self._parallelism):
            slot = _Slot(index)
            self._slots.append(slot)
            self._spawn(self._run_slot, f"sparktune-slot-{index}", slot)

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed by close()
            threading.Thread(target=self._serve, args=(conn,), name="sparktune-conn", daemon=True).start()

    def _run_slot(self, slot: _Slot) -> None:
        fn = functools.partial(serve_slot, self._address, self._token, self._run_key, slot.index)
        generation = 0
        while not self._closing:
            generation += 1
            slot.tag = f"{self._run_tag}-s{slot.index}-{generation}"
            slot.connected, slot.error = False, None
            slot.ended.clear()
            try:
                rows = self._collect(fn, [slot.tag])
            except Exception as exc:
                slot.error = _error_text(exc)
            slot.ended.set()
            if self._closing:
                return
            if slot.error is None:
                kind, detail = pickle.loads(rows[0][1])
                if kind == "unreachable":
                    self._fall_back_to_batches(detail)
                    return
                continue
            if slot.connected:
                self._slot_failures = 0
                continue
            self._slot_failures += 1
            if self._slot_failures >= _MAX_SLOT_FAILURES:
                self._fatal(
                    f"SparkTrials could not start its tasks ({self._slot_failures} failed in a row); "
                    "check that sparktune and the objective's imports are installed where Spark runs "
                    f"Python (PYSPARK_PYTHON). Last Spark error: {slot.error}"
                )
                return

    def _fall_back_to_batches(self, detail: str) -> None:
        with self._work:
            if self._channel != "socket" or self._closing:
                return
            self._channel = "spark"
            self._sizer = PackSizer(_BATCH_TARGET_S, _BATCH_MAX_PACK)
        _unreachable[(id(self._session), self._host)] = detail
        logger.warning("executors cannot connect to the driver (%s): results come back through Spark jobs", detail)
        try:
            self._start_batch_channel()
        except SparktuneError as exc:
            self._fatal(str(exc))

    def _serve(self, conn: socket.socket) -> None:
        """Talk to one slot task: hand out trials one by one, relay each start and result."""
        current: TrialTask | None = None
        slot: _Slot | None = None
        worker: str | None = None
        with conn:
            channel = _Conn(conn, None)
            try:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if not hmac.compare_digest(recv_token(conn), self._token):
                    logger.warning("rejected a connection with a wrong token")
                    return
                _, index, worker, has_domain = recv_message(conn)
                channel.worker = worker
                slot = self._slots[index]
                slot.connected = True
                tag = slot.tag  # this connection's job (the slot moves on to a new job if it is killed)
                self._slot_failures = 0
                if not has_domain:
                    channel.send(("domain", self._payload))
                    recv_message(conn)  # ("ready",)
                while True:
                    with self._work:
                        doomed = tag in self._doomed
                    tasks = None if doomed else self._take(1)
                    if tasks is None:
                        channel.send(("stop",))
                        return
                    current = tasks[0]
                    self._mark_running([current.tid], tag, worker, time.time(), channel)
                    if not channel.send(("run", [(current.tid, current.vals)], self._trial_timeout)):
                        raise ChannelClosed("the slot task went away before it got its trial")
                    while True:
                        message = recv_message(conn)
                        if message[0] == "start":
                            self._events.put(Started(message[1], message[2], worker))
                        elif message[0] == "done":
                            self._report(message[1], message[2])
                            current = None
                        elif message[0] == "ready":
                            break
            except (ChannelClosed, OSError) as exc:
                if current is not None and not self._closing:
                    self._lost_on_slot(current, slot, worker, exc)

    def _lost_on_slot(self, task: TrialTask, slot: _Slot | None, worker: str | None, exc: BaseException) -> None:
        with self._work:
            wanted = task.tid in self._live
        if not wanted:
            return
        detail = f"connection to the task closed: {exc}"
        if slot is not None and slot.ended.wait(_CRASH_DETAIL_WAIT_S) and slot.error:
            detail = f"Spark reported: {slot.error}"
        self._fail_lost(task.tid, worker, detail)

    # ----- spark channel -----------------------------------------------------------------------

    def _batch_jobs(self) -> int:
        """Jobs in flight: one per slot, plus one waiting per slot when the trials fill the cluster.

        A waiting job starts the moment a slot frees, without waiting for the driver. When
        parallelism is below the cluster's slots, Spark would run the waiting jobs at once, so
        there are none: parallelism is a promise about how many trials run.
        """
        queue_ahead = self._parallelism >= self._facts.slots
        return self._parallelism * (2 if queue_ahead else 1)

    def _start_batch_channel(self) -> None:
        self._payload_ref = self._ship_payload()
        for index in range(self._batch_jobs()):
            self._spawn(self._run_batches, f"sparktune-batch-{index}")

    def _ship_payload(self) -> Any:
        """What pack jobs carry to reach the objective: the pickle itself when it is small, else a
        handle shipped once per run, so that a large capture (a training set) does not travel, and
        sit in the JVM's memory, with every job."""
        size = len(self._payload)
        if size <= SHIP_ONCE_BYTES:
            return self._payload
        try:
            if not self._facts.connect:
                self._broadcast = self._session.sparkContext.broadcast(self._payload)
                ref: Any = self._broadcast
            else:
                ref = f"sparktune-objective-{self._digest}.pkl"  # the same objective, the same file
                with tempfile.TemporaryDirectory(prefix="sparktune-") as folder:
                    path = os.path.join(folder, ref)
                    with open(path, "wb") as f:
                        f.write(self._payload)
                    self._session.addArtifacts(path, file=True)
        except Exception as exc:
            if size > PER_JOB_MAX_BYTES:
                raise SparktuneError(
                    f"SparkTrials: the objective pickles to {size / 1e6:.0f} MB and could not be shipped to the "
                    f"executors once for the run ({type(exc).__name__}: {exc}); sending it with every Spark job "
                    "could exhaust the Spark server's memory. Capture less: load large data inside the "
                    "objective from a path the executors can read"
                ) from exc
            logger.warning(
                "SparkTrials: could not ship the %.1f MB objective once for the run (%s); it goes with every "
                "Spark job instead, which is slower", size / 1e6, exc,
            )  # fmt: skip
            return self._payload
        logger.info(
            "SparkTrials run %s: the %.1f MB objective is shipped once (%s), not with every job",
            self._run_tag, size / 1e6, f"session file {ref}" if isinstance(ref, str) else "broadcast",
        )  # fmt: skip
        return ref

    def _run_batches(self) -> None:
        while True:
            tasks = self._take(self._sizer.size)
            if tasks is None:
                return
            with self._work:
                self._batch_count += 1
                tag = f"{self._run_tag}-b{self._batch_count}"
            tids = [t.tid for t in tasks]
            start = time.time()
            self._mark_running(tids, tag, None, start)
            for tid in tids:
                self._events.put(Started(tid, start, None))
            stop_in = None if self._deadline is None else max(0.0, self._deadline - time.monotonic())
            fn = functools.partial(
                run_batch,
                self._run_key,
                self._payload_ref,
                [(t.tid, t.vals) for t in tasks],
                self._trial_timeout,
                stop_in,
            )
            error: str | None = None
            try:
                rows = self._collect(fn, [tag])
            except Exception as exc:
                rows, error = [], _error_text(exc)
            done: set[int] = set()
            for tid, payload in rows:
                message = pickle.loads(payload)
                if message[0] == "done":
                    self._report(tid, message[1])
                    done.add(tid)
                elif message[0] == "unstarted":  # past the run's deadline: fmin cancels it
                    with self._work:
                        self._running.pop(tid, None)
                    done.add(tid)
                else:
                    error = error or f"the task was retried (attempt {message[1]}) after its Python worker died"
            left = [t for t in tasks if t.tid not in done]
            if not left or self._closing:
                continue
            if error is not None and "No module named 'sparktune" in error:
                self._fatal(
                    "sparktune is not installed where Spark runs Python (PYSPARK_PYTHON on the "
                    f"executors); install it there. Spark error: {error}"
                )
                return
            if len(left) > 1:
                self._requeue(left, solo=True)  # find the culprit: each runs alone once more
            else:
                self._fail_lost(left[0].tid, None, f"Spark reported: {error}")
