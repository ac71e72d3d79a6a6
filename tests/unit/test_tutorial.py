"""Hyperopt's tutorial examples, run unchanged but for the import."""

from __future__ import annotations

import numpy as np
import pytest

from sparktune import STATUS_OK, Trials, fmin, hp, rand, space_eval
from sparktune.pyll import stochastic


def test_quadratic_on_uniform_minus8_minus2_goes_to_minus2() -> None:
    best = fmin(
        fn=lambda x: x**2,
        space=hp.uniform("x", -8, -2),
        algo=rand.suggest,
        max_evals=200,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    assert -2.1 < best["x"] <= -2


@pytest.mark.parametrize("max_evals, tol", [(100, 0.6), (1000, 0.15)])
def test_shifted_quadratic(max_evals: int, tol: float) -> None:
    best = fmin(
        lambda x: (x - 3) ** 2,
        hp.uniform("x", -10, 10),
        algo=rand.suggest,
        max_evals=max_evals,
        rstate=np.random.default_rng(1),
        show_progressbar=False,
    )
    assert abs(best["x"] - 3) < tol


def test_case1_case2_choice() -> None:
    space = hp.choice(
        "a",
        [
            ("case 1", 1 + hp.lognormal("c1", 0, 1)),
            ("case 2", hp.uniform("c2", -10, 10)),
        ],
    )

    def objective(args: tuple[str, float]) -> float:
        case, val = args
        return val if case == "case 1" else val**2

    best = fmin(
        objective, space, algo=rand.suggest, max_evals=100, rstate=np.random.default_rng(2), show_progressbar=False
    )
    assert best["a"] == 1 and set(best) == {"a", "c2"}
    case, value = space_eval(space, best)
    assert case == "case 2" and value == best["c2"]


def test_stochastic_sample_of_dict_space() -> None:
    space = {"x": hp.uniform("x", 0, 1), "y": hp.choice("y", ["a", "b"]), "const": 3}
    point = stochastic.sample(space, rng=np.random.default_rng(0))
    assert set(point) == {"x", "y", "const"}
    assert 0 <= point["x"] <= 1 and point["y"] in ("a", "b") and point["const"] == 3


def test_trials_inspection() -> None:
    trials = Trials()

    def objective(x: float) -> dict[str, object]:
        return {"loss": x**2, "status": STATUS_OK, "eval_note": "kept"}

    fmin(objective, hp.uniform("x", -10, 10), algo=rand.suggest, max_evals=20, trials=trials, show_progressbar=False)
    assert len(trials.trials) == 20
    first = trials.trials[0]
    x = first["misc"]["vals"]["x"][0]
    assert first["result"]["loss"] == pytest.approx(x**2)
    assert first["result"]["eval_note"] == "kept"
    assert trials.losses() == [t["result"]["loss"] for t in trials.trials]
    assert trials.statuses() == ["ok"] * 20
    assert trials.best_trial["result"]["loss"] == min(trials.losses())


@pytest.mark.parametrize("model", ["knn", "svc", "tree"])
def test_iris_models(model: str) -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    X, y = datasets.load_iris(return_X_y=True)
    spaces = {
        "knn": {"n_neighbors": hp.choice("n_neighbors", range(1, 50))},
        "svc": {"C": hp.uniform("C", 0, 20), "kernel": hp.choice("kernel", ["linear", "sigmoid", "poly", "rbf"])},
        "tree": {
            "max_depth": hp.choice("max_depth", range(1, 20)),
            "criterion": hp.choice("criterion", ["gini", "entropy"]),
        },
    }
    makers = {
        "knn": KNeighborsClassifier,
        "svc": lambda **p: SVC(**{**p, "C": max(p["C"], 1e-3)}),
        "tree": DecisionTreeClassifier,
    }

    def objective(params: dict[str, object]) -> dict[str, object]:
        acc = cross_val_score(makers[model](**params), X, y, cv=3).mean()
        return {"loss": -acc, "status": STATUS_OK}

    trials = Trials()
    best = fmin(objective, spaces[model], algo=rand.suggest, max_evals=15, trials=trials,
                rstate=np.random.default_rng(3), show_progressbar=False)  # fmt: skip
    assert -trials.best_trial["result"]["loss"] > 0.9
    params = space_eval(spaces[model], best)
    assert set(params) == set(spaces[model])
