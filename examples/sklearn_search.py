"""Cross-validated search of an SVC on scikit-learn's digits, with the candidates on Spark.

    python examples/sklearn_search.py
    spark-submit --master local[2] examples/sklearn_search.py
    spark-submit --master spark://host:7077 examples/sklearn_search.py

The digits data (1,797 x 64) is serialized once per ``fit`` with the objective and reaches each
Spark Python worker once; the trials only carry their parameters.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from sparktune import SparkTrials, hp
from sparktune.integrations.sklearn import SparktuneSearchCV


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    space = {
        "C": hp.loguniform("C", np.log(1e-2), np.log(1e3)),
        "gamma": hp.loguniform("gamma", np.log(1e-5), np.log(1e-1)),
        "kernel": hp.choice("kernel", ["rbf", "poly"]),
    }
    trials = SparkTrials()  # the spark-submit session, or a local one under plain python
    search = SparktuneSearchCV(SVC(), space, max_evals=16, cv=3, trials=trials, random_state=0)
    started = time.perf_counter()
    search.fit(X_train, y_train)
    elapsed = time.perf_counter() - started
    print(f"{search.n_trials_} candidates in {elapsed:.1f} s, {trials.parallelism} at a time on Spark")
    print(f"best parameters: {search.best_params_}")
    print(f"cross-validated accuracy: {search.best_score_:.4f}; held-out accuracy: {search.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
