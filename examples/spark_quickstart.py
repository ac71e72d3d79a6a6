"""Tune a ridge regression on Spark with SparkTrials: the spark-submit smoke example.

Runs with ``python examples/spark_quickstart.py`` (an embedded local Spark session is started)
and with ``spark-submit --master local[2] examples/spark_quickstart.py`` (or any cluster).
Prints one JSON line with the best point and the trial counts.
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np

from sparktune import STATUS_OK, SparkTrials, fmin, hp, rand, space_eval

SPACE = {
    "alpha": hp.loguniform("alpha", np.log(1e-4), np.log(1e2)),
    "degree": hp.choice("degree", [1, 2, 3]),
}


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=200)
    y = 0.5 * x - 1.5 * x**2 + rng.normal(0, 0.1, size=x.size)
    return x, y


X, Y = make_data()  # plain numpy arrays travel with the objective; Spark objects must not


def objective(params: dict[str, float]) -> dict[str, object]:
    degree, alpha = int(params["degree"]), float(params["alpha"])
    features = np.vander(X, degree + 1)
    train, valid = slice(0, 150), slice(150, None)
    gram = features[train].T @ features[train] + alpha * np.eye(degree + 1)
    coef = np.linalg.solve(gram, features[train].T @ Y[train])
    loss = float(np.mean((features[valid] @ coef - Y[valid]) ** 2))
    return {"loss": loss, "status": STATUS_OK}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-evals", type=int, default=40)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    trials = SparkTrials()
    best = fmin(objective, SPACE, algo=rand.suggest, max_evals=args.max_evals, trials=trials, rstate=0)
    summary = {
        "best": space_eval(SPACE, best),
        "best_loss": min(r["loss"] for r in trials.results if r["status"] == STATUS_OK),
        "parallelism": trials.parallelism,
        "channel": trials.last_channel,
        "successful": trials.count_successful_trials(),
        "total": trials.count_total_trials(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
