"""Sampling near good points of the history: annealing's and ATPE's proposals, GP's local candidates.

:func:`sample_near` draws ``n`` points. Each point picks a *base* row from a ranked list (best
first) with a geometric index, then every parameter is drawn from its prior narrowed around the
base row's value: a uniform window of ``width * shrink`` for bounded parameters, a normal with
``sigma * shrink`` for normal ones, and "keep the value with probability ``1 - shrink``, else
take another value from the prior" for choices and ``randint``. Choices are visited first
(parents before children). A point whose choice differs from its base row's takes a *runner-up*
row that made the same choice (geometric again) as its base from then on, so the rest of the
point continues a trial consistent with it; a point whose base row did not use a parameter
likewise takes a runner-up among the ranked rows that used it, and if none did, the value comes
from the prior. ``switched_shrink`` sets the numeric widths of points that switched a choice.

:func:`one_fifth_factor` and :func:`success_factors` give the width factor of the one-fifth
success rule (evolution strategies' classic step-size control), per parameter over the trials
that used it, which annealing and ATPE multiply into ``shrink``.

Everything is vectorised over the ``n`` points: one pass over the parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from .space import Kind, Param, Space

__all__ = ["geometric_index", "internal", "one_fifth_factor", "sample_near", "success_factors", "window"]


def geometric_index(rng: np.random.Generator, avg: float, size: int, limit: int) -> np.ndarray:
    """Indices ``0, 1, 2, ...`` with mean about ``avg - 1`` (a geometric law), clipped to ``limit - 1``."""
    p = 1.0 / max(avg, 1.0)
    return np.minimum(rng.geometric(p, size=size) - 1, limit - 1)


def one_fifth_factor(losses: np.ndarray, step: float, low: float) -> float:
    """Width factor by the one-fifth success rule, replayed over ``losses`` (trial order).

    Starting at 1, a new best multiplies it by ``exp(step)`` and any other loss by
    ``exp(-step / 4)``, kept in ``[low, 1]``: steady when one trial in five improves, larger when
    more do (the steps are too small), smaller when fewer do (too large).
    """
    log_f, floor = 0.0, math.log(low)
    records = losses < np.minimum.accumulate(np.concatenate([[np.inf], losses[:-1]]))
    for record in records.tolist():
        log_f = min(0.0, log_f + step) if record else max(floor, log_f - step / 4)
    return math.exp(log_f)


def success_factors(
    space: Space, columns: Mapping[str, np.ndarray], ok: np.ndarray, losses: np.ndarray, step: float, low: float
) -> dict[str, float]:
    """:func:`one_fifth_factor` of every numeric parameter over the finished trials that used it
    (so the parameters of a rarely chosen branch follow that branch's own progress)."""
    out: dict[str, float] = {}
    done: dict[bytes, float] = {}
    for p in space.params:
        if p.kind.is_discrete:
            continue
        used = ok & ~np.isnan(columns[p.label])
        key = used.tobytes()
        if key not in done:
            done[key] = one_fifth_factor(losses[used], step, low)
        out[p.label] = done[key]
    return out


def sample_near(
    space: Space,
    columns: Mapping[str, np.ndarray],
    ranked: np.ndarray,
    rng: np.random.Generator,
    n: int,
    *,
    avg_best_idx: float,
    shrink: Callable[[str], float],
    switched_shrink: Callable[[str], float] | None = None,
) -> dict[str, np.ndarray]:
    """``n`` points near rows ``ranked`` (best first) of ``columns``; ``NaN`` where inactive.

    ``shrink(label)`` in ``(0, 1]`` is the fraction of the prior's spread kept for ``label``;
    ``switched_shrink`` (default ``shrink``) is used for the numeric parameters of points that
    switched a choice away from their base trial's.
    """
    if len(ranked) == 0:
        return space.sample(rng, n)
    base = ranked[geometric_index(rng, avg_best_idx, n, len(ranked))]
    moved = np.zeros(n, dtype=bool)  # switched a choice
    out: dict[str, np.ndarray] = {}
    # Choices first (parents before children, as in the space), so that numeric parameters are
    # drawn around a trial that made the same choices as the point.
    order = [p for p in space.params if p.kind is Kind.CHOICE] + [p for p in space.params if p.kind is not Kind.CHOICE]
    for p in order:
        active = space.active_mask(p.label, out, n)
        values = np.full(n, np.nan)
        col = columns.get(p.label)
        if col is None or not active.any():
            values[active] = p.sample(rng, int(active.sum()))
            out[p.label] = values
            continue
        centre = col[base]
        lacking = active & np.isnan(centre)
        if lacking.any():
            _rebase(base, lacking, ranked[~np.isnan(col[ranked])], rng, avg_best_idx)
            centre = col[base]
        known = active & ~np.isnan(centre)
        fresh = active & ~known
        if fresh.any():
            values[fresh] = p.sample(rng, int(fresh.sum()))
        if known.any() and p.kind.is_discrete:
            values[known] = _kept_or_redrawn(p, centre[known], shrink(p.label), rng)
        elif known.any():
            s = np.full(n, shrink(p.label))
            if switched_shrink is not None:
                s[moved] = switched_shrink(p.label)
            values[known] = _narrowed(p, centre[known], s[known], rng)
        if p.kind is Kind.CHOICE:
            for option in np.unique(values[known & (values != centre)]):
                switched = known & (values == option) & (centre != option)
                _rebase(base, switched, ranked[col[ranked] == option], rng, avg_best_idx)
                moved |= switched
        out[p.label] = values
    return out


def _rebase(
    base: np.ndarray, which: np.ndarray, candidates: np.ndarray, rng: np.random.Generator, avg_best_idx: float
) -> None:
    """Move the points ``which`` to a runner-up among ``candidates`` (ranked rows), if any."""
    if len(candidates) and which.any():
        base[which] = candidates[geometric_index(rng, avg_best_idx, int(which.sum()), len(candidates))]


def _kept_or_redrawn(p: Param, centre: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    """A choice or ``randint``: keep ``centre`` with probability ``1 - s``, else take another value
    from the prior (Hyperopt's redraw may give the same value back: a wasted proposal)."""
    out = centre.copy()
    redraw = np.flatnonzero(rng.random(len(centre)) < s)
    if len(redraw) == 0 or p.n_options < 2:
        return out
    current = centre[redraw].astype(int)
    if p.kind is Kind.CHOICE:
        assert p.probs is not None
        probs = np.tile(np.asarray(p.probs, dtype=float), (len(redraw), 1))
        probs[np.arange(len(redraw)), current] = 0.0
        cum = np.cumsum(probs, axis=1)
        u = rng.random(len(redraw)) * cum[:, -1]
        other = np.argmax(cum > u[:, None], axis=1)
        out[redraw] = np.where(cum[:, -1] > 0, other, current)  # no other option has mass: keep
    else:
        assert p.low is not None and p.high is not None
        other = rng.integers(int(p.low), int(p.high) - 1, size=len(redraw))
        out[redraw] = other + (other >= current)
    return out


def internal(p: Param, values: np.ndarray) -> np.ndarray:
    """Values of numeric ``p`` on the scale its neighbourhoods are drawn in (log for log kinds)."""
    return np.log(np.maximum(values, 1e-300)) if p.kind.is_log else values.astype(float)


def window(p: Param, s: float | np.ndarray) -> float | np.ndarray:
    """Size of numeric ``p``'s neighbourhood at fraction ``s`` of its spread, on the internal
    scale: the half-width of the uniform window (bounded kinds) or the normal's deviation."""
    if p.kind.is_bounded:
        assert p.low is not None and p.high is not None
        return 0.5 * (p.high - p.low) * s
    assert p.sigma is not None
    return p.sigma * s


def _narrowed(p: Param, centre: np.ndarray, s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draws from numeric ``p``'s prior narrowed to fractions ``s`` of its spread around ``centre``."""
    c = internal(p, centre)
    half = window(p, s)
    if p.kind.is_bounded:
        assert p.low is not None and p.high is not None
        # Shift the window inside the bounds rather than cutting it (keeps its width).
        c = np.clip(c, p.low + half, p.high - half)
        x = rng.uniform(c - half, c + half)
    else:
        x = rng.normal(c, half)
    return p.from_internal(x)
