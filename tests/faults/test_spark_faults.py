"""Faults around SparkTrials, in real processes on a real local Spark.

- the driver is SIGKILLed at random points and the script rerun: nothing lost, the run completes;
- a trial's Python worker calls ``os._exit``: that trial fails alone, with the reason;
- Ctrl-C (SIGINT) mid-run: no trial left NEW or RUNNING, in memory or in the file, and the same
  session runs ``fmin`` again.
"""

from __future__ import annotations

import random
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from faultlib import CHILD_SPARK, Child, Standalone, audit, read_quietly

pytestmark = pytest.mark.spark

#: SIGKILLs of a SparkTrials driver; each run starts a JVM, so a few (the Trials scenarios add 36).
KILLS = 3


@pytest.fixture(autouse=True)
def _needs_spark() -> None:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not Path("/usr/lib/jvm").exists():
        pytest.skip("no Java runtime for Spark")


def _expected_loss(vals: dict[str, float]) -> float:
    return float((vals["x"] - 1) ** 2 + vals["k"])


def test_sparktrials_driver_sigkill_loses_nothing_and_the_rerun_completes(
    tmp_path: Path, child_factory: Callable[..., Child]
) -> None:
    path = tmp_path / "spark.jsonl"
    n = 30
    rng = random.Random("spark-sigkill")
    seen: dict[int, float] = {}
    lost: set[int] = set()
    progress = []
    for _ in range(KILLS):
        target = rng.randint(1, 6)
        child = child_factory(path, n, "run", script=CHILD_SPARK)
        child.wait_for("finished", lambda k: k >= target)  # noqa: B023 - used at once, in this iteration
        child.kill_driver()
        audit(path, seen, lost)
        progress.append(len(seen))
    events = child_factory(path, n, "run", script=CHILD_SPARK).finish()
    assert events[-1] == {"done": n}
    contents = read_quietly(path)
    assert contents is not None
    assert lost == set(), f"{len(lost)} trials lost after {KILLS} SIGKILLs of the driver"
    assert [r["tid"] for r in contents.records] == list(range(n))
    assert {r["state"] for r in contents.records} == {"DONE"}
    for r in contents.records:  # every result belongs to its own point
        assert r["result"]["loss"] == pytest.approx(_expected_loss(r["vals"]))
    assert progress[-1] > 0 and progress == sorted(progress)


def test_sparktrials_worker_exit_fails_one_trial_and_ctrl_c_leaves_nothing_running(
    tmp_path: Path, child_factory: Callable[..., Child]
) -> None:
    path = tmp_path / "spark.jsonl"
    child = child_factory(path, 200, "exit-interrupt", script=CHILD_SPARK)
    child.wait_for("finished", lambda k: k >= 5)
    child.proc.send_signal(signal.SIGINT)
    interrupted = child.wait_for("interrupted")
    assert not {0, 1} & set(interrupted["states"]), interrupted["states"]
    assert not {0, 1} & set(interrupted["file_states"]), interrupted["file_states"]
    done = child.finish()[-1]
    states, errors = done["states"], done["errors"]
    assert done["done"] == len(interrupted["states"]) + 3
    assert states[0] == 3 and errors[0][0] == "WorkerLost" and "os._exit" in errors[0][1]
    assert set(states[1:]) == {2}  # every other trial finished, the interrupted ones re-run
    contents = read_quietly(path)
    assert contents is not None and [r["state"] for r in contents.records] == ["ERROR"] + ["DONE"] * (len(states) - 1)


def test_standalone_worker_killed_mid_run_fails_only_its_trials(
    tmp_path: Path, child_factory: Callable[..., Child]
) -> None:
    cluster = Standalone(tmp_path)
    try:
        path = tmp_path / "standalone.jsonl"
        n = 24
        child = child_factory(path, n, "run", cluster.url, script=CHILD_SPARK)
        child.wait_for("finished", lambda k: k >= 3)
        cluster.kill_tree(cluster.workers[0])  # a worker machine is lost mid-run
        events = child.finish()
    finally:
        cluster.stop()
    assert events[-1] == {"done": n}
    contents = read_quietly(path)
    assert contents is not None and [r["tid"] for r in contents.records] == list(range(n))
    states = [r["state"] for r in contents.records]
    assert set(states) <= {"DONE", "ERROR"}, states  # nothing left NEW, RUNNING or lost
    errors = [r["error"] for r in contents.records if r["state"] == "ERROR"]
    assert len(errors) <= 2 and all(e["type"] == "WorkerLost" for e in errors), errors
    assert states.count("DONE") >= n - 2
