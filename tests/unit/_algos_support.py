"""Shared helpers for the algorithm tests: spaces, objectives, and calling ``suggest`` directly."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from sparktune import Domain, Trials, fmin, hp

Suggest = Callable[..., list[dict[str, Any]]]


def mixed_space() -> dict[str, Any]:
    """Every parameter kind, with a conditional branch holding its own parameters."""
    return {
        "u": hp.uniform("u", -2, 3),
        "qu": hp.quniform("qu", 0, 10, 2.5),
        "lu": hp.loguniform("lu", math.log(1e-3), math.log(10)),
        "qlu": hp.qloguniform("qlu", math.log(1), math.log(100), 5),
        "n": hp.normal("n", 1, 2),
        "qn": hp.qnormal("qn", 0, 5, 0.5),
        "ln": hp.lognormal("ln", 0, 1),
        "qln": hp.qlognormal("qln", 1, 0.5, 1),
        "ri": hp.randint("ri", 3, 9),
        "ui": hp.uniformint("ui", 2, 7),
        "branch": hp.choice(
            "branch",
            [
                {"kind": "a", "a_x": hp.uniform("a_x", 0, 1)},
                {"kind": "b", "b_k": hp.randint("b_k", 4), "b_c": hp.choice("b_c", ["p", "q", "r"])},
                {"kind": "c"},
            ],
        ),
    }


def mixed_loss(c: dict[str, Any]) -> float:
    b = c["branch"]
    extra = {"a": lambda: (b["a_x"] - 0.3) ** 2, "b": lambda: 0.1 * b["b_k"], "c": lambda: 0.5}[b["kind"]]()
    return float((c["u"] - 1) ** 2 + abs(math.log(c["lu"])) / 10 + (c["ri"] - 5) ** 2 / 10 + extra)


def run(algo: Suggest, space: Any, fn: Callable[[Any], float], n: int, seed: int, batch: int = 1) -> Trials:
    trials = Trials()
    fmin(
        fn,
        space,
        algo=algo,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(seed),
        max_queue_len=batch,
        show_progressbar=False,
    )
    return trials


def propose(algo: Suggest, space: Any, trials: Trials, k: int, seed: int, **options: Any) -> list[dict[str, Any]]:
    """Call ``algo`` directly for ``k`` new ids on ``trials``."""
    domain = Domain(lambda _: 0.0, space)
    return algo(trials.new_trial_ids(k), domain, trials, seed, **options)


def vals(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v[0] for k, v in doc["misc"]["vals"].items() if v}


def check_point(space: Any, point: dict[str, Any]) -> None:
    """Every active parameter present, typed and inside its support; inactive ones absent."""
    compiled = Domain(lambda _: 0.0, space).space
    assert set(point) == set(compiled.active_labels(point))
    for label, v in point.items():
        p = compiled.param(label)
        if p.kind.is_integer:
            assert isinstance(v, int), (label, v)
        else:
            assert isinstance(v, float), (label, v)
        if p.kind.name == "CHOICE":
            assert 0 <= v < p.n_options
        elif p.kind.name == "RANDINT":
            assert p.low <= v < p.high
        elif p.kind.is_bounded:
            lo, hi = (math.exp(p.low), math.exp(p.high)) if p.kind.is_log else (p.low, p.high)
            slack = (p.q or 0.0) / 2 + 1e-9  # rounding to the grid may cross a bound by q/2
            assert lo - slack <= v <= hi + slack, (label, v)
        if p.kind.is_log:
            assert v >= 0
        if p.kind.is_quantized:
            q = 1.0 if p.kind.name == "UNIFORMINT" else p.q
            assert abs(v / q - round(v / q)) < 1e-9, (label, v)
    compiled.evaluate(point)  # builds the user's structure without error


def branin(c: dict[str, float]) -> float:
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def branin_space() -> dict[str, Any]:
    return {"x1": hp.uniform("x1", -5, 10), "x2": hp.uniform("x2", 0, 15)}


def median_best(algo: Suggest, space: Any, fn: Callable[[Any], float], n: int, seeds: range) -> float:
    return float(np.median([min(x for x in run(algo, space, fn, n, s).losses() if x is not None) for s in seeds]))


def evaluated(space: Any, fn: Callable[[Any], float], points: list[dict[str, Any]]) -> Trials:
    """A ``Trials`` holding ``points`` (``{label: value}``, choices as indices), all evaluated by ``fn``."""
    from sparktune import rand

    trials = Trials()
    fmin(
        fn,
        space,
        algo=rand.suggest,
        max_evals=len(points),
        trials=trials,
        points_to_evaluate=points,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    return trials
