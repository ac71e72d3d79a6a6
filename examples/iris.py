"""Tune KNN, SVC and a decision tree on scikit-learn's iris data: the `make demo` job.

Runs unchanged with ``python examples/iris.py`` and with
``spark-submit --master local[2] examples/iris.py``.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from sparktune import STATUS_OK, SparkTrials, fmin, hp, space_eval, tpe

X, y = load_iris(return_X_y=True)

SPACE = hp.choice(
    "classifier",
    [
        {"type": "knn", "n_neighbors": hp.choice("n_neighbors", range(1, 50))},
        {
            "type": "svc",
            "C": hp.loguniform("C", np.log(1e-3), np.log(100)),
            "kernel": hp.choice("kernel", ["linear", "sigmoid", "poly", "rbf"]),
        },
        {
            "type": "tree",
            "max_depth": hp.choice("max_depth", range(1, 20)),
            "criterion": hp.choice("criterion", ["gini", "entropy"]),
        },
    ],
)

MODELS = {"knn": KNeighborsClassifier, "svc": SVC, "tree": DecisionTreeClassifier}


def objective(params: dict[str, object]) -> dict[str, object]:
    params = dict(params)
    model = MODELS[str(params.pop("type"))](**params)
    accuracy = cross_val_score(model, X, y, cv=5).mean()
    return {"loss": -accuracy, "status": STATUS_OK}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    # No session given: SparkTrials uses the active one (spark-submit) or starts an embedded
    # local[*] session configured from conf/, and runs one trial per task slot.
    trials = SparkTrials()
    started = time.perf_counter()
    best = fmin(objective, SPACE, algo=tpe.suggest, max_evals=60, trials=trials, rstate=np.random.default_rng(0))
    elapsed = time.perf_counter() - started
    print(f"\n{len(trials)} trials in {elapsed:.1f} s on {trials.parallelism} Spark task slots")
    print(f"best accuracy: {-trials.best_trial['result']['loss']:.4f}")
    print(f"best point (choice indices): {best}")
    print(f"best configuration: {space_eval(SPACE, best)}")


if __name__ == "__main__":
    main()
