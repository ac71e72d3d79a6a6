"""SparkTrials on a real classic session and a real Spark Connect session."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import sys
import threading
import time
import warnings
from typing import Any

import cloudpickle
import numpy as np
import pytest

from sparktune import SparkTrials, fmin, hp, rand
from sparktune.early_stop import no_progress_loss
from sparktune.exceptions import AllTrialsFailed, SerializationError, SparktuneError
from sparktune.spark import FMIN_CANCELLED_REASON_EARLY_STOPPING, FMIN_CANCELLED_REASON_TIMEOUT
from sparktune.trials import TrialState

# The objectives below must reach the executors, which cannot import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

CHANNELS = ["socket", "spark"]


def quadratic(x: float) -> float:
    return (x - 1.0) ** 2


def faulty(x: float) -> Any:
    """The integer part of ``x`` says what to do: 2 raise, 3 kill the worker, 4 NaN, 6 sleep long."""
    kind = int(x)
    if kind == 2:
        raise ValueError(f"boom at {x}")
    if kind == 3:
        os._exit(3)
    if kind == 4:
        return math.nan
    if kind == 6:
        time.sleep(60)
    return x


def points(*xs: float) -> list[dict[str, float]]:
    return [{"x": x} for x in xs]


def active_jobs(spark: Any) -> list[int]:
    """Active Spark job ids (classic), waiting a short while for cancelled jobs to wind down."""
    if not hasattr(spark, "sparkContext") or type(spark).__module__.startswith("pyspark.sql.connect"):
        return []
    tracker = spark.sparkContext.statusTracker()
    deadline = time.monotonic() + 5.0
    while tracker.getActiveJobsIds() and time.monotonic() < deadline:
        time.sleep(0.1)
    return list(tracker.getActiveJobsIds())


def assert_session_usable(spark: Any, channel: str) -> None:
    trials = SparkTrials(spark_session=spark, result_channel=channel)
    fmin(quadratic, hp.uniform("x", -2, 2), algo=rand.suggest, max_evals=4, trials=trials, show_progressbar=False)
    assert trials.count_successful_trials() == 4


@pytest.mark.parametrize("channel", CHANNELS)
def test_fmin_finds_the_minimum_and_counts(session: Any, channel: str) -> None:
    trials = SparkTrials(spark_session=session, result_channel=channel)
    best = fmin(
        quadratic, hp.uniform("x", -5, 5), algo=rand.suggest, max_evals=30, trials=trials,
        show_progressbar=False, rstate=3,
    )  # fmt: skip
    assert trials.last_channel == channel
    assert trials.count_successful_trials() == trials.count_total_trials() == 30
    assert trials.count_failed_trials() == trials.count_cancelled_trials() == 0
    assert abs(best["x"] - 1.0) < 1.0
    assert best["x"] == min(trials.trials, key=lambda t: t["result"]["loss"])["misc"]["vals"]["x"][0]
    workers = {t.worker for t in trials.records}
    assert all(w and "stage" in w for w in workers), workers  # ran in Spark tasks, not here


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_objective_reading_a_broadcast_variable(classic: Any, channel: str) -> None:
    """Broadcasting a data set to the objective is the usual Spark idiom (Hyperopt's SparkTrials
    runs it); the objective's pickle holds only the broadcast's id, so every job must carry it."""
    data = classic.sparkContext.broadcast(np.arange(5.0))
    big = classic.sparkContext.broadcast(os.urandom(3 * 1024 * 1024))  # with an objective shipped once

    def objective(x: float) -> float:
        return float(((data.value - x) ** 2).sum()) + len(big.value) % 7

    try:
        for max_evals in (6, 10):  # a second run on the same SparkTrials: workers already warm
            trials = SparkTrials(spark_session=classic, result_channel=channel)
            fmin(objective, hp.uniform("x", 0, 4), algo=rand.suggest, max_evals=max_evals, trials=trials,
                 show_progressbar=False, rstate=0)  # fmt: skip
            assert trials.count_successful_trials() == max_evals, [r.error for r in trials.records]
    finally:
        data.destroy()
        big.destroy()


def test_a_large_objective_is_shipped_once_on_the_spark_channel(session: Any, caplog: pytest.LogCaptureFixture) -> None:
    """An objective capturing a few MB (a training set) reaches the executors once per run, not
    with every job; the trials see the captured data intact."""
    data = os.urandom(3 * 1024 * 1024)  # incompressible, larger than SHIP_ONCE_BYTES
    digest = hashlib.sha256(data).hexdigest()

    def objective(x: float) -> float:
        assert hashlib.sha256(data).hexdigest() == digest
        return (x - 1.0) ** 2 + len(data) % 7

    trials = SparkTrials(spark_session=session, result_channel="spark")
    with caplog.at_level("INFO", logger="sparktune._spark_executor"):
        fmin(objective, hp.uniform("x", -2, 2), algo=rand.suggest, max_evals=6, trials=trials, show_progressbar=False)
    assert trials.count_successful_trials() == 6
    assert "objective is shipped once" in caplog.text


def test_a_changed_large_objective_reaches_the_next_run(session: Any) -> None:
    """Two runs whose objectives capture different data (so different shipped files) each see
    their own data, also in Python workers the first run left warm."""
    seen = []
    for fill in (b"a", b"b"):
        data = fill * (2 * 1024 * 1024)

        def objective(x: float, data: bytes = data) -> dict[str, Any]:
            return {"loss": x * x, "status": "ok", "byte": data[:1].decode()}

        trials = SparkTrials(spark_session=session, result_channel="spark")
        fmin(objective, hp.uniform("x", -1, 1), algo=rand.suggest, max_evals=3, trials=trials, show_progressbar=False)
        seen.append({r["byte"] for r in trials.results})
    assert seen == [{"a"}, {"b"}]


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_run_starts_from_a_fresh_copy_of_the_objective(classic: Any, channel: str) -> None:
    """Trials mutating what the objective captured affect later trials in the same worker (as
    documented), but never the next run, even when Spark reuses the Python workers."""
    calls = [0]

    def counting(x: float) -> float:
        calls[0] += 1
        return float(calls[0])

    for _ in range(2):
        trials = SparkTrials(spark_session=classic, parallelism=1, result_channel=channel)
        fmin(counting, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=3, trials=trials, show_progressbar=False)
        assert min(trials.losses()) == 1.0


def test_an_objective_too_large_to_send_per_job_is_refused(
    connect: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When the objective cannot be shipped once (here: no usable temporary directory for the
    session file), a small one goes with every job after a warning, a large one is refused before
    any trial runs, naming its size."""
    import tempfile

    import sparktune._spark_executor as executor

    monkeypatch.setattr(tempfile, "tempdir", "/nonexistent/sparktune-test")
    monkeypatch.setattr(executor, "PER_JOB_MAX_BYTES", 4 * 1024 * 1024)
    small, large = os.urandom(2 * 1024 * 1024), os.urandom(6 * 1024 * 1024)

    trials = SparkTrials(spark_session=connect, result_channel="spark")
    fmin(lambda x: x + len(small) % 2, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=2, trials=trials,
         show_progressbar=False)  # fmt: skip
    assert trials.count_successful_trials() == 2
    assert "it goes with every Spark job instead" in caplog.text
    trials = SparkTrials(spark_session=connect, result_channel="spark")
    with pytest.raises(SparktuneError, match=r"pickles to 6 MB and could not be shipped .* load large data"):
        fmin(lambda x: x + len(large) % 2, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=2, trials=trials,
             show_progressbar=False)  # fmt: skip
    assert len(trials) == 0


