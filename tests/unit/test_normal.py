"""The normal CDF's cell masses: exact against ``math.erfc``, and the hot form against the reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparktune import _normal as N


def reference(a: float, b: float) -> float:
    """``log(Phi(b) - Phi(a))`` from ``math.erfc``, differencing the tail on the cell's side."""
    if a >= 0:
        mass = 0.5 * (math.erfc(a / math.sqrt(2)) - math.erfc(b / math.sqrt(2)))
    elif b <= 0:
        mass = 0.5 * (math.erfc(-b / math.sqrt(2)) - math.erfc(-a / math.sqrt(2)))
    else:
        mass = 1.0 - 0.5 * (math.erfc(-a / math.sqrt(2)) + math.erfc(b / math.sqrt(2)))
    return math.log(mass) if mass > 0 else -math.inf


def log_mass(a: float, b: float) -> float:
    """``log(Phi(b) - Phi(a))`` of one cell, through the in-place form."""
    out = np.empty(1)
    N.log_mass_into(np.array([[a], [b]], dtype=float), out)
    return float(out[0])


@pytest.mark.parametrize("x", [-8.0, -3.0, -0.5, 0.0, 0.7, 2.0, 6.0, 12.0])
def test_log_mass_matches_erfc_in_both_tails(x: float) -> None:
    upper = log_mass(x, np.inf)
    expected = math.log(0.5 * math.erfc(x / math.sqrt(2)))
    assert upper == pytest.approx(expected, rel=1e-6, abs=1e-9)
    lower = log_mass(-np.inf, x)
    assert lower == pytest.approx(math.log(0.5 * math.erfc(-x / math.sqrt(2))), rel=1e-6, abs=1e-9)


def test_log_mass_of_empty_cell_is_minus_infinity() -> None:
    assert log_mass(1.0, 1.0) == -np.inf


@pytest.mark.parametrize("width", [1e-6, 0.01, 0.3, 2.0, 5.0])
def test_log_mass_into_agrees_with_the_reference(width: float) -> None:
    """The in-place form used for scoring computes every cell exactly: narrow cells (where the two
    tails nearly cancel) and far tails keep their relative precision."""
    rng = np.random.default_rng(1)
    a = rng.uniform(-9.0, 9.0, size=240)
    b = a + width * rng.uniform(0.5, 1.0, size=a.shape)
    b[:3] = a[:3]  # empty cells
    expected = np.array([reference(x, y) for x, y in zip(a, b, strict=True)])
    out = np.empty_like(a)
    N.log_mass_into(np.stack([a, b]), out)
    finite = np.isfinite(expected)
    assert np.array_equal(np.isneginf(out), ~finite)
    np.testing.assert_allclose(np.exp(out[finite] - expected[finite]), 1.0, rtol=2e-5)
