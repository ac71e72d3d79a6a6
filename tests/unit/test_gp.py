"""gp.suggest and its math (sparktune._gp) and encoding (sparktune._gp_space)."""

from __future__ import annotations

import math
from functools import partial

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
from scipy.optimize import approx_fprime
from scipy.special import ndtr

from sparktune import Domain, Trials, _gp, gp, hp, rand
from sparktune._gp_space import INACTIVE, Encoding
from sparktune.exceptions import InvalidArgumentError

# ----------------------------------------------------------------------------- kernel + GP math


def _data(n: int = 20, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = np.sin(6 * x[:, 0]) + x[:, 1] ** 2
    return x, (y - y.mean()) / y.std()


def test_kernel_is_symmetric_psd_with_signal_on_the_diagonal() -> None:
    x, _ = _data(40, 4)
    k = _gp.matern52(x, x, np.array([0.2, 0.5, 1.0, 3.0]), 1.7)
    assert np.allclose(k, k.T)
    assert np.allclose(np.diag(k), 1.7)
    assert np.linalg.eigvalsh(k).min() > -1e-9
    assert np.all(k <= 1.7 + 1e-12) and np.all(k > 0)


def test_kernel_decays_with_distance_per_length_scale() -> None:
    origin = np.zeros((1, 2))
    along = _gp.matern52(origin, np.array([[0.3, 0.0], [0.0, 0.3]]), np.array([0.1, 10.0]), 1.0)[0]
    assert along[0] < 0.1 < 0.99 < along[1]


def test_kernel_gradient_in_x_matches_finite_differences() -> None:
    x, _ = _data(8, 3)
    ls = np.array([0.3, 0.7, 1.5])
    pt = np.array([[0.2, 0.5, 0.9]])
    g = _gp.matern52_grad_x(pt, x, ls, 1.3)[0]  # (n, d)
    for j in range(8):
        fd = approx_fprime(pt[0], lambda p, j=j: float(_gp.matern52(p[None, :], x[j : j + 1], ls, 1.3)[0, 0]), 1e-7)
        assert np.allclose(g[j], fd, atol=1e-5)


def test_marginal_likelihood_gradient_matches_finite_differences() -> None:
    x, y = _data(15, 3)
    prior = _gp.DEFAULT_PRIOR
    theta = np.array([-1.0, -0.5, 0.3, 0.2, -3.0])
    value, grad = _gp.neg_log_posterior(theta, x, y, prior)
    fd = approx_fprime(theta, lambda t: _gp.neg_log_posterior(t, x, y, prior)[0], 1e-6)
    assert math.isfinite(value)
    assert np.allclose(grad, fd, rtol=1e-4, atol=1e-4)


def test_fit_on_a_deterministic_function_has_little_noise_and_finds_the_used_inputs() -> None:
    x, y = _data(30, 4)  # depends on inputs 0 and 1 only
    model = _gp.fit(x, y, np.random.default_rng(0))
    assert model.noise < 1e-4
    assert max(model.lengthscales[:2]) < min(model.lengthscales[2:])
    # the prior keeps unused inputs within reach: the model stays unsure far along them
    assert max(model.lengthscales) < 20.0


def test_posterior_interpolates_training_points() -> None:
    x, y = _data(20, 2)
    model = _gp.fit(x, y, np.random.default_rng(0))
    mean, var = model.predict(x)
    assert np.max(np.abs(mean - y)) < 0.05
    assert np.max(var) < 0.01 * model.signal
    far_mean, far_var = model.predict(np.array([[5.0, 5.0]]))
    assert far_var[0] > 0.9 * model.signal and abs(far_mean[0]) < 0.1


def test_posterior_gradients_match_finite_differences() -> None:
    x, y = _data(20, 3)
    model = _gp.fit(x, y, np.random.default_rng(1))
    pts = np.random.default_rng(2).random((4, 3))
    mean, var, dmean, dvar = model.predict_with_grad(pts)
    m2, v2 = model.predict(pts)
    assert np.allclose(mean, m2) and np.allclose(var, v2)
    for i in range(4):
        fm = approx_fprime(pts[i], lambda p: float(model.predict(p[None, :])[0][0]), 1e-7)
        fv = approx_fprime(pts[i], lambda p: float(model.predict(p[None, :])[1][0]), 1e-7)
        assert np.allclose(dmean[i], fm, atol=1e-4)
        assert np.allclose(dvar[i], fv, atol=1e-4)


def test_log_ei_gradient_matches_finite_differences() -> None:
    x, y = _data(20, 3)
    model = _gp.fit(x, y, np.random.default_rng(1))
    best = float(y.min())
    pts = np.random.default_rng(3).random((3, 3))
    _, grad = _gp.log_ei_with_grad(*model.predict_with_grad(pts), best)
    for i in range(3):
        fd = approx_fprime(pts[i], lambda p: float(_gp.log_ei(*model.predict(p[None, :]), best)[0]), 1e-7)
        assert np.allclose(grad[i], fd, rtol=1e-3, atol=1e-4)


def test_log_ei_is_exact_where_ei_is_representable_and_finite_beyond() -> None:
    z = np.array([8.0, 2.0, 0.0, -1.0, -3.0, -20.0])
    direct = np.log(np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) + z * ndtr(z))
    assert np.allclose(_gp.log_ei(-z, np.ones_like(z), 0.0), direct, rtol=1e-10)
    deep = _gp.log_ei(np.array([50.0, 1e3, 1e5]), np.ones(3), 0.0)
    assert np.all(np.isfinite(deep)) and np.all(np.diff(deep) < 0)
    dz = _gp.log_ei_grad_z(np.array([-1e5, -50.0, 0.0, 5.0]))
    assert np.all(np.isfinite(dz)) and np.all(dz > 0)


