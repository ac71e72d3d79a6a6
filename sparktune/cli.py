"""The ``sparktune`` command: run a tuning job from a Python file or module.

A job is a file (``job.py``) or an importable module (``mypkg.job``) that defines ``objective``
and ``space``, and may set defaults for the run as module-level names: ``max_evals``, ``algo``
(a suggest function or a name: ``"tpe"``, ``"rand"``, ...), ``timeout``, ``loss_threshold``,
``seed``, ``parallelism``, ``spark`` (bool), ``early_stop_fn``, ``points_to_evaluate``. Options
on the command line win over the job's settings::

    sparktune job.py --max-evals 50 --trials-out trials.csv --plots-dir plots/
    python -m sparktune mypkg.job --spark --parallelism 8
    spark-submit --master spark://host:7077 sparktune/__main__.py job.py --spark

With ``--spark`` (or ``--parallelism``, or ``spark = True`` in the job) the trials run on Spark
through ``SparkTrials``: under ``spark-submit`` on the submitted master, otherwise on the
``--master`` given (default ``local[*]``). A job given as a file is shipped to the executors by
value; a job given as a module must be importable there too (``--py-files``).

The command prints a summary table (best trial, best parameters as values, the top trials) and
can write every trial as JSON or CSV (``--trials-out``, by extension) and one PNG of each plot
(``--plots-dir``). Exit status: 0 when at least one trial succeeded, 1 when none did, 2 for a
bad command line or job.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import logging
import numbers
import runpy
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ._params import point_params
from .exceptions import AllTrialsFailed, InvalidArgumentError, InvalidSpaceError
from .fmin import fmin
from .space import compile_space
from .trials import Trial, Trials, TrialState

__all__ = ["main", "build_parser", "load_job", "Job", "trial_rows", "write_trials", "write_plots", "summary"]

logger = logging.getLogger(__name__)

ALGORITHMS = ("tpe", "rand", "anneal", "atpe", "gp", "mix")

#: Plot files ``--plots-dir`` writes, and the sparktune.plotting function drawing each.
PLOTS = {
    "history": "main_plot_history",
    "histogram": "main_plot_histogram",
    "vars": "main_plot_vars",
    "loss_vs_param": "plot_loss_vs_param",
    "best_so_far": "plot_best_so_far",
    "parallel_coordinates": "plot_parallel_coordinates",
    "timeline": "plot_timeline",
}

_SETTINGS = (
    "max_evals", "algo", "timeout", "loss_threshold", "seed", "parallelism", "spark", "early_stop_fn",
    "points_to_evaluate",
)  # fmt: skip


class JobError(InvalidArgumentError):
    """A job file or module cannot be loaded or lacks ``objective``/``space``."""


@dataclass
class Job:
    """What a job file or module defines."""

    name: str
    objective: Callable[..., Any]
    space: Any
    settings: dict[str, Any]


def load_job(target: str) -> Job:
    """Load ``target``: a path to a ``.py`` file, or a dotted module name."""
    path = Path(target)
    if target.endswith(".py") or path.is_file():
        if not path.is_file():
            raise JobError(f"job file {target!r} does not exist")
        # Run as a non-importable module: cloudpickle then ships its functions by value.
        try:
            namespace = runpy.run_path(str(path), run_name="__sparktune_job__")
        except Exception as err:  # the job's own code: say where, not our traceback
            if isinstance(err, SyntaxError):
                line, detail = err.lineno, f"SyntaxError: {err.msg}"
            else:
                own = [
                    f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename).resolve() == path.resolve()
                ]
                line, detail = (own[-1].lineno if own else None), f"{type(err).__name__}: {err}"
            at = f" (line {line})" if line is not None else ""
            raise JobError(f"job file {target!r} failed while loading{at}: {detail}") from err
        name = path.name
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as err:
            raise JobError(f"cannot import the job module {target!r}: {err}; give a .py file or a module name") from err
        namespace = vars(module)
        name = target
    objective = namespace.get("objective")
    if not callable(objective):
        raise JobError(f"job {name} must define a function `objective(params)`; it defines no such function")
    if "space" not in namespace:
        raise JobError(f"job {name} must define `space`, the search space (e.g. space = hp.uniform('x', -5, 5))")
    settings = {k: namespace[k] for k in _SETTINGS if k in namespace}
    return Job(name=name, objective=objective, space=namespace["space"], settings=settings)


def resolve_algo(algo: Any) -> Callable[..., Any]:
    """A suggest function from a function or a name (``tpe``, ``rand``, ... or ``module:function``)."""
    if callable(algo):
        return algo
    if not isinstance(algo, str):
        raise JobError(f"algo must be a suggest function or a name such as 'tpe', got {algo!r}")
    module_name, _, attr = algo.partition(":")
    if not attr:
        if algo not in ALGORITHMS:
            raise JobError(f"unknown algorithm {algo!r}; use one of {list(ALGORITHMS)} or module:function")
        module_name, attr = f"sparktune.{algo}", "suggest"
    try:
        suggest: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
        return suggest
    except (ImportError, AttributeError) as err:
        raise JobError(f"cannot load the algorithm {algo!r}: {err}") from err


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparktune",
        description="Run a hyperparameter tuning job: a Python file or module defining `objective` and `space`.",
    )
    parser.add_argument("job", help="path to a .py file, or an importable module name")
    parser.add_argument("--algo", help=f"search algorithm: {', '.join(ALGORITHMS)} or module:function (default tpe)")
    parser.add_argument("--max-evals", type=int, help="number of trials (default: the job's max_evals, else 100)")
    parser.add_argument("--timeout", type=float, help="seconds for the whole run")
    parser.add_argument("--loss-threshold", type=float, help="stop when a trial reaches this loss")
    parser.add_argument("--seed", type=int, help="random seed of the search")
    spark = parser.add_mutually_exclusive_group()
    spark.add_argument("--spark", dest="spark", action="store_true", default=None, help="run trials with SparkTrials")
    spark.add_argument("--no-spark", dest="spark", action="store_false", help="run trials in this process")
    parser.add_argument("--parallelism", type=int, help="trials at once on Spark (implies --spark)")
    parser.add_argument("--master", help="Spark master when not under spark-submit (default local[*])")
    parser.add_argument("--trials-out", type=Path, help="write every trial to this .json or .csv file")
    parser.add_argument("--plots-dir", type=Path, help="write a PNG of each plot into this directory")
    parser.add_argument("--top", type=int, default=10, help="trials listed in the summary (default 10)")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.add_argument(
        "--log-level", default="WARNING", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        help="logging level (default WARNING)",
    )  # fmt: skip
    return parser


def _spark_trials(parallelism: int | None, timeout: float | None, master: str | None) -> Trials:
    """SparkTrials on ``--master`` when given, else on the session SparkTrials finds itself
    (the one ``spark-submit`` configured, or an embedded ``local[*]``)."""
    from .spark import SparkTrials

    session = None
    if master:
        from ._spark_session import import_pyspark

        session = import_pyspark().SparkSession.builder.master(master).appName("sparktune").getOrCreate()
    return SparkTrials(parallelism=parallelism, timeout=timeout, spark_session=session)


# ----- reporting -----------------------------------------------------------------------------------


def _status(record: Trial) -> str:
    if record.state is TrialState.CANCEL:
        return "cancelled"
    if not record.state.finished:
        return "pending"
    return str(record.result.get("status", "fail"))


def _duration(record: Trial) -> float | None:
    if record.book_time is None or record.refresh_time is None:
        return None
    return (record.refresh_time - record.book_time).total_seconds()


def _params(space: Any, record: Trial) -> dict[str, Any]:
    try:
        return point_params(space, record.vals)
    except Exception:  # a point that cannot be built (never ran, user function failing)
        return {k: v for k, v in record.vals.items()}


def trial_rows(trials: Trials, space: Any) -> list[dict[str, Any]]:
    """One plain dict per trial: id, status, loss, timing, worker and parameter values."""
    compiled = compile_space(space)
    rows = []
    for record in trials.records:
        rows.append(
            {
                "tid": record.tid,
                "status": _status(record),
                "loss": record.loss,
                "duration_s": _duration(record),
                "worker": record.worker,
                "book_time": None if record.book_time is None else record.book_time.isoformat(),
                "refresh_time": None if record.refresh_time is None else record.refresh_time.isoformat(),
                "params": _params(compiled, record),
                "vals": dict(record.vals),
                "error": None if record.error is None else str(record.error),
            }
        )
    return rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return repr(value)


def _trials_out_suffix(path: Path) -> str:
    """``path``'s suffix, which says the format of ``--trials-out``; anything else is refused."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise InvalidArgumentError(f"--trials-out must end in .json or .csv, got {str(path)!r}")
    return suffix


