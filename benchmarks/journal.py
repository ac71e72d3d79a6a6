"""Benchmark of the trials journal: write cost per trial, resume time, and SIGKILL runs.

Run from the repository root::

    PYTHONPATH=. python benchmarks/journal.py            # 10,000 trials, 20 SIGKILL runs
    PYTHONPATH=. python benchmarks/journal.py --quick    # 2,000 trials, 5 SIGKILL runs

Figures (CPU time of this process, medians of ``--repeat`` runs where it says so):

1. Journal cost per trial: the journal's own work for one trial's three state changes (proposed,
   running, finished), measured on ``Trials`` directly, per block of 1,000 trials; the last block
   against the first shows whether the cost is flat (O(1) per trial).
2. fmin with and without ``trials_save_file`` (random search, an instant objective): the extra
   CPU time per trial, per block.
3. Resume: rerunning ``fmin`` on a finished n-trial file (read, check, load, reopen), and
   ``Trials.load`` alone.
4. SIGKILL: runs of a real tuning process killed at random points and resumed; trials lost.
5. For reference, what Hyperopt's ``trials_save_file`` (a pickle of the whole ``Trials`` after
   every trial) costs per trial, first and last block, on a smaller n because it grows as O(n).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sparktune import Trials, fmin, hp, rand
from sparktune import journal as J
from sparktune.objective import Outcome
from sparktune.trials import Trial

SPACE = {
    "x": hp.uniform("x", -5, 5),
    "lr": hp.loguniform("lr", -7, 0),
    "model": hp.choice("model", [{"kind": "a"}, {"kind": "b", "depth": hp.quniform("depth", 1, 10, 1)}]),
}
BLOCK = 1000


def _objective(p: dict[str, Any]) -> float:
    return float(p["x"] ** 2 + p["lr"])


def _blocks(stamps: list[float]) -> list[float]:
    """CPU seconds per trial in each block of ``BLOCK`` trials, from cumulative stamps."""
    return [(stamps[i + BLOCK] - stamps[i]) / BLOCK for i in range(0, len(stamps) - BLOCK, BLOCK)]


def journal_cost(n: int, folder: Path) -> tuple[list[float], list[float]]:
    """Per-trial CPU seconds per block for the three journaled changes, with and without a journal."""
    results = []
    for journaled in (False, True):
        trials = Trials()
        writer = None
        if journaled:
            writer = J.JournalWriter.create(folder / "cost.jsonl", {"space": "bench"})
            trials._attach_journal(writer)
        rng = np.random.default_rng(0)
        stamps = [time.process_time()]
        for tid in range(n):
            trials._add(Trial(tid=tid, vals={"x": float(rng.uniform()), "lr": 0.01, "model": 0}, labels=("x", "lr")))
            trials._mark_running(tid, "local")
            trials._record_outcome(tid, Outcome(result={"loss": float(tid), "status": "ok"}))
            stamps.append(time.process_time())
        if writer is not None:
            writer.close()
        results.append(_blocks(stamps))
    return results[0], results[1]


def fmin_cost(n: int, folder: Path) -> tuple[list[float], list[float]]:
    """Per-trial CPU seconds per block of a whole fmin run, without and with ``trials_save_file``."""
    results = []
    for save in ("", str(folder / "fmin.jsonl")):
        stamps: list[float] = [time.process_time()]

        def objective(p: dict[str, Any], stamps: list[float] = stamps) -> float:
            stamps.append(time.process_time())
            return _objective(p)

        fmin(objective, SPACE, algo=rand.suggest, max_evals=n, rstate=np.random.default_rng(0),
             trials_save_file=save, show_progressbar=False)  # fmt: skip
        results.append(_blocks(stamps))
    return results[0], results[1]


def resume_time(n: int, folder: Path, repeat: int) -> tuple[float, float, float, int]:
    """(fmin resume wall s, fmin resume CPU s, Trials.load CPU s, file bytes) for an n-trial file."""
    path = folder / "resume.jsonl"
    if not path.exists():
        fmin(_objective, SPACE, algo=rand.suggest, max_evals=n, rstate=np.random.default_rng(1),
             trials_save_file=str(path), show_progressbar=False)  # fmt: skip
    walls, cpus, loads = [], [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        trials = Trials()
        fmin(_objective, SPACE, algo=rand.suggest, max_evals=n, trials=trials, rstate=np.random.default_rng(1),
             trials_save_file=str(path), show_progressbar=False)  # fmt: skip
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert len(trials) == n
        cpu = time.process_time()
        assert len(Trials.load(str(path))) == n
        loads.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), statistics.median(loads), path.stat().st_size


_CHILD = """
import sys, numpy as np
from sparktune import fmin, hp, rand
def f(p):
    return float(p["x"] ** 2)
