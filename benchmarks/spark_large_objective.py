"""SparkTrials' ``spark`` result channel with an objective that captures a large array.

The ``spark`` channel (a remote Spark Connect cluster, whose executors cannot reach the client)
runs each hand-out of trials as a Spark job. An objective that pickles larger than
``sparktune._spark_executor.SHIP_ONCE_BYTES`` (1 MB) is shipped once per run (a file added to the
Connect session, a broadcast on a classic session); this program measures that against shipping
the pickle with every job, as before, on a local Spark Connect session.

For each capture size and mode, a fresh process starts ``remote("local[2]")`` and runs N TPE
trials (one trial per job, as for every algorithm that learns), parallelism 2, and reports the
wall time of ``fmin`` (or that it did not finish within ``--limit`` seconds).

    PYTHONPATH=. python benchmarks/spark_large_objective.py                 # 10 and 40 MB
    PYTHONPATH=. python benchmarks/spark_large_objective.py --mb 5 --trials 10
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("once", "per-job")


def _child(mode: str, megabytes: int, trials: int) -> None:
    from pyspark.sql import SparkSession

    import sparktune._spark_executor as executor
    from sparktune import SparkTrials, fmin, hp, tpe

    if mode == "per-job":
        executor.SHIP_ONCE_BYTES = 1 << 62  # the behaviour before: the pickle goes with every job
    spark = SparkSession.builder.remote("local[2]").config("spark.ui.showConsoleProgress", "false").getOrCreate()
    data = os.urandom(megabytes * 1024 * 1024)  # incompressible

    def objective(x: float) -> float:
        return (x - 1.0) ** 2 + len(data) % 3

    start = time.time()
    runs = SparkTrials(spark_session=spark, result_channel="spark", parallelism=2)
    fmin(objective, hp.uniform("x", -2, 2), algo=tpe.suggest, max_evals=trials, trials=runs, show_progressbar=False)
    wall = time.time() - start
    print(json.dumps({"ok": runs.count_successful_trials(), "wall_s": wall}))
    spark.stop()


def _measure(mode: str, megabytes: int, trials: int, limit: float) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable}
    cmd = [sys.executable, __file__, "--child", mode, "--mb", str(megabytes), "--trials", str(trials)]
    # Its own process group, so that a run past the limit is stopped with its Spark JVM.
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = child.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return {"mode": mode, "mb": megabytes, "wall_s": None, "note": f"not done after {limit:g} s"}
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"mode": mode, "mb": megabytes, "wall_s": None, "note": f"failed: {stderr.strip()[-300:]}"}
    result = json.loads(lines[-1])
    return {"mode": mode, "mb": megabytes, "wall_s": result["wall_s"], "note": f"{result['ok']}/{trials} ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, nargs="+", default=[10, 40], help="sizes of the captured array, MB")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds before a run counts as not done")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.mb[0], args.trials)
        return
    print(f"| captured | shipped | wall s, {args.trials} TPE trials | |")
    print("|---|---|---|---|")
    for megabytes in args.mb:
        for mode in MODES:
            r = _measure(mode, megabytes, args.trials, args.limit)
            wall = "-" if r["wall_s"] is None else f"{r['wall_s']:.1f}"
            print(f"| {megabytes} MB | {mode} | {wall} | {r['note']} |", flush=True)


if __name__ == "__main__":
    main()
