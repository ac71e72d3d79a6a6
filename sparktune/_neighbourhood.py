"""Sampling near good points of the history: annealing's proposal, and GP's local candidates.

:func:`sample_near` draws ``n`` points. Each point picks a *base* row from a ranked list (best
first) with a geometric index, then every parameter is drawn from its prior narrowed around the
base row's value: a uniform window of ``width * shrink`` for bounded parameters, a normal with
``sigma * shrink`` for normal ones, and "keep the value with probability ``1 - shrink``, else
draw from the prior" for choices and ``randint``. Parameters are visited parents first, so a
point that switches a choice activates that option's parameters; if the base row did not use a
parameter, the point takes a *runner-up* row (geometric again, among ranked rows that used it)
as its base from then on, and if no ranked row used it, the value comes from the prior.

Everything is vectorised over the ``n`` points: one pass over the parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .space import Param, Space

__all__ = ["geometric_index", "sample_near"]


def geometric_index(rng: np.random.Generator, avg: float, size: int, limit: int) -> np.ndarray:
    """Indices ``0, 1, 2, ...`` with mean about ``avg - 1`` (a geometric law), clipped to ``limit - 1``."""
    p = 1.0 / max(avg, 1.0)
    return np.minimum(rng.geometric(p, size=size) - 1, limit - 1)


def sample_near(
    space: Space,
    columns: Mapping[str, np.ndarray],
    ranked: np.ndarray,
    rng: np.random.Generator,
    n: int,
    *,
    avg_best_idx: float,
    shrink: Callable[[str], float],
) -> dict[str, np.ndarray]:
    """``n`` points near rows ``ranked`` (best first) of ``columns``; ``NaN`` where inactive.

    ``shrink(label)`` in ``(0, 1]`` is the fraction of the prior's spread kept for ``label``.
    """
    if len(ranked) == 0:
        return space.sample(rng, n)
    base = ranked[geometric_index(rng, avg_best_idx, n, len(ranked))]
    out: dict[str, np.ndarray] = {}
    for p in space.params:
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
            users = ranked[~np.isnan(col[ranked])]
            if len(users):
                runner_up = users[geometric_index(rng, avg_best_idx, int(lacking.sum()), len(users))]
                base[lacking] = runner_up
                centre = col[base]
        known = active & ~np.isnan(centre)
        fresh = active & ~known
        if fresh.any():
            values[fresh] = p.sample(rng, int(fresh.sum()))
        if known.any():
            values[known] = _narrowed(p, centre[known], shrink(p.label), rng)
        out[p.label] = values
    return out


def _narrowed(p: Param, centre: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    """Draws from ``p``'s prior narrowed to a fraction ``s`` of its spread around ``centre``."""
    n = len(centre)
    k = p.kind
    if k.is_discrete:
        resample = rng.random(n) < s
        out = centre.copy()
        out[resample] = p.sample(rng, int(resample.sum()))
        return out
    c = np.log(np.maximum(centre, 1e-300)) if k.is_log else centre.astype(float)
    if k.is_bounded:
        assert p.low is not None and p.high is not None
        half = 0.5 * (p.high - p.low) * s
        # Shift the window inside the bounds rather than cutting it (keeps its width).
        c = np.clip(c, p.low + half, p.high - half)
        x = rng.uniform(c - half, c + half)
    else:
        assert p.sigma is not None
        x = rng.normal(c, p.sigma * s)
    return p.from_internal(x)
