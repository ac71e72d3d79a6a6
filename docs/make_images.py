"""Draw one PNG of each kind of sparktune plot into docs/images/, from a real tuning run.

    PYSPARK_PYTHON=$(which python) python docs/make_images.py           # SparkTrials on local[2]
    python docs/make_images.py --no-spark                                # in-process Trials

The run tunes KNN, SVC or a decision tree on scikit-learn's iris data (60 trials, TPE, seed 0).
With Spark, the timeline shows the two task slots of ``local[2]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from sparktune import STATUS_OK, Trials, fmin, hp, plotting, tpe

OUT = Path(__file__).resolve().parent / "images"

X, y = load_iris(return_X_y=True)
SPACE = hp.choice(
    "classifier",
    [
        {"type": "knn", "n_neighbors": hp.choice("n_neighbors", list(range(1, 40)))},
        {
            "type": "svc",
            "C": hp.loguniform("C", np.log(1e-3), np.log(100)),
            "kernel": hp.choice("kernel", ["linear", "poly", "rbf"]),
        },
        {
            "type": "tree",
            "max_depth": hp.choice("max_depth", list(range(1, 12))),
            "criterion": hp.choice("criterion", ["gini", "entropy"]),
        },
    ],
)
MODELS = {"knn": KNeighborsClassifier, "svc": SVC, "tree": DecisionTreeClassifier}


def objective(params: dict[str, object]) -> dict[str, object]:
    params = dict(params)
    model = MODELS[str(params.pop("type"))](**params)
    return {"loss": -cross_val_score(model, X, y, cv=5).mean(), "status": STATUS_OK}


def make_trials(spark: bool) -> Trials:
    if not spark:
        return Trials()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from sparktune import SparkTrials

    session = (
        SparkSession.builder.master("local[2]")
        .appName("make-images")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    return SparkTrials(parallelism=2, spark_session=session.getOrCreate())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-spark", action="store_true", help="run the trials in this process")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    trials = make_trials(not args.no_spark)
    fmin(objective, SPACE, algo=tpe.suggest, max_evals=60, trials=trials, rstate=np.random.default_rng(0),
         show_progressbar=False)  # fmt: skip
    figures = {
        "history": plotting.main_plot_history(trials),
        "histogram": plotting.main_plot_histogram(trials),
        "vars": plotting.main_plot_vars(trials, columns=3, space=SPACE),
        "loss_vs_param": plotting.plot_loss_vs_param(trials, SPACE, labels=["classifier", "C", "n_neighbors"]),
        "best_so_far": plotting.plot_best_so_far(trials),
        "parallel_coordinates": plotting.plot_parallel_coordinates(
            trials, SPACE, labels=["classifier", "C", "kernel", "n_neighbors", "max_depth"]
        ),
        "timeline": plotting.plot_timeline(trials),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        path = args.out / f"{name}.png"
        figure.savefig(path, dpi=90)
        sys.stdout.write(f"{path}\n")


if __name__ == "__main__":
    main()
