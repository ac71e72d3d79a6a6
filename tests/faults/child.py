"""A tuning script run as a separate process by the fault-injection tests.

``python child.py PATH N ALGO SLEEP [MODE]`` runs ``fmin`` for ``N`` trials with
``trials_save_file=PATH`` and a fixed seed, printing one JSON line per event on stdout:
``{"evaluated": tid-order count}`` after each evaluation (so that a test can wait for progress
instead of sleeping) and ``{"done": ...}`` at the end. MODE selects a scenario:
``run`` (default), ``interrupt`` (survive a SIGINT and continue in the same process),
``diskfull`` (report what fmin raised when the file stops growing).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any

import numpy as np

from sparktune import Trials, fmin, hp
from sparktune.exceptions import JournalError

SPACE = {
    "x": hp.uniform("x", -5, 5),
    "branch": hp.choice("branch", [{"kind": "a"}, {"kind": "b", "y": hp.normal("y", 0, 1)}]),
    "n": hp.quniform("n", 1, 20, 1),
}


def say(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main() -> None:
    path, n, algo_name, sleep = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    mode = sys.argv[5] if len(sys.argv) > 5 else "run"
    algo = importlib.import_module(f"sparktune.{algo_name}").suggest
    count = 0

    def objective(p: dict[str, Any]) -> float:
        nonlocal count
        if mode == "interrupt":
            say(started=count + 1)  # lets the test signal while a trial is running
        time.sleep(sleep)
        count += 1
        say(evaluated=count)
        return float((p["x"] - 1) ** 2 + p["branch"].get("y", 0.0) ** 2 + 0.01 * p["n"])

    def tune(trials: Trials, max_evals: int) -> None:
        fmin(objective, SPACE, algo=algo, max_evals=max_evals, trials=trials, rstate=np.random.default_rng(11),
             trials_save_file=path, show_progressbar=False)  # fmt: skip

    trials = Trials()
    if mode == "interrupt":
        try:
            tune(trials, n)
        except KeyboardInterrupt:
            states = [t["state"] for t in trials.trials]
            say(interrupted=True, states=states, file_states=[t["state"] for t in Trials.load(path).trials])
            tune(trials, len(trials) + 3)  # the same session goes on
        say(done=len(trials), states=[t["state"] for t in trials.trials])
        return
    if mode == "diskfull":
        try:
            tune(trials, n)
        except JournalError as err:
            kept: Trials = err.trials  # type: ignore[attr-defined]
            say(error=str(err), trials=[[t["tid"], t["state"], t["result"].get("loss")] for t in kept.trials])
            return
        say(done=len(trials))
        return
    tune(trials, n)
    say(done=len(trials))


if __name__ == "__main__":
    main()
