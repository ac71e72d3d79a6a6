"""TPE math: Parzen-window mixtures over a block of columns, sampled and scored with numpy.

Everything here takes and returns arrays; nothing knows about trials, spaces or I/O.

A *block* is a set of columns that are active together: ``n`` numeric columns (continuous or
quantized, on a linear or log scale, bounded or not) and ``c`` categorical columns. A
:class:`Mixture` over a block has ``m`` components; component ``i`` is a product of one kernel per
column:

- numeric columns: a normal kernel in the *internal* coordinate ``z`` (the value itself, or its
  log for the log kinds), truncated to the column's bounds. A quantized column puts on each
  representable value the kernel's mass over that value's rounding cell, so the masses of all
  values sum to one.
- categorical columns: a point mass on the observed category; the *prior* component instead
  carries the column's prior probabilities (``pchoice`` weights).

The last component is the prior (a wide kernel centred on the middle of the range, Hyperopt's
convention), weighted by ``prior_weight``. Bandwidths are adaptive: each observation's kernel is as
wide as the larger gap to its sorted neighbours, clipped to ``[prior_sigma / min(100, 1 + n),
prior_sigma]`` (the "magic clip", which Watanabe 2023 found essential in its ablation).

Scoring is expected improvement in TPE's form, ``log l(x) - log g(x)``: either per column
(*independent*, Hyperopt's TPE: each column picks its own best candidate) or summed over the
block's joint kernels (*multivariate*: one candidate picked for the whole block).

The normal CDF is computed here (a rational approximation of ``erfc`` with relative error below
1.2e-7 everywhere, Numerical Recipes 6.2), in log form so that far tails stay finite, because
importing ``scipy.special`` would add ~20 MB to every process.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Dims",
    "Mixture",
    "fit",
    "forgetting_weights",
    "compress",
    "log_kernels",
    "log_density",
    "log_mass",
    "sample",
    "select",
    "logsumexp",
]

#: Lower bandwidth clip is ``prior_sigma / min(MAGIC_CLIP_CAP, 1 + n)`` (Hyperopt's constant).
MAGIC_CLIP_CAP = 100.0
#: Scott's-rule scale factor for ``bandwidth="scott"`` (Optuna's multivariate TPE uses 0.2).
SCOTT_SCALE = 0.2
#: Below this standardised cell width a cell's mass is computed as pdf(midpoint) * width, where
#: a difference of two CDFs would lose precision; the error is O(width^2) ~ 1e-7 relative.
_SMALL_CELL = 1e-3
#: Rounds of rejection sampling for truncated kernels. A kernel centre always lies inside its
#: bounds, so each round accepts at least half of the draws; 60 rounds leave ~1e-18 unaccepted.
_REJECTION_ROUNDS = 60

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
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


# ----------------------------------------------------------------------------- normal CDF


def _upper_tail(x: np.ndarray) -> np.ndarray:
    """``Q(x) = 1 - Phi(x)`` of the standard normal for ``x >= 0`` (relative error < 1.2e-7)."""
    t = 1.0 / (1.0 + x * _HALF_SQRT_HALF)
    poly = t * _ERFC_COEFS[-1] + _ERFC_COEFS[-2]
    for c in _ERFC_COEFS[-3::-1]:
        poly = poly * t + c
    return 0.5 * t * np.exp(poly - 0.5 * x * x)


def log_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for standardised ``a <= b`` (elementwise, ``-inf`` if empty).

    Differences are taken between upper tails on the side of zero where both ends lie, so that
    cells far in a tail keep their relative precision; a very narrow cell uses the midpoint
    density times its width instead of a difference of nearly equal numbers.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    qa = _upper_tail(np.abs(a))
    qb = _upper_tail(np.abs(b))
    same_side = (a >= 0) | (b <= 0)
    mass = np.where(same_side, np.abs(qa - qb), 1.0 - qa - qb)
    width = b - a
    narrow = width < _SMALL_CELL
    if narrow.any():
        mid = 0.5 * (a + b)
        with np.errstate(invalid="ignore"):
            approx = np.exp(-0.5 * mid * mid) * (width / _SQRT_2PI)
        mass = np.where(narrow, approx, mass)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(width > 0, np.log(mass), -np.inf)


def logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    """``log(sum(exp(a), axis))``, ``-inf`` where every term is ``-inf``."""
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(a - top), axis=axis)) + np.squeeze(top, axis=axis)


# ----------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Dims:
    """The columns of a block. Numeric arrays have one entry per numeric column.

    ``lo``/``hi`` bound the internal coordinate ``z`` (``-inf``/``inf`` when unbounded);
    ``log`` marks columns whose ``z`` is the log of the value; ``q`` is the quantization step of
    the *value* (0 for continuous); ``vmin``/``vmax`` clip values after rounding (integer ranges);
    ``prior_mu``/``prior_sigma`` define the prior kernel in ``z``. ``cat_logp`` holds each
    categorical column's log prior probabilities, padded with ``-inf`` to the widest column.
    """

    lo: np.ndarray
    hi: np.ndarray
    log: np.ndarray
    q: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    prior_mu: np.ndarray
    prior_sigma: np.ndarray
    cat_logp: np.ndarray

    @property
    def n_numeric(self) -> int:
        return len(self.lo)

    @property
    def n_categorical(self) -> int:
        return len(self.cat_logp)

    @property
    def quantized(self) -> np.ndarray:
        return self.q > 0

    @functools.cached_property
    def continuous_part(self) -> Dims:
        """The numeric columns that are not quantized."""
        return _subdims(self, ~self.quantized)

    @functools.cached_property
    def quantized_part(self) -> Dims:
        """The quantized numeric columns."""
        return _subdims(self, self.quantized)

    def to_z(self, values: np.ndarray) -> np.ndarray:
        """Internal coordinates of observed values, clipped into the bounds."""
        with np.errstate(divide="ignore"):
            z = np.where(self.log, np.log(np.where(self.log, values, 1.0)), values)
        # A log-quantized value of 0 sits in the cell below log(q / 2).
        z = np.where(np.isneginf(z) & self.log, np.log(np.maximum(self.q, 1e-300) / 2), z)
        return np.clip(z, self.lo, self.hi)

    def to_values(self, z: np.ndarray) -> np.ndarray:
        """Values for internal coordinates: undo the log, round to the step, clip."""
        x = np.where(self.log, np.exp(z), z)
        q = np.where(self.quantized, self.q, 1.0)
        x = np.where(self.quantized, np.round(x / q) * q, x)
        return np.clip(x, self.vmin, self.vmax)

    def cells(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rounding cell ``[a, b]`` of each value in ``z``, within the bounds."""
        half = 0.5 * self.q
        a, b = values - half, values + half
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(self.log, np.log(np.where(self.log, np.maximum(a, 0.0), 1.0)), a)
            b = np.where(self.log, np.log(np.where(self.log, b, 1.0)), b)
        return np.clip(a, self.lo, self.hi), np.clip(b, self.lo, self.hi)


