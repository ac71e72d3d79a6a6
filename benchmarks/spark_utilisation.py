"""SparkTrials against Hyperopt 0.3's SparkTrials, side by side: slot use, throughput, timeouts.

For each contender (sparktune on a classic session, Hyperopt on a classic session, sparktune on
Spark Connect; Hyperopt refuses Connect sessions) a fresh process starts a ``local[P]`` session,
then runs every scenario ``--repeats`` times:

- ``util_S``: N trials that each sleep S seconds, parallelism P: utilisation = N*S/P / wall;
- ``trivial``: an objective that returns at once, random search: trials per second;
- ``timeout``: trials of 30 s, ``timeout=T``: how long after T fmin returns, and how long a
  P-task probe job takes right after (seconds if the slots are free, ~30 s if trials still run).

Wall times start after the session is up (the SparkTrials object is created inside the timing).
Prints a table of medians and ratios, and writes all runs as JSON (``--out``).

    PYTHONPATH=. python benchmarks/spark_utilisation.py            # full run (tens of minutes)
    PYTHONPATH=. python benchmarks/spark_utilisation.py --quick    # one repeat, smaller N
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = ("sparktune-classic", "hyperopt-classic", "sparktune-connect")


def _session(mode: str, parallelism: int) -> Any:
    from pyspark.sql import SparkSession

    master = f"local[{parallelism}]"
    builder = SparkSession.builder.remote(master) if mode == "connect" else SparkSession.builder.master(master)
    for key, value in (("spark.ui.showConsoleProgress", "false"), ("spark.python.worker.reuse", "true")):
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _sleeper(seconds: float) -> Any:
    def objective(x: float) -> float:
        time.sleep(seconds)
        return x

    return objective


def _run_fmin(lib: str, spark: Any, objective: Any, n: int, p: int, timeout: float | None = None) -> dict[str, Any]:
    if lib == "sparktune":
        from sparktune import SparkTrials, fmin, hp, rand

        kwargs: dict[str, Any] = {"show_progressbar": False, "return_argmin": False}
    else:
        from hyperopt import SparkTrials, fmin, hp, rand

        kwargs = {"show_progressbar": False, "return_argmin": False}
    start = time.perf_counter()
    trials = SparkTrials(parallelism=p, spark_session=spark, timeout=timeout)
    try:
        fmin(objective, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=n, trials=trials, **kwargs)
    except Exception as err:  # Hyperopt raises when a timeout left no finished trial
        if timeout is None:
            raise
        print(f"  ({lib} fmin raised {type(err).__name__}: {str(err)[:80]})", file=sys.stderr)
    wall = time.perf_counter() - start
    return {"wall": wall, "ok": trials.count_successful_trials(), "cancelled": trials.count_cancelled_trials()}


def _probe_seconds(spark: Any, p: int) -> float:
    """Seconds a P-task job takes now: small when every slot is free."""
    start = time.perf_counter()
    spark.range(0, p, 1, p).selectExpr("id * 2 AS y").collect()
    return time.perf_counter() - start


def child(args: argparse.Namespace) -> None:
    lib, mode = args.child.split("-")
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    p = args.parallelism
    spark = _session(mode, p)
    runs: list[dict[str, Any]] = []
    for repeat in range(args.repeats):
        for seconds in args.sleeps:
            res = _run_fmin(lib, spark, _sleeper(seconds), args.n, p)
            res.update(scenario=f"util_{seconds:g}", repeat=repeat, utilisation=args.n * seconds / p / res["wall"])
            runs.append(res)
            print(json.dumps(res), file=sys.stderr)
        n_trivial = args.trivial if lib == "sparktune" else args.trivial_hyperopt
        res = _run_fmin(lib, spark, _sleeper(0.0), n_trivial, p)
        res.update(scenario="trivial", repeat=repeat, n=n_trivial, trials_per_s=n_trivial / res["wall"])
        runs.append(res)
        print(json.dumps(res), file=sys.stderr)
        baseline = _probe_seconds(spark, p)  # also warms the query path the probe below uses
        res = _run_fmin(lib, spark, _sleeper(30.0), 100, p, timeout=args.timeout)
        active = None
        if mode == "classic":
            active = list(spark.sparkContext.statusTracker().getActiveJobsIds())
        res.update(
            scenario="timeout", repeat=repeat, over_timeout=res["wall"] - args.timeout,
            active_jobs_after=active, probe_job_s=_probe_seconds(spark, p), probe_job_before_s=baseline,
        )  # fmt: skip
        runs.append(res)
        print(json.dumps(res), file=sys.stderr)
    print("RESULT " + json.dumps(runs))
    spark.stop()


def _median(runs: list[dict[str, Any]], scenario: str, key: str) -> float | None:
    values = [r[key] for r in runs if r["scenario"] == scenario]
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--sleeps", type=float, nargs="+", default=[0.5, 2.0])
    parser.add_argument("--trivial", type=int, default=1000, help="trivial trials for sparktune")
    parser.add_argument("--trivial-hyperopt", type=int, default=40, help="trivial trials for Hyperopt (~1 trial/s)")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat, N=20, 200 trivial trials")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "spark_utilisation.json"))
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.n, args.trivial, args.trivial_hyperopt = 1, 20, 200, 20
    if args.child:
        child(args)
        return
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    results: dict[str, list[dict[str, Any]]] = {}
    for contender in args.contenders:
        cmd = [sys.executable, __file__, "--child", contender] + [a for a in sys.argv[1:] if a != "--child"]
        cmd += ["--repeats", str(args.repeats), "--n", str(args.n), "--trivial", str(args.trivial)]
        cmd += ["--trivial-hyperopt", str(args.trivial_hyperopt)]
        print(f"running {contender} ...", file=sys.stderr, flush=True)
        with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
            err: list[str] = []
            assert proc.stderr is not None and proc.stdout is not None
            for line in proc.stderr:  # progress: one JSON line per finished scenario
                err.append(line)
                if line.startswith("{"):
                    print(f"  {contender}: {line.strip()}", file=sys.stderr, flush=True)
            lines = [line for line in proc.stdout.read().splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"{contender} failed:\n{''.join(err)[-2000:]}", file=sys.stderr)
            continue
        results[contender] = json.loads(lines[-1][len("RESULT ") :])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "results": results}, indent=1))

    shape = f"N={args.n}, P={args.parallelism}"
    rows = [(f"utilisation S={s:g}s ({shape})", f"util_{s:g}", "utilisation") for s in args.sleeps]
    rows += [("trivial trials/s (random search)", "trivial", "trials_per_s")]
    rows += [(f"fmin return after timeout={args.timeout:g}s (s over)", "timeout", "over_timeout")]
    rows += [("P-task probe job before the timeout run (s)", "timeout", "probe_job_before_s")]
    rows += [("P-task probe job right after timeout (s)", "timeout", "probe_job_s")]
    names = list(results)
    print(f"\n| metric (median of {args.repeats}) | {' | '.join(names)} | sparktune/hyperopt (classic) |")
    print("|---" * (len(names) + 2) + "|")
    for label, scenario, key in rows:
        values = {name: _median(results[name], scenario, key) for name in names}
        cells = " | ".join("-" if v is None else f"{v:.3f}" for v in values.values())
        st, ho = values.get("sparktune-classic"), values.get("hyperopt-classic")
        ratio = f"{st / ho:.1f}x" if st is not None and ho else "-"
        print(f"| {label} | {cells} | {ratio} |")
    for name in names:
        jobs = [r.get("active_jobs_after") for r in results[name] if r["scenario"] == "timeout"]
        print(f"{name}: active Spark jobs right after the timeout returned: {jobs}")
    print("Hyperopt on Spark Connect: not run, Hyperopt's SparkTrials requires sparkContext (classic only)")


if __name__ == "__main__":
    main()
