"""MLflowLogger against a real local MLflow tracking store (sqlite in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")

from sparktune import STATUS_FAIL, STATUS_OK, Trials, fmin, hp, rand  # noqa: E402
from sparktune.integrations.mlflow import MLflowLogger, flatten_params  # noqa: E402

SPACE = {
    "lr": hp.loguniform("lr", -5, 0),
    "model": hp.choice("model", [{"type": "svm", "C": hp.uniform("C", 1, 10)}, {"type": "tree"}]),
}


def objective(p: dict) -> dict:
    if p["lr"] > 0.1:
        return {"status": STATUS_FAIL}
    return {"loss": p["lr"], "status": STATUS_OK, "accuracy": 1 - p["lr"], "note": "text is not a metric"}


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store for the module (creating its tables takes seconds); tests use their own experiments."""
    path: Path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    return f"sqlite:///{path}"


def runs(uri: str, experiment: str) -> list:  # type: ignore[type-arg]
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], max_results=1000)


def test_parent_and_one_child_per_trial_with_values(uri: str) -> None:
    trials = Trials()
    with MLflowLogger(trials, SPACE, experiment_name="search", tracking_uri=uri, tags={"team": "t"}) as log:
        fmin(objective, SPACE, algo=rand.suggest, max_evals=8, trials=trials, rstate=np.random.default_rng(4),
             show_progressbar=False)  # fmt: skip
    all_runs = runs(uri, "search")
    parents = [r for r in all_runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in all_runs if r.data.tags.get("mlflow.parentRunId") == log.parent_run_id]
    (parent,) = parents
    assert parent.info.run_id == log.parent_run_id and parent.info.status == "FINISHED"
    assert parent.data.tags["team"] == "t"
    assert len(children) == 8 == len(log.child_run_ids)
    by_tid = {int(c.data.tags["sparktune.tid"]): c for c in children}
    for record in trials.records:
        child = by_tid[record.tid]
        assert child.data.params["model.type"] in ("svm", "tree"), "choices are logged as values"
        assert float(child.data.params["lr"]) == pytest.approx(record.vals["lr"])
        assert ("model.C" in child.data.params) == ("C" in record.vals)
        assert child.data.metrics["duration_s"] >= 0
        assert "note" not in child.data.metrics
        if record.loss is not None:
            assert child.data.tags["status"] == "ok" and child.info.status == "FINISHED"
            assert child.data.metrics["loss"] == pytest.approx(record.loss)
            assert child.data.metrics["accuracy"] == pytest.approx(1 - record.loss)
        else:
            assert child.data.tags["status"] == "fail" and child.info.status == "FAILED"
            assert "loss" not in child.data.metrics
    n_ok = sum(r.loss is not None for r in trials.records)
    assert 0 < n_ok < 8, "the seed should give both outcomes"
    assert parent.data.metrics["best_loss"] == pytest.approx(trials.best_loss())
    assert parent.data.metrics["n_ok"] == n_ok and parent.data.metrics["n_failed"] == 8 - n_ok
    assert parent.data.params["best.tid"] == str(trials.best_trial["tid"])
    assert float(parent.data.params["best.lr"]) == pytest.approx(trials.argmin["lr"])


def test_without_space_logs_raw_points_and_listener_is_removed(uri: str) -> None:
    trials = Trials()
    with MLflowLogger(trials, experiment_name="raw", tracking_uri=uri) as log:
        fmin(objective, SPACE, algo=rand.suggest, max_evals=3, trials=trials, rstate=np.random.default_rng(1),
             show_progressbar=False, catch_eval_exceptions=True)  # fmt: skip
    assert trials._listeners == []
    child = mlflow.MlflowClient(tracking_uri=uri).get_run(log.child_run_ids[0])
    assert child.data.params["model"] in ("0", "1")


def test_active_run_becomes_the_parent_and_stays_open(uri: str) -> None:
    mlflow.set_tracking_uri(uri)
    try:
        mlflow.set_experiment("outer")
        with mlflow.start_run() as outer:
            trials = Trials()
            with MLflowLogger(trials, SPACE) as log:
                fmin(objective, SPACE, algo=rand.suggest, max_evals=2, trials=trials,
                     rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
            assert log.parent_run_id == outer.info.run_id
            assert mlflow.MlflowClient().get_run(outer.info.run_id).info.status == "RUNNING"
        children = [r for r in runs(uri, "outer") if r.data.tags.get("mlflow.parentRunId") == outer.info.run_id]
        assert len(children) == 2
    finally:
        mlflow.set_tracking_uri("")


def test_parent_is_failed_when_fmin_raises(uri: str) -> None:
    trials = Trials()

    def broken(p: dict) -> float:
        raise ValueError("boom")

    logger = MLflowLogger(trials, SPACE, experiment_name="failing", tracking_uri=uri)
    with pytest.raises(ValueError, match="boom"), logger as log:
        fmin(broken, SPACE, algo=rand.suggest, max_evals=3, trials=trials, show_progressbar=False)
    client = mlflow.MlflowClient(tracking_uri=uri)
    assert client.get_run(log.parent_run_id).info.status == "FAILED"
    (child,) = [client.get_run(r) for r in log.child_run_ids.values()]
    assert child.info.status == "FAILED" and "ValueError: boom" in child.data.tags["failure"]


def test_flatten_params() -> None:
    assert flatten_params({"a": {"b": 1, "c": [2, "x"]}, "d": None}) == {"a.b": 1, "a.c.0": 2, "a.c.1": "x", "d": None}
    assert flatten_params(3.5) == {"value": 3.5}


def test_rejects_non_trials() -> None:
    with pytest.raises(TypeError, match="trials must be a sparktune Trials"):
        MLflowLogger([])  # type: ignore[arg-type]


def test_names_mlflow_refuses_are_cleaned_and_the_run_is_closed(uri: str) -> None:
    trials = Trials()
    with MLflowLogger(trials, SPACE, experiment_name="names", tracking_uri=uri) as log:
        fmin(lambda p: {"loss": p["lr"], "val:acc@5": 0.5}, SPACE, algo=rand.suggest, max_evals=2, trials=trials,
             show_progressbar=False)  # fmt: skip
    children = [r for r in runs(uri, "names") if r.data.tags.get("mlflow.parentRunId") == log.parent_run_id]
    assert len(children) == 2 and all(c.info.status == "FINISHED" for c in children)
    assert all(c.data.metrics["val_acc_5"] == 0.5 for c in children)


def test_an_unreachable_server_costs_one_warning_not_the_search(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    trials = Trials()
    with MLflowLogger(trials, SPACE, experiment_name="nowhere", tracking_uri="http://127.0.0.1:9"):
        best = fmin(objective, SPACE, algo=rand.suggest, max_evals=5, trials=trials, show_progressbar=False)
    assert len(trials) == 5 and best == trials.argmin
    stopped = [r for r in caplog.records if "MLflow logging stopped" in r.getMessage()]
    assert len(stopped) == 1