# ----------------------------------------------------------------------------- mixtures


@dataclass(frozen=True)
class Mixture:
    """``m`` product-kernel components over a block; the prior, if any, is the last one.

    ``mus``/``sigmas``/``log_norm`` are ``(m, n_numeric)`` (``log_norm`` is the log of each
    kernel's mass inside the bounds); ``cats`` is ``(m, n_categorical)`` with ``-1`` for the
    prior's row; ``log_w`` are normalised log weights.
    """

    mus: np.ndarray
    sigmas: np.ndarray
    log_norm: np.ndarray
    cats: np.ndarray
    log_w: np.ndarray

    @functools.cached_property
    def inv_sigmas(self) -> np.ndarray:
        return 1.0 / self.sigmas

    @functools.cached_property
    def log_pdf_offset(self) -> np.ndarray:
        """``-log(sigma * sqrt(2 pi)) - log_norm``: the log kernel at its centre."""
        return -np.log(self.sigmas) - _LOG_SQRT_2PI - self.log_norm

    @property
    def size(self) -> int:
        return len(self.log_w)


def forgetting_weights(m: int, keep: int) -> np.ndarray:
    """Hyperopt's linear forgetting: the newest ``keep`` of ``m`` observations (in time order)
    weigh 1, older ones ramp down linearly towards ``1 / m``."""
    if keep <= 0 or m <= keep:
        return np.ones(m)
    return np.concatenate([np.linspace(1.0 / m, 1.0, num=m - keep), np.ones(keep)])


