"""Run one (library, algorithm, problem, n_evals, seed, batch) and measure it.

``run(spec)`` works in the current process; ``run_many(specs, jobs)`` runs every spec in its own
freshly spawned interpreter (so peak RSS and CPU time belong to that run alone), at most ``jobs``
at a time. Libraries are imported lazily inside the run, so a library or algorithm that is missing
or broken (Hyperopt's ``atpe`` on numpy 2, Optuna's ``GPSampler`` without torch, sparktune
algorithms not written yet) comes back as a result with ``error`` set instead of failing the suite.

Batch mode ``batch=k``: k suggestions are made before any of them is evaluated, then all k are
evaluated, and so on. Hyperopt gets ``fmin(..., max_queue_len=k)`` with plain ``Trials`` (which
does exactly that); Optuna asks k trials, then evaluates and tells them. sparktune's ``fmin``
refills a free slot as soon as a result arrives (a sliding window of k in flight, what a cluster
of k slots wants), so for the same synchronous rounds it is called once per round with
``max_evals`` raised by k: each call proposes its k points in one ``suggest`` call, then runs them.
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing as mp
import resource
import sys
import time
import traceback
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from benchmarks import problems

__all__ = [
    "ALGORITHMS",
    "Result",
    "Spec",
    "parse_algorithms",
    "run",
    "run_many",
    "unavailable",
]

# Algorithms each library offers, by the name used on the command line ("lib.algo").
ALGORITHMS: dict[str, tuple[str, ...]] = {
    "hyperopt": ("tpe", "rand", "anneal", "atpe"),
    "optuna": ("tpe", "random", "gp"),
    "sparktune": ("tpe", "rand", "anneal", "atpe", "gp"),
}


@dataclass(frozen=True)
class Spec:
    lib: str
    algo: str
    problem: str
    n_evals: int
    seed: int
    batch: int = 1

    @property
    def key(self) -> str:
        return f"{self.lib}.{self.algo}"


@dataclass
class Result:
    spec: Spec
    best: list[float] = field(default_factory=list)  # best loss so far after each evaluation
    cpu_s: float = float("nan")  # CPU seconds of the whole run (suggest + bookkeeping + objective)
    suggest_s: list[float] = field(default_factory=list)  # CPU seconds of each suggestion
    eval_clock: list[float] = field(default_factory=list)  # process_time() at each objective call
    peak_rss_mb: float = float("nan")  # peak RSS of the process that ran it
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A compact record for results files: losses to 6 significant digits, suggestion
        times to the microsecond, objective-call timestamps left out."""
        out = asdict(self)
        out["best"] = [float(f"{x:.6g}") for x in self.best]
        out["suggest_s"] = [round(x, 6) for x in self.suggest_s]
        del out["eval_clock"]
        return out


def parse_algorithms(items: Iterable[str]) -> list[tuple[str, str]]:
    """``["hyperopt", "optuna.tpe"]`` -> every Hyperopt algorithm plus Optuna's TPE."""
    out: list[tuple[str, str]] = []
    for item in items:
        lib, _, algo = item.partition(".")
        if lib not in ALGORITHMS:
            raise ValueError(f"unknown library {lib!r} in {item!r}; known: {', '.join(ALGORITHMS)}")
        algos = ALGORITHMS[lib] if not algo else (algo,)
        for a in algos:
            if a not in ALGORITHMS[lib]:
                raise ValueError(f"{lib} has no algorithm {a!r}; known: {', '.join(ALGORITHMS[lib])}")
            if (lib, a) not in out:
                out.append((lib, a))
    return out


