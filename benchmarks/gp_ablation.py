"""Ablation of the GP's hyperparameter priors: median best loss at checkpoints over seeds, per variant.

    PYTHONPATH=<sparktune repo root> python -m benchmarks.gp_ablation \\
        --variants '{"default": {}, "hvarfner": {"ls": "dim"}, "noise-4": {"noise": [-4, 1]}}' \\
        --problems branin,hartmann6,mixed10 --evals 30,50,100 --seeds 20

Each variant replaces fields of ``sparktune._gp.DEFAULT_PRIOR`` for its runs: ``"ls"``,
``"sf2"`` or ``"noise"`` as ``[mean, sd]`` of the log-normal prior on length scales, signal
variance or noise variance; ``"ls": "dim"`` is the dimension-scaled length-scale prior
LogNormal(sqrt(2) + log(d) / 2, sqrt(3)) (Hvarfner et al., 2024; the GP's prior before it was
replaced). ``"options"`` holds keyword options for ``functools.partial(sparktune.gp.suggest, ...)``.
Runs are in this process (as ``tpe_ablation.py``), seeds are ``rstate=np.random.default_rng(seed)``
as in ``quality.py``, so the default variant reproduces ``quality.py``'s sparktune.gp traces.
Besides the medians it prints the mean, which shows what a median over few seeds hides.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import math
import statistics
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from benchmarks import _report, problems


@contextlib.contextmanager
def prior_variant(spec: dict[str, Any]) -> Iterator[None]:
    """Swap the GP's prior for the duration of the block (see the module docstring)."""
    from sparktune import _gp

    saved_prior, saved_mean_vector = _gp.DEFAULT_PRIOR, _gp.Prior.mean_vector
    fields: dict[str, float] = {}
    for name in ("ls", "sf2", "noise"):
        value = spec.get(name)
        if isinstance(value, list):
            fields[f"log_{name}_mean"], fields[f"log_{name}_sd"] = float(value[0]), float(value[1])
    if spec.get("ls") == "dim":
        fields["log_ls_sd"] = math.sqrt(3.0)

        def mean_vector(self: Any, d: int) -> np.ndarray:
            ls = math.sqrt(2.0) + 0.5 * math.log(max(d, 1))
            return np.concatenate([np.full(d, ls), [self.log_sf2_mean, self.log_noise_mean]])

        _gp.Prior.mean_vector = mean_vector  # type: ignore[method-assign]
    _gp.DEFAULT_PRIOR = dataclasses.replace(saved_prior, **fields)
    try:
        yield
    finally:
        _gp.DEFAULT_PRIOR = saved_prior
        _gp.Prior.mean_vector = saved_mean_vector  # type: ignore[method-assign]


def best_at(spec: dict[str, Any], problem: str, seed: int, budget: int) -> list[float]:
    """Best loss so far after each evaluation of one run."""
    from sparktune import Trials, fmin, gp, hp

    p = problems.get(problem)
    trials = Trials()
    with prior_variant(spec):
        fmin(
            p.objective,
            p.space(hp),
            algo=functools.partial(gp.suggest, **spec.get("options", {})),
            max_evals=budget,
            trials=trials,
            rstate=np.random.default_rng(seed),
            verbose=False,
            show_progressbar=False,
        )
    return np.minimum.accumulate(np.asarray(trials.losses(), dtype=float)).tolist()


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--variants", required=True, help='JSON object {"name": {"ls": [m, sd], ...}}')
    ap.add_argument("--problems", default="branin,hartmann6,mixed10")
    ap.add_argument("--evals", default="30,50,100", help="checkpoints; the largest is the budget")
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args(argv)

    variants: dict[str, dict[str, Any]] = json.loads(args.variants)
    checkpoints = sorted({int(x) for x in args.evals.split(",")})
    rows = []
    for name in args.problems.split(","):
        for label, spec in variants.items():
            start = time.process_time()
            traces = [best_at(spec, name, s, checkpoints[-1]) for s in range(args.seeds)]
            cpu = (time.process_time() - start) / args.seeds
            cells = []
            for cp in checkpoints:
                at = [t[cp - 1] for t in traces]
                cells.append(f"{_report.fmt(statistics.median(at), 5)} ({_report.fmt(statistics.fmean(at), 5)})")
            rows.append([name, label, *cells, _report.fmt(cpu, 3)])
    head = ["problem", "variant", *(f"@{cp} median (mean)" for cp in checkpoints), "CPU s/run"]
    print(f"## GP prior ablation: best loss over seeds 0-{args.seeds - 1}, batch=1\n")
    print(_report.table(head, rows))


if __name__ == "__main__":
    main()