fmin(f, {"x": hp.uniform("x", -5, 5)}, algo=rand.suggest, max_evals=int(sys.argv[2]),
     rstate=np.random.default_rng(3), trials_save_file=sys.argv[1], show_progressbar=False)
"""


def sigkill_runs(kills: int, folder: Path, n: int = 100_000) -> tuple[int, int, int]:
    """(kills, trials seen finished, trials lost) over ``kills`` runs killed at random moments."""
    script = folder / "child.py"
    script.write_text(_CHILD)
    path = folder / "killed.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rng = random.Random(0)
    seen: dict[int, float] = {}
    lost: set[int] = set()
    done = 0
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(n)], env=env)
        time.sleep(rng.uniform(0.3, 1.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            done += 1
        proc.wait()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            records = {r["tid"]: r for r in J.read_journal(path).records} if path.exists() else {}
        _tally(records, seen, lost)
    return done, len(seen), len(lost)


def _tally(records: dict[int, Any], seen: dict[int, float], lost: set[int]) -> None:
    """Mark as lost every trial seen finished before that the file no longer holds as finished
    with the same loss; then add the file's finished trials to ``seen``."""
    for tid, loss in seen.items():
        r = records.get(tid)
        if r is None or r["state"] != "DONE" or r["result"]["loss"] != loss:
            lost.add(tid)
    for tid, r in records.items():
        if r["state"] == "DONE":
            seen.setdefault(tid, r["result"]["loss"])


_CHILD_SPARK = """
import json, sys, time, numpy as np
from sparktune import SparkTrials, fmin, hp, rand
def f(p):
    time.sleep(0.1)
    return float(p["x"] ** 2)
start = []
def progress(trials, *args):  # results of this run (a resumed run starts with the earlier ones)
    done = sum(1 for t in trials.trials if t["state"] >= 2)
    start.append(start[0] if start else done - 1)
    print(json.dumps({"finished": done - start[0]}), flush=True)
    return False, []
fmin(f, {"x": hp.uniform("x", -5, 5)}, algo=rand.suggest, max_evals=int(sys.argv[2]), trials=SparkTrials(parallelism=2),
     rstate=np.random.default_rng(3), trials_save_file=sys.argv[1], show_progressbar=False, early_stop_fn=progress)
"""


def spark_sigkill_runs(kills: int, folder: Path, n: int = 10_000) -> tuple[int, int, int]:
    """Like :func:`sigkill_runs` for a SparkTrials driver, killed after a random number of results."""
    import psutil

    script = folder / "child_spark.py"
    script.write_text(_CHILD_SPARK)
    path = folder / "killed_spark.jsonl"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "PYSPARK_PYTHON": sys.executable}
    rng = random.Random(1)
    seen: dict[int, float] = {}
    lost: set[int] = set()
    done = 0
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(n)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        target = rng.randint(1, 12)
        assert proc.stdout is not None
        for line in proc.stdout:
            if json.loads(line)["finished"] >= target:
                break
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done += 1
        _, alive = psutil.wait_procs(children, timeout=30)  # the JVM exits once its driver is gone
        for p in alive:
            p.kill()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            records = {r["tid"]: r for r in J.read_journal(path).records}
        _tally(records, seen, lost)
    return done, len(seen), len(lost)


