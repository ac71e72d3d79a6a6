"""The standard normal's CDF in numpy, precise in the tails: masses of cells ``[a, b]``.

Truncated Parzen kernels need ``Phi(b) - Phi(a)`` (a kernel's mass inside its bounds, a quantized
value's rounding cell) on arrays of a few thousand cells per suggestion. ``Phi`` is computed
here from a rational approximation of ``erfc`` with relative error below 1.2e-7 everywhere
(Numerical Recipes 6.2), differencing upper tails so that cells far in a tail keep their
relative precision, because importing ``scipy.special`` would add ~20 MB to every process.
The ``*_into`` forms write into given arrays and per-thread scratch buffers: they are the
scoring hot spot of :mod:`sparktune._parzen`.
"""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["EXP_FLOOR", "exact_mass", "log_mass", "log_mass_into", "scratch_array", "upper_tail_into"]

#: Standardised cell width up to which a cell's mass uses the corrected midpoint rule.
_NARROW_CELL = 0.5
#: Exponents are floored here before ``np.exp``: numpy's vectorised ``exp`` drops to a scalar path
#: 10-100 times slower for arguments whose result underflows (below about -708), which made
#: far-tail kernels the bulk of a suggestion's cost. ``exp(-700)`` is ~1e-304: a term that small
#: never changes a mixture's density, since the prior component keeps every density far above it.
EXP_FLOOR = -700.0

_SQRT_2PI = math.sqrt(2 * math.pi)
_HALF_SQRT_HALF = 0.5 * math.sqrt(0.5)
# Numerical Recipes' Chebyshev fit: erfc(u) = t * exp(-u^2 + P(t)), t = 1 / (1 + u / 2), u >= 0.
_ERFC_COEFS = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


# ----------------------------------------------------------------------------- scratch space

_SCRATCH = threading.local()


