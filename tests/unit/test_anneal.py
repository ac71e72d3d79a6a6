"""anneal.suggest: Hyperopt's annealing, on the columnar history."""

from __future__ import annotations

import numpy as np
import pytest
from _algos_support import (
    branin,
    branin_space,
    check_point,
    evaluated,
    median_best,
    mixed_loss,
    mixed_space,
    propose,
    run,
    vals,
)

from sparktune import anneal, hp, rand
from sparktune.exceptions import InvalidArgumentError


def test_points_respect_every_kind_and_condition() -> None:
    trials = run(anneal.suggest, mixed_space(), mixed_loss, 40, seed=3, batch=4)
    assert len(trials) == 40
    for doc in trials.trials:
        check_point(mixed_space(), vals(doc))
    for doc in propose(anneal.suggest, mixed_space(), trials, 20, seed=5):
        check_point(mixed_space(), vals(doc))


def test_same_seed_same_proposals_other_seed_other() -> None:
    trials = run(anneal.suggest, mixed_space(), mixed_loss, 15, seed=1)
    a = [vals(d) for d in propose(anneal.suggest, mixed_space(), trials, 4, seed=7)]
    b = [vals(d) for d in propose(anneal.suggest, mixed_space(), trials, 4, seed=7)]
    c = [vals(d) for d in propose(anneal.suggest, mixed_space(), trials, 4, seed=8)]
    assert a == b
    assert a != c


def test_fmin_run_is_reproducible() -> None:
    one = run(anneal.suggest, branin_space(), branin, 30, seed=4).losses()
    two = run(anneal.suggest, branin_space(), branin, 30, seed=4).losses()
    assert one == two


def test_batch_points_are_distinct() -> None:
    trials = run(anneal.suggest, branin_space(), branin, 20, seed=0)
    docs = propose(anneal.suggest, branin_space(), trials, 8, seed=2)
    points = {(v["x1"], v["x2"]) for v in map(vals, docs)}
    assert len(points) == 8


def test_neighbourhood_shrinks_towards_the_best() -> None:
    trials = run(anneal.suggest, hp.uniform("x", -10, 10), lambda x: (x - 3) ** 2, 150, seed=0)
    xs = np.array([vals(d)["x"] for d in trials.trials])
    assert np.std(xs[-30:]) < 0.3 * np.std(xs[:30])
    assert abs(np.median(xs[-30:]) - 3) < 0.5


def test_no_history_draws_from_the_prior() -> None:
    from sparktune import Trials

    docs = propose(anneal.suggest, hp.uniform("x", 0, 1), Trials(), 200, seed=0)
    xs = np.array([vals(d)["x"] for d in docs])
    assert 0.4 < xs.mean() < 0.6 and xs.min() < 0.05 and xs.max() > 0.95


def _two_branch_space() -> object:
    return hp.choice("b", [{"x": hp.uniform("x", 0, 1)}, {"y": hp.uniform("y", 0, 100)}])


def test_switched_branch_starts_near_the_best_trial_that_used_it() -> None:
    points = [{"b": 0, "x": 0.1 * i} for i in range(10)] + [{"b": 1, "y": 50.0}]
    trials = evaluated(_two_branch_space(), lambda c: c.get("x", 10.0), points)
    # "y" was used once: its window is 100 / (1 + 1 * shrink_coef) wide around 50.
    docs = propose(anneal.suggest, _two_branch_space(), trials, 1000, seed=0, shrink_coef=1.0)
    ys = [v["y"] for v in map(vals, docs) if v["b"] == 1]
    assert len(ys) > 5, "the branch switched now and then"
    assert all(abs(y - 50) <= 25 + 1e-9 for y in ys)


def test_branch_never_tried_is_drawn_from_the_prior() -> None:
    points = [{"b": 0, "x": 0.1 * i} for i in range(10)]
    trials = evaluated(_two_branch_space(), lambda c: c["x"], points)
    docs = propose(anneal.suggest, _two_branch_space(), trials, 1000, seed=0, shrink_coef=1.0)
    ys = np.array([v["y"] for v in map(vals, docs) if v["b"] == 1])
    assert len(ys) > 5
    assert ys.min() < 30 and ys.max() > 70


def test_choice_is_kept_more_often_as_trials_accumulate() -> None:
    space = hp.choice("c", ["p", "q", "r", "s"])
    few = evaluated(space, lambda c: 0.0 if c == "r" else 1.0, [{"c": i % 4} for i in range(4)])
    many = evaluated(space, lambda c: 0.0 if c == "r" else 1.0, [{"c": i % 4} for i in range(80)])
    share = [
        np.mean([vals(d)["c"] == 2 for d in propose(anneal.suggest, space, t, 400, seed=1, avg_best_idx=1)])
        for t in (few, many)
    ]
    assert share[1] > share[0] > 0.25


@pytest.mark.parametrize(
    "options", [{"avg_best_idx": 0.5}, {"avg_best_idx": float("nan")}, {"shrink_coef": -1}, {"shrink_coef": "x"}]
)
def test_bad_options_are_rejected(options: dict[str, object]) -> None:
    from sparktune import Trials

    with pytest.raises(InvalidArgumentError, match=r"anneal\.suggest"):
        propose(anneal.suggest, branin_space(), Trials(), 1, seed=0, **options)


def test_beats_random_search_on_branin() -> None:
    seeds = range(8)
    assert median_best(anneal.suggest, branin_space(), branin, 80, seeds) < median_best(
        rand.suggest, branin_space(), branin, 80, seeds
    )
