"""Every bad input in docs/bad-inputs.md, tried for real: the table and these cases stay in sync.

The table in ``docs/bad-inputs.md`` is the expected output: for each row the test runs the case
with the same id and compares what a user sees (the error type and message, the warning, or the
failure recorded on the trial) with the row. A case without a row, or a row without a case,
fails the test. After changing a message on purpose, regenerate the table with::

    PYTHONPATH=. python tests/unit/test_bad_inputs.py --write

and review the diff of ``docs/bad-inputs.md``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sparktune import STATUS_OK, Trials, fmin, hp, rand
from sparktune import _preflight as preflight
from sparktune import journal as J

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-inputs.md"
SAVE = "trials.jsonl"  # cases run in a fresh temporary folder, so messages show this relative path


@dataclass(frozen=True)
class Case:
    id: str
    area: str
    bad_input: str
    run: Callable[[], Any]


def _fmin(fn: Callable[..., Any] = lambda x: x, space: Any = None, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"algo": rand.suggest, "max_evals": 2, "show_progressbar": False}
    options.update(kwargs)
    return fmin(fn, hp.uniform("x", 0, 1) if space is None else space, **options)


def _failure(result: Any, **kwargs: Any) -> str:
    """Run one trial whose objective returns ``result``; what the user sees is its recorded failure."""
    trials = Trials()
    with contextlib.suppress(Exception):
        _fmin(lambda x: result, trials=trials, max_evals=1, **kwargs)
    return str(trials.trials[0]["result"]["failure"]["message"])


def _returns(result: Any) -> Any:
    """Run one trial whose objective returns ``result`` (an error when it is not a result)."""
    return _fmin(lambda x: result, max_evals=1)


def _raise(exc: BaseException) -> Callable[[Any], Any]:
    def objective(x: Any) -> Any:
        raise exc

    return objective


def _file(content: bytes) -> Callable[[], Any]:
    def run() -> Any:
        Path(SAVE).write_bytes(content)
        return _fmin(trials_save_file=SAVE)

    return run


def _other_space_file() -> Any:
    _fmin(trials_save_file=SAVE)
    return _fmin(space=hp.uniform("x", 0, 2), trials_save_file=SAVE)


def _pickled_values_file() -> Any:
    _fmin(lambda x: {"loss": x, "status": STATUS_OK, "z": complex(x, 1)}, trials=Trials(journal_pickle=True),
          trials_save_file=SAVE)  # fmt: skip
    return Trials.load(SAVE)


def _torn_file() -> Any:
    _fmin(trials_save_file=SAVE)
    data = Path(SAVE).read_bytes()
    Path(SAVE).write_bytes(data[:-15])
    return Trials.load(SAVE)


def _damaged_line_file() -> Any:
    _fmin(trials_save_file=SAVE)
    lines = Path(SAVE).read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b'"x":0.', b'"x":1.')  # a changed digit in the result line of trial 0
    Path(SAVE).write_bytes(b"\n".join(lines))
    return Trials.load(SAVE)


def _shared_file() -> Any:
    _fmin(trials_save_file=SAVE)
    holder = J.JournalWriter.reopen(SAVE, Path(SAVE).stat().st_size)  # another run is writing it
    try:
        return _fmin(trials_save_file=SAVE, max_evals=4)
    finally:
        holder.close()


def _parallelism() -> Any:
    trials = Trials()
    trials.parallelism = 8  # type: ignore[attr-defined]  # what SparkTrials(parallelism=8) carries
    return _fmin(trials=trials, max_evals=4)


class SparkSession:
    """A stand-in with pyspark's module and class name (pyspark is not needed to check)."""


SparkSession.__module__ = "pyspark.sql.session"
spark = SparkSession()
LOCK = threading.Lock()


def _captures_spark(x: float) -> float:
    return x + len(str(spark))


def _captures_lock(x: float) -> float:
    with LOCK:
        return x


_captures_spark.__module__ = _captures_lock.__module__ = "__main__"  # shipped by value, like a notebook's