def write_trials(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write ``rows`` as JSON (a list of objects) or CSV (one column per parameter), by extension."""
    suffix = _trials_out_suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        path.write_text(json.dumps([_jsonable(r) for r in rows], indent=1) + "\n")
        return
    labels: list[str] = []
    for row in rows:
        labels += [k for k in row["params"] if k not in labels]
    fields = ["tid", "status", "loss", "duration_s", "worker", "book_time", "refresh_time", "error"]
    # A parameter named like a fixed column ("loss", "tid") gets a "param." prefix.
    header = [f"param.{label}" if label in fields else label for label in labels]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(fields + header)
        for row in rows:
            writer.writerow([row[k] for k in fields] + [row["params"].get(label, "") for label in labels])


def write_plots(directory: Path, trials: Trials, space: Any) -> list[Path]:
    """One PNG per plot of :mod:`sparktune.plotting`; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    from . import plotting

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fn_name in PLOTS.items():
        fn = getattr(plotting, fn_name)
        takes_space = fn_name in ("plot_loss_vs_param", "plot_parallel_coordinates")
        figure = fn(trials, space) if takes_space else fn(trials, space=space) if name == "vars" else fn(trials)
        path = directory / f"{name}.png"
        figure.savefig(path, dpi=100)
        written.append(path)
    return written


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def summary(trials: Trials, space: Any, *, top: int = 10, elapsed: float | None = None) -> str:
    """A text report: counts, the best trial and its parameters, and a table of the best trials."""
    rows = trial_rows(trials, space)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    lines = [
        f"sparktune: {len(rows)} trials ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
        + ("" if elapsed is None else f" in {elapsed:.1f} s")
    ]
    ok = sorted((r for r in rows if r["loss"] is not None), key=lambda r: (r["loss"], r["tid"]))
    if not ok:
        lines.append("no trial succeeded")
        return "\n".join(lines) + "\n"
    best = ok[0]
    lines.append(f"best loss {best['loss']:.6g} (trial {best['tid']})")
    lines.append("best parameters:")
    lines += [f"  {k} = {v!r}" for k, v in best["params"].items()]
    labels: list[str] = []
    for row in ok[:top]:
        labels += [k for k in row["params"] if k not in labels]
    header = ["rank", "tid", "loss", "seconds", *labels]
    table = [header] + [
        [
            str(i + 1),
            str(r["tid"]),
            _cell(r["loss"]),
            _cell(r["duration_s"]),
            *[_cell(r["params"].get(k)) for k in labels],
        ]
        for i, r in enumerate(ok[:top])
    ]
    widths = [max(len(cells[j]) for cells in table) for j in range(len(header))]
    lines.append("")
    for i, cells in enumerate(table):
        lines.append("  ".join(cell.rjust(w) for cell, w in zip(cells, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


# ----- main ----------------------------------------------------------------------------------------


def _setting(cli: Any, job: Job, name: str, default: Any = None) -> Any:
    return cli if cli is not None else job.settings.get(name, default)


def _job_int(job: Job, name: str, value: Any, *, low: int) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low):
        raise JobError(f"job {job.name} sets {name} = {value!r}; it must be an int >= {low}")


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse output paths that cannot be written before the search runs, not after."""
    if args.trials_out is not None:
        _trials_out_suffix(args.trials_out)
    for option, directory in (
        ("--trials-out", args.trials_out and args.trials_out.parent),
        ("--plots-dir", args.plots_dir),
    ):
        if directory is None:
            continue
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise JobError(f"{option}: cannot create the directory {str(directory)!r} ({err.strerror})") from err


def run(args: argparse.Namespace, out: TextIO) -> int:
    _check_outputs(args)
    job = load_job(args.job)
    algo = resolve_algo(_setting(args.algo, job, "algo", "tpe"))
    _job_int(job, "max_evals", job.settings.get("max_evals"), low=1)
    _job_int(job, "seed", job.settings.get("seed"), low=0)
    _job_int(job, "parallelism", job.settings.get("parallelism"), low=1)
    max_evals = int(_setting(args.max_evals, job, "max_evals", 100))
    timeout = _setting(args.timeout, job, "timeout")
    parallelism = _setting(args.parallelism, job, "parallelism")
    use_spark = _setting(args.spark, job, "spark", False) or (args.parallelism is not None and args.spark is None)
    seed = _setting(args.seed, job, "seed")
    trials = _spark_trials(parallelism, timeout, args.master) if use_spark else Trials()
    start = time.monotonic()
    failed = False
    try:
        fmin(
            job.objective, job.space, algo=algo, max_evals=max_evals, timeout=timeout, trials=trials,
            loss_threshold=_setting(args.loss_threshold, job, "loss_threshold"), rstate=seed,
            early_stop_fn=job.settings.get("early_stop_fn"), points_to_evaluate=job.settings.get("points_to_evaluate"),
            catch_eval_exceptions=True, show_progressbar=not args.no_progress,
        )  # fmt: skip
    except AllTrialsFailed:
        failed = True
    elapsed = time.monotonic() - start
    compiled = compile_space(job.space)
    out.write(summary(trials, compiled, top=args.top, elapsed=elapsed))
    if args.trials_out is not None:
        write_trials(args.trials_out, trial_rows(trials, compiled))
        out.write(f"trials written to {args.trials_out}\n")
    if args.plots_dir is not None:
        written = write_plots(args.plots_dir, trials, job.space)
        out.write(f"{len(written)} plots written to {args.plots_dir}\n")
    return 1 if failed or trials.best_loss() is None else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sparktune`` and ``python -m sparktune``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.top < 1:
        parser.error(f"--top must be >= 1, got {args.top}")
    if args.max_evals is not None and args.max_evals < 1:
        parser.error(f"--max-evals must be >= 1, got {args.max_evals}")
    if args.timeout is not None and not args.timeout > 0:
        parser.error(f"--timeout must be > 0 seconds, got {args.timeout}")
    try:
        return run(args, sys.stdout)
    except (InvalidArgumentError, InvalidSpaceError) as err:  # JobError too: bad job or settings
        sys.stderr.write(f"sparktune: error: {err}\n")
        return 2
