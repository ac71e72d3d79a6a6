"""Each hp function samples from the distribution Hyperopt defines (fixed seeds)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from sparktune import hp
from sparktune.space import Param, compile_space

N = 20_000
P_MIN = 1e-3  # a correct sampler fails a KS/chi-square test at this level 1 time in 1000


def draw(param: Param, n: int = N, seed: int = 0) -> np.ndarray:
    return compile_space(param).sample(np.random.default_rng(seed), n)[param.label]


@pytest.mark.parametrize(
    "param, cdf",
    [
        (hp.uniform("x", -2, 5), stats.uniform(-2, 7).cdf),
        (hp.loguniform("x", np.log(1e-3), np.log(10)), stats.loguniform(1e-3, 10).cdf),
        (hp.normal("x", 3, 2), stats.norm(3, 2).cdf),
        (hp.lognormal("x", 0.5, 0.7), stats.lognorm(s=0.7, scale=np.exp(0.5)).cdf),
    ],
    ids=["uniform", "loguniform", "normal", "lognormal"],
)
def test_continuous_distributions(param: Param, cdf: Callable[[np.ndarray], np.ndarray]) -> None:
    assert stats.kstest(draw(param), cdf).pvalue > P_MIN


def _grid_probs(edges_cdf: Callable[[np.ndarray], np.ndarray], grid: np.ndarray, q: float) -> np.ndarray:
    return edges_cdf(grid + q / 2) - edges_cdf(grid - q / 2)


@pytest.mark.parametrize(
    "param, base_cdf, q",
    [
        (hp.quniform("x", 0, 10, 2.5), stats.uniform(0, 10).cdf, 2.5),
        (hp.qloguniform("x", 0, np.log(100), 5), stats.loguniform(1, 100).cdf, 5.0),
        (hp.qnormal("x", 0, 4, 1), stats.norm(0, 4).cdf, 1.0),
        (hp.qlognormal("x", 1, 0.5, 0.5), stats.lognorm(s=0.5, scale=np.e).cdf, 0.5),
        (hp.uniformint("x", 1, 6), stats.uniform(1, 5).cdf, 1.0),
    ],
    ids=["quniform", "qloguniform", "qnormal", "qlognormal", "uniformint"],
)
def test_quantized_distributions(param: Param, base_cdf: Callable[[np.ndarray], np.ndarray], q: float) -> None:
    x = draw(param)
    assert np.allclose(x / q, np.round(x / q)), "values must lie on the q grid"
    grid, counts = np.unique(x, return_counts=True)
    expected = _grid_probs(base_cdf, grid, q)
    assert expected.sum() > 0.999, "every value of mass must have been seen"
    # rounding of the continuous draw: P(v) = F(v + q/2) - F(v - q/2)
    assert stats.chisquare(counts, expected / expected.sum() * N).pvalue > P_MIN


def test_uniformint_values_are_python_ints_in_bounds() -> None:
    space = compile_space(hp.uniformint("k", 2, 9))
    point = space.point(space.sample(np.random.default_rng(1), 1), 0)
    assert isinstance(point["k"], int) and 2 <= point["k"] <= 9


@pytest.mark.parametrize("args, low, high", [((7,), 0, 7), ((-3, 4), -3, 4)])
def test_randint_is_uniform_on_half_open_range(args: tuple[int, ...], low: int, high: int) -> None:
    x = draw(hp.randint("r", *args))
    values, counts = np.unique(x, return_counts=True)
    assert values.tolist() == list(range(low, high))
    assert stats.chisquare(counts).pvalue > P_MIN


def test_choice_is_uniform_and_pchoice_follows_its_probabilities() -> None:
    _, counts = np.unique(draw(hp.choice("c", ["a", "b", "c", "d"])), return_counts=True)
    assert stats.chisquare(counts).pvalue > P_MIN
    probs = np.array([0.1, 0.6, 0.3])
    _, counts = np.unique(draw(hp.pchoice("p", list(zip(probs, "xyz", strict=True)))), return_counts=True)
    assert stats.chisquare(counts, probs * N).pvalue > P_MIN


def test_conditional_parameter_is_nan_when_its_branch_is_not_chosen() -> None:
    space = compile_space(hp.choice("m", [{"a": hp.uniform("a", 0, 1)}, {"b": hp.normal("b", 0, 1)}]))
    cols = space.sample(np.random.default_rng(0), 1000)
    assert np.array_equal(~np.isnan(cols["a"]), cols["m"] == 0)
    assert np.array_equal(~np.isnan(cols["b"]), cols["m"] == 1)