CASES: list[Case] = [
    # ----- search spaces ------------------------------------------------------------------------
    Case("low-ge-high", "hp", "`hp.uniform('x', 1, 0)`", lambda: hp.uniform("x", 1, 0)),
    Case("low-eq-high", "hp", "`hp.loguniform('lr', -3, -3)`", lambda: hp.loguniform("lr", -3, -3)),
    Case("q-zero", "hp", "`hp.quniform('n', 0, 10, 0)`", lambda: hp.quniform("n", 0, 10, 0)),
    Case("q-negative", "hp", "`hp.qloguniform('n', 0, 3, -1)`", lambda: hp.qloguniform("n", 0, 3, -1)),
    Case("sigma-zero", "hp", "`hp.normal('w', 0, 0)`", lambda: hp.normal("w", 0, 0)),
    Case("sigma-negative", "hp", "`hp.lognormal('w', 0, -1)`", lambda: hp.lognormal("w", 0, -1)),
    Case("bound-not-number", "hp", "`hp.uniform('x', 'a', 1)`", lambda: hp.uniform("x", "a", 1)),  # type: ignore[arg-type]
    Case("bound-infinite", "hp", "`hp.uniform('x', 0, float('inf'))`", lambda: hp.uniform("x", 0, float("inf"))),
    Case("label-not-str", "hp", "`hp.uniform(3, 0, 1)`", lambda: hp.uniform(3, 0, 1)),  # type: ignore[arg-type]
    Case("choice-empty", "hp", "`hp.choice('c', [])`", lambda: hp.choice("c", [])),
    Case("choice-not-list", "hp", "`hp.choice('c', 5)`", lambda: hp.choice("c", 5)),  # type: ignore[arg-type]
    Case(
        "pchoice-sum",
        "hp",
        "`hp.pchoice('p', [(0.5, 'a'), (0.4, 'b')])`",
        lambda: hp.pchoice("p", [(0.5, "a"), (0.4, "b")]),
    ),
    Case(
        "pchoice-negative",
        "hp",
        "`hp.pchoice('p', [(-0.5, 'a'), (1.5, 'b')])`",
        lambda: hp.pchoice("p", [(-0.5, "a"), (1.5, "b")]),
    ),
    Case("pchoice-empty", "hp", "`hp.pchoice('p', [])`", lambda: hp.pchoice("p", [])),
    Case("randint-empty", "hp", "`hp.randint('r', 5, 5)`", lambda: hp.randint("r", 5, 5)),
    Case("randint-float", "hp", "`hp.randint('r', 2.5)`", lambda: hp.randint("r", 2.5)),  # type: ignore[arg-type]
    Case("uniformint-q", "hp", "`hp.uniformint('u', 0, 10, q=2)`", lambda: hp.uniformint("u", 0, 10, q=2)),
    Case(
        "duplicate-label",
        "space",
        "`{'a': hp.uniform('x', 0, 1), 'b': hp.uniform('x', 0, 2)}`",
        lambda: _fmin(space={"a": hp.uniform("x", 0, 1), "b": hp.uniform("x", 0, 2)}),
    ),
    # ----- fmin arguments -----------------------------------------------------------------------
    Case("max-evals-negative", "fmin", "`max_evals=-1`", lambda: _fmin(max_evals=-1)),
    Case("max-evals-string", "fmin", "`max_evals='10'`", lambda: _fmin(max_evals="10")),
    Case("max-evals-nan", "fmin", "`max_evals=float('nan')`", lambda: _fmin(max_evals=float("nan"))),
    Case("timeout-negative", "fmin", "`timeout=-5`", lambda: _fmin(timeout=-5)),
    Case("timeout-string", "fmin", "`timeout='1m'`", lambda: _fmin(timeout="1m")),
    Case("algo-not-callable", "fmin", "`algo='tpe'`", lambda: _fmin(algo="tpe")),
    Case("rstate-wrong-type", "fmin", "`rstate=1.5`", lambda: _fmin(rstate=1.5)),
    Case("rstate-string", "fmin", "`rstate='42'`", lambda: _fmin(rstate="42")),
    Case("fn-not-callable", "fmin", "`fmin(fn=3, ...)`", lambda: _fmin(fn=3)),
    Case("space-string", "fmin", "`space='x'`", lambda: _fmin(space="x")),
    Case("max-queue-len", "fmin", "`max_queue_len=0`", lambda: _fmin(max_queue_len=0)),
    Case("loss-threshold", "fmin", "`loss_threshold='low'`", lambda: _fmin(loss_threshold="low")),
    Case("early-stop-fn", "fmin", "`early_stop_fn=5`", lambda: _fmin(early_stop_fn=5)),
    Case("trials-wrong-type", "fmin", "`trials=[]`", lambda: _fmin(trials=[])),
    Case("save-file-type", "fmin", "`trials_save_file=123`", lambda: _fmin(trials_save_file=123)),
    Case(
        "point-unknown-label", "fmin", "`points_to_evaluate=[{'y': 1}]`", lambda: _fmin(points_to_evaluate=[{"y": 1}])
    ),
    Case("point-missing-value", "fmin", "`points_to_evaluate=[{}]`", lambda: _fmin(points_to_evaluate=[{}])),
    Case("point-not-dict", "fmin", "`points_to_evaluate=[0.5]`", lambda: _fmin(points_to_evaluate=[0.5])),
    Case("seed-env", "fmin", "`HYPEROPT_FMIN_SEED=abc` in the environment", lambda: _with_env_seed("abc")),
    Case("parallelism-gt-max-evals", "pre-flight", "`SparkTrials(parallelism=8)` with `max_evals=4`", _parallelism),
    Case(
        "captures-spark",
        "pre-flight",
        "objective uses a global `spark` session (SparkTrials)",
        lambda: preflight.serialize_checked(_captures_spark),
    ),
    Case(
        "captures-lock",
        "pre-flight",
        "objective uses a global `threading.Lock` (SparkTrials)",
        lambda: preflight.serialize_checked(_captures_lock),
    ),
    # ----- what the objective returns -----------------------------------------------------------
    Case("returns-nan", "objective", "returns `float('nan')`", lambda: _failure(float("nan"))),
    Case("returns-inf", "objective", "returns `float('inf')`", lambda: _failure(float("inf"))),
    Case("returns-none", "objective", "returns `None`", lambda: _returns(None)),
    Case("returns-string", "objective", "returns `'0.5'`", lambda: _returns("0.5")),
    Case("returns-bool", "objective", "returns `True`", lambda: _returns(True)),
    Case("dict-without-loss", "objective", "returns `{'status': 'ok'}`", lambda: _returns({"status": STATUS_OK})),
    Case(
        "loss-not-number",
        "objective",
        "returns `{'loss': 'low', 'status': 'ok'}`",
        lambda: _returns({"loss": "low", "status": STATUS_OK}),
    ),
    Case(
        "loss-nan-in-dict",
        "objective",
        "returns `{'loss': float('nan'), 'status': 'ok'}`",
        lambda: _failure({"loss": float("nan"), "status": STATUS_OK}),
    ),
    Case(
        "unknown-status",
        "objective",
        "returns `{'loss': 1, 'status': 'done'}`",
        lambda: _returns({"loss": 1, "status": "done"}),
    ),
    Case(
        "attachments-not-dict",
        "objective",
        "returns `{'loss': 1, 'attachments': [1]}`",
        lambda: _returns({"loss": 1, "attachments": [1]}),
    ),
    Case("raises", "objective", "raises `ValueError('boom')`", lambda: _fmin(_raise(ValueError("boom")))),
    Case(
        "raises-caught-all",
        "objective",
        "raises on every trial, `catch_eval_exceptions=True`",
        lambda: _fmin(_raise(ValueError("boom")), catch_eval_exceptions=True),
    ),
    Case(
        "all-fail",
        "objective",
        "returns `None` on every trial, `catch_eval_exceptions=True`",
        lambda: _fmin(lambda x: None, catch_eval_exceptions=True),
    ),
    # ----- trial files --------------------------------------------------------------------------
    Case(
        "result-not-plain",
        "files",
        "result holds a `threading.Event`, with `trials_save_file`",
        lambda: _fmin(lambda x: {"loss": x, "model": threading.Event()}, trials_save_file=SAVE),
    ),
    Case(
        "result-int-keys",
        "files",
        "result holds `{1: 0.5}`, with `trials_save_file`",
        lambda: _fmin(lambda x: {"loss": x, "folds": {1: 0.5}}, trials_save_file=SAVE),
    ),
    Case(
        "other-space",
        "files",
        "`trials_save_file` written for `hp.uniform('x', 0, 1)`, run with `(0, 2)`",
        _other_space_file,
    ),
    Case("not-a-trials-file", "files", "`trials_save_file` holds other text", _file(b"epoch,loss\n1,0.5\n")),
    Case(
        "hyperopt-pickle",
        "files",
        "`trials_save_file` is a pickle (Hyperopt's format)",
        _file(pickle.dumps({"trials": []})),
    ),
    Case(
        "newer-version",
        "files",
        "`trials_save_file` from a newer sparktune",
        _file(b'{"format":"sparktune-trials","version":99}\n'),
    ),
    Case("pickled-values", "files", "`Trials.load` of a file written with `journal_pickle=True`", _pickled_values_file),
    Case("torn-last-line", "files", "`Trials.load` of a file whose writer was killed mid-line", _torn_file),
    Case("damaged-line", "files", "`Trials.load` of a file with a changed digit", _damaged_line_file),
    Case("shared-file", "files", "two runs with the same `trials_save_file` at once", _shared_file),
    Case(
        "missing-folder",
        "files",
        "`trials_save_file='no/such/dir/t.jsonl'`",
        lambda: _fmin(trials_save_file="no/such/dir/t.jsonl"),
    ),
    Case(
        "disk-full", "files", "`trials_save_file='/dev/full'` (disk full)", lambda: _fmin(trials_save_file="/dev/full")
    ),
]