def scratch_array(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A per-thread scratch array, reused across calls. Scoring builds a few arrays of
    ``candidates x components x columns`` floats per suggestion; allocating them afresh each time
    let glibc return and re-fault the pages on every call, which cost more than the arithmetic."""
    cache: dict[str, np.ndarray] | None = getattr(_SCRATCH, "arrays", None)
    if cache is None:
        cache = _SCRATCH.arrays = {}
    size = math.prod(shape)
    buf = cache.get(name)
    if buf is None or buf.size < size:
        buf = cache[name] = np.empty(max(size, 1))
    return buf[:size].reshape(shape)


# ----------------------------------------------------------------------------- normal CDF


def exact_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Phi(b) - Phi(a)``, differencing upper tails on the side of zero where both ends lie, so
    that cells far in a tail keep their relative precision."""
    ends = np.empty((2, *a.shape))
    same, qa, qb = _both_tails(a, b, ends, np.empty_like(ends), np.empty_like(ends))
    mass = np.subtract(1.0, qa)
    mass -= qb
    diff = np.subtract(qa, qb, out=ends[0])
    np.abs(diff, out=diff)
    np.copyto(mass, diff, where=same)
    return mass


def _both_tails(
    a: np.ndarray, b: np.ndarray, ends: np.ndarray, q: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For cells ``[a, b]``: whether both ends lie on one side of zero, and the upper tails
    ``Q(|a|)``, ``Q(|b|)``, in one :func:`_upper_tail_into` pass over the stacked ends (``ends``,
    ``q`` and ``t``: ``(2, *a.shape)`` buffers; the tails are views of ``q``)."""
    same = (a >= 0) | (b <= 0)
    np.abs(a, out=ends[0])
    np.abs(b, out=ends[1])
    upper_tail_into(ends, q, t)
    return same, q[0], q[1]


def log_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for standardised ``a <= b`` (elementwise, ``-inf`` if empty).

    Cells narrower than ``_NARROW_CELL`` use the midpoint rule with its second-order correction,
    ``w * pdf(m) * (1 + (m^2 - 1) * w^2 / 24)`` (relative error below 1e-4 near the centre), which
    costs a fifth of two CDF evaluations; wider cells are exact.
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    with np.errstate(invalid="ignore", over="ignore"):
        width = b - a
        wide = ~(width <= _NARROW_CELL)  # also NaN/inf widths
        if wide.all():
            mass = exact_mass(a, b)
        else:
            mid = 0.5 * (a + b)
            m2 = mid * mid
            pdf = np.exp(np.maximum(-0.5 * m2, EXP_FLOOR)) / _SQRT_2PI
            mass = pdf * width * (1.0 + (m2 - 1.0) * (width * width / 24.0))
            if wide.any():
                mass[wide] = exact_mass(a[wide], b[wide])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(width > 0, np.log(mass), -np.inf)


def upper_tail_into(x: np.ndarray, out: np.ndarray, t: np.ndarray) -> None:
    """``Q(x) = 1 - Phi(x)`` of the standard normal for ``x >= 0`` (relative error < 1.2e-7) into
    ``out``, overwriting ``x``, with ``t`` as scratch: ``Q(x) = erfc(x / sqrt(2)) / 2``."""
    np.multiply(x, _HALF_SQRT_HALF, out=t)
    t += 1.0
    np.reciprocal(t, out=t)
    np.multiply(t, _ERFC_COEFS[-1], out=out)
    out += _ERFC_COEFS[-2]
    for c in _ERFC_COEFS[-3::-1]:
        out *= t
        out += c
    np.multiply(x, x, out=x)
    x *= 0.5
    out -= x
    np.maximum(out, EXP_FLOOR, out=out)
    np.exp(out, out=out)
    out *= t
    out *= 0.5


def log_mass_into(ta: np.ndarray, tb: np.ndarray, out: np.ndarray, weights: np.ndarray | None = None) -> None:
    """:func:`log_mass` written into ``out``, overwriting ``ta`` and ``tb``; every temporary is a
    reused scratch buffer (this is the scoring hot spot).

    When more than half of the cells are wide, every cell is computed exactly. ``weights`` (one
    per row of ``ta``) counts each row as that many rows in this decision, for callers that pass
    each distinct row once."""
    shape = out.shape
    width = scratch_array("width", shape)
    np.subtract(tb, ta, out=width)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        wide = ~(width <= _NARROW_CELL)
        n_wide = int(np.count_nonzero(wide))
        if weights is None:
            mostly_wide = n_wide * 2 > wide.size
        else:
            row_wide = wide.reshape(len(weights), shape[-1]).sum(axis=1)
            mostly_wide = int(row_wide @ weights) * 2 > int(weights.sum()) * shape[-1]
        if mostly_wide:
            # Mostly wide cells: exact everywhere, both ends in one pass over a stacked buffer.
            both = (2, *shape)
            same, qa, qb = _both_tails(
                ta, tb, scratch_array("ends", both), scratch_array("q", both), scratch_array("t", both)
            )
            np.subtract(qa, qb, out=ta)
            np.abs(ta, out=ta)
            np.add(qa, qb, out=tb)
            np.subtract(1.0, tb, out=tb)
            np.copyto(tb, ta, where=same)
            np.log(tb, out=out)
            out[width <= 0] = -np.inf
            return
        exact = exact_mass(ta[wide], tb[wide]) if n_wide else None
        np.add(ta, tb, out=ta)
        ta *= 0.5  # midpoint m
        np.multiply(ta, ta, out=ta)  # m^2
        np.multiply(ta, -0.5, out=tb)
        np.maximum(tb, EXP_FLOOR, out=tb)
        np.exp(tb, out=tb)
        tb *= width
        tb *= 1.0 / _SQRT_2PI  # w * pdf(m)
        ta -= 1.0
        np.multiply(width, width, out=out)
        out *= 1.0 / 24.0
        ta *= out
        ta += 1.0
        tb *= ta
        if exact is not None:
            tb[wide] = exact
        np.log(tb, out=out)
        out[width <= 0] = -np.inf
