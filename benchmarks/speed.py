"""Speed and memory benchmark: CPU time of whole runs and of single suggestions, peak RSS.

    PYTHONPATH=<sparktune repo root> python -m benchmarks.speed            # full (~5-10 min)
    PYTHONPATH=<sparktune repo root> python -m benchmarks.speed --quick    # smoke run (< 1 min)

Objectives are the cheap synthetic problems (a loss in microseconds), so the figures are the
libraries' own cost. Every run is a fresh spawned subprocess: CPU time excludes imports and
interpreter start, peak RSS is that process's (interpreter + numpy + library + run).

Sections (``--sections``, default all):
  tpe     TPE, N trials on the 10-D mixed space, the conditional space and 2-D Branin: CPU of the
          run and mean CPU of the last 100 suggestions, per library; ratios sparktune/peer.
  rand    random search, M trials on the 10-D space: CPU, and CPU per trial (suggestion plus
          bookkeeping, from objective-call timestamps) in the first vs last 10% of the run.
  tpe10k  sparktune TPE, 10,000 trials on the 10-D space: last 100 suggestions.
  memory  peak RSS of the 1,000-trial TPE runs on the 10-D space.
  algos   every available algorithm, 1,000 trials on the 10-D space: CPU per suggestion around
          trial 200 and over the last 20 trials (issue 5).
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks import _report, problems
from benchmarks.runners import ALGORITHMS, Result, Spec, run_many, unavailable

SECTIONS = ("tpe", "rand", "tpe10k", "memory", "algos")
LIBS = ("hyperopt", "optuna", "sparktune")
TPE = {"hyperopt": "tpe", "optuna": "tpe", "sparktune": "tpe"}
RAND = {"hyperopt": "rand", "optuna": "random", "sparktune": "rand"}


@dataclass(frozen=True)
class Sizes:
    tpe: int  # trials per TPE run (issue 3: 1,000)
    rand: int  # trials per random-search run (issue 3: 3,000)
    big: int  # sparktune TPE long run (issue 3: 10,000)
    algos: int  # trials per run in the per-algorithm table
    seeds: int


FULL = Sizes(tpe=1000, rand=3000, big=10000, algos=1000, seeds=3)
QUICK = Sizes(tpe=200, rand=500, big=2000, algos=300, seeds=1)


# ------------------------------------------------------------------------------- metrics


def last_suggest_ms(r: Result, k: int = 100) -> float:
    return 1000 * statistics.fmean(r.suggest_s[-k:])


def window_ms(r: Result, lo: int, hi: int) -> float:
    """Mean CPU ms of suggestions number lo+1..hi (1-based trial numbers)."""
    part = r.suggest_s[lo:hi]
    return 1000 * statistics.fmean(part) if part else float("nan")


def per_trial_ms(r: Result, last: bool) -> float:
    """CPU ms per trial over the first or last 10% of the run, everything included."""
    clock, k = r.eval_clock, max(1, len(r.eval_clock) // 10)
    span = clock[-1] - clock[-1 - k] if last else clock[k] - clock[0]
    return 1000 * span / k


def run_metrics(r: Result) -> dict[str, float]:
    if r.error is not None or not r.suggest_s:
        return {}
    return {
        "cpu_s": r.cpu_s,
        "last100_suggest_ms": last_suggest_ms(r),
        "per_trial_ms_first10pct": per_trial_ms(r, last=False),
        "per_trial_ms_last10pct": per_trial_ms(r, last=True),
        "peak_rss_mb": r.peak_rss_mb,
    }


def median(results: Sequence[Result], metric: Callable[[Result], float]) -> float:
    vals = [metric(r) for r in results if r.error is None]
    return statistics.median(vals) if vals else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else float("nan")


def verdict(value: float, limit: float) -> str:
    return "n/a" if math.isnan(value) else ("PASS" if value <= limit else "FAIL")


# ------------------------------------------------------------------------------ the plan


def plan(sections: Sequence[str], libs: Sequence[str], z: Sizes) -> dict[str, list[Spec]]:
    seeds = range(z.seeds)
    out: dict[str, list[Spec]] = {}
    if "tpe" in sections:
        out["tpe"] = [
            Spec(lib, TPE[lib], space, z.tpe, s) for space in problems.SPEED_SPACES for lib in libs for s in seeds
        ]
    if "memory" in sections:
        out["memory"] = [Spec(lib, TPE[lib], "mixed10", z.tpe, s) for lib in libs for s in seeds]
    if "rand" in sections:
        out["rand"] = [Spec(lib, RAND[lib], "mixed10", z.rand, s) for lib in libs for s in seeds]
    if "tpe10k" in sections and "sparktune" in libs:
        out["tpe10k"] = [Spec("sparktune", "tpe", "mixed10", z.big, 0)]
    if "algos" in sections:
        out["algos"] = [Spec(lib, algo, "mixed10", z.algos, 0) for lib in libs for algo in ALGORITHMS[lib]]
    return out


# ------------------------------------------------------------------------------- reports


def _by_lib(results: Sequence[Result], problem: str) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {}
    for r in results:
        if r.spec.problem == problem:
            out.setdefault(r.spec.lib, []).append(r)
    return out


def report_tpe(results: Sequence[Result], z: Sizes, targets: list[list[str]]) -> str:
    rows = []
    for space in problems.SPEED_SPACES:
        by = _by_lib(results, space)
        cpu = {lib: median(rs, lambda r: r.cpu_s) for lib, rs in by.items()}
        last = {lib: median(rs, last_suggest_ms) for lib, rs in by.items()}
        for lib, rs in by.items():
            rows.append(
                [
                    space,
                    lib,
                    _report.fmt(cpu[lib], 3),
                    _report.fmt(last[lib], 3),
                    f"{sum(r.error is None for r in rs)}/{len(rs)}",
                ]
            )
        sp = cpu.get("sparktune", float("nan"))
        limits = {"hyperopt": 1 / 5, "optuna": 1 / 5} if space == "branin" else {"hyperopt": 1 / 20, "optuna": 1 / 8}
        for peer, limit in limits.items():
            q = ratio(sp, cpu.get(peer, float("nan")))
            targets.append(
                [
                    f"#3 TPE {z.tpe} trials on {space}: sparktune/{peer} CPU <= 1/{1 / limit:.0f}",
                    verdict(q, limit),
                    _report.fmt(q, 3),
                ]
            )
        h, o = cpu.get("hyperopt", float("nan")), cpu.get("optuna", float("nan"))
        rows.append([space, "optuna/hyperopt", _report.fmt(ratio(o, h), 3), "", ""])
        rows.append([space, "sparktune/hyperopt", _report.fmt(ratio(sp, h), 3), "", ""])
        rows.append([space, "sparktune/optuna", _report.fmt(ratio(sp, o), 3), "", ""])
    head = ["space", "library", "CPU s (median)", "last 100 suggestions, ms each", "runs ok"]
    return f"### TPE, {z.tpe} trials, median of {z.seeds} seeds\n\n" + _report.table(head, rows)


def report_rand(results: Sequence[Result], z: Sizes, targets: list[list[str]]) -> str:
    by = _by_lib(results, "mixed10")
    rows, cpu = [], {}
    for lib, rs in by.items():
        cpu[lib] = median(rs, lambda r: r.cpu_s)
        first = median(rs, lambda r: per_trial_ms(r, last=False))
        last = median(rs, lambda r: per_trial_ms(r, last=True))
        rows.append(
            [
                lib,
                _report.fmt(cpu[lib], 3),
                _report.fmt(first, 3),
                _report.fmt(last, 3),
                _report.fmt(ratio(last, first), 3),
            ]
        )
        if lib == "sparktune":
            targets.append(
                [
                    "#3 random search flat: last/first 10% per-trial CPU <= 1.5",
                    verdict(ratio(last, first), 1.5),
                    _report.fmt(ratio(last, first), 3),
                ]
            )
    q = ratio(cpu.get("sparktune", float("nan")), cpu.get("hyperopt", float("nan")))
    targets.append(
        [f"#3 random search {z.rand} trials: sparktune/hyperopt CPU <= 1/5", verdict(q, 1 / 5), _report.fmt(q, 3)]
    )
    head = ["library", "CPU s (median)", "ms/trial first 10%", "ms/trial last 10%", "last/first"]
    return f"### Random search, {z.rand} trials on mixed10, median of {z.seeds} seeds\n\n" + _report.table(head, rows)


def report_big(results: Sequence[Result], z: Sizes, targets: list[list[str]]) -> str:
    rows = []
    for r in results:
        if r.error is not None:
            rows.append([r.spec.key, r.error, "", ""])
            continue
        mean = last_suggest_ms(r)
        worst = 1000 * max(r.suggest_s[-100:])
        rows.append([r.spec.key, _report.fmt(r.cpu_s, 3), _report.fmt(mean, 3), _report.fmt(worst, 3)])
        targets.append(
            [
                f"#3 sparktune TPE {z.big} trials: last 100 suggestions <= 5 ms (mean)",
                verdict(mean, 5.0),
                f"mean {_report.fmt(mean, 3)} ms, max {_report.fmt(worst, 3)} ms",
            ]
        )
    if not results:
        targets.append(
            [f"#3 sparktune TPE {z.big} trials: last 100 suggestions <= 5 ms", "n/a", "sparktune.tpe not available"]
        )
    head = ["algorithm", "CPU s", "last 100 suggestions, mean ms", "max ms"]
    return f"### Long TPE run, {z.big} trials on mixed10\n\n" + _report.table(head, rows)


def report_memory(results: Sequence[Result], z: Sizes, targets: list[list[str]]) -> str:
    rows = []
    for lib, rs in _by_lib(results, "mixed10").items():
        rss = median(rs, lambda r: r.peak_rss_mb)
        rows.append([lib, _report.fmt(rss, 3)])
        if lib == "sparktune":
            targets.append(
                [f"#3 peak RSS of a {z.tpe}-trial run <= 60 MB", verdict(rss, 60.0), f"{_report.fmt(rss, 3)} MB"]
            )
    head = ["library", "peak RSS MB (median)"]
    return f"### Peak RSS, TPE {z.tpe} trials on mixed10, fresh process each\n\n" + _report.table(head, rows)


def report_algos(results: Sequence[Result], z: Sizes) -> str:
    rows = []
    for r in results:
        if r.error is not None:
            rows.append([r.spec.key, "", "", "", r.error])
            continue
        n = len(r.suggest_s)
        rows.append(
            [
                r.spec.key,
                str(n),
                _report.fmt(window_ms(r, 190, 210), 3),
                _report.fmt(window_ms(r, n - 20, n), 3),
                _report.fmt(r.cpu_s, 3),
            ]
        )
    head = ["algorithm", "trials", "ms/suggestion @~200", "ms/suggestion last 20", "CPU s / note"]
    return "### Per-algorithm suggestion cost on mixed10 (seed 0)\n\n" + _report.table(head, rows)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 seed: a smoke run")
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {SECTIONS}")
    ap.add_argument("--libs", default=",".join(LIBS), help="comma list of libraries")
    ap.add_argument("--seeds", type=int, default=None, help="override the number of seeds")
    ap.add_argument("--jobs", type=int, default=2, help="parallel subprocesses (max 2 here)")
    ap.add_argument("--out", default=None, help="JSON path (default benchmarks/results/...)")
    args = ap.parse_args(argv)

    z = QUICK if args.quick else FULL
    if args.seeds is not None:
        z = Sizes(z.tpe, z.rand, z.big, z.algos, args.seeds)
    sections = [s for s in args.sections.split(",") if s]
    libs = [lib for lib in args.libs.split(",") if lib]
    by_section = plan(sections, libs, z)
    missing = {
        s.key: why for specs in by_section.values() for s in specs if (why := unavailable(s.lib, s.algo)) is not None
    }
    todo = list(dict.fromkeys(s for specs in by_section.values() for s in specs if s.key not in missing))
    done = dict(zip(todo, run_many(todo, args.jobs), strict=True))

    def results(section: str) -> list[Result]:
        return [done[s] for s in by_section.get(section, []) if s in done]

    targets: list[list[str]] = []
    parts = [f"## Speed ({'quick' if args.quick else 'full'}): CPU time, 1 BLAS thread\n"]
    if "tpe" in sections:
        parts.append(report_tpe(results("tpe"), z, targets))
    if "rand" in sections:
        parts.append(report_rand(results("rand"), z, targets))
    if "tpe10k" in sections:
        parts.append(report_big(results("tpe10k"), z, targets))
    if "memory" in sections:
        parts.append(report_memory(results("memory"), z, targets))
    if "algos" in sections:
        parts.append(report_algos(results("algos"), z))
    note = " (quick sizes: the issue's figures hold for the full sizes only)" if args.quick else ""
    parts.append(f"### Targets (issue 3){note}\n\n" + _report.table(["target", "result", "value"], targets))
    if missing:
        parts.append("### Not available\n\n" + _report.table(["algorithm", "why"], sorted(missing.items())))
    text = "\n\n".join(parts)
    payload: dict[str, Any] = {
        "args": vars(args),
        "sizes": vars(z),
        "environment": _report.environment(),
        "targets": targets,
        "missing": missing,
        "runs": [{**r.to_json(), "metrics": run_metrics(r)} for r in done.values()],
    }
    path = _report.write_json("speed-quick" if args.quick else "speed", payload, args.out)
    print(text)
    print(f"\n(raw results: {path})")


if __name__ == "__main__":
    main()