def _with_env_seed(value: str) -> Any:
    old = os.environ.get("HYPEROPT_FMIN_SEED")
    os.environ["HYPEROPT_FMIN_SEED"] = value
    try:
        return _fmin()
    finally:
        if old is None:
            del os.environ["HYPEROPT_FMIN_SEED"]
        else:
            os.environ["HYPEROPT_FMIN_SEED"] = old


@contextlib.contextmanager
def _scratch_folder() -> Iterator[None]:
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(here)


def observe(case: Case) -> tuple[str, str]:
    """What a user sees: ``(kind, message)``. Multi-line messages show their first line."""
    with _scratch_folder(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            returned = case.run()
        except Exception as err:
            return type(err).__name__, str(err).splitlines()[0]
    user_warnings = [w for w in caught if issubclass(w.category, UserWarning)]
    if user_warnings:
        return f"{user_warnings[0].category.__name__} (warning)", str(user_warnings[0].message).splitlines()[0]
    if isinstance(returned, str):
        return "trial failed", returned
    raise AssertionError(f"case {case.id!r}: nothing went wrong (returned {returned!r})")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """The whole of docs/bad-inputs.md, from the cases and what they show now."""
    head = [
        "# Bad inputs and what you see",
        "",
        "Every bad input we tried, and exactly what sparktune shows (the error type and its first line,",
        'the warning, or the failure recorded on the trial as `result["failure"]["message"]`).',
        "Each row is a case of `tests/unit/test_bad_inputs.py`, which runs it and checks that the row",
        "still matches; regenerate this file with `PYTHONPATH=. python tests/unit/test_bad_inputs.py --write`.",
        "Paths in messages are relative because the cases run in a scratch folder.",
        "",
        f"{len(CASES)} cases.",
        "",
        "| id | area | bad input | what you get | message |",
        "|---|---|---|---|---|",
    ]
    rows = []
    for case in CASES:
        kind, message = observe(case)
        rows.append(f"| {case.id} | {case.area} | {_cell(case.bad_input)} | {kind} | {_cell(message)} |")
    return "\n".join(head + rows) + "\n"


def read_table() -> dict[str, tuple[str, str]]:
    """``{id: (kind, message)}`` from the table in docs/bad-inputs.md."""
    table: dict[str, tuple[str, str]] = {}
    for line in DOC.read_text().splitlines():
        if not line.startswith("| ") or line.startswith("| id |"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in _split_row(line)]
        table[cells[0]] = (cells[3], cells[4])
    return table


def _split_row(line: str) -> list[str]:
    cells, current, i = [], "", 1
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line) and line[i + 1] == "|":
            current += "\\|"
            i += 2
            continue
        if line[i] == "|":
            cells.append(current)
            current = ""
        else:
            current += line[i]
        i += 1
    return cells


def test_the_table_has_one_row_per_case() -> None:
    assert list(read_table()) == [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_shows_what_the_table_says(case: Case) -> None:
    if case.id == "disk-full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    assert observe(case) == read_table()[case.id]


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(render())
        print(f"wrote {DOC} ({len(CASES)} cases)")
    else:
        sys.stdout.write(render())
