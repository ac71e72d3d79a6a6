"""Ablation of sparktune's TPE options: median best loss at checkpoints over seeds, per variant.

    PYTHONPATH=<sparktune repo root> python -m benchmarks.tpe_ablation \\
        --variants '{"default": {}, "hyperopt": {"split": "sqrt", "gamma": 0.25, "n_startup_jobs": 20}}' \\
        --problems branin,hartmann6,rosenbrock5,ackley5,cond_mixed --seeds 10 --batch 1

    # batches of 8 in synchronous rounds (quality.py's batch mode), seeds 40-99
    PYTHONPATH=<sparktune repo root> python -m benchmarks.tpe_ablation \
        --variants '{"default": {}, "light": {"liar_weight": 0.25}, "no liar": {"constant_liar": false}}' \
        --seeds 60 --first-seed 40 --batch 8 --rounds

Runs in this process (no subprocess per run, no peers), so it is quick enough to compare many
settings; the speed and peer comparisons belong to ``speed.py`` and ``quality.py``. Each variant is
a dict of keyword options for ``functools.partial(sparktune.tpe.suggest, **options)``; seeds are
``rstate=np.random.default_rng(seed)`` as in ``quality.py``, so the default variant reproduces
``quality.py``'s sparktune traces. With ``--rounds`` a batch is made in synchronous rounds (``k``
suggestions in one ``suggest`` call, then ``k`` evaluations), exactly as ``runners.py`` runs
sparktune in ``quality.py --batch k``; without it, ``fmin``'s sliding window of ``k`` in flight.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from collections.abc import Sequence

import numpy as np

from benchmarks import _report, problems


def best_at(
    options: dict[str, object], problem: str, seed: int, budget: int, batch: int, rounds: bool = False
) -> list[float]:
    """Best loss so far after each evaluation of one run (``rounds``: synchronous batches)."""
    from sparktune import Trials, fmin, hp, tpe

    p = problems.get(problem)
    trials = Trials()
    space = p.space(hp)
    limits = [budget]
    if rounds and batch > 1:
        limits = [min(r, budget) for r in range(batch, budget + batch, batch)]
    for max_evals in limits:
        fmin(
            p.objective,
            space,
            algo=functools.partial(tpe.suggest, **options),
            max_evals=max_evals,
            trials=trials,
            rstate=np.random.default_rng(seed),
            max_queue_len=batch,
            verbose=False,
            show_progressbar=False,
        )
    return np.minimum.accumulate(np.asarray(trials.losses(), dtype=float)).tolist()


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--variants", required=True, help='JSON object {"name": {option: value}}')
    ap.add_argument("--problems", default="branin,hartmann6,rosenbrock5,ackley5,cond_mixed")
    ap.add_argument("--evals", default="50,100,200", help="checkpoints; the largest is the budget")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed + seeds - 1")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", action="store_true", help="batches in synchronous rounds, as quality.py runs them")
    args = ap.parse_args(argv)

    variants: dict[str, dict[str, object]] = json.loads(args.variants)
    checkpoints = sorted({int(x) for x in args.evals.split(",")})
    names = [problems.get(p).name for p in args.problems.split(",")]
    rows = []
    for name in names:
        prepare = problems.get(name).prepare
        if prepare is not None:
            prepare()
        for label, options in variants.items():
            start = time.process_time()
            seeds = range(args.first_seed, args.first_seed + args.seeds)
            traces = [best_at(options, name, s, checkpoints[-1], args.batch, args.rounds) for s in seeds]
            medians = [statistics.median(t[cp - 1] for t in traces) for cp in checkpoints]
            cpu = (time.process_time() - start) / args.seeds
            rows.append([name, label, *(_report.fmt(m) for m in medians), _report.fmt(cpu, 3)])
    head = ["problem", "variant", *(f"@{cp}" for cp in checkpoints), "CPU s/run"]
    seeds = f"seeds {args.first_seed}-{args.first_seed + args.seeds - 1}"
    mode = " in synchronous rounds" if args.rounds and args.batch > 1 else ""
    print(f"## TPE ablation: median best loss over {args.seeds} seeds ({seeds}), batch={args.batch}{mode}\n")
    print(_report.table(head, rows))


if __name__ == "__main__":
    main()