def unavailable(lib: str, algo: str) -> str | None:
    """Why ``lib.algo`` cannot run here (missing module), found without importing it; else None.

    Cheap enough for the parent process, so a missing algorithm costs no subprocesses. Failures
    that only show up while running (Hyperopt's ``atpe``) are still reported by ``run``."""
    if lib == "optuna":
        needed = "torch" if algo == "gp" else "optuna"  # GPSampler imports torch lazily
    elif (lib, algo) == ("hyperopt", "atpe"):
        needed = "lightgbm"  # imported by hyperopt.atpe.suggest, not a hyperopt dependency
    else:
        needed = f"{lib}.{algo}"
    try:
        found = importlib.util.find_spec(needed) is not None
    except ImportError:  # the parent package itself is missing
        found = False
    return None if found else f"not available: no module {needed!r} on this PYTHONPATH"


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM belongs to the current address space; ru_maxrss would
    also count the parent's RSS at fork time, which Linux carries across exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _run_hyperopt_like(spec: Spec, res: Result) -> list[float]:
    """Hyperopt and sparktune share the API: ``fmin(fn, space, algo, ...)`` with ``Trials``."""
    lib = importlib.import_module(spec.lib)
    suggest = importlib.import_module(f"{spec.lib}.{spec.algo}").suggest
    problem = problems.get(spec.problem)
    objective = problem.objective

    def timed_suggest(new_ids: Any, domain: Any, trials: Any, seed: int) -> Any:
        t0 = time.process_time()
        docs = suggest(new_ids, domain, trials, seed)
        dt = time.process_time() - t0
        n = max(len(docs), 1)  # Hyperopt's tpe returns one doc however many ids it is given
        res.suggest_s.extend([dt / n] * n)
        return docs

    def fn(config: Any) -> float:
        res.eval_clock.append(time.process_time())
        return objective(config)

    start = time.process_time()  # building the space and Trials counts; importing the library not
    trials = lib.Trials()
    space = problem.space(lib.hp)
    rounds = [spec.n_evals]
    if spec.lib == "sparktune" and spec.batch > 1:  # synchronous rounds (see the module docstring)
        rounds = [min(r, spec.n_evals) for r in range(spec.batch, spec.n_evals + spec.batch, spec.batch)]
    for max_evals in rounds:
        lib.fmin(
            fn,
            space,
            algo=timed_suggest,
            max_evals=max_evals,
            trials=trials,
            rstate=np.random.default_rng(spec.seed),
            max_queue_len=spec.batch,
            verbose=False,
            show_progressbar=False,
        )
    res.cpu_s = time.process_time() - start
    return [float(x) for x in trials.losses()]


def _optuna_sampler(optuna: Any, algo: str, seed: int) -> Any:
    if algo == "tpe":
        return optuna.samplers.TPESampler(seed=seed)  # Optuna 5 default: multivariate TPE
    if algo == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    importlib.import_module("torch")  # GPSampler imports it lazily; fail before the run instead
    return optuna.samplers.GPSampler(seed=seed)


def _run_optuna(spec: Spec, res: Result) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = problems.get(spec.problem)
    sampler = _optuna_sampler(optuna, spec.algo, spec.seed)
    start = time.process_time()
    study = optuna.create_study(sampler=sampler)
    done = 0
    while done < spec.n_evals:
        pending = []
        for _ in range(min(spec.batch, spec.n_evals - done)):
            t0 = time.process_time()
            trial = study.ask()
            config = problem.optuna_space(trial)
            res.suggest_s.append(time.process_time() - t0)
            pending.append((trial, config))
        for trial, config in pending:
            res.eval_clock.append(time.process_time())
            study.tell(trial, problem.objective(config))
        done += len(pending)
    res.cpu_s = time.process_time() - start
    return [float(t.value) for t in study.trials]


def run(spec: Spec) -> Result:
    """Run one spec in this process. Errors are reported in ``Result.error``, not raised."""
    res = Result(spec)
    try:
        problem = problems.get(spec.problem)
        if problem.prepare is not None:
            problem.prepare()  # load data sets and heavy imports outside the measured window
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runner = _run_optuna if spec.lib == "optuna" else _run_hyperopt_like
            losses = runner(spec, res)
        res.best = np.minimum.accumulate(np.asarray(losses, dtype=float)).tolist()
    except Exception as err:  # noqa: BLE001, RUF100 - a broken algorithm is a result, not a crash
        last = traceback.extract_tb(err.__traceback__)[-1]
        res.error = f"{type(err).__name__}: {err} ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
    res.peak_rss_mb = _peak_rss_mb()
    return res


def run_many(specs: list[Spec], jobs: int = 1, verbose: bool = True) -> list[Result]:
    """Run each spec in its own fresh (spawned) interpreter, ``jobs`` at a time, in spec order."""
    ctx = mp.get_context("spawn")
    out: list[Result] = []
    with ctx.Pool(processes=max(1, min(jobs, len(specs))), maxtasksperchild=1) as pool:
        for i, res in enumerate(pool.imap(run, specs, chunksize=1), 1):
            out.append(res)
            if verbose:
                s = res.spec
                what = res.error or f"best {res.best[-1]:.4g}, {res.cpu_s:.2f} s CPU"
                print(
                    f"[{i}/{len(specs)}] {s.key} {s.problem} n={s.n_evals} seed={s.seed} batch={s.batch}: {what}",
                    file=sys.stderr,
                    flush=True,
                )
    return out
