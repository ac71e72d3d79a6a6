"""Driver run by test_cluster.py against a standalone cluster (its own process: one SparkContext each).

Usage: python standalone_driver.py MASTER_URL CHANNEL; prints one JSON line.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from pyspark.sql import SparkSession

from sparktune import SparkTrials, fmin, hp, rand


def _kill_executor_jvm() -> None:
    """Kill the executor JVM this Python worker runs under: a lost executor, as a cluster sees it."""
    pid = os.getpid()
    while pid > 1:
        with open(f"/proc/{pid}/stat") as stat:
            pid = int(stat.read().rsplit(")", 1)[1].split()[1])  # the parent's pid
        with open(f"/proc/{pid}/comm") as comm:
            if comm.read().strip() == "java":
                os.kill(pid, signal.SIGKILL)
                time.sleep(60)  # dies with the executor
                return


def objective(x: float) -> float:
    if 4 <= x < 5:
        _kill_executor_jvm()
    if 3 <= x < 4:
        os._exit(7)  # a crashing worker: only this trial may fail
    if 2 <= x < 3:
        raise KeyError("missing")
    return (x - 1) ** 2


def main() -> None:
    master, channel = sys.argv[1], sys.argv[2]
    spark = (
        SparkSession.builder.master(master)
        .appName("sparktune-standalone-test")
        .config("spark.executor.cores", "2")
        .config("spark.executorEnv.PYTHONPATH", os.environ.get("PYTHONPATH", ""))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    trials = SparkTrials(spark_session=spark, result_channel=channel)
    xs = [0.5, 1.5, 3.5, 2.5, 0.75, 1.25, 1.0, 0.9]
    fmin(
        objective, hp.uniform("x", 0, 2), algo=rand.suggest, max_evals=len(xs), trials=trials,
        points_to_evaluate=[{"x": x} for x in xs], catch_eval_exceptions=True, show_progressbar=False,
    )  # fmt: skip
    errors = {str(r.vals["x"]): r.error.type for r in trials.records if r.error is not None}
    # A lost executor: one slot, so that no other trial shares the executor that dies.
    lost = SparkTrials(spark_session=spark, result_channel=channel, parallelism=1)
    xs = [0.5, 4.5, 0.25, 1.75]
    fmin(
        objective, hp.uniform("x", 0, 2), algo=rand.suggest, max_evals=len(xs), trials=lost,
        points_to_evaluate=[{"x": x} for x in xs], catch_eval_exceptions=True, show_progressbar=False,
    )  # fmt: skip
    print(json.dumps({
        "channel": trials.last_channel, "parallelism": trials.parallelism, "errors": errors,
        "successful": trials.count_successful_trials(), "failed": trials.count_failed_trials(),
        "lost_errors": {str(r.vals["x"]): r.error.type for r in lost.records if r.error is not None},
        "lost_successful": lost.count_successful_trials(),
    }))  # fmt: skip
    spark.stop()


if __name__ == "__main__":
    main()