def test_conditioning_keeps_hyperparameters_and_pins_the_new_point() -> None:
    x, y = _data(10, 2)
    model = _gp.fit(x, y, np.random.default_rng(0))
    new = np.array([[0.5, 0.5]])
    grown = model.condition(new, np.array([1.23]))
    assert grown.signal == model.signal and np.array_equal(grown.lengthscales, model.lengthscales)
    mean, var = grown.predict(new)
    old_mean, old_var = model.predict(new)
    assert abs(mean[0] - 1.23) < min(0.1, abs(old_mean[0] - 1.23)) and var[0] < old_var[0]


# ----------------------------------------------------------------------------- encoding


def test_encoding_round_trips_continuous_values_and_one_hots_choices() -> None:
    space = Domain(lambda _: 0.0, mixed_space()).space
    enc = Encoding(space)
    cols = space.sample(np.random.default_rng(0), 50)
    x = enc.encode(cols, 50)
    assert x.shape == (50, enc.dims) and np.all((x >= 0) & (x <= 1))
    back = {k: v.copy() for k, v in cols.items()}
    for label in back:
        if space.param(label).kind.name not in ("CHOICE", "RANDINT"):
            back[label][~np.isnan(back[label])] = -1.0
    enc.decode_into(back, np.arange(50), x)
    for label, col in cols.items():
        assert np.allclose(back[label], col, equal_nan=True, rtol=1e-6, atol=1e-6), label
    # the branch choice is one-hot; an inactive numeric parameter sits at INACTIVE
    assert enc.dims == len(space.params) + 3 - 1 + 3 - 1
    a_x = next(s.start for s in enc._slots if s.param.label == "a_x")
    assert np.all(x[np.isnan(cols["a_x"]), a_x] == INACTIVE)


# ----------------------------------------------------------------------------- suggest