def hyperopt_cost(n: int, folder: Path) -> tuple[float, float] | None:
    """Hyperopt's per-trial CPU seconds (first and last tenth) with trials_save_file, or None."""
    try:
        import hyperopt
    except ImportError:
        return None
    stamps: list[float] = [time.process_time()]

    def objective(p: dict[str, Any]) -> float:
        stamps.append(time.process_time())
        return float(p["x"] ** 2)

    hyperopt.fmin(objective, {"x": hyperopt.hp.uniform("x", -5, 5)}, algo=hyperopt.rand.suggest, max_evals=n,
                  trials=hyperopt.Trials(), trials_save_file=str(folder / "hyperopt.pkl"), show_progressbar=False,
                  rstate=np.random.default_rng(0))  # fmt: skip
    tenth = max(1, len(stamps) // 10)
    first = (stamps[tenth] - stamps[0]) / tenth
    last = (stamps[-1] - stamps[-1 - tenth]) / tenth
    return first, last


def fsync_cost(folder: Path, count: int = 50) -> float:
    """Median seconds of one ``fsync`` after a one-line append, on this disk."""
    path = folder / "fsync.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    times = []
    try:
        for _ in range(count):
            os.write(fd, b'{"tid":1,"state":"DONE"}\n')
            start = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - start)
    finally:
        os.close(fd)
    return statistics.median(times)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f} us"


def _report_blocks(name: str, without: list[float], with_: list[float]) -> None:
    extra = [b - a for a, b in zip(without, with_, strict=True)]
    print(f"{name}: per trial, per block of {BLOCK} trials (CPU)")
    print(f"  without journal: first {_us(without[0])}, last {_us(without[-1])}")
    print(f"  with journal:    first {_us(with_[0])}, last {_us(with_[-1])}")
    print(f"  journal's share: first {_us(extra[0])}, last {_us(extra[-1])}, median {_us(statistics.median(extra))}")
    print(f"  last/first block with journal: {with_[-1] / with_[0]:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hyperopt-trials", type=int, default=2_000)
    parser.add_argument(
        "--spark-kills", type=int, default=0, help="SIGKILLs of a SparkTrials driver (each starts a JVM)"
    )
    parser.add_argument("--only", nargs="*", default=None, help="sections: cost fmin resume kills spark peers")
    parser.add_argument("--quick", action="store_true", help="2,000 trials, 5 kills, 1 repeat, 500 Hyperopt trials")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.kills, args.repeat, args.hyperopt_trials = 2_000, 5, 1, 500
    n = args.trials
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"sparktune journal benchmark: {n} trials, python {sys.version.split()[0]}, {os.cpu_count()} cpus")
        runs: list[tuple[str, Callable[[], None]]] = []

        def cost() -> None:
            without, with_ = journal_cost(n, folder)
            _report_blocks("1. Trials state changes (add, running, finished)", without, with_)

        def whole() -> None:
            without, with_ = fmin_cost(n, folder)
            _report_blocks("2. fmin(rand), instant objective", without, with_)

        def resume() -> None:
            wall, cpu, load, size = resume_time(n, folder, args.repeat)
            print(f"3. resume from a {n}-trial file ({size / 1e6:.1f} MB), median of {args.repeat}:")
            print(f"  fmin resume: {wall:.3f} s wall, {cpu:.3f} s CPU;  Trials.load: {load:.3f} s CPU")

        def kills() -> None:
            killed, seen, lost = sigkill_runs(args.kills, folder)
            print(f"4. SIGKILL: {killed} runs killed at random moments and resumed; "
                  f"{seen} finished trials seen; {lost} lost")  # fmt: skip

        def peers() -> None:
            print(
                f"   fsync of one appended line on this disk: {_us(fsync_cost(folder))} (median; hence one per second)"
            )
            ho = hyperopt_cost(args.hyperopt_trials, folder)
            if ho is None:
                print("5. Hyperopt not installed: skipped")
            else:
                print(f"5. Hyperopt trials_save_file, {args.hyperopt_trials} trials: per trial first tenth "
                      f"{_us(ho[0])}, last tenth {_us(ho[1])} (x{ho[1] / ho[0]:.1f})")  # fmt: skip

        def spark() -> None:
            if args.spark_kills:
                killed, seen, lost = spark_sigkill_runs(args.spark_kills, folder)
                print(f"4b. SIGKILL of a SparkTrials driver: {killed} runs killed after a random number of results "
                      f"and resumed; {seen} finished trials seen; {lost} lost")  # fmt: skip

        runs = [("cost", cost), ("fmin", whole), ("resume", resume), ("kills", kills), ("spark", spark)]
        runs.append(("peers", peers))
        for name, run in runs:
            if args.only is None or name in args.only:
                run()
                sys.stdout.flush()


if __name__ == "__main__":
    main()
