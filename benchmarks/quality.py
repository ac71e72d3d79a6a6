"""Quality benchmark: median best loss at checkpoints over seeds, mean ranks, issue targets.

    PYTHONPATH=<sparktune repo root> python -m benchmarks.quality \\
        --libs hyperopt,optuna,sparktune --evals 50,100,200 --seeds 10 --batch 1 --jobs 2

Every (algorithm, problem, seed) runs in its own fresh subprocess. Writes the raw traces and the
summary to ``benchmarks/results/quality-b<batch>-<time>.json`` and prints markdown to stdout.
Seed sets run separately are summarised together with ``--pool FILE FILE...``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from typing import Any

from scipy.stats import rankdata

from benchmarks import _report, problems
from benchmarks.runners import Result, Spec, parse_algorithms, run_many, unavailable

Summary = dict[str, dict[str, dict[int, float]]]  # problem -> "lib.algo" -> checkpoint -> median


def summarize(results: Sequence[Result], checkpoints: Sequence[int]) -> tuple[Summary, dict[str, str]]:
    """Median best loss per (problem, algorithm, checkpoint); algorithms with any error excluded."""
    errors: dict[str, str] = {}
    traces: dict[str, dict[str, list[list[float]]]] = {}
    for r in results:
        if r.error is not None:
            errors.setdefault(r.spec.key, r.error)
            continue
        traces.setdefault(r.spec.problem, {}).setdefault(r.spec.key, []).append(r.best)
    summary: Summary = {}
    for prob, by_algo in traces.items():
        for key, runs in by_algo.items():
            if key in errors:
                continue
            summary.setdefault(prob, {})[key] = {cp: statistics.median(t[cp - 1] for t in runs) for cp in checkpoints}
    return summary, errors


def _same_float(x: float) -> float:
    """``x`` to 12 significant digits: the same loss reached through different arithmetic (e.g.
    a cross-validation error of 16/900 summed over folds in another order) compares equal."""
    return float(f"{x:.12g}")


def mean_ranks(summary: Summary, checkpoints: Sequence[int]) -> dict[str, dict[int, float]]:
    """Rank algorithms by median best loss on each problem (1 = best, ties averaged), then average
    over problems. Only algorithms that ran on every problem are ranked."""
    keys = set.intersection(*(set(v) for v in summary.values())) if summary else set()
    ordered = sorted(keys)
    out: dict[str, dict[int, float]] = {k: {} for k in ordered}
    for cp in checkpoints:
        per_problem = [rankdata([_same_float(summary[p][k][cp]) for k in ordered]) for p in summary]
        for i, k in enumerate(ordered):
            out[k][cp] = float(sum(r[i] for r in per_problem) / len(per_problem))
    return out


def _compare(
    summary: Summary,
    a: str,
    b: str,
    probs: Sequence[str],
    cps: Sequence[int],
    strict: bool = False,
) -> tuple[str, str]:
    """Is algorithm ``a``'s median ≤ (or < when strict) ``b``'s on all problems and checkpoints?"""
    missing = [k for k in (a, b) if not any(k in summary.get(p, {}) for p in probs)]
    probs = [p for p in probs if p in summary]
    if missing or not probs or not cps:
        return "n/a", f"not measured: {', '.join(missing) or 'problems/checkpoints'}"
    fails = []
    for p in probs:
        for cp in cps:
            va, vb = summary[p][a][cp], summary[p][b][cp]
            va, vb = _same_float(va), _same_float(vb)
            if (va >= vb) if strict else (va > vb):
                fails.append(f"{p}@{cp}: {_report.fmt(va)} vs {_report.fmt(vb)}")
    return ("PASS", "all hold") if not fails else ("FAIL", "; ".join(fails))


def targets(
    summary: Summary, ranks: dict[str, dict[int, float]], checkpoints: Sequence[int]
) -> list[tuple[str, str, str]]:
    """Issue 3 and issue 5 quality figures, evaluated on whatever was measured."""
    suite = [p for p in problems.QUALITY_SUITE if p in summary]
    late = [cp for cp in checkpoints if cp in (100, 200)]
    early = [cp for cp in checkpoints if cp in (50, 100)]
    smooth = [p for p in ("branin", "hartmann6") if p in summary]
    mixed = [p for p in ("cond_mixed", "mixed10", "pipeline") if p in summary]
    rand = "sparktune.rand" if any("sparktune.rand" in v for v in summary.values()) else "hyperopt.rand"
    rows: list[tuple[str, str, str]] = []

    def add(name: str, verdict: tuple[str, str]) -> None:
        rows.append((name, *verdict))

    add(
        "#3 sparktune.tpe <= hyperopt.tpe, every problem & checkpoint",
        _compare(summary, "sparktune.tpe", "hyperopt.tpe", suite, checkpoints),
    )
    if "sparktune.tpe" in ranks and "optuna.tpe" in ranks:
        bad = [cp for cp in checkpoints if ranks["sparktune.tpe"][cp] >= ranks["optuna.tpe"][cp]]
        detail = ", ".join(
            f"@{cp}: {ranks['sparktune.tpe'][cp]:.2f} vs {ranks['optuna.tpe'][cp]:.2f}" for cp in checkpoints
        )
        add("#3 mean rank sparktune.tpe < optuna.tpe", ("FAIL" if bad else "PASS", detail))
    else:
        add("#3 mean rank sparktune.tpe < optuna.tpe", ("n/a", "one of them not ranked"))
    for algo in ("anneal", "atpe"):
        add(
            f"#5 sparktune.{algo} <= hyperopt.anneal @100,200",
            _compare(summary, f"sparktune.{algo}", "hyperopt.anneal", suite, late),
        )
    add(
        "#5 sparktune.gp < sparktune.tpe on branin, hartmann6 @50,100",
        _compare(summary, "sparktune.gp", "sparktune.tpe", smooth, early, strict=True),
    )
    add(
        "#5 sparktune.gp <= optuna.gp on branin, hartmann6 @50,100",
        _compare(summary, "sparktune.gp", "optuna.gp", smooth, early),
    )
    add(
        f"#5 sparktune.gp <= {rand} on mixed/conditional problems",
        _compare(summary, "sparktune.gp", rand, mixed, checkpoints),
    )
    return rows


def render(
    summary: Summary,
    ranks: dict[str, dict[int, float]],
    errors: dict[str, str],
    checkpoints: Sequence[int],
    cpu: dict[str, dict[str, float]],
    args: argparse.Namespace,
) -> str:
    cps = [f"@{cp}" for cp in checkpoints]
    seeds = f"seeds {args.first_seed}-{args.first_seed + args.seeds - 1}"
    out = [f"## Quality: median best loss over {args.seeds} seeds ({seeds}), batch={args.batch}\n"]
    for prob, by_algo in summary.items():
        p = problems.get(prob)
        out.append(f"### {prob} (optimum {_report.fmt(p.optimum, 6)}): {p.description}\n")
        rows = [
            [key, *(_report.fmt(v[cp]) for cp in checkpoints), _report.fmt(cpu[prob][key], 3)]
            for key, v in sorted(by_algo.items(), key=lambda kv: kv[1][checkpoints[-1]])
        ]
        out.append(_report.table(["algorithm", *cps, "CPU s/run"], rows) + "\n")
    if ranks:
        out.append(f"### Mean rank across {len(summary)} problems (1 = best)\n")
        rows = [[k, *(f"{r[cp]:.2f}" for cp in checkpoints)] for k, r in ranks.items()]
        rows.sort(key=lambda row: float(row[-1]))
        out.append(_report.table(["algorithm", *cps], rows) + "\n")
    out.append("### Targets (issues 3 and 5)\n")
    out.append(_report.table(["target", "result", "detail"], targets(summary, ranks, checkpoints)))
    if errors:
        out.append("\n### Not available\n")
        out.append(_report.table(["algorithm", "error"], sorted(errors.items())))
    return "\n".join(out)


def _compact(r: Result) -> dict[str, Any]:
    """Results-file record: per-suggestion times reduced to their median (speed.py keeps them)."""
    out = r.to_json()
    times = out.pop("suggest_s")
    out["suggest_ms_median"] = 1000 * statistics.median(times) if times else None
    return out


def load_runs(paths: Sequence[str]) -> list[Result]:
    """The runs stored in results files written by this program (each (algorithm, problem, seed)
    once: a run repeated in a later file replaces the earlier one)."""
    runs: dict[Spec, Result] = {}
    batches = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for run in json.load(f)["runs"]:
                spec = Spec(**run["spec"])
                batches.add(spec.batch)
                runs[spec] = Result(spec, best=run["best"], cpu_s=run["cpu_s"], error=run["error"])
    if len(batches) > 1:
        raise SystemExit(f"--pool: the files mix batch sizes {sorted(batches)}; pool one batch size at a time")
    if not runs:
        raise SystemExit("--pool: no runs in the given files")
    return list(runs.values())


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--problems", default=",".join(problems.QUALITY_SUITE), help=f"comma list of: {', '.join(problems.PROBLEMS)}"
    )
    ap.add_argument(
        "--libs", default="hyperopt,optuna,sparktune", help="comma list of lib or lib.algo, e.g. hyperopt,optuna.tpe"
    )
    ap.add_argument("--evals", default="50,100,200", help="checkpoints; the largest is the budget")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed + seeds - 1")
    ap.add_argument("--batch", type=int, default=1, help="suggestions made before any finishes")
    ap.add_argument("--jobs", type=int, default=2, help="parallel subprocesses (max 2 here)")
    ap.add_argument("--out", default=None, help="JSON path (default benchmarks/results/...)")
    ap.add_argument(
        "--pool",
        nargs="+",
        metavar="JSON",
        help="run nothing: summarise together the runs stored in earlier results files (seed sets\n"
        "run separately, e.g. --first-seed 0 and --first-seed 10; same batch)",
    )
    args = ap.parse_args(argv)

    checkpoints = sorted({int(x) for x in args.evals.split(",")})
    missing: dict[str, str] = {}
    if args.pool:
        results = load_runs(args.pool)
        seeds = sorted({r.spec.seed for r in results})
        args.first_seed, args.seeds = seeds[0], len(seeds)
        args.batch = results[0].spec.batch
    else:
        probs = [problems.get(p).name for p in args.problems.split(",")]
        algos = parse_algorithms(args.libs.split(","))
        missing = {f"{lib}.{a}": why for lib, a in algos if (why := unavailable(lib, a)) is not None}
        algos = [(lib, a) for lib, a in algos if f"{lib}.{a}" not in missing]
        specs = [
            Spec(lib, algo, prob, checkpoints[-1], seed, args.batch)
            for prob in probs
            for lib, algo in algos
            for seed in range(args.first_seed, args.first_seed + args.seeds)
        ]
        results = run_many(specs, args.jobs)
    summary, errors = summarize(results, checkpoints)
    errors.update(missing)
    ranks = mean_ranks(summary, checkpoints)
    cpu_runs: dict[str, dict[str, list[float]]] = {}
    for r in results:
        if r.error is None:
            cpu_runs.setdefault(r.spec.problem, {}).setdefault(r.spec.key, []).append(r.cpu_s)
    cpu = {p: {k: statistics.median(v) for k, v in d.items()} for p, d in cpu_runs.items()}
    text = render(summary, ranks, errors, checkpoints, cpu, args)
    payload: dict[str, Any] = {
        "args": vars(args),
        "environment": _report.environment(),
        "summary": summary,
        "mean_ranks": ranks,
        "targets": targets(summary, ranks, checkpoints),
        "errors": errors,
        "runs": [_compact(r) for r in results],
    }
    path = _report.write_json(f"quality-b{args.batch}", payload, args.out)
    print(text)
    print(f"\n(raw results: {path})")


if __name__ == "__main__":
    main()