def test_points_respect_every_kind_and_condition() -> None:
    trials = run(partial(gp.suggest, n_startup_jobs=5, n_candidates=200), mixed_space(), mixed_loss, 14, seed=3)
    docs = propose(gp.suggest, mixed_space(), trials, 4, seed=5, n_startup_jobs=5, n_candidates=200)
    for doc in [*trials.trials, *docs]:
        check_point(mixed_space(), vals(doc))


def test_startup_trials_come_from_the_prior() -> None:
    docs = propose(gp.suggest, branin_space(), Trials(), 5, seed=1)
    assert [vals(d) for d in docs] == [vals(d) for d in propose(rand.suggest, branin_space(), Trials(), 5, seed=1)]


def test_reproducible_with_a_seed() -> None:
    trials = run(rand.suggest, branin_space(), branin, 12, seed=0)
    a = [vals(d) for d in propose(gp.suggest, branin_space(), trials, 2, seed=9, n_candidates=200)]
    b = [vals(d) for d in propose(gp.suggest, branin_space(), trials, 2, seed=9, n_candidates=200)]
    assert a == b


@pytest.mark.parametrize("liar", gp.LIARS)
def test_batch_points_and_pending_points_are_distinct(liar: str) -> None:
    trials = run(rand.suggest, branin_space(), branin, 12, seed=0)
    docs = propose(gp.suggest, branin_space(), trials, 4, seed=2, n_candidates=300, liar=liar)
    trials.insert_trial_docs(docs)  # now pending
    more = propose(gp.suggest, branin_space(), trials, 1, seed=2, n_candidates=300, liar=liar)
    xs = np.array([[vals(d)["x1"], vals(d)["x2"]] for d in [*docs, *more]]) / 15
    gaps = np.sqrt(((xs[:, None, :] - xs[None, :, :]) ** 2).sum(-1))[np.triu_indices(5, 1)]
    assert gaps.min() > 1e-3


def test_discrete_space_does_not_repeat_tried_points() -> None:
    space = {"a": hp.choice("a", [0, 1, 2]), "b": hp.randint("b", 3)}
    points = [{"a": i % 3, "b": i // 3} for i in range(8)]
    trials = evaluated(space, lambda c: c["a"] + c["b"], points)
    (doc,) = propose(gp.suggest, space, trials, 1, seed=0, n_startup_jobs=2, n_candidates=50)
    assert vals(doc) == {"a": 2, "b": 2}


def test_training_set_is_capped() -> None:
    trials = run(rand.suggest, branin_space(), branin, 40, seed=0)
    docs = propose(gp.suggest, branin_space(), trials, 1, seed=0, max_train=12, n_candidates=100)
    check_point(branin_space(), vals(docs[0]))


@pytest.mark.parametrize(
    "options",
    [{"n_startup_jobs": -1}, {"n_candidates": 0}, {"max_train": 1}, {"n_restarts": 1.5}, {"liar": "median"}],
)
def test_bad_options_are_rejected(options: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError, match=r"gp\.suggest"):
        propose(gp.suggest, branin_space(), Trials(), 1, seed=0, **options)


def test_beats_random_search_on_branin() -> None:
    seeds = range(3)
    algo = partial(gp.suggest, n_candidates=300)
    assert median_best(algo, branin_space(), branin, 25, seeds) < median_best(
        rand.suggest, branin_space(), branin, 25, seeds
    )


def test_infinite_losses_mark_a_region_to_avoid() -> None:
    """The idiom "return inf for a configuration that cannot run": those trials fail but count as
    the worst loss in the model. Ignoring them, GP proposed the infeasible side every time after
    startup on this problem."""
    from sparktune import fmin

    trials = Trials()
    fmin(lambda x: float("inf") if x > 0.5 else (x - 0.45) ** 2, hp.uniform("x", 0, 1), algo=gp.suggest,
         max_evals=40, trials=trials, rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    xs = np.array([t["misc"]["vals"]["x"][0] for t in trials.trials[20:]])
    assert np.mean(xs > 0.5) < 0.5 and trials.best_trial["result"]["loss"] < 1e-3