@pytest.mark.parametrize("channel", CHANNELS)
def test_faults_fail_only_their_own_trial(session: Any, channel: str) -> None:
    # Fast trials first, so that the spark channel packs several trials per task by the time
    # the faulty ones come; the crash must not take the rest of its pack with it.
    xs = [0.1 * i for i in range(8)] + [2.5, 3.5, 4.5, 0.9, 0.8, 0.7, 0.6]
    trials = SparkTrials(spark_session=session, result_channel=channel)
    fmin(
        faulty, hp.uniform("x", 0, 10), algo=rand.suggest, max_evals=len(xs), trials=trials,
        points_to_evaluate=points(*xs), catch_eval_exceptions=True, show_progressbar=False,
    )  # fmt: skip
    by_x = {r.vals["x"]: r for r in trials.records}
    assert len(by_x) == len(xs)
    raised, crashed, nan = by_x[2.5], by_x[3.5], by_x[4.5]
    assert raised.state is TrialState.ERROR
    assert raised.error is not None and raised.error.type == "ValueError"
    assert "boom at 2.5" in raised.error.traceback and "faulty" in raised.error.traceback
    assert crashed.state is TrialState.ERROR
    assert crashed.error is not None and crashed.error.type == "WorkerLost"
    assert nan.result["status"] == "fail"
    others = [r for x, r in by_x.items() if x not in (2.5, 3.5, 4.5)]
    assert all(r.state is TrialState.DONE and r.result["status"] == "ok" for r in others)
    assert trials.count_failed_trials() == 2


