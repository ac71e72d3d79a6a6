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

from sparktune import Domain, anneal, hp, rand
from sparktune._neighbourhood import one_fifth_factor, sample_near, success_factors
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


def test_one_fifth_factor_widens_on_success_and_narrows_on_failure() -> None:
    improving = np.arange(10.0)[::-1]  # every trial a new best
    one_in_five = np.array([10.0 - i // 5 if i % 5 == 0 else 10.0 for i in range(40)])
    stuck = np.array([1.0] + [5.0] * 60)
    assert one_fifth_factor(improving, 0.2, 0.1) == 1.0
    assert one_fifth_factor(one_in_five, 0.2, 0.1) == pytest.approx(np.exp(-0.2))
    assert one_fifth_factor(stuck, 0.2, 0.1) == pytest.approx(0.1)


def test_success_factors_follow_the_trials_of_each_branch() -> None:
    # Branch 0 holds the best loss and stopped improving; branch 1 improves at every trial.
    points = [{"b": 0, "x": 0.5}] + [{"b": 0, "x": 0.9}] * 40 + [{"b": 1, "y": 90.0 - i} for i in range(5)]
    trials = evaluated(_two_branch_space(), lambda c: c["x"] if "x" in c else c["y"], points)
    view = trials.history()
    space = Domain(lambda _: 0.0, _two_branch_space()).space
    columns = {label: view.column(label) for label in space.labels}
    factors = success_factors(space, columns, view.ok, view.losses, 0.2, 0.1)
    assert set(factors) == {"x", "y"}  # choices have none
    assert factors["x"] < 0.2 and factors["y"] == 1.0


def test_success_rule_narrows_a_stalled_search_and_can_be_turned_off() -> None:
    space = hp.uniform("x", 0, 100)
    points = [{"x": 50.0}] + [{"x": 5.0 + i % 3} for i in range(60)]
    trials = evaluated(space, lambda x: abs(x - 50), points)

    def spread(**options: object) -> float:
        docs = propose(anneal.suggest, space, trials, 300, seed=0, avg_best_idx=1, **options)
        return float(np.max(np.abs(np.array([vals(d)["x"] for d in docs]) - 50)))

    hyperopt_half = 0.5 * 100 / (1 + 61 * 0.1)
    assert hyperopt_half * 0.9 < spread(success_rule=False) <= hyperopt_half
    assert spread() <= 0.1 * hyperopt_half + 1e-9


def test_equal_losses_rank_the_newest_trial_first() -> None:
    space = hp.uniform("x", 0, 100)
    trials = evaluated(space, lambda x: 0.0, [{"x": 10.0}, {"x": 90.0}])
    docs = propose(anneal.suggest, space, trials, 50, seed=0, avg_best_idx=1, shrink_coef=10.0)
    assert all(abs(vals(d)["x"] - 90) < 5 for d in docs)


def test_a_switched_choice_continues_from_a_trial_that_made_it() -> None:
    space = Domain(lambda _: 0.0, {"c": hp.choice("c", [0, 1]), "x": hp.uniform("x", 0, 1)}).space
    columns = {"c": np.array([0.0, 0.0, 1.0]), "x": np.array([0.1, 0.12, 0.9])}
    ranked = np.array([0, 1, 2])  # the trials with c = 0 are the best
    out = sample_near(
        space,
        columns,
        ranked,
        np.random.default_rng(0),
        400,
        avg_best_idx=1.0,
        shrink=lambda label: 0.5 if label == "c" else 0.02,
    )
    switched = out["c"] == 1
    assert 100 < switched.sum() < 300
    assert np.all(np.abs(out["x"][switched] - 0.9) <= 0.01 + 1e-9)
    assert np.all(out["x"][~switched] < 0.2)


@pytest.mark.parametrize("param", [hp.choice("c", ["p", "q", "r"]), hp.randint("c", 2, 5)])
def test_a_redrawn_discrete_value_is_another_one(param: object) -> None:
    space = Domain(lambda _: 0.0, param).space
    first = 0.0 if space.params[0].kind.value == "choice" else 2.0
    out = sample_near(
        space,
        {"c": np.array([first])},
        np.array([0]),
        np.random.default_rng(0),
        300,
        avg_best_idx=1.0,
        shrink=lambda label: 1.0,
    )
    values, counts = np.unique(out["c"], return_counts=True)
    assert first not in values and len(values) == 2 and counts.min() > 100
