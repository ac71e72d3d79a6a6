"""CPU time of one suggestion per algorithm, on a history of N finished trials (issue 5).

    PYTHONPATH=<sparktune repo root> python -m benchmarks.algo_speed --trials 200,1000 --reps 5

For each history size N, a ``Trials`` with N random trials of the 10-D mixed space (``mixed10``)
is built once with ``rand``; then each algorithm proposes ``--reps`` single points on it (the
history does not grow between them) and the median CPU time (``time.process_time``) of one call
is reported. This isolates the cost of a suggestion at N trials without running N-trial
searches (a 1,000-trial GP run would take far longer than the figure needs). Hyperopt's
algorithms are measured the same way on a Hyperopt ``Trials`` for reference.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks import _report, problems

__all__ = ["main", "suggestion_cpu"]

ALGOS = {
    "sparktune": ("rand", "tpe", "anneal", "atpe", "gp"),
    "hyperopt": ("rand", "tpe", "anneal"),
}


def _history(lib: Any, n: int, seed: int) -> tuple[Any, Any]:
    problem = problems.get("mixed10")
    trials = lib.Trials()
    lib.fmin(
        problem.objective,
        problem.space(lib.hp),
        algo=lib.rand.suggest,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        verbose=False,
    )
    if lib.__name__ == "hyperopt":
        domain = lib.base.Domain(problem.objective, problem.space(lib.hp))
    else:
        domain = lib.Domain(problem.objective, problem.space(lib.hp))
    return trials, domain


def suggestion_cpu(lib_name: str, algo: str, n: int, reps: int) -> float:
    """Median CPU seconds of one ``suggest`` call on an ``n``-trial history."""
    lib = importlib.import_module(lib_name)
    suggest = importlib.import_module(f"{lib_name}.{algo}").suggest
    trials, domain = _history(lib, n, seed=0)
    times = []
    for rep in range(reps):
        ids = trials.new_trial_ids(1)
        t0 = time.process_time()
        suggest(ids, domain, trials, 1000 + rep)
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--trials", default="200,1000", help="history sizes")
    ap.add_argument("--reps", type=int, default=5, help="suggestions timed per (algorithm, size)")
    ap.add_argument("--libs", default="sparktune,hyperopt", help="libraries, or lib.algo items")
    ap.add_argument("--out", default=None, help="JSON path (default benchmarks/results/...)")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.trials.split(",")]
    rows: list[list[str]] = []
    payload: dict[str, Any] = {"args": vars(args), "environment": _report.environment(), "ms": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for item in args.libs.split(","):
            lib, _, only = item.partition(".")
            for algo in (only,) if only else ALGOS[lib]:
                ms = [1000 * suggestion_cpu(lib, algo, n, args.reps) for n in sizes]
                payload["ms"][f"{lib}.{algo}"] = dict(zip(sizes, ms, strict=True))
                rows.append([f"{lib}.{algo}", *(f"{m:.1f}" for m in ms)])
    path = _report.write_json("algo-speed", payload, args.out)
    print(f"## CPU ms per suggestion (median of {args.reps}), 10-D mixed space\n")
    print(_report.table(["algorithm", *(f"{n} trials" for n in sizes)], rows))
    print(f"\n(raw results: {path})")


if __name__ == "__main__":
    main()