@pytest.mark.parametrize("channel", CHANNELS)
def test_trial_timeout_stops_only_that_trial(session: Any, channel: str) -> None:
    trials = SparkTrials(spark_session=session, trial_timeout=1.0, result_channel=channel)
    fmin(
        faulty, hp.uniform("x", 0, 10), algo=rand.suggest, max_evals=4, trials=trials,
        points_to_evaluate=points(0.5, 6.5, 1.5, 0.25), catch_eval_exceptions=True, show_progressbar=False,
    )  # fmt: skip
    by_x = {r.vals["x"]: r for r in trials.records}
    slow = by_x[6.5]
    assert slow.state is TrialState.ERROR
    assert slow.error is not None and slow.error.type == "TrialTimeout"
    assert trials.count_successful_trials() == 3


@pytest.mark.parametrize("channel", CHANNELS)
def test_timeout_cancels_running_trials_and_session_stays_usable(session: Any, channel: str) -> None:
    trials = SparkTrials(spark_session=session, timeout=2, result_channel=channel)
    with pytest.raises(AllTrialsFailed, match="TrialCancelled"):  # no trial finished: no best point
        fmin(faulty, hp.uniform("x", 6, 7), algo=rand.suggest, max_evals=10, trials=trials, show_progressbar=False)
    assert trials.count_cancelled_trials() >= trials.parallelism  # running, and queued on the spark channel
    assert trials.fmin_cancelled_reason == FMIN_CANCELLED_REASON_TIMEOUT
    assert trials.count_successful_trials() == 0
    assert active_jobs(session) == []
    assert_session_usable(session, channel)


def _stop_after_ok(n: int) -> Any:
    def stop(trials: Any, *args: Any) -> tuple[bool, list[Any]]:
        return trials.count_successful_trials() >= n, []

    return stop


@pytest.mark.parametrize("stop", ["timeout", "early_stop_fn"])
def test_a_stopped_run_records_every_trial_its_packs_finished(session: Any, tmp_path: Any, stop: str) -> None:
    """On the spark channel short trials travel in packs, several per Spark job; when the run
    stops (a timeout, an early stop) the trials a running pack finished are recorded, not killed
    with its job, and no trial is left running."""
    done = tmp_path  # the executors of a local master (and a local Connect server) share it

    def objective(x: float) -> float:
        time.sleep(0.05)
        (done / repr(x)).touch()
        return x

    trials = SparkTrials(spark_session=session, result_channel="spark")
    kwargs: dict[str, Any] = {"timeout": 10} if stop == "timeout" else {"early_stop_fn": _stop_after_ok(60)}
    fmin(
        objective, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=100_000, trials=trials,
        show_progressbar=False, **kwargs,
    )  # fmt: skip
    finished = {float(p.name) for p in done.iterdir()}
    recorded = {r.vals["x"] for r in trials.records if r.state is TrialState.DONE}
    assert len(finished) >= 10 and finished <= recorded, sorted(finished - recorded)
    assert trials.count_by_state_unsynced(TrialState.RUNNING) == 0
    assert active_jobs(session) == []


def test_loss_threshold_and_early_stop(classic: Any) -> None:
    trials = SparkTrials(spark_session=classic, loss_threshold=0.5)
    fmin(
        faulty, hp.uniform("x", 0, 10), algo=rand.suggest, max_evals=50, trials=trials,
        points_to_evaluate=points(0.25, 6.5), show_progressbar=False,
    )  # fmt: skip
    assert trials.count_successful_trials() >= 1
    assert trials.count_total_trials() < 50
    assert trials.trial(1).state is TrialState.CANCEL  # the long one was stopped, not awaited
    assert trials.fmin_cancelled_reason == FMIN_CANCELLED_REASON_EARLY_STOPPING
    trials = SparkTrials(spark_session=classic)
    fmin(
        lambda x: 1.0, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=200, trials=trials,
        early_stop_fn=no_progress_loss(5), show_progressbar=False,
    )  # fmt: skip
    assert trials.count_total_trials() < 200
    assert trials.fmin_cancelled_reason == "early stopping condition"


def test_interrupt_cancels_running_trials(classic: Any) -> None:
    def interrupt_after_first(trials: Any, *args: Any) -> tuple[bool, list[Any]]:
        raise KeyboardInterrupt  # what Ctrl-C in the driver looks like to fmin's loop

    trials = SparkTrials(spark_session=classic)
    with pytest.raises(KeyboardInterrupt):
        fmin(
            faulty, hp.uniform("x", 0, 10), algo=rand.suggest, max_evals=4, trials=trials,
            points_to_evaluate=points(0.5, 6.5, 6.6), early_stop_fn=interrupt_after_first,
            show_progressbar=False,
        )  # fmt: skip
    assert trials.count_cancelled_trials() >= 1
    assert active_jobs(classic) == []


