"""The TPE math: CDFs, densities, sampling, bandwidths, categorical priors, block scoring."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparktune import _parzen as P


def _dims(
    lo: float = 0.0,
    hi: float = 1.0,
    *,
    log: bool = False,
    q: float = 0.0,
    vmin: float = -math.inf,
    vmax: float = math.inf,
    mu: float | None = None,
    sigma: float | None = None,
    cat_probs: list[float] | None = None,
) -> P.Dims:
    """One numeric column (block 0) and, optionally, one categorical column (block 1)."""
    mu = 0.5 * (lo + hi) if mu is None else mu
    sigma = (hi - lo) if sigma is None else sigma
    with np.errstate(divide="ignore"):
        cat = np.log(np.asarray([cat_probs])) if cat_probs is not None else np.zeros((0, 0))
    return P.Dims(
        lo=np.array([lo]),
        hi=np.array([hi]),
        log=np.array([log]),
        q=np.array([q]),
        vmin=np.array([vmin]),
        vmax=np.array([vmax]),
        prior_mu=np.array([mu]),
        prior_sigma=np.array([sigma]),
        cat_logp=cat,
        block=np.array([0, 1] if cat_probs is not None else [0]),
    )


def _fit(dims: P.Dims, z: list[float], cats: list[int] | None = None, prior_weight: float = 1.0) -> P.Mixture:
    n = len(z)
    c = np.array(cats, dtype=np.int64).reshape(n, 1) if cats is not None else np.zeros((n, 0), dtype=np.int64)
    return P.fit(
        dims, np.array(z, dtype=float).reshape(n, 1), c, np.ones(n), np.ones((n, dims.n_blocks), bool), prior_weight
    )


def _density(mix: P.Mixture, dims: P.Dims, values: np.ndarray, cats: np.ndarray | None = None) -> np.ndarray:
    c = np.zeros((len(values), 0), dtype=np.int64) if cats is None else cats
    return np.exp(P.log_density(mix, dims, values.reshape(-1, 1), c)[0])


@pytest.mark.parametrize("lo, hi", [(0.0, 1.0), (-5.0, 10.0), (-math.inf, math.inf)])
def test_continuous_density_integrates_to_one(lo: float, hi: float) -> None:
    if math.isinf(lo):
        dims = _dims(lo, hi, mu=0.0, sigma=2.0)
        grid = np.linspace(-40, 40, 80001)
        obs = [-1.0, 0.3, 4.0]
    else:
        dims = _dims(lo, hi)
        grid = np.linspace(lo, hi, 20001)
        obs = [lo, lo + 0.1 * (hi - lo), hi]  # kernels at the bounds are truncated
    mix = _fit(dims, obs)
    dens = _density(mix, dims, grid)[:, 0]
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=2e-4)


def test_log_uniform_density_integrates_to_one_in_log_space() -> None:
    dims = _dims(math.log(1e-4), math.log(1.0), log=True)
    mix = _fit(dims, [math.log(1e-3), math.log(0.2)])
    zgrid = np.linspace(math.log(1e-4), 0.0, 20001)
    dens = _density(mix, dims, np.exp(zgrid))[:, 0]  # density in z, evaluated at the values
    assert np.trapezoid(dens, zgrid) == pytest.approx(1.0, abs=2e-4)


@pytest.mark.parametrize(
    "dims, values",
    [
        (_dims(1.0, 100.0, q=1.0), np.arange(1.0, 101.0)),
        (_dims(0.0, 1.0, q=0.05), np.round(np.arange(0, 1.0001, 0.05), 10)),
        (_dims(math.log(8), math.log(512), log=True, q=8.0), np.arange(8.0, 513.0, 8.0)),
        (_dims(1.5, 19.5, q=1.0, vmin=2, vmax=19), np.arange(2.0, 20.0)),  # randint(2, 20)
    ],
)
def test_quantized_masses_sum_to_one(dims: P.Dims, values: np.ndarray) -> None:
    z_obs = dims.to_z(np.array([values[0], values[len(values) // 3], values[-1]]))
    mix = _fit(dims, list(z_obs))
    masses = _density(mix, dims, values)[:, 0]
    assert masses.sum() == pytest.approx(1.0, abs=1e-4)
    assert np.all(masses > 0)


def test_samples_respect_bounds_and_quantization() -> None:
    rng = np.random.default_rng(0)
    dims = _dims(0.0, 1.0, q=0.05)
    mix = _fit(dims, [0.0, 0.02, 1.0])
    values, _ = P.sample(mix, dims, rng, 5000)
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert np.allclose(values / 0.05, np.round(values / 0.05))
    cont = _dims(-2.0, 3.0)
    mix = _fit(cont, [-2.0, 3.0, 2.99])
    values, _ = P.sample(mix, cont, rng, 5000)
    assert values.min() >= -2.0 and values.max() <= 3.0


def _truncated_mean(mu: float, sigma: float, lo: float, hi: float) -> float:
    def pdf(x: float) -> float:
        return 0.0 if math.isinf(x) else math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    def cdf(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2))

    a, b = (lo - mu) / sigma, (hi - mu) / sigma
    return mu + sigma * (pdf(a) - pdf(b)) / (cdf(b) - cdf(a))


@pytest.mark.parametrize("oversample", [1, 4])
def test_truncated_draws_follow_the_truncated_normal(monkeypatch: pytest.MonkeyPatch, oversample: int) -> None:
    # With one draw per round, most entries of the second column need further rounds.
    monkeypatch.setattr(P, "_OVERSAMPLE", oversample)
    lo, hi = np.array([0.0, -1.0]), np.array([np.inf, 0.5])
    mu, sigma = np.tile([0.0, 0.4], (20000, 1)), np.tile([1.0, 2.0], (20000, 1))
    x = P._truncated_normal(mu, sigma, lo, hi, np.random.default_rng(5))
    assert (x >= lo).all() and (x <= hi).all()
    assert x[:, 0].mean() == pytest.approx(_truncated_mean(0.0, 1.0, 0.0, math.inf), abs=0.02)
    assert x[:, 1].mean() == pytest.approx(_truncated_mean(0.4, 2.0, -1.0, 0.5), abs=0.01)
    assert x[:, 1].std() == pytest.approx(1.5 / math.sqrt(12), rel=0.05)  # nearly uniform there


def test_integer_range_samples_stay_in_range() -> None:
    dims = _dims(1.5, 19.5, q=1.0, vmin=2, vmax=19)
    mix = _fit(dims, [2.0, 19.0, 19.0])
    values, _ = P.sample(mix, dims, np.random.default_rng(1), 5000)
    assert set(np.unique(values)) <= set(np.arange(2.0, 20.0))
    assert values.min() == 2.0 and values.max() == 19.0


def test_sampling_follows_the_mixture_density() -> None:
    dims = _dims(0.0, 10.0)
    mix = _fit(dims, [2.0, 2.5, 8.0])
    values, _ = P.sample(mix, dims, np.random.default_rng(2), 40000)
    hist, edges = np.histogram(values[:, 0], bins=20, range=(0, 10), density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    assert np.allclose(hist, _density(mix, dims, centres)[:, 0], atol=0.02)


def test_categorical_prior_probabilities_are_the_pchoice_weights() -> None:
    dims = _dims(cat_probs=[0.7, 0.2, 0.1])
    mix = _fit(dims, [], cats=[])
    cats = np.array([[0], [1], [2]])
    masses = _density(mix, dims, np.full(3, 0.5), cats)[:, 1]
    assert masses == pytest.approx([0.7, 0.2, 0.1])
    _, drawn = P.sample(mix, dims, np.random.default_rng(3), 20000)
    freq = np.bincount(drawn[:, 0], minlength=3) / 20000
    assert freq == pytest.approx([0.7, 0.2, 0.1], abs=0.015)


def test_categorical_posterior_is_counts_plus_weighted_prior() -> None:
    dims = _dims(cat_probs=[0.5, 0.5])
    mix = _fit(dims, [0.5, 0.5, 0.5], cats=[1, 1, 0], prior_weight=1.0)
    masses = _density(mix, dims, np.full(2, 0.5), np.array([[0], [1]]))[:, 1]
    # (1 + 0.5) / 4 and (2 + 0.5) / 4
    assert masses == pytest.approx([1.5 / 4, 2.5 / 4])


def test_adaptive_bandwidths_follow_neighbour_gaps_and_magic_clip() -> None:
    dims = _dims(0.0, 10.0)
    mix = _fit(dims, [1.0, 1.5, 6.0])
    # prior centre 5.0 is a neighbour: sorted 1, 1.5, 5, 6 -> gaps 0.5, 3.5, 1.0; widths below
    # range / min(100, 1 + n) = 2.5 are clipped up to it
    assert mix.sigmas[0, :3] == pytest.approx([2.5, 3.5, 2.5])
    assert mix.sigmas[0, 3] == 10.0  # the prior
    many = _fit(dims, list(np.linspace(0.0, 10.0, 41)))  # gaps 0.25, clip 10 / 42
    assert many.sigmas[0, 1:40] == pytest.approx(np.full(39, 0.25))


def test_inactive_observations_do_not_shape_a_block() -> None:
    dims = _dims(0.0, 10.0, cat_probs=[0.5, 0.5])
    z = np.array([[1.0], [9.0]])
    cats = np.array([[0], [1]])
    only_first = np.array([[True, True], [False, True]])  # 2nd row: numeric block inactive
    mix = P.fit(dims, z, cats, np.ones(2), only_first, 1.0)
    assert np.exp(mix.log_w[0]) == pytest.approx([0.5, 0.0, 0.5])
    assert np.exp(mix.log_w[1]) == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    alone = _fit(_dims(0.0, 10.0), [1.0])
    assert mix.sigmas[0, 0] == pytest.approx(alone.sigmas[0, 0])


def _two_parts(dims: P.Dims, first: list[float], second: list[float]) -> P.Mixture:
    z = np.array(first + second, dtype=float).reshape(-1, 1)
    n = len(z)
    no_cats, active = np.zeros((n, 0), np.int64), np.ones((n, 1), bool)
    return P.fit(dims, z, no_cats, np.ones(n), active, 1.0, sizes=(len(first), len(second)))


def test_select_prefers_where_below_is_dense_and_above_is_not() -> None:
    dims = _dims(0.0, 10.0)
    good, bad = [2.0, 2.1, 2.2], [7.0, 7.5, 8.0, 8.5, 6.0, 5.0]
    picks = [P.select(_two_parts(dims, good, bad), dims, np.random.default_rng(s), 24)[0][0] for s in range(20)]
    assert np.median(picks) < 3.0  # on the below side, away from the above group
    worse = [P.select(_two_parts(dims, bad, good), dims, np.random.default_rng(s), 24)[0][0] for s in range(20)]
    assert np.median(worse) > 5.0


def test_parts_of_one_mixture_equal_separate_fits() -> None:
    dims = _dims(0.0, 10.0)
    first, second = [2.0, 2.5, 9.0], [7.0, 7.5, 1.0, 4.0]
    both = _two_parts(dims, first, second)
    assert both.ends == (4, 9)
    x = np.linspace(0.0, 10.0, 7)
    dens = P.log_density(both, dims, x.reshape(-1, 1), np.zeros((7, 0), np.int64))
    for part, alone in enumerate([_fit(dims, first), _fit(dims, second)]):
        assert both.sigmas[0, both.starts[part] : both.ends[part]] == pytest.approx(alone.sigmas[0])
        assert np.exp(dens[part][:, 0]) == pytest.approx(_density(alone, dims, x)[:, 0])
    draws, _ = P.sample(both, dims, np.random.default_rng(0), 4000, part=1)
    assert np.mean(draws[:, 0] > 6.5) > 0.3  # part 1 holds two of its four observations there


def test_far_tails_are_finite_and_negligible() -> None:
    dims = _dims(-1000.0, 1000.0)
    mix = _fit(dims, [0.0, 0.001, 0.002])  # narrow kernels: 999 is thousands of widths away
    dens = _density(mix, dims, np.array([999.0]))
    assert np.isfinite(np.log(dens)).all() and dens[0, 0] > 0  # the prior still carries it


def test_compress_keeps_total_weight_and_bounds_size() -> None:
    w = P.forgetting_weights(1000, 25)
    rows, weights = P.compress(w, 64)
    assert len(rows) <= 64 and weights.sum() == pytest.approx(w.sum())
    assert rows[-1] >= 990  # recent observations weigh most and are kept
    same, kept = P.compress(np.ones(10), 64)
    assert list(same) == list(range(10)) and list(kept) == [1.0] * 10


def test_compress_merges_repeated_picks_into_counts() -> None:
    # Systematic resampling of 5 weights (total 6) into 3 kernels of weight 2 picks rows 2, 4, 4:
    # the heavy row is kept once with the weight of both picks, the light ones are dropped.
    rows, weights = P.compress(np.array([0.25, 0.25, 0.5, 1.0, 4.0]), 3)
    assert list(rows) == [2, 4] and list(weights) == pytest.approx([2.0, 4.0])


def test_part_logsumexp_reduces_each_part_and_keeps_empty_parts() -> None:
    a = np.array([[0.0, np.log(3.0), -np.inf, -np.inf, 1000.0, 1000.0]])
    out = P._part_logsumexp(a.copy(), (0, 2, 4), (2, 4, 6))
    assert out[0] == pytest.approx([np.log(4.0), -np.inf, 1000.0 + np.log(2.0)])


def test_forgetting_weights_ramp_old_observations() -> None:
    w = P.forgetting_weights(30, 25)
    assert w[-25:] == pytest.approx(np.ones(25)) and w[0] == pytest.approx(1 / 30) and np.all(np.diff(w) >= 0)
    assert P.forgetting_weights(10, 25) == pytest.approx(np.ones(10))


def test_zero_probability_option_is_never_drawn_from_the_prior() -> None:
    dims = _dims(cat_probs=[0.5, 0.0, 0.5])
    mix = _fit(dims, [], cats=[])
    _, drawn = P.sample(mix, dims, np.random.default_rng(4), 20000)
    assert set(np.unique(drawn[:, 0]).tolist()) == {0, 2}


def test_distinct_indexes_every_entry_by_its_column_value() -> None:
    values = np.array([[1.0, 5.0], [2.0, 5.0], [1.0, 6.0], [3.0, 5.0]])
    col, rep, inverse = P._distinct(values)
    distinct = values[rep, col]
    assert col.tolist() == [0, 0, 0, 1, 1]
    assert distinct.tolist() == [1.0, 2.0, 3.0, 5.0, 6.0]
    np.testing.assert_array_equal(distinct[inverse], values.T)


def test_shared_quantized_values_score_like_separate_points() -> None:
    # A candidate's density must not depend on which other candidates share its cells.
    dims = _dims(0.0, 100.0, q=1.0)
    mix = _fit(dims, [10.0, 12.0, 40.0, 41.0, 77.0])
    values = np.array([[10.0], [40.0], [10.0], [55.0], [40.0], [10.0]])
    batch = P.log_density(mix, dims, values, np.zeros((6, 0), dtype=np.int64))
    for i, v in enumerate(values):
        alone = P.log_density(mix, dims, v[None, :], np.zeros((1, 0), dtype=np.int64))
        np.testing.assert_array_equal(batch[:, i], alone[:, 0])


def test_inactive_components_do_not_enter_a_block_s_density() -> None:
    # Two blocks (a numeric and a categorical column); the second row is inactive in the numeric
    # block: the numeric block's density is that of a fit without it.
    dims = _dims(0.0, 10.0, cat_probs=[0.5, 0.5])
    z, cats = np.array([[1.0], [9.0]]), np.array([[0], [1]])
    mix = P.fit(dims, z, cats, np.ones(2), np.array([[True, True], [False, True]]), 1.0)
    alone = _fit(_dims(0.0, 10.0), [1.0])
    x = np.array([[0.5], [5.0], [9.0]])
    dens = P.log_density(mix, dims, x, np.array([[0], [1], [1]]))[0]
    np.testing.assert_allclose(dens[:, 0], np.log(_density(alone, _dims(0.0, 10.0), x[:, 0])[:, 0]))
    np.testing.assert_allclose(np.exp(dens[:, 1]), [1.5 / 3, 1.5 / 3, 1.5 / 3])
