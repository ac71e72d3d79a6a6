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
import itertools
import math
from dataclasses import dataclass

import numpy as np

from ._normal import EXP_FLOOR, log_mass_into, scratch_array

__all__ = [
    "Dims",
    "Mixture",
    "fit",
    "forgetting_weights",
    "compress",
    "log_density",
    "sample",
    "select",
]

#: Lower bandwidth clip is ``prior_sigma / min(MAGIC_CLIP_CAP, 1 + n)`` (Hyperopt's constant).
MAGIC_CLIP_CAP = 100.0
#: Draws per entry in each round of rejection sampling for truncated kernels (see
#: :func:`_truncated_normal`), and the rounds after which a kernel's centre is taken instead: a
#: kernel centre lies inside its bounds, so each draw is inside with probability above a third.
_OVERSAMPLE = 4
_REDRAWS = 16  # per entry left over, in each later round
_REJECTION_ROUNDS = 40

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
#: Stands in for 0 before a log (no warning, no -inf): log(_TINY) is below every log-scale bound.
_TINY = 1e-300


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
        return np.log(np.maximum(self.q[self._log_columns], _TINY) / 2)

    @functools.cached_property
    def _quantized_columns(self) -> np.ndarray:
        return np.flatnonzero(self.quantized)

    def to_z(self, values: np.ndarray) -> np.ndarray:
        """Internal coordinates of observed values, clipped into the bounds (NaN stays NaN)."""
        z = np.array(values, dtype=float)
        logs = self._log_columns
        if len(logs):
            # A value of 0 (log-quantized) lands on the floor, then is clipped into the bounds.
            z[..., logs] = np.maximum(np.log(np.maximum(z[..., logs], _TINY)), self._log_floor)
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
            a[..., logs] = np.log(np.maximum(a[..., logs], _TINY))  # then clipped to the bound
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

    Components come last in every array, so that each operation runs over contiguous rows of
    ``m`` components: ``mus``/``sigmas``/``inv_sigmas`` are ``(n_numeric, m)``; ``cats`` is
    ``(n_categorical, m)`` with ``-1`` for the priors (and inactive components); ``log_w`` is
    ``(n_blocks, m)``: per block, log weights normalised over the components of the same part
    active in it (``-inf`` elsewhere). Entries of inactive components hold finite placeholders
    (the prior's) so that no NaN reaches the arithmetic.
    """

    mus: np.ndarray
    sigmas: np.ndarray
    inv_sigmas: np.ndarray
    cats: np.ndarray
    log_w: np.ndarray
    ends: tuple[int, ...]

    @property
    def size(self) -> int:
        return self.log_w.shape[1]

    @property
    def starts(self) -> tuple[int, ...]:
        return (0, *self.ends[:-1])


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
    cum = weights.cumsum()
    step = cum[-1] / max_components
    picks = cum.searchsorted(np.arange(0.5, max_components) * step)
    np.minimum(picks, m - 1, out=picks)
    counts = np.bincount(picks, minlength=m)  # a row picked several times is kept once, heavier
    rows = counts.nonzero()[0]
    return rows, counts.take(rows) * step


def _adaptive_sigmas(pts: np.ndarray, part: np.ndarray, starts: list[int], dims: Dims) -> np.ndarray:
    """Bandwidths of the components ``pts`` ``(d, m)`` (NaN entries are inactive and ignored):
    the larger gap to the column's sorted neighbours within the component's part, clipped to
    ``[prior_sigma / min(100, 1 + n), prior_sigma]`` where ``n`` counts the part's observations
    of the column. ``part`` gives each component's part (non-decreasing; each part ends with its
    prior component, whose centre counts as a neighbour), ``starts`` where each part begins."""
    d, m = pts.shape
    # Sorted by value within each part (NaN last), as flat indices (take_along_axis costs more).
    order = np.empty((d, m), dtype=np.intp)
    for first, end in itertools.pairwise([*starts, m]):
        order[:, first:end] = pts[:, first:end].argsort(axis=1)
        order[:, first:end] += first
    order += np.arange(0, d * m, m)[:, None]
    ranked = pts.take(order)
    gaps = np.full((d, m + 1), np.nan)
    np.subtract(ranked[:, 1:], ranked[:, :-1], out=gaps[:, 1:m])
    gaps[:, starts[1:]] = np.nan  # no neighbours across parts
    # Sorted entry i has its left gap at i and its right gap at i + 1.
    out = np.empty((d, m))
    np.put(out, order, np.fmax(gaps[:, :m], gaps[:, 1:]))
    count = np.add.reduceat(~np.isnan(pts), starts, axis=1)  # (d, parts), the prior included
    count = np.minimum(count, MAGIC_CLIP_CAP, out=count.astype(float))
    low = dims.prior_sigma[:, None] / count
    np.maximum(out, low[:, part], out=out)
    return np.minimum(out, dims.prior_sigma[:, None], out=out)


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
    nn = dims.n_numeric
    ends = list(itertools.accumulate(size + 1 for size in sizes))
    starts = [0, *ends[:-1]]
    priors = [end - 1 for end in ends]  # each part's last component is its prior
    m = ends[-1]
    part = np.repeat(np.arange(len(sizes)), [size + 1 for size in sizes])
    # Component i of part s is observation i - s; the priors' entries are overwritten below (with
    # no observation at all, every component is a prior: they read one placeholder row).
    src = np.arange(m) - part
    if n == 0:
        z, cats = np.zeros((1, nn)), np.zeros((1, dims.n_categorical), dtype=np.int64)
        weights, active = np.zeros(1), np.ones((1, dims.n_blocks), dtype=bool)
    else:
        np.minimum(src, n - 1, out=src)
    act = active.T.take(src, axis=1)
    act[:, priors] = True
    col_act = act.take(dims.block[:nn], axis=0)
    pts = z.T.take(src, axis=1)
    pts[:, priors] = dims.prior_mu[:, None]
    np.copyto(pts, np.nan, where=~col_act)
    sigmas = _adaptive_sigmas(pts, part, starts, dims)
    sigmas[:, priors] = dims.prior_sigma[:, None]
    np.copyto(sigmas, dims.prior_sigma[:, None], where=~col_act)
    mus = np.where(col_act, pts, dims.prior_mu[:, None])

    c = np.where(act.take(dims.block[nn:], axis=0), cats.T.take(src, axis=1), -1)
    c[:, priors] = -1
    w = np.where(act, np.asarray(weights, dtype=float).take(src), 0.0)
    w[:, priors] = 0.0
    has_obs = np.add.reduceat(w, starts, axis=1) > 0  # (n_blocks, parts)
    w[:, priors] = np.where(has_obs, np.reshape(prior_weight, (-1, 1)), 1.0)
    w /= np.add.reduceat(w, starts, axis=1)[:, part]
    log_w = np.log(w, out=np.full(w.shape, -np.inf), where=w > 0)
    return Mixture(mus=mus, sigmas=sigmas, inv_sigmas=np.reciprocal(sigmas), cats=c, log_w=log_w, ends=tuple(ends))


def sample(
    mix: Mixture, dims: Dims, rng: np.random.Generator, size: int, part: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``size`` points from part ``part``: numeric *values* ``(size, n_numeric)`` and
    categories ``(size, n_categorical)``. Each point draws one component per block, shared by the
    block's columns."""
    nn, nk = dims.n_numeric, dims.n_categorical
    first, end = mix.starts[part], mix.ends[part]
    cum = np.exp(mix.log_w[:, first:end]).cumsum(axis=1)  # (nb, k), rows end at 1
    # The component of each draw: how many cumulative weights lie at or below it; a draw past
    # the last active component (rounding) falls back to the part's prior, always active.
    comp = (cum <= rng.random((size, dims.n_blocks, 1))).sum(axis=2)
    np.minimum(comp, end - first - 1, out=comp)
    comp += first
    values = np.empty((size, nn))
    if nn:
        cc = comp[:, dims.block[:nn]]
        cols = np.arange(nn)
        z = _truncated_normal(mix.mus[cols, cc], mix.sigmas[cols, cc], dims.lo, dims.hi, rng)
        values = dims.to_values(z)
    cat = np.empty((size, nk), dtype=np.int64)
    if nk:
        cat = mix.cats[np.arange(nk), comp[:, dims.block[nn:]]]
        from_prior = cat < 0
        if from_prior.any():
            drawn = (rng.random((size, nk, 1)) >= dims.cat_cum).sum(axis=2)
            cat = np.where(from_prior, drawn, cat)
    return values, cat


