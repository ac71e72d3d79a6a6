"""TPE math: Parzen-window mixtures over columns, sampled and scored with numpy.

Everything here takes and returns arrays; nothing knows about trials, spaces or I/O.

The columns are ``n`` numeric ones (continuous or quantized, on a linear or log scale, bounded or
not) and ``c`` categorical ones, cut into *blocks*: columns that are modelled jointly because
they are active together. A :class:`Mixture` holds one or more *parts* (TPE's ``l`` and ``g``),
each its own Parzen mixture of observations followed by the prior, fitted and scored together; each
component is active in some blocks (an observation only in the blocks whose parameters were
active in its trial) and has one weight per block. Within a block, component ``i`` is a product of
one kernel per column:

- numeric columns: a normal kernel in the *internal* coordinate ``z`` (the value itself, or its
  log for the log kinds), truncated to the column's bounds. A quantized column puts on each
  representable value the kernel's mass over that value's rounding cell, so the masses of all
  values sum to one.
- categorical columns: a point mass on the observed category; the *prior* component instead
  carries the column's prior probabilities (``pchoice`` weights).

Each part's last component is the prior (a wide kernel centred on the middle of the range,
Hyperopt's convention), weighted by ``prior_weight``. Bandwidths are adaptive: each observation's
kernel is as wide as the larger gap to its sorted neighbours in its part, clipped to ``[prior_sigma / min(100, 1 + n),
prior_sigma]`` (the "magic clip", which Watanabe 2023 found essential in its ablation).

Scoring is expected improvement in TPE's form, ``log l(x) - log g(x)``, per block: with one
column per block this is Hyperopt's independent TPE, with wider blocks it is multivariate TPE.
All blocks, and both parts, are scored in one vectorised pass.

Masses under the normal CDF come from :mod:`sparktune._normal`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ._normal import EXP_FLOOR, exact_mass, log_mass_into, scratch_array

__all__ = [
    "Dims",
    "Mixture",
    "fit",
    "forgetting_weights",
    "compress",
    "log_kernels",
    "log_density",
    "sample",
    "select",
]

#: Lower bandwidth clip is ``prior_sigma / min(MAGIC_CLIP_CAP, 1 + n)`` (Hyperopt's constant).
MAGIC_CLIP_CAP = 100.0
#: Rounds of rejection sampling for truncated kernels. A kernel centre always lies inside its
#: bounds, so each round accepts at least half of the draws; 60 rounds leave ~1e-18 unaccepted.
_REJECTION_ROUNDS = 60
#: Rejected draws up to which the remaining rounds use scalar draws (cheaper than array calls).
_FEW_REJECTED = 8

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _clip_into(x: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> np.ndarray:
    """``np.clip(x, lo, hi, out=x)`` (NaN stays NaN) without ``np.clip``'s Python-level wrapper,
    which cost more than the clipping on the small arrays of a suggestion."""
    np.maximum(x, lo, out=x)
    return np.minimum(x, hi, out=x)


# ----------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Dims:
    """The columns and their blocks. Numeric arrays have one entry per numeric column.

    ``lo``/``hi`` bound the internal coordinate ``z`` (``-inf``/``inf`` when unbounded);
    ``log`` marks columns whose ``z`` is the log of the value; ``q`` is the quantization step of
    the *value* (0 for continuous); ``vmin``/``vmax`` clip values after rounding (integer ranges);
    ``prior_mu``/``prior_sigma`` define the prior kernel in ``z``. ``cat_logp`` holds each
    categorical column's log prior probabilities, padded with ``-inf`` to the widest column.
    ``block`` gives the block of every column, numeric columns first, then categorical ones.
    Numeric columns are ordered continuous first, then quantized.
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
    block: np.ndarray

    @property
    def n_numeric(self) -> int:
        return len(self.lo)

    @property
    def n_categorical(self) -> int:
        return len(self.cat_logp)

    @functools.cached_property
    def n_blocks(self) -> int:
        return int(self.block.max()) + 1 if len(self.block) else 0

    @functools.cached_property
    def block_columns(self) -> tuple[tuple[int, ...], ...]:
        """The columns of each block, in column order."""
        return tuple(tuple(np.flatnonzero(self.block == b).tolist()) for b in range(self.n_blocks))

    @functools.cached_property
    def quantized(self) -> np.ndarray:
        return self.q > 0

    @functools.cached_property
    def n_quantized(self) -> int:
        return int(self.quantized.sum())

    def __post_init__(self) -> None:
        if self.quantized[: self.n_numeric - self.n_quantized].any():
            raise ValueError("Dims: quantized numeric columns must come after the continuous ones")

    @functools.cached_property
    def continuous_part(self) -> Dims:
        """The numeric columns that are not quantized."""
        return _subdims(self, ~self.quantized)

    @functools.cached_property
    def quantized_part(self) -> Dims:
        """The quantized numeric columns."""
        return _subdims(self, self.quantized)

    @functools.cached_property
    def cat_cum(self) -> np.ndarray:
        """Cumulative prior probabilities of the categorical columns, exactly 1 from the last
        option on (so a uniform draw below 1 never lands on padding or a zero-probability option)."""
        cum = np.cumsum(np.exp(self.cat_logp), axis=1)
        return cum / cum[:, -1:]

    @functools.cached_property
    def _log_columns(self) -> np.ndarray:
        return np.flatnonzero(self.log)

    @functools.cached_property
    def _log_floor(self) -> np.ndarray:
        """Per log column, the ``z`` of a value of 0: a log-quantized 0 sits in the cell below
        ``log(q / 2)``; a continuous log value is never 0 (this is then below its bound)."""
        return np.log(np.maximum(self.q[self._log_columns], 1e-300) / 2)

    @functools.cached_property
    def _quantized_columns(self) -> np.ndarray:
        return np.flatnonzero(self.quantized)

    def to_z(self, values: np.ndarray) -> np.ndarray:
        """Internal coordinates of observed values, clipped into the bounds (NaN stays NaN)."""
        z = np.array(values, dtype=float)
        logs = self._log_columns
        if len(logs):
            with np.errstate(divide="ignore", invalid="ignore"):
                z[..., logs] = np.maximum(np.log(z[..., logs]), self._log_floor)
        return _clip_into(z, self.lo, self.hi)

    def to_values(self, z: np.ndarray) -> np.ndarray:
        """Values for internal coordinates: undo the log, round to the step, clip."""
        x = np.array(z, dtype=float)
        logs, quantized = self._log_columns, self._quantized_columns
        if len(logs):
            x[..., logs] = np.exp(x[..., logs])
        if len(quantized):
            q = self.q[quantized]
            x[..., quantized] = np.round(x[..., quantized] / q) * q
        return _clip_into(x, self.vmin, self.vmax)

    def cells(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rounding cell ``[a, b]`` of each value in ``z``, within the bounds."""
        half = 0.5 * self.q
        a, b = values - half, values + half
        logs = self._log_columns
        if len(logs):
            with np.errstate(divide="ignore", invalid="ignore"):
                a[..., logs] = np.log(np.maximum(a[..., logs], 0.0))
                b[..., logs] = np.log(b[..., logs])
        return _clip_into(a, self.lo, self.hi), _clip_into(b, self.lo, self.hi)


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
        block=dims.block[: dims.n_numeric][mask],
    )


# ----------------------------------------------------------------------------- mixtures


@dataclass(frozen=True)
class Mixture:
    """One or more Parzen mixtures ("parts") over the same columns, fitted and scored together.

    TPE's ``l`` (below) and ``g`` (above) are the two parts of one :class:`Mixture`, so that one
    pass over the arrays fits, and one kernel evaluation scores, both. Components are stored part
    after part, each part's observations followed by its prior component; ``ends[s]`` is one past
    part ``s``'s prior.

    ``mus``/``sigmas``/``log_norm`` are ``(m, n_numeric)`` (``log_norm`` is the log of each
    kernel's mass inside the bounds); ``cats`` is ``(m, n_categorical)`` with ``-1`` for the
    priors' rows; ``log_w`` is ``(m, n_blocks)``: per block, log weights normalised over the
    components of the same part active in it (``-inf`` elsewhere). Entries of inactive
    components hold finite placeholders (the prior's) so that no NaN reaches the arithmetic.
    """

    mus: np.ndarray
    sigmas: np.ndarray
    log_norm: np.ndarray
    cats: np.ndarray
    log_w: np.ndarray
    ends: tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.log_w)

    @property
    def starts(self) -> tuple[int, ...]:
        return (0, *self.ends[:-1])

    @functools.cached_property
    def columns(self) -> _Columns:
        """The per-column arrays transposed to ``(columns, m)``, contiguous (scoring's layout)."""
        inv_sigmas = 1.0 / self.sigmas
        log_pdf_offset = -np.log(self.sigmas) - _LOG_SQRT_2PI - self.log_norm  # log kernel at its centre
        return _Columns(
            mus=np.ascontiguousarray(self.mus.T),
            inv_sigmas=np.ascontiguousarray(inv_sigmas.T),
            log_pdf_offset=np.ascontiguousarray(log_pdf_offset.T),
            log_norm=np.ascontiguousarray(self.log_norm.T),
            cats=np.ascontiguousarray(self.cats.T),
            log_w=np.ascontiguousarray(self.log_w.T),
        )


@dataclass(frozen=True)
class _Columns:
    """A :class:`Mixture`'s arrays with components last: ``(n_numeric, m)``, ``(n_categorical, m)``
    and ``(n_blocks, m)``."""

    mus: np.ndarray
    inv_sigmas: np.ndarray
    log_pdf_offset: np.ndarray
    log_norm: np.ndarray
    cats: np.ndarray
    log_w: np.ndarray


def forgetting_weights(m: int, keep: int) -> np.ndarray:
    """Hyperopt's linear forgetting: the newest ``keep`` of ``m`` observations (in time order)
    weigh 1, older ones ramp down linearly towards ``1 / m``."""
    if keep <= 0 or m <= keep:
        return np.ones(m)
    ramp = np.arange(m - keep, dtype=float)
    ramp *= (1.0 - 1.0 / m) / max(m - keep - 1, 1)
    ramp += 1.0 / m
    return np.concatenate([ramp, np.ones(keep)])


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
    np.minimum(picks, m - 1, out=picks)
    # picks is non-decreasing: each run of equal picks is one kept row (np.unique would sort).
    first = np.ones(max_components, dtype=bool)
    np.not_equal(picks[1:], picks[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.empty(len(starts))
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = max_components - starts[-1]
    counts *= total / max_components
    return picks[starts], counts


def _adaptive_sigmas(pts: np.ndarray, part: np.ndarray, starts: np.ndarray, dims: Dims) -> np.ndarray:
    """Bandwidths of the components ``pts`` ``(m, d)`` (NaN entries are inactive and ignored):
    the larger gap to the column's sorted neighbours within the component's part, clipped to
    ``[prior_sigma / min(100, 1 + n), prior_sigma]`` where ``n`` counts the part's observations
    of the column. ``part`` gives each component's part (non-decreasing; each part ends with its
    prior component, whose centre counts as a neighbour), ``starts`` where each part begins."""
    m, d = pts.shape
    keys = pts.T
    order = np.lexsort((keys, np.broadcast_to(part, keys.shape)))  # (d, m): by part, then value; NaN last
    order += np.arange(0, d * m, m)[:, None]  # flat indices (take_along_axis costs more)
    ranked = keys.take(order)
    gaps = np.full((d, m + 1), np.nan)
    np.subtract(ranked[:, 1:], ranked[:, :-1], out=gaps[:, 1:m])
    gaps[:, starts[1:]] = np.nan  # no neighbours across parts
    # Sorted entry i has its left gap at i and its right gap at i + 1.
    out = np.empty((d, m))
    np.put(out, order, np.fmax(gaps[:, :m], gaps[:, 1:]))
    count = np.add.reduceat(~np.isnan(pts), starts, axis=0) - 1  # (parts, d); the prior excluded
    low = dims.prior_sigma / np.minimum(MAGIC_CLIP_CAP, 1.0 + count)
    sigmas = np.maximum(out.T, low[part])
    return np.minimum(sigmas, dims.prior_sigma, out=sigmas)


def fit(
    dims: Dims,
    z: np.ndarray,
    cats: np.ndarray,
    weights: np.ndarray,
    active: np.ndarray,
    prior_weight: float | np.ndarray,
    sizes: tuple[int, ...] | None = None,
) -> Mixture:
    """Parzen mixtures of observations, each with the prior added.

    ``z``: ``(n, n_numeric)`` internal coordinates; ``cats``: ``(n, n_categorical)`` category
    indices; ``weights``: ``(n,)``; ``active``: ``(n, n_blocks)``, which blocks each observation
    was active in (its entries in other blocks are ignored); ``prior_weight``: one number, or one
    per block. ``sizes`` cuts the rows, in order, into parts, each its own mixture (default: one
    part of all rows). A block without observations in a part gets the prior alone there,
    whatever its prior weight.
    """
    n = len(weights)
    sizes = (n,) if sizes is None else sizes
    if sum(sizes) != n:
        raise ValueError(f"fit: sizes {sizes} do not add up to the {n} observations")
    nparts, nn, nb = len(sizes), dims.n_numeric, dims.n_blocks
    count = np.array(sizes) + 1
    part = np.arange(nparts).repeat(count)
    ends = count.cumsum()
    starts = ends - count
    priors = ends - 1  # each part's last component is its prior
    # Observation rows: part s's observations go to rows [starts[s], priors[s]) (slices are much
    # cheaper than boolean masks here).
    cuts = [(int(a), int(b), int(a) - i) for i, (a, b) in enumerate(zip(starts, priors, strict=True))]
    act = np.ones((n + nparts, nb), dtype=bool)
    pts = np.empty((n + nparts, nn))
    for a, b, src in cuts:
        act[a:b] = active[src : src + b - a]
        pts[a:b] = z[src : src + b - a]
    pts[priors] = dims.prior_mu
    col_act = act[:, dims.block[:nn]]
    pts[~col_act] = np.nan
    sigmas = _adaptive_sigmas(pts, part, starts, dims)
    sigmas[priors] = dims.prior_sigma
    np.copyto(sigmas, dims.prior_sigma, where=~col_act)
    mus = np.where(col_act, pts, dims.prior_mu)

    c = np.full((n + nparts, dims.n_categorical), -1, dtype=np.int64)
    w = np.zeros((n + nparts, nb))
    obs_cats = np.where(active[:, dims.block[nn:]], cats, -1)
    obs_w = np.where(active, np.asarray(weights, dtype=float)[:, None], 0.0)
    for a, b, src in cuts:
        c[a:b] = obs_cats[src : src + b - a]
        w[a:b] = obs_w[src : src + b - a]
    has_obs = np.add.reduceat(w, starts, axis=0) > 0  # (parts, nb); priors still weigh 0
    w[priors] = np.where(has_obs, prior_weight, 1.0)
    total = np.add.reduceat(w, starts, axis=0)
    w /= total[part]
    log_w = np.log(w, out=np.full(w.shape, -np.inf), where=w > 0)
    log_norm = _log_inside(dims, mus, 1.0 / sigmas)
    return Mixture(mus=mus, sigmas=sigmas, log_norm=log_norm, cats=c, log_w=log_w, ends=tuple(ends.tolist()))


def _log_inside(dims: Dims, mus: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """Log mass inside the bounds of the kernels ``(mus, 1 / inv)``, ``(m, n_numeric)``. Every
    kernel is at most as wide as its bounds (``sigma <= prior_sigma``), so no cell is narrow and
    :func:`~sparktune._normal.log_mass`'s midpoint branch is never needed."""
    a = np.subtract(dims.lo, mus)
    a *= inv
    b = np.subtract(dims.hi, mus)
    b *= inv
    mass = exact_mass(a, b)
    with np.errstate(divide="ignore"):
        return np.log(mass, out=mass)


def sample(
    mix: Mixture, dims: Dims, rng: np.random.Generator, size: int, part: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``size`` points from part ``part``: numeric *values* ``(size, n_numeric)`` and
    categories ``(size, n_categorical)``. Each point draws one component per block, shared by the
    block's columns."""
    nb, nc = dims.n_blocks, dims.n_numeric
    first, end = mix.starts[part], mix.ends[part]
    cum = np.exp(mix.columns.log_w[:, first:end]).cumsum(axis=1)  # (nb, k), rows end at 1
    u = rng.random((size, nb))
    # The component of each draw: how many cumulative weights lie at or below it; a draw past
    # the last active component (rounding) falls back to the part's prior, always active.
    comp = np.empty((size, nb), dtype=np.intp)
    for b in range(nb):
        comp[:, b] = np.searchsorted(cum[b], u[:, b], side="right")
    np.minimum(comp, end - first - 1, out=comp)
    comp += first
    values = np.empty((size, nc))
    if nc:
        cols = np.arange(nc)
        cc = comp[:, dims.block[:nc]]
        mu = mix.mus[cc, cols]
        sig = mix.sigmas[cc, cols]
        z = rng.normal(mu, sig)
        flat = z.ravel()
        bad = ((z < dims.lo) | (z > dims.hi)).ravel().nonzero()[0]
        rounds = 0
        while bad.size > _FEW_REJECTED and rounds < _REJECTION_ROUNDS:
            # Redraw the rejected entries in row-major order; only those can still be out.
            redrawn = rng.normal(mu.ravel()[bad], sig.ravel()[bad])
            flat[bad] = redrawn
            col = bad % nc
            bad = bad[(redrawn < dims.lo[col]) | (redrawn > dims.hi[col])]
            rounds += 1
        if bad.size:
            col = bad % nc
            _redraw_few(flat, bad, mu.ravel(), sig.ravel(), dims.lo[col], dims.hi[col], rng, _REJECTION_ROUNDS - rounds)
        values = dims.to_values(_clip_into(z, dims.lo, dims.hi))
    nk = dims.n_categorical
    cat = np.empty((size, nk), dtype=np.int64)
    if nk:
        cc = comp[:, dims.block[nc:]]
        cat = mix.cats[cc, np.arange(nk)]
        from_prior = cat < 0
        if from_prior.any():
            u2 = rng.random((size, nk))
            drawn = (u2[:, :, None] >= dims.cat_cum[None, :, :]).sum(axis=2)
            cat = np.where(from_prior, drawn, cat)
    return values, cat


def _redraw_few(
    flat: np.ndarray,
    bad: np.ndarray,
    mu: np.ndarray,
    sig: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    rng: np.random.Generator,
    rounds: int,
) -> None:
    """The last rounds of :func:`sample`'s rejection for the few entries ``bad`` of ``flat``
    (``lo``/``hi``: their bounds), with scalar draws: the same draws in the same order as the
    vectorised rounds (so the same values), without a dozen numpy calls per round."""
    todo = list(zip(bad.tolist(), mu[bad].tolist(), sig[bad].tolist(), lo.tolist(), hi.tolist(), strict=True))
    for _ in range(rounds):
        left = []
        for entry in todo:
            i, m, s, a, b = entry
            v = rng.normal(m, s)
            flat[i] = v
            if v < a or v > b:
                left.append(entry)
        todo = left
        if not todo:
            return


@dataclass(frozen=True)
class _Points:
    """What scoring needs of ``C`` points whatever the mixture: the continuous columns' ``z``
    ``(n_continuous, C)``, the distinct (column, value) pairs of the quantized columns with their
    cells ``[a, b]`` in ``z`` (see :func:`_distinct`), and the categories ``(n_categorical, C)``."""

    n: int
    z: np.ndarray
    col: np.ndarray
    a: np.ndarray
    b: np.ndarray
    inverse: np.ndarray
    counts: np.ndarray
    cats: np.ndarray


def _points(dims: Dims, values: np.ndarray, cats: np.ndarray) -> _Points:
    nn, nq = dims.n_numeric, dims.n_quantized
    nc = nn - nq
    z = dims.continuous_part.to_z(values[:, :nc]).T if nc else np.empty((0, len(values)))
    if nq:
        # Candidates often share a quantized value: each distinct (column, value) is scored once.
        col, rep, inverse, counts = _distinct(values[:, nc:])
        a, b = dims.quantized_part.cells(values[:, nc:])
        a, b = a[rep, col], b[rep, col]
    else:
        col = counts = a = b = np.empty(0)
        inverse = np.empty((0, len(values)), dtype=np.int64)
    return _Points(len(values), z, col, a, b, inverse, counts, cats.T)


def log_kernels(mix: Mixture, dims: Dims, values: np.ndarray, cats: np.ndarray, scratch: bool = False) -> np.ndarray:
    """``(n_numeric + n_categorical, C, m)`` log kernel values at ``C`` points (numeric *values*
    and categories); quantized columns give log masses of the value's cell.

    Columns come first and components last, so that every operation runs over contiguous rows of
    ``m`` components (with the columns last, numpy's inner loops were a handful of elements long
    and their overhead dominated). Written into one output array with in-place arithmetic; with
    ``scratch`` the output is a per-thread buffer that the next call overwrites.
    """
    return _log_kernels(mix, dims, _points(dims, values, cats), scratch)


def _log_kernels(mix: Mixture, dims: Dims, pts: _Points, scratch: bool) -> np.ndarray:
    m = mix.size
    nn, nq = dims.n_numeric, dims.n_quantized
    nc = nn - nq
    shape = (nn + dims.n_categorical, pts.n, m)
    out = scratch_array("kernels", shape) if scratch else np.empty(shape)
    if nc:
        o = out[:nc]
        np.subtract(pts.z[:, :, None], mix.columns.mus[:nc, None, :], out=o)
        o *= mix.columns.inv_sigmas[:nc, None, :]
        np.multiply(o, o, out=o)
        o *= -0.5
        o += mix.columns.log_pdf_offset[:nc, None, :]
    if nq:
        k = len(pts.col)
        mu, inv = mix.columns.mus[nc:nn][pts.col], mix.columns.inv_sigmas[nc:nn][pts.col]
        ta = np.subtract(pts.a[:, None], mu, out=scratch_array("ta", (k, m)))
        ta *= inv
        tb = np.subtract(pts.b[:, None], mu, out=scratch_array("tb", (k, m)))
        tb *= inv
        masses = scratch_array("masses", (k, m))
        log_mass_into(ta, tb, masses, pts.counts)
        o = out[nc:nn]
        masses.take(pts.inverse, axis=0, out=o)
        o -= mix.columns.log_norm[nc:nn, None, :]
    if dims.n_categorical:
        out[nn:] = _category_table(mix, dims)[np.arange(dims.n_categorical)[:, None], pts.cats]
    return out


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of each column of ``values`` ``(C, k)``, column by column: for each
    distinct (column, value) its column and a row holding it, then ``(k, C)`` indices of every
    entry among them, and how many entries each stands for."""
    n, k = values.shape
    order = values.argsort(axis=0, kind="stable").T  # (k, C)
    columns = np.arange(k)[:, None]
    ranked = values.T[columns, order]
    new = np.ones((k, n), dtype=bool)
    np.not_equal(ranked[:, 1:], ranked[:, :-1], out=new[:, 1:])
    flat_new = new.ravel()
    ids = flat_new.cumsum() - 1
    inverse = np.empty((k, n), dtype=np.int64)
    inverse[columns, order] = ids.reshape(k, n)
    return flat_new.nonzero()[0] // n, order[new], inverse, np.bincount(ids)


def _category_table(mix: Mixture, dims: Dims) -> np.ndarray:
    """``(n_categorical, options, m)``: each categorical kernel's log mass at every option (0 on
    the observed category, ``-inf`` elsewhere; the prior's log probabilities for the prior and for
    inactive components), so that scoring gathers rows instead of comparing per point."""
    obs = mix.columns.cats[:, None, :]
    options = np.arange(dims.cat_logp.shape[1])[None, :, None]
    table = np.where(obs == options, 0.0, -np.inf)
    return np.where(obs < 0, dims.cat_logp[:, :, None], table)


def log_density(mix: Mixture, dims: Dims, kernels: np.ndarray) -> np.ndarray:
    """``(parts, C, n_blocks)`` log density (mass, for discrete columns) of each part's mixture in
    each block at the ``C`` points whose ``kernels`` (from :func:`log_kernels`) were computed."""
    # A block's kernel is the product of its columns' kernels: their log kernels are added in
    # column order (as np.sum along the first axis would, without first gathering the columns).
    per_block = scratch_array("per_block", (dims.n_blocks, *kernels.shape[1:]))
    for b, cols in enumerate(dims.block_columns):
        if len(cols) == 1:
            np.copyto(per_block[b], kernels[cols[0]])
            continue
        np.add(kernels[cols[0]], kernels[cols[1]], out=per_block[b])
        for c in cols[2:]:
            per_block[b] += kernels[c]
    per_block += mix.columns.log_w[:, None, :]
    return _part_logsumexp(per_block, mix.starts, mix.ends).transpose(2, 1, 0)


def _part_logsumexp(a: np.ndarray, starts: tuple[int, ...], ends: tuple[int, ...]) -> np.ndarray:
    """``log(sum(exp(a)))`` over each part's slice ``[start, end)`` of the last axis of ``a``, all
    parts in one pass: ``(..., parts)``, ``-inf`` where every term is ``-inf``; ``a`` is
    overwritten. Terms below ``exp(-700)`` times a part's largest count as that (``EXP_FLOOR``)."""
    top = np.maximum.reduceat(a, starts, axis=-1)
    empty = np.isneginf(top)
    top[~np.isfinite(top)] = 0.0
    for s, (first, end) in enumerate(zip(starts, ends, strict=True)):
        a[..., first:end] -= top[..., s : s + 1]
    np.maximum(a, EXP_FLOOR, out=a)
    np.exp(a, out=a)
    # Sums part by part: np.add.reduceat adds in another order than np.sum (pairwise), and a last
    # bit of difference can change which candidate wins.
    out = np.empty(top.shape)
    for s, (first, end) in enumerate(zip(starts, ends, strict=True)):
        np.sum(a[..., first:end], axis=-1, out=out[..., s])
    np.log(out, out=out)
    out += top
    out[empty] = -np.inf
    return out


def select(mix: Mixture, dims: Dims, rng: np.random.Generator, n_candidates: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_candidates`` from part 0 of ``mix`` (TPE's ``l``) and keep, in each block, the
    candidate with the largest ``log l(x) - log g(x)``, ``g`` being part 1. Returns one numeric
    value row and one category row."""
    values, cats = sample(mix, dims, rng, n_candidates)
    below, above = log_density(mix, dims, _log_kernels(mix, dims, _points(dims, values, cats), scratch=True))
    score = below - above
    score[np.isnan(score)] = -np.inf
    best = np.argmax(score, axis=0)  # (n_blocks,)
    nc = dims.n_numeric
    pick = best[dims.block]
    return values[pick[:nc], np.arange(nc)], cats[pick[nc:], np.arange(dims.n_categorical)]
