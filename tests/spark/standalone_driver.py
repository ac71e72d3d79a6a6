"""Driver run by test_cluster.py against a standalone cluster (its own process: one SparkContext each).

Usage: python standalone_driver.py MASTER_URL CHANNEL; prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys

from pyspark.sql import SparkSession

from sparktune import SparkTrials, fmin, hp, rand


def objective(x: float) -> float:
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
    print(json.dumps({
        "channel": trials.last_channel, "parallelism": trials.parallelism, "errors": errors,
        "successful": trials.count_successful_trials(), "failed": trials.count_failed_trials(),
    }))  # fmt: skip
    spark.stop()


if __name__ == "__main__":
    main()
