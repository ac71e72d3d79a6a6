"""The standard normal's CDF in numpy, precise in the tails: masses of cells ``[a, b]``.

Truncated Parzen kernels need ``Phi(b) - Phi(a)`` (a kernel's mass inside its bounds, a quantized
value's rounding cell) on arrays of a few thousand cells per suggestion. ``Phi`` is computed
here from a rational approximation of ``erfc`` with relative error below 1.2e-7 everywhere
(Numerical Recipes 6.2), differencing upper tails so that cells far in a tail keep their
relative precision, because importing ``scipy.special`` would add ~27 MB to every process.
:func:`log_mass_into` writes into given arrays and per-thread scratch buffers: it computes every
normal mass of a TPE suggestion in one pass (:mod:`sparktune._parzen`).
"""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["EXP_FLOOR", "log_mass_into", "scratch_array", "upper_tail_into"]

#: Exponents are floored here before ``np.exp``: numpy's vectorised ``exp`` drops to a scalar path
#: 10-100 times slower for arguments whose result underflows (below about -708), which made
#: far-tail kernels the bulk of a suggestion's cost. ``exp(-700)`` is ~1e-304: a term that small
#: never changes a mixture's density, since the prior component keeps every density far above it.
EXP_FLOOR = -700.0

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
        # Grow by at least half: a run's arrays grow by a component per trial at first, and a
        # fresh buffer of this size is a fresh mapping whose pages fault in again.
        buf = cache[name] = np.empty(max(size, 1, 0 if buf is None else buf.size * 3 // 2))
    return buf[:size].reshape(shape)


# ----------------------------------------------------------------------------- normal CDF


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


def log_mass_into(ends: np.ndarray, out: np.ndarray) -> None:
    """``log(Phi(b) - Phi(a))`` of the cells ``ends = [a, b]`` (``(2, N)``, standardised, ``a <= b``)
    into ``out`` (``(N,)``), overwriting ``ends``; ``-inf`` for empty cells.

    Every cell is computed exactly, both ends in one pass of the tail approximation, differencing
    the tails on the side of zero where both ends lie. The approximation is smooth, so even cells
    a millionth of a standard deviation wide keep a relative error below 1e-5 (checked against
    ``math.erfc``): narrow cells need no midpoint rule. Temporaries are reused scratch buffers:
    this is the scoring hot spot of :mod:`sparktune._parzen`, called once per suggestion.
    """
    n = ends.shape[1]
    same = ends[0] >= 0.0
    same |= ends[1] <= 0.0
    np.abs(ends, out=ends)
    q = scratch_array("q", (2, n))
    upper_tail_into(ends, q, scratch_array("t", (2, n)))
    qa, qb = q
    with np.errstate(divide="ignore"):
        np.add(qa, qb, out=out)
        np.subtract(1.0, out, out=out)  # a < 0 < b
        np.subtract(qa, qb, out=qa)
        np.abs(qa, out=qa)
        np.copyto(out, qa, where=same)
        np.log(out, out=out)