def _truncated_normal(
    mu: np.ndarray, sigma: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draws of ``N(mu, sigma)`` truncated to ``[lo, hi]`` (``(size, d)``; bounds per column; every
    ``mu`` inside its bounds), by rejection: ``_OVERSAMPLE`` draws per entry at a time, keeping
    the first inside, so one round is usually enough (a kernel centred inside its bounds puts at
    least a third of its mass inside)."""
    draws = rng.standard_normal((_OVERSAMPLE, *mu.shape))
    draws *= sigma
    draws += mu
    inside = draws >= lo
    inside &= draws <= hi
    out = inside.argmax(axis=0).choose(draws)
    todo = (~inside.any(axis=0)).ravel().nonzero()[0]
    if todo.size:
        _redraw(out.reshape(-1), todo, mu.reshape(-1), sigma.reshape(-1), lo, hi, rng)
    return out


def _redraw(
    out: np.ndarray,
    todo: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Further rejection rounds for the flat entries ``todo`` of ``out`` (``(size * d,)``, columns
    last) that had no draw inside their bounds; after ``_REJECTION_ROUNDS`` (practically never)
    the kernel's centre is taken."""
    col = todo % len(lo)
    for _ in range(_REJECTION_ROUNDS):
        draws = rng.standard_normal((_REDRAWS, todo.size))
        draws *= sigma[todo]
        draws += mu[todo]
        inside = (draws >= lo[col]) & (draws <= hi[col])
        out[todo] = inside.argmax(axis=0).choose(draws)
        left = ~inside.any(axis=0)
        todo, col = todo[left], col[left]
        if not todo.size:
            return
    out[todo] = mu[todo]


@dataclass(frozen=True)
class _Points:
    """What scoring needs of ``C`` points whatever the mixture: the continuous columns' ``z``
    ``(C, n_continuous)``, the distinct (column, value) pairs of the quantized columns with their
    cells ``[a, b]`` in ``z`` (see :func:`_distinct`), and the categories ``(n_categorical, C)``."""

    n: int
    z: np.ndarray
    col: np.ndarray
    a: np.ndarray
    b: np.ndarray
    inverse: np.ndarray
    cats: np.ndarray


def _points(dims: Dims, values: np.ndarray, cats: np.ndarray) -> _Points:
    nn, nq = dims.n_numeric, dims.n_quantized
    nc = nn - nq
    z = dims.continuous_part.to_z(values[:, :nc])
    if nq:
        # Candidates often share a quantized value: each distinct (column, value) is scored once.
        col, rep, inverse = _distinct(values[:, nc:])
        a, b = dims.quantized_part.cells(values[:, nc:])
        a, b = a[rep, col], b[rep, col]
    else:
        col, a, b = np.empty(0, dtype=np.intp), np.empty(0), np.empty(0)
        inverse = np.empty((0, len(values)), dtype=np.intp)
    return _Points(len(values), z, col, a, b, inverse, cats.T)


def log_density(mix: Mixture, dims: Dims, values: np.ndarray, cats: np.ndarray) -> np.ndarray:
    """``(parts, C, n_blocks)`` log density (mass, for discrete columns) of each part's mixture in
    each block at ``C`` points (numeric *values* ``(C, n_numeric)``, categories ``(C,
    n_categorical)``)."""
    return _log_density(mix, dims, _points(dims, values, cats))


def _log_kernels(mix: Mixture, dims: Dims, pts: _Points) -> np.ndarray:
    """``(n_numeric + n_categorical, C, m)`` log kernel values at the points (a per-thread buffer
    that the next call overwrites); quantized columns give log masses of the value's cell.

    Columns come first and components last, so that every operation runs over contiguous rows of
    ``m`` components, in place. (Scoring only the components active in each block, gathered into
    ragged rows, cost more in index building and gathers than it saved, even in the conditional
    benchmark space where most components are inactive in most blocks.)
    """
    m = mix.size
    nn, nq = dims.n_numeric, dims.n_quantized
    nc = nn - nq
    shape = (nn + dims.n_categorical, pts.n, m)
    out = scratch_array("kernels", shape)
    if nn:
        # Every normal-CDF mass of the suggestion in one pass: each kernel's mass inside its
        # bounds (``nn * m`` cells), then the quantized candidates' rounding cells (``k * m``).
        k, inv = len(pts.col), mix.inv_sigmas
        cells = scratch_array("cells", (2, (nn + k) * m))
        bounds = cells[:, : nn * m].reshape(2, nn, m)
        np.subtract(dims.lo[:, None], mix.mus, out=bounds[0])
        np.subtract(dims.hi[:, None], mix.mus, out=bounds[1])
        bounds *= inv
        if k:
            rounding = cells[:, nn * m :].reshape(2, k, m)
            mu = mix.mus[nc:nn].take(pts.col, axis=0)
            np.subtract(pts.a[:, None], mu, out=rounding[0])
            np.subtract(pts.b[:, None], mu, out=rounding[1])
            rounding *= inv[nc:nn].take(pts.col, axis=0)
        log_masses = scratch_array("log_masses", ((nn + k) * m,))
        log_mass_into(cells, log_masses)
        log_inside = log_masses[: nn * m].reshape(nn, m)
    if nc:
        o = out[:nc]
        np.subtract(pts.z.T[:, :, None], mix.mus[:nc, None, :], out=o)
        o *= inv[:nc, None, :]
        np.multiply(o, o, out=o)
        o *= -0.5
        offset = np.log(inv[:nc], out=scratch_array("offset", (nc, m)))  # log kernel at its centre
        offset -= log_inside[:nc]
        offset -= _LOG_SQRT_2PI
        o += offset[:, None, :]
    if nq:
        o = out[nc:nn]
        log_masses[nn * m :].reshape(k, m).take(pts.inverse, axis=0, out=o)
        o -= log_inside[nc:nn, None, :]
    if dims.n_categorical:
        out[nn:] = _category_table(mix, dims)[np.arange(dims.n_categorical)[:, None], pts.cats]
    return out


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of each column of ``values`` ``(C, k)``, column by column: for each
    distinct (column, value) its column and a row holding it, then ``(k, C)`` indices of every
    entry among them."""
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
    return flat_new.nonzero()[0] // n, order[new], inverse


def _category_table(mix: Mixture, dims: Dims) -> np.ndarray:
    """``(n_categorical, options, m)``: each categorical kernel's log mass at every option (0 on
    the observed category, ``-inf`` elsewhere; the prior's log probabilities for the prior and for
    inactive components), so that scoring gathers rows instead of comparing per point."""
    obs = mix.cats[:, None, :]
    options = np.arange(dims.cat_logp.shape[1])[None, :, None]
    table = np.where(obs == options, 0.0, -np.inf)
    return np.where(obs < 0, dims.cat_logp[:, :, None], table)


def _log_density(mix: Mixture, dims: Dims, pts: _Points) -> np.ndarray:
    kernels = _log_kernels(mix, dims, pts)
    per_block = scratch_array("per_block", (dims.n_blocks, *kernels.shape[1:]))
    for b, cols in enumerate(dims.block_columns):
        if len(cols) == 1:
            np.copyto(per_block[b], kernels[cols[0]])
            continue
        np.add(kernels[cols[0]], kernels[cols[1]], out=per_block[b])
        for c in cols[2:]:
            per_block[b] += kernels[c]
    per_block += mix.log_w[:, None, :]
    return _part_logsumexp(per_block, mix.starts, mix.ends).transpose(2, 1, 0)


def _part_logsumexp(a: np.ndarray, starts: tuple[int, ...], ends: tuple[int, ...]) -> np.ndarray:
    """``log(sum(exp(a)))`` over each part's slice ``[start, end)`` of the last axis of ``a``, all
    parts in one pass: ``(..., parts)``, ``-inf`` where every term is ``-inf``; ``a`` is
    overwritten. Terms below ``exp(-700)`` times a part's largest count as that (``EXP_FLOOR``)."""
    top = np.maximum.reduceat(a, starts, axis=-1)
    empty = np.isneginf(top)
    top[empty] = 0.0
    for s, (first, end) in enumerate(zip(starts, ends, strict=True)):
        a[..., first:end] -= top[..., s : s + 1]
    np.maximum(a, EXP_FLOOR, out=a)
    np.exp(a, out=a)
    out = np.add.reduceat(a, starts, axis=-1)
    np.log(out, out=out)
    out += top
    out[empty] = -np.inf
    return out


def select(mix: Mixture, dims: Dims, rng: np.random.Generator, n_candidates: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_candidates`` from part 0 of ``mix`` (TPE's ``l``) and keep, in each block, the
    candidate with the largest ``log l(x) - log g(x)``, ``g`` being part 1. Returns one numeric
    value row and one category row."""
    values, cats = sample(mix, dims, rng, n_candidates)
    below, above = _log_density(mix, dims, _points(dims, values, cats))
    score = below - above
    score[np.isnan(score)] = -np.inf
    best = np.argmax(score, axis=0)  # (n_blocks,)
    nc = dims.n_numeric
    pick = best[dims.block]
    return values[pick[:nc], np.arange(nc)], cats[pick[nc:], np.arange(dims.n_categorical)]