def test_objective_capturing_spark_objects_is_refused_before_running(classic: Any) -> None:
    spark = classic
    df = classic.range(3)
    lock = threading.Lock()

    def uses_session(x: float) -> float:
        return float(spark.range(1).count()) + x

    def uses_frame(x: float) -> float:
        return float(df.count()) + x

    def uses_lock(x: float) -> float:
        with lock:
            return x

    cases = [(uses_session, "'spark'"), (uses_frame, "'df'"), (uses_lock, "closure variable 'lock' is a _thread.lock")]
    for objective, said in cases:
        trials = SparkTrials(spark_session=classic)
        with pytest.raises(SerializationError, match=said):
            fmin(objective, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=2, trials=trials)
        assert len(trials) == 0 or trials.count_successful_trials() == 0


def test_attachments_save_file_and_points(classic: Any, tmp_path: Any) -> None:
    def with_attachment(x: float) -> dict[str, Any]:
        return {"loss": x, "status": "ok", "note": "kept", "attachments": {"blob": b"\x00" * 10}}

    path = tmp_path / "run.journal"
    trials = SparkTrials(spark_session=classic)
    fmin(
        with_attachment, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=5, trials=trials,
        points_to_evaluate=points(0.125), trials_save_file=str(path), show_progressbar=False,
    )  # fmt: skip
    assert trials.trials[0]["misc"]["vals"]["x"] == [0.125]
    assert trials.trial_attachments(trials.trials[0])["blob"] == b"\x00" * 10
    assert trials.results[0]["note"] == "kept"
    assert path.stat().st_size > 0


def test_parallelism_is_limited_to_the_slots_with_a_warning(classic: Any) -> None:
    with pytest.warns(UserWarning, match="larger than the 2 task slots"):
        trials = SparkTrials(parallelism=64, spark_session=classic)
    assert trials.parallelism == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert SparkTrials(parallelism=1, spark_session=classic).parallelism == 1
        assert SparkTrials(spark_session=classic, cpus_per_trial=2).parallelism == 1
    for given in (0, -1):  # Hyperopt documents a non-positive parallelism as Spark's default
        with pytest.warns(UserWarning, match=f"parallelism={given} is not positive; using every task slot"):
            assert SparkTrials(parallelism=given, spark_session=classic).parallelism == 2


def test_the_active_session_is_used_by_default(classic: Any) -> None:
    trials = SparkTrials()
    assert trials._spark is classic
    assert trials.parallelism == 2


def test_a_copied_spark_trials_runs_on_the_active_session(classic: Any) -> None:
    import copy

    trials = copy.deepcopy(SparkTrials(parallelism=2))
    fmin(quadratic, hp.uniform("x", -1, 1), algo=rand.suggest, max_evals=4, trials=trials, show_progressbar=False)
    assert trials._spark is classic and trials.count_successful_trials() == 4


def _counted() -> _CountsUnpickling:
    key = "SPARKTUNE_TEST_UNPICKLED"
    os.environ[key] = str(int(os.environ.get(key, "0")) + 1)  # per process: Python workers are processes
    return _CountsUnpickling()