def compress(weights: np.ndarray, max_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and weights of a mixture of at most ``max_components`` that approximates the weighted
    set: systematic resampling in proportion to ``weights`` (deterministic), duplicates merged.

    The total weight is kept, so the prior's relative weight does not change.
    """
    m = len(weights)
    if m <= max_components:
        return np.arange(m), weights
    cum = np.cumsum(weights)
    total = cum[-1]
    picks = np.searchsorted(cum, (np.arange(max_components) + 0.5) * (total / max_components))
    rows, counts = np.unique(np.minimum(picks, m - 1), return_counts=True)
    return rows, counts * (total / max_components)


def _adaptive_sigmas(z: np.ndarray, prior_mu: np.ndarray, prior_sigma: np.ndarray) -> np.ndarray:
    """Per-observation bandwidths: the larger gap to the sorted neighbours (the prior's centre
    counts as a neighbour), clipped to ``[prior_sigma / min(100, 1 + n), prior_sigma]``."""
    n, d = z.shape
    pts = np.empty((n + 1, d))
    pts[:n] = z
    pts[n] = prior_mu
    order = np.argsort(pts, axis=0)
    cols = np.arange(d)
    gaps = np.diff(pts[order, cols], axis=0)
    widest = np.empty((n + 1, d))
    widest[0] = gaps[0]
    widest[n] = gaps[n - 1]
    np.maximum(gaps[:-1], gaps[1:], out=widest[1:n])
    sig = np.empty((n + 1, d))
    sig[order, cols] = widest
    low = prior_sigma / min(MAGIC_CLIP_CAP, 1.0 + n)
    return np.clip(sig[:n], low, prior_sigma)


def _scott_sigmas(n: int, d: int, prior_sigma: np.ndarray) -> np.ndarray:
    """One bandwidth per column for all ``n`` observations: Scott's rule on the range, scaled as
    in Optuna's multivariate TPE (``0.2 * n ** (-1 / (d + 4)) * range``), with the magic clip."""
    sig = SCOTT_SCALE * n ** (-1.0 / (d + 4)) * prior_sigma
    low = prior_sigma / min(MAGIC_CLIP_CAP, 1.0 + n)
    return np.broadcast_to(np.clip(sig, low, prior_sigma), (n, len(prior_sigma)))


def fit(
    dims: Dims,
    z: np.ndarray,
    cats: np.ndarray,
    weights: np.ndarray,
    prior_weight: float,
    bandwidth: str = "adaptive",
) -> Mixture:
    """The Parzen mixture of ``n`` observations (``z``: ``(n, n_numeric)`` internal coordinates,
    ``cats``: ``(n, n_categorical)`` category indices) with ``weights``, plus the prior.

    ``bandwidth`` is ``"adaptive"`` (each kernel as wide as its larger neighbour gap) or
    ``"scott"`` (one width per column from the number of observations and columns). With no
    observations the prior is the whole mixture, whatever ``prior_weight`` is.
    """
    n = len(weights)
    m = n + 1 if prior_weight > 0 or n == 0 else n
    mus = np.empty((m, dims.n_numeric))
    sigmas = np.empty((m, dims.n_numeric))
    c = np.empty((m, dims.n_categorical), dtype=np.int64)
    w = np.empty(m)
    if n:
        mus[:n] = z
        if bandwidth == "scott":
            sigmas[:n] = _scott_sigmas(n, dims.n_numeric + dims.n_categorical, dims.prior_sigma)
        else:
            sigmas[:n] = _adaptive_sigmas(z, dims.prior_mu, dims.prior_sigma)
        c[:n] = cats
        w[:n] = weights
    if m > n:
        mus[n] = dims.prior_mu
        sigmas[n] = dims.prior_sigma
        c[n] = -1
        w[n] = prior_weight if n else 1.0
    with np.errstate(divide="ignore"):
        log_w = np.log(w / w.sum())
    inv = 1.0 / sigmas
    log_norm = log_mass((dims.lo - mus) * inv, (dims.hi - mus) * inv)
    return Mixture(mus=mus, sigmas=sigmas, log_norm=log_norm, cats=c, log_w=log_w)


def sample(mix: Mixture, dims: Dims, rng: np.random.Generator, size: int, joint: bool) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``size`` points: numeric *values* ``(size, n_numeric)`` and categories
    ``(size, n_categorical)``. ``joint`` draws one component per point for all columns;
    otherwise each column draws its own component."""
    d = dims.n_numeric + dims.n_categorical
    cum = np.cumsum(np.exp(mix.log_w))
    u = rng.random((size, 1) if joint else (size, d)) * cum[-1]
    comp = np.broadcast_to(np.minimum(np.searchsorted(cum, u, side="right"), mix.size - 1), (size, d))
    nc = dims.n_numeric
    values = np.empty((size, nc))
    if nc:
        cols = np.arange(nc)
        mu = mix.mus[comp[:, :nc], cols]
        sig = mix.sigmas[comp[:, :nc], cols]
        z = rng.normal(mu, sig)
        for _ in range(_REJECTION_ROUNDS):
            bad = (z < dims.lo) | (z > dims.hi)
            if not bad.any():
                break
            z[bad] = rng.normal(mu[bad], sig[bad])
        z = np.clip(z, dims.lo, dims.hi)
        values = dims.to_values(z)
    cat = np.empty((size, dims.n_categorical), dtype=np.int64)
    if dims.n_categorical:
        ccomp = comp[:, nc:]
        cat = mix.cats[ccomp, np.arange(dims.n_categorical)]
        from_prior = cat < 0
        if from_prior.any():
            cum = np.cumsum(np.exp(dims.cat_logp), axis=1)
            u = rng.random((size, dims.n_categorical))
            drawn = (u[:, :, None] > cum[None, :, :] * (1 - 1e-12)).sum(axis=2)
            drawn = np.minimum(drawn, np.isfinite(dims.cat_logp).sum(axis=1) - 1)
            cat = np.where(from_prior, drawn, cat)
    return values, cat


def log_kernels(mix: Mixture, dims: Dims, values: np.ndarray, cats: np.ndarray) -> np.ndarray:
    """``(C, m, n_numeric + n_categorical)`` log kernel values at ``C`` points (numeric *values*
    and categories); quantized columns give log masses of the value's cell."""
    out = []
    if dims.n_numeric:
        qmask = dims.quantized
        num = np.empty((len(values), mix.size, dims.n_numeric))
        if not qmask.all():
            cont = ~qmask
            cz = dims.continuous_part.to_z(values[:, cont])[:, None, :]
            t = (cz - mix.mus[:, cont]) * mix.inv_sigmas[:, cont]
            num[:, :, cont] = mix.log_pdf_offset[:, cont] - 0.5 * t * t
        if qmask.any():
            a, b = dims.quantized_part.cells(values[:, qmask])
            m, inv = mix.mus[:, qmask], mix.inv_sigmas[:, qmask]
            num[:, :, qmask] = log_mass((a[:, None, :] - m) * inv, (b[:, None, :] - m) * inv) - mix.log_norm[:, qmask]
        out.append(num)
    if dims.n_categorical:
        cols = np.arange(dims.n_categorical)
        obs = mix.cats[None, :, :]
        prior = dims.cat_logp[cols, cats][:, None, :]
        out.append(np.where(obs < 0, prior, np.where(obs == cats[:, None, :], 0.0, -np.inf)))
    return np.concatenate(out, axis=2) if len(out) > 1 else out[0]


def _subdims(dims: Dims, mask: np.ndarray) -> Dims:
    return Dims(
        lo=dims.lo[mask],
        hi=dims.hi[mask],
        log=dims.log[mask],
        q=dims.q[mask],
        vmin=dims.vmin[mask],
        vmax=dims.vmax[mask],
        prior_mu=dims.prior_mu[mask],
        prior_sigma=dims.prior_sigma[mask],
        cat_logp=dims.cat_logp,
    )


def log_density(mix: Mixture, kernels: np.ndarray, joint: bool) -> np.ndarray:
    """Log density (mass, for discrete columns) of the mixture at the ``C`` points whose
    ``kernels`` were computed: ``(C,)`` of the joint when ``joint``, else ``(C, d)`` marginals."""
    if joint:
        return logsumexp(kernels.sum(axis=2) + mix.log_w[None, :], axis=1)
    return logsumexp(kernels + mix.log_w[None, :, None], axis=1)


def select(
    below: Mixture,
    above: Mixture,
    dims: Dims,
    rng: np.random.Generator,
    n_candidates: int,
    joint: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_candidates`` from ``below`` and keep the one with the largest
    ``log l(x) - log g(x)`` (per column unless ``joint``). Returns one numeric value row and one
    category row."""
    values, cats = sample(below, dims, rng, n_candidates, joint)
    score = log_density(below, log_kernels(below, dims, values, cats), joint) - log_density(
        above, log_kernels(above, dims, values, cats), joint
    )
    score = np.where(np.isnan(score), -np.inf, score)
    nc = dims.n_numeric
    if joint:
        best = int(np.argmax(score))
        return values[best], cats[best]
    best_cols = np.argmax(score, axis=0)
    cols = np.arange(score.shape[1])
    return values[best_cols[:nc], cols[:nc]], cats[best_cols[nc:], cols[: len(cols) - nc]]
