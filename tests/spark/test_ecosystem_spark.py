"""Plots, MLflow, scikit-learn search, the command and the examples on real Spark."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pytest

from sparktune import SparkTrials, fmin, hp, plotting, rand

ROOT = Path(__file__).resolve().parents[2]

# Objectives defined here travel by value: this test module is not importable on the executors.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), out.get("PYTHONPATH")) if p)
    out["PYSPARK_PYTHON"] = sys.executable
    out["PYSPARK_DRIVER_PYTHON"] = sys.executable
    out["SPARK_LOCAL_IP"] = "127.0.0.1"
    out["SPARKTUNE_PROGRESS"] = "text"
    return out


def spark_submit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    import pyspark

    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    command = [str(submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env(), timeout=600)


def sleepy(x: float) -> float:
    time.sleep(0.3)
    return (x - 0.5) ** 2


@pytest.fixture(scope="module")
def run(classic: Any) -> SparkTrials:
    """Eight trials of 0.3 s on two slots, with a listener recording where it ran."""
    trials = SparkTrials(parallelism=2, spark_session=classic)
    threads: list[str] = []
    trials.add_listener(lambda t: threads.append(threading.current_thread().name))
    fmin(sleepy, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=8, trials=trials,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    trials.listener_threads = threads  # type: ignore[attr-defined]
    return trials


def test_listeners_run_on_the_driver_loop(run: SparkTrials) -> None:
    assert run.listener_threads == [threading.current_thread().name] * 8  # type: ignore[attr-defined]


def test_timeline_has_one_row_per_task_slot(run: SparkTrials) -> None:
    import matplotlib

    matplotlib.use("Agg")
    (ax,) = plotting.plot_timeline(run).axes
    assert len(ax.patches) == 8
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert len(rows) == 2, rows
    assert len({r.worker for r in run.records}) == 2
    # each slot ran its trials one after another: bars of one row never overlap
    for y in range(2):
        bars = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches if round(p.get_y() + 0.35) == y)
        assert all(end <= nxt + 1e-3 for (_, end), (nxt, _) in itertools.pairwise(bars))


def test_mlflow_child_runs_from_spark_trials(classic: Any, tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    from sparktune.integrations.mlflow import MLflowLogger

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    trials = SparkTrials(parallelism=2, spark_session=classic)
    space = {"x": hp.uniform("x", 0, 1), "kind": hp.choice("kind", ["a", "b"])}
    with MLflowLogger(trials, space, experiment_name="spark", tracking_uri=uri) as log:
        fmin(lambda p: p["x"], space, algo=rand.suggest, max_evals=4, trials=trials, show_progressbar=False)
    client = mlflow.MlflowClient(tracking_uri=uri)
    children = [client.get_run(r) for r in log.child_run_ids.values()]
    assert len(children) == 4
    assert {c.data.params["kind"] for c in children} <= {"a", "b"}
    assert all("stage" in c.data.tags["sparktune.worker"] for c in children), "workers are Spark tasks"


def test_sklearn_search_ships_the_data_once_per_fit(classic: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from sparktune import _spark_executor
    from sparktune.integrations.sklearn import SparktuneSearchCV

    payloads: list[int] = []
    original = _spark_executor.serialize_with_broadcasts

    def counting(obj: Any, fn: Any = None, **kwargs: Any) -> tuple[bytes, list[Any]]:
        payload, broadcasts = original(obj, fn, **kwargs)
        payloads.append(len(payload))
        return payload, broadcasts

    monkeypatch.setattr(_spark_executor, "serialize_with_broadcasts", counting)
    X, y = load_digits(return_X_y=True)
    trials = SparkTrials(parallelism=2, spark_session=classic)
    search = SparktuneSearchCV(LogisticRegression(max_iter=200), {"C": hp.loguniform("C", -4, 1)}, max_evals=6, cv=2,
                               trials=trials, algo=rand.suggest, random_state=0)  # fmt: skip
    search.fit(X, y)
    assert len(payloads) == 1 and payloads[0] > X.nbytes, "one payload per fit, holding the data"
    assert len(search.cv_results_["params"]) == 6 and search.best_score_ > 0.85
    assert {r.worker for r in trials.records} and all("stage" in (r.worker or "") for r in trials.records)


def test_spark_submit_runs_the_command(tmp_path: Path) -> None:
    out = spark_submit(str(ROOT / "sparktune" / "__main__.py"), str(ROOT / "examples" / "quadratic_job.py"),
                       "--spark", "--max-evals", "6", "--trials-out", "t.json", cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    # spark-submit's Python shares stdout with pyspark's own warnings: look for our lines.
    assert any(line.startswith("sparktune: 6 trials (ok 6)") for line in out.stdout.splitlines()), out.stdout
    rows = json.loads((tmp_path / "t.json").read_text())
    assert all("stage" in r["worker"] for r in rows), "the trials ran as Spark tasks"
    assert "sparktune: 6/6 trials done" in out.stdout + out.stderr, "progress as plain lines in the driver log"


def test_spark_submit_runs_the_sklearn_example_unchanged(tmp_path: Path) -> None:
    out = spark_submit(str(ROOT / "examples" / "sklearn_search.py"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "16 candidates" in out.stdout and "2 at a time" in out.stdout and "best parameters:" in out.stdout


def test_python_runs_the_mlflow_example_unchanged(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    e = env()
    e["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'm.db'}"
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "mlflow_search.py")], capture_output=True,
                         text=True, cwd=tmp_path, env=e, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "child runs: 12" in out.stdout