class _CountsUnpickling:
    """Captured by an objective: counts, per process, how often the objective is unpickled."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_counted, ())


@pytest.mark.parametrize("channel", CHANNELS)
def test_workers_and_the_unpickled_objective_are_reused(session: Any, channel: str) -> None:
    marker = _CountsUnpickling()

    def pid_loss(x: float) -> dict[str, Any]:
        assert marker is not None
        return {"loss": x, "status": "ok", "pid": os.getpid(), "unpickled": os.environ["SPARKTUNE_TEST_UNPICKLED"]}

    trials = SparkTrials(spark_session=session, parallelism=1, result_channel=channel)
    fmin(pid_loss, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=8, trials=trials, show_progressbar=False)
    by_pid: dict[int, set[str]] = {}
    for result in trials.results:
        by_pid.setdefault(result["pid"], set()).add(result["unpickled"])
    assert all(len(counts) == 1 for counts in by_pid.values()), by_pid  # once per worker, not per trial
    assert len(by_pid) < 8  # workers are reused across trials, not started per trial
    if channel == "socket":
        assert len(by_pid) == 1 and len({t.worker for t in trials.records}) == 1  # one long-lived task


@pytest.mark.parametrize("channel", CHANNELS)
def test_parallelism_below_the_slots_is_respected(classic: Any, channel: str) -> None:
    def timed(x: float) -> dict[str, Any]:
        start = time.time()
        time.sleep(0.05)
        return {"loss": x, "status": "ok", "span": (start, time.time())}

    trials = SparkTrials(spark_session=classic, parallelism=1, result_channel=channel)
    fmin(timed, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=6, trials=trials, show_progressbar=False)
    spans = sorted(r["span"] for r in trials.results)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), spans  # one at a time


def test_an_objective_the_executors_cannot_import_fails_its_trials_clearly(classic: Any, tmp_path: Any) -> None:
    import importlib

    (tmp_path / "driver_only_module.py").write_text("def f(x):\n    return x * x\n")
    sys.path.insert(0, str(tmp_path))  # the driver can import it; the Python workers cannot
    try:
        module = importlib.import_module("driver_only_module")
        trials = SparkTrials(parallelism=2)
        with pytest.raises(Exception, match="could not be unpickled on the executor"):
            fmin(module.f, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=4, trials=trials, show_progressbar=False)
        assert trials.count_failed_trials() >= 1
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("driver_only_module", None)


def test_a_failing_trial_fails_alone_without_catch_eval_exceptions(classic: Any) -> None:
    """As with Hyperopt's SparkTrials: the run goes on after a trial raises."""
    trials = SparkTrials(spark_session=classic, parallelism=2)
    fmin(faulty, hp.uniform("x", 0, 10), algo=rand.suggest, max_evals=6, trials=trials,
         points_to_evaluate=points(0.5, 2.5, 1.5, 2.7, 0.25, 1.25), show_progressbar=False)  # fmt: skip
    assert trials.count_total_trials() == 6 and trials.count_failed_trials() == 2
    assert trials.count_successful_trials() == 4


def test_an_adaptive_algorithm_sees_the_results_before_it_proposes_again(classic: Any) -> None:
    """Short trials used to be queued a pack per slot ahead: TPE then proposed almost every point
    after one result. Now one trial per slot is in flight, plus max_queue_len waiting."""
    from sparktune import tpe

    in_flight: list[int] = []

    def algo(new_ids: list[int], domain: Any, trials: Any, seed: int) -> Any:
        waiting = sum(t["state"] in (0, 1) for t in trials.trials)
        in_flight.append(waiting + len(new_ids))
        return tpe.suggest(new_ids, domain, trials, seed, n_startup_jobs=4)

    trials = SparkTrials(spark_session=classic, parallelism=2, result_channel="socket")
    fmin(quadratic, hp.uniform("x", -5, 5), algo=algo, max_evals=30, trials=trials, show_progressbar=False)
    assert trials.count_successful_trials() == 30
    assert max(in_flight) <= 3  # 2 slots + max_queue_len 1


def exits(x: float) -> float:
    if x > 0.5:
        sys.exit(2)  # as argparse does on a bad argument
    return x


def test_sys_exit_in_the_objective_is_that_trials_error_not_a_dead_worker(classic: Any) -> None:
    trials = SparkTrials(spark_session=classic, parallelism=2)
    fmin(exits, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=3, trials=trials,
         points_to_evaluate=points(0.75, 0.25, 0.5), show_progressbar=False)  # fmt: skip
    failed = trials.trial(0)
    assert failed.state is TrialState.ERROR and failed.error is not None and failed.error.type == "SystemExit"
    assert trials.count_successful_trials() == 2


def test_more_cpus_per_trial_than_the_cluster_has_warns(classic: Any) -> None:
    with pytest.warns(UserWarning, match="cpus_per_trial=64 is more than the"):
        trials = SparkTrials(spark_session=classic, cpus_per_trial=64)
    assert trials.parallelism == 1


def test_default_parallelism_above_max_evals_is_capped_without_a_warning(classic: Any) -> None:
    trials = SparkTrials(spark_session=classic)
    assert trials.parallelism >= 2 and not trials.parallelism_given
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fmin(quadratic, hp.uniform("x", -2, 2), algo=rand.suggest, max_evals=1, trials=trials, show_progressbar=False)
    assert trials.count_successful_trials() == 1
    with pytest.warns(UserWarning, match="parallelism=2 is larger than max_evals=1") as caught:
        fmin(quadratic, hp.uniform("x", -2, 2), algo=rand.suggest, max_evals=1,
             trials=SparkTrials(spark_session=classic, parallelism=2), show_progressbar=False)  # fmt: skip
    assert caught[0].filename == __file__  # the warning points at the user's fmin call
