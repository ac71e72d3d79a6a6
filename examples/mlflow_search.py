"""Log a SparkTrials search to MLflow: a parent run, and one child run per trial.

    python examples/mlflow_search.py
    spark-submit --master local[2] examples/mlflow_search.py
    MLFLOW_TRACKING_URI=http://mlflow:5000 python examples/mlflow_search.py

Without ``MLFLOW_TRACKING_URI`` it logs to ``sqlite:///mlflow.db`` in a temporary directory.
Only this driver talks to MLflow; the Spark executors do not need it.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

from sparktune import STATUS_OK, SparkTrials, fmin, hp, space_eval, tpe
from sparktune.integrations.mlflow import MLflowLogger

X, y = load_wine(return_X_y=True)
SPACE = {
    "n_estimators": hp.choice("n_estimators", [10, 30, 60]),
    "max_depth": hp.quniform("max_depth", 2, 10, 1),
    "criterion": hp.choice("criterion", ["gini", "entropy"]),
}


def objective(params: dict) -> dict:
    model = RandomForestClassifier(
        n_estimators=params["n_estimators"], max_depth=int(params["max_depth"]), criterion=params["criterion"],
        random_state=0,
    )  # fmt: skip
    accuracy = cross_val_score(model, X, y, cv=3).mean()
    return {"loss": -accuracy, "accuracy": accuracy, "status": STATUS_OK}


def main() -> None:
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{tempfile.mkdtemp()}/mlflow.db"
    trials = SparkTrials()  # the spark-submit session, or a local one under plain python
    with MLflowLogger(trials, SPACE, experiment_name="sparktune-wine", tracking_uri=uri) as log:
        best = fmin(objective, SPACE, algo=tpe.suggest, max_evals=12, trials=trials, rstate=np.random.default_rng(0),
                    show_progressbar=False)  # fmt: skip
    client = mlflow.MlflowClient(tracking_uri=uri)
    parent = client.get_run(log.parent_run_id)
    print(f"tracking URI: {uri}")
    print(f"parent run {parent.info.run_id}: best_loss={parent.data.metrics['best_loss']:.4f}")
    print(f"child runs: {len(log.child_run_ids)}")
    print(f"best: {space_eval(SPACE, best)}")


if __name__ == "__main__":
    main()
