"""Benchmark problems: an objective over a config dict, its known optimum, and its search space.

Each search space is written once as a function of an ``hp``-like module, so the same code builds
it with ``hyperopt.hp`` or ``sparktune.hp``. ``optuna_space`` is the Optuna translation: it takes
an Optuna trial and returns a config dict of the same shape as the one ``fmin`` passes to the
objective (choice options are nested dicts, quantized values keep their float type).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Config = Mapping[str, Any]

__all__ = ["PROBLEMS", "QUALITY_SUITE", "SPEED_SPACES", "Problem", "get"]


@dataclass(frozen=True)
class Problem:
    name: str
    objective: Callable[[Config], float]
    space: Callable[[Any], Any]
    optuna_space: Callable[[Any], dict[str, Any]]
    optimum: float | None  # None when unknown (the scikit-learn problem)
    description: str
    prepare: Callable[[], object] | None = None  # one-off setup kept out of timed windows


# --------------------------------------------------------------------------- continuous


def _branin(c: Config) -> float:
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def _branin_space(hp: Any) -> dict[str, Any]:
    return {"x1": hp.uniform("x1", -5, 10), "x2": hp.uniform("x2", 0, 15)}


def _branin_optuna(trial: Any) -> dict[str, Any]:
    return {"x1": trial.suggest_float("x1", -5, 10), "x2": trial.suggest_float("x2", 0, 15)}


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def _vector(c: Config, n: int) -> np.ndarray:
    return np.array([c[f"x{i}"] for i in range(n)], dtype=float)


def _hartmann6(c: Config) -> float:
    x = _vector(c, 6)
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def _rosenbrock5(c: Config) -> float:
    x = _vector(c, 5)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def _ackley5(c: Config) -> float:
    x = _vector(c, 5)
    n = len(x)
    a = -20 * math.exp(-0.2 * math.sqrt(float(np.sum(x**2)) / n))
    return a - math.exp(float(np.sum(np.cos(2 * math.pi * x))) / n) + 20 + math.e


def _box(n: int, low: float, high: float) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    def space(hp: Any) -> dict[str, Any]:
        return {f"x{i}": hp.uniform(f"x{i}", low, high) for i in range(n)}

    def optuna_space(trial: Any) -> dict[str, Any]:
        return {f"x{i}": trial.suggest_float(f"x{i}", low, high) for i in range(n)}

    return space, optuna_space


# --------------------------------------------------------------- conditional mixed (quality)
# Three branches, each with its own parameter kinds. Branch "a" holds the global optimum 0 in a
# narrow basin; "b" and "c" are wide, easy basins with floors 0.2 and 0.4 (deceptive traps).


def _cond_mixed(c: Config) -> float:
    b = c["branch"]
    if b["kind"] == "a":
        return 4 * ((b["a_x"] - 1.5) / 5) ** 2 + (math.log10(b["a_lr"]) + 2) ** 2 / 4 + ((b["a_k"] - 13) / 10) ** 2
    if b["kind"] == "b":
        return 0.2 + (b["b_y"] - 0.7) ** 2 + 0.02 * abs(b["b_n"] - 3)
    return 0.4 + (math.log10(b["c_z"]) - 2) ** 2 / 9 + b["c_w"] ** 2


def _cond_mixed_space(hp: Any) -> dict[str, Any]:
    return {
        "branch": hp.choice(
            "branch",
            [
                {
                    "kind": "a",
                    "a_x": hp.uniform("a_x", -5, 5),
                    "a_lr": hp.loguniform("a_lr", math.log(1e-4), math.log(1.0)),
                    "a_k": hp.quniform("a_k", 0, 20, 1),
                },
                {"kind": "b", "b_y": hp.uniform("b_y", 0, 1), "b_n": hp.randint("b_n", 1, 8)},
                {
                    "kind": "c",
                    "c_z": hp.qloguniform("c_z", math.log(1), math.log(1000), 1),
                    "c_w": hp.uniform("c_w", -1, 1),
                },
            ],
        )
    }


def _cond_mixed_optuna(trial: Any) -> dict[str, Any]:
    kind = trial.suggest_categorical("branch", ["a", "b", "c"])
    if kind == "a":
        branch = {
            "kind": "a",
            "a_x": trial.suggest_float("a_x", -5, 5),
            "a_lr": trial.suggest_float("a_lr", 1e-4, 1.0, log=True),
            "a_k": float(trial.suggest_int("a_k", 0, 20)),
        }
    elif kind == "b":
        branch = {
            "kind": "b",
            "b_y": trial.suggest_float("b_y", 0, 1),
            "b_n": trial.suggest_int("b_n", 1, 7),
        }
    else:
        z = trial.suggest_float("c_z", 1, 1000, log=True)
        branch = {"kind": "c", "c_z": float(max(1, round(z))), "c_w": trial.suggest_float("c_w", -1, 1)}
    return {"branch": branch}


# ------------------------------------------------------------------ 10-D mixed (speed + quality)

_CATS = ("a", "b", "c", "d", "e")
_CAT_PENALTY = {"a": 0.3, "b": 0.1, "c": 0.0, "d": 0.2, "e": 0.4}


def _mixed10(c: Config) -> float:
    lr = math.log10(c["lr"]) + 3
    return (
        ((c["u1"] - 1) / 5) ** 2
        + (c["u2"] - 0.3) ** 2
        + c["u3"] ** 2
        + (lr / 5) ** 2
        + ((c["u1"] - 1) * lr / 25) ** 2
        + ((math.log10(c["reg"]) + 2) / 7) ** 2
        + ((c["q1"] - 40) / 99) ** 2
        + (c["q2"] - 0.5) ** 2
        + _CAT_PENALTY[c["cat"]]
        + ((c["r1"] - 7) / 18) ** 2
        + ((math.log2(c["ql"]) - 6) / 6) ** 2
    )


def _mixed10_space(hp: Any) -> dict[str, Any]:
    return {
        "u1": hp.uniform("u1", -5, 5),
        "u2": hp.uniform("u2", 0, 1),
        "u3": hp.uniform("u3", -1, 1),
        "lr": hp.loguniform("lr", math.log(1e-5), math.log(1.0)),
        "reg": hp.loguniform("reg", math.log(1e-6), math.log(10.0)),
        "q1": hp.quniform("q1", 1, 100, 1),
        "q2": hp.quniform("q2", 0, 1, 0.05),
        "cat": hp.choice("cat", list(_CATS)),
        "r1": hp.randint("r1", 2, 20),
        "ql": hp.qloguniform("ql", math.log(8), math.log(512), 8),
    }


def _mixed10_optuna(trial: Any) -> dict[str, Any]:
    ql = trial.suggest_float("ql", 8, 512, log=True)
    return {
        "u1": trial.suggest_float("u1", -5, 5),
        "u2": trial.suggest_float("u2", 0, 1),
        "u3": trial.suggest_float("u3", -1, 1),
        "lr": trial.suggest_float("lr", 1e-5, 1.0, log=True),
        "reg": trial.suggest_float("reg", 1e-6, 10.0, log=True),
        "q1": float(trial.suggest_int("q1", 1, 100)),
        "q2": trial.suggest_float("q2", 0, 1, step=0.05),
        "cat": trial.suggest_categorical("cat", list(_CATS)),
        "r1": trial.suggest_int("r1", 2, 19),
        "ql": float(max(8, round(ql / 8) * 8)),
    }


# ----------------------------------------------- conditional pipeline-like space (speed + quality)
# A typical "which model, then its settings" space, nested two levels deep, with one shared
# top-level parameter. Optimum 0: svm + rbf kernel + C=10 + gamma=1e-2 + standard scaling.

_SCALING_PENALTY = {"none": 0.05, "standard": 0.0, "minmax": 0.02}


def _pipeline(c: Config) -> float:
    m = c["model"]
    loss = _SCALING_PENALTY[c["scaling"]]
    if m["type"] == "svm":
        loss += ((math.log10(m["svm_C"]) - 1) / 3) ** 2 + ((math.log10(m["svm_gamma"]) + 2) / 3) ** 2
        k = m["svm_kernel"]
        if k["name"] == "poly":
            loss += 0.1 + ((k["poly_degree"] - 3) / 3) ** 2
        return loss
    if m["type"] == "forest":
        return (
            loss
            + 0.05
            + ((m["rf_n"] - 300) / 500) ** 2
            + ((m["rf_depth"] - 12) / 20) ** 2
            + (m["rf_features"] - 0.4) ** 2
            + (0.0 if m["rf_criterion"] == "entropy" else 0.03)
        )
    return loss + 0.15 + ((math.log10(m["lin_C"]) + 1) / 3) ** 2 + (0.0 if m["lin_penalty"] == "l1" else 0.05)


def _pipeline_space(hp: Any) -> dict[str, Any]:
    return {
        "scaling": hp.choice("scaling", ["none", "standard", "minmax"]),
        "model": hp.choice(
            "model",
            [
                {
                    "type": "svm",
                    "svm_C": hp.loguniform("svm_C", math.log(1e-3), math.log(1e3)),
                    "svm_gamma": hp.loguniform("svm_gamma", math.log(1e-5), math.log(1.0)),
                    "svm_kernel": hp.choice(
                        "svm_kernel",
                        [
                            {"name": "rbf"},
                            {"name": "poly", "poly_degree": hp.quniform("poly_degree", 2, 5, 1)},
                        ],
                    ),
                },
                {
                    "type": "forest",
                    "rf_n": hp.quniform("rf_n", 10, 500, 10),
                    "rf_depth": hp.randint("rf_depth", 2, 20),
                    "rf_features": hp.uniform("rf_features", 0.1, 1.0),
                    "rf_criterion": hp.choice("rf_criterion", ["gini", "entropy"]),
                },
                {
                    "type": "linear",
                    "lin_C": hp.loguniform("lin_C", math.log(1e-4), math.log(1e2)),
                    "lin_penalty": hp.choice("lin_penalty", ["l1", "l2"]),
                },
            ],
        ),
    }


def _pipeline_optuna(trial: Any) -> dict[str, Any]:
    scaling = trial.suggest_categorical("scaling", ["none", "standard", "minmax"])
    kind = trial.suggest_categorical("model", ["svm", "forest", "linear"])
    model: dict[str, Any]
    if kind == "svm":
        kernel: dict[str, Any] = {"name": trial.suggest_categorical("svm_kernel", ["rbf", "poly"])}
        if kernel["name"] == "poly":
            kernel["poly_degree"] = float(trial.suggest_int("poly_degree", 2, 5))
        model = {
            "type": "svm",
            "svm_C": trial.suggest_float("svm_C", 1e-3, 1e3, log=True),
            "svm_gamma": trial.suggest_float("svm_gamma", 1e-5, 1.0, log=True),
            "svm_kernel": kernel,
        }
    elif kind == "forest":
        model = {
            "type": "forest",
            "rf_n": float(trial.suggest_int("rf_n", 10, 500, step=10)),
            "rf_depth": trial.suggest_int("rf_depth", 2, 19),
            "rf_features": trial.suggest_float("rf_features", 0.1, 1.0),
            "rf_criterion": trial.suggest_categorical("rf_criterion", ["gini", "entropy"]),
        }
    else:
        model = {
            "type": "linear",
            "lin_C": trial.suggest_float("lin_C", 1e-4, 1e2, log=True),
            "lin_penalty": trial.suggest_categorical("lin_penalty", ["l1", "l2"]),
        }
    return {"scaling": scaling, "model": model}


# ----------------------------------------------------------------------- scikit-learn (real)
# RBF SVC on a fixed 900-sample subset of load_digits, 3-fold CV (~0.06 s CPU per evaluation).
# Loss = 1 - mean CV accuracy; the optimum is unknown (about 0.017 on this subset).


@functools.cache
def _digits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))[:900]
    x, y = x[idx], y[idx]
    return {"unit": (x / 16.0, y), "standard": (StandardScaler().fit_transform(x), y)}


def _prepare_svc() -> None:
    _digits()
    _svc_digits({"C": 1.0, "gamma": 0.01, "scaling": "unit"})  # imports sklearn's CV machinery


def _svc_digits(c: Config) -> float:
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.svm import SVC

    x, y = _digits()[c["scaling"]]
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return 1.0 - float(cross_val_score(SVC(C=c["C"], gamma=c["gamma"]), x, y, cv=cv).mean())


def _svc_space(hp: Any) -> dict[str, Any]:
    return {
        "C": hp.loguniform("C", math.log(1e-2), math.log(1e4)),
        "gamma": hp.loguniform("gamma", math.log(1e-5), math.log(10.0)),
        "scaling": hp.choice("scaling", ["unit", "standard"]),
    }


def _svc_optuna(trial: Any) -> dict[str, Any]:
    return {
        "C": trial.suggest_float("C", 1e-2, 1e4, log=True),
        "gamma": trial.suggest_float("gamma", 1e-5, 10.0, log=True),
        "scaling": trial.suggest_categorical("scaling", ["unit", "standard"]),
    }


# ----------------------------------------------------------------------------- registry

_H6_SPACE, _H6_OPTUNA = _box(6, 0.0, 1.0)
_ROS_SPACE, _ROS_OPTUNA = _box(5, -5.0, 10.0)
_ACK_SPACE, _ACK_OPTUNA = _box(5, -32.768, 32.768)

PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        Problem("branin", _branin, _branin_space, _branin_optuna, 0.397887, "Branin, 2-D"),
        Problem("hartmann6", _hartmann6, _H6_SPACE, _H6_OPTUNA, -3.32237, "Hartmann, 6-D [0,1]"),
        Problem("rosenbrock5", _rosenbrock5, _ROS_SPACE, _ROS_OPTUNA, 0.0, "Rosenbrock, 5-D [-5,10]"),
        Problem("ackley5", _ackley5, _ACK_SPACE, _ACK_OPTUNA, 0.0, "Ackley, 5-D [-32.8,32.8]"),
        Problem(
            "cond_mixed",
            _cond_mixed,
            _cond_mixed_space,
            _cond_mixed_optuna,
            0.0,
            "3-branch choice; uniform/loguniform/quniform/randint/qloguniform; traps at 0.2, 0.4",
        ),
        Problem(
            "svc_digits",
            _svc_digits,
            _svc_space,
            _svc_optuna,
            None,
            "SVC(C, gamma, scaling) on 900 load_digits samples, 1 - 3-fold CV accuracy",
            _prepare_svc,
        ),
        Problem(
            "mixed10",
            _mixed10,
            _mixed10_space,
            _mixed10_optuna,
            0.0,
            "10-D: 3 uniform, 2 loguniform, 2 quniform, 5-way choice, randint, qloguniform",
        ),
        Problem(
            "pipeline",
            _pipeline,
            _pipeline_space,
            _pipeline_optuna,
            0.0,
            "conditional: model choice (svm/forest/linear) with nested kernel choice, 12 params",
        ),
    )
}

# Issue 3's quality suite, and the spaces of its speed figures ("2-D continuous" is Branin's).
QUALITY_SUITE = ("branin", "hartmann6", "rosenbrock5", "ackley5", "cond_mixed", "svc_digits")
SPEED_SPACES = ("mixed10", "pipeline", "branin")


def get(name: str) -> Problem:
    try:
        return PROBLEMS[name]
    except KeyError:
        raise KeyError(f"unknown problem {name!r}; known: {', '.join(PROBLEMS)}") from None
