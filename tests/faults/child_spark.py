"""A SparkTrials tuning script run as a separate process by the Spark fault-injection tests.

``python child_spark.py PATH N MODE [MASTER]`` runs ``fmin`` with ``SparkTrials(parallelism=2)``
and ``trials_save_file=PATH``, printing JSON events on stdout: ``{"finished": k}`` after each of
the k results of this run (from ``early_stop_fn``, which runs on the driver), so a test waits for progress instead
of sleeping. MODE: ``run``; ``exit-interrupt`` (the first point makes its Python worker call
``os._exit``; the run survives a SIGINT and continues in the same session). MASTER is a Spark
master URL (default: an embedded local session).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

from sparktune import SparkTrials, Trials, fmin, hp, rand

SPACE = {"x": hp.uniform("x", -5, 5), "k": hp.choice("k", [0, 1, 2])}
EXIT_X = 1.2345


def say(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def objective(p: dict[str, Any]) -> float:
    if p["x"] == EXIT_X:
        os._exit(3)  # the Python worker dies mid-trial
    time.sleep(0.15)
    return float((p["x"] - 1) ** 2 + p["k"])


_first: list[int] = []


def progress(trials: Trials, *args: Any) -> tuple[bool, list[Any]]:
    """Report results of this run (a resumed run starts with the earlier ones)."""
    done = sum(1 for t in trials.trials if t["state"] >= 2)
    if not _first:
        _first.append(done - 1)
    say(finished=done - _first[0])
    return False, []


def main() -> None:
    path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    session = None
    if len(sys.argv) > 4:
        from pyspark.sql import SparkSession

        session = SparkSession.builder.master(sys.argv[4]).appName("sparktune-faults").getOrCreate()
    trials = SparkTrials(parallelism=2, spark_session=session)
    say(started=True)

    def tune(max_evals: int, **kwargs: Any) -> None:
        fmin(objective, SPACE, algo=rand.suggest, max_evals=max_evals, trials=trials, trials_save_file=path,
             rstate=np.random.default_rng(4), show_progressbar=False, early_stop_fn=progress,
             catch_eval_exceptions=True, **kwargs)  # fmt: skip

    if mode == "exit-interrupt":
        try:
            tune(n, points_to_evaluate=[{"x": EXIT_X, "k": 0}])
        except KeyboardInterrupt:
            say(interrupted=True, states=[t["state"] for t in trials.trials],
                file_states=[t["state"] for t in Trials.load(path).trials])  # fmt: skip
            tune(len(trials) + 3)
        say(done=len(trials), states=[t["state"] for t in trials.trials],
            errors=[t["misc"].get("error") for t in trials.trials])  # fmt: skip
        return
    tune(n)
    say(done=len(trials))


if __name__ == "__main__":
    main()
