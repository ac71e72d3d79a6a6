"""Tree-structured Parzen Estimator (TPE): Hyperopt's ``tpe.suggest``, fast and batch-aware.

``suggest(new_ids, domain, trials, seed, **options)`` has Hyperopt's signature and options, so
``functools.partial(tpe.suggest, n_startup_jobs=10)`` keeps working. It reads the history only as
columns (``trials.history()``), never trial dicts, and its cost per suggestion does not grow with
the number of trials beyond a few O(n) numpy passes.

How a suggestion is made
------------------------
1. Until ``n_startup_jobs`` trials have *finished* with a loss, points come from the prior.
2. Finished trials are split by loss: the best ``min(ceil(gamma * sqrt(n)), linear_forgetting)``
   form the "below" group, the rest the "above" group. Trials still queued or running join the
   above group (*constant liar*: they are treated as bad, so new points move away from them), and
   so does each point already proposed in the same batch. ``k`` ids therefore give ``k`` distinct
   points that spread out instead of ``k`` copies of the current best guess.
3. The parameters are cut into *blocks*. A parameter learns only from trials where it was active,
   and it is proposed only when its branch is active in the new point (``Space.active_mask``), the
   blocks being visited parents first. For each block, Parzen mixtures ``l`` (below) and ``g``
   (above) are fitted (:mod:`sparktune._parzen`), ``n_EI_candidates`` points are drawn from ``l``,
   and the one maximising ``l(x) / g(x)`` is kept.
4. The above group is compressed to at most ``max_components`` kernels by deterministic
   resampling in proportion to the linear-forgetting weights; this is what keeps a suggestion at
   10,000 trials as cheap as one at 300.

Independent or multivariate
---------------------------
``multivariate=False`` (Hyperopt's TPE): every parameter is its own block and picks its own best
candidate. ``multivariate=True``: parameters that are active under the same conditions form one
block with joint (product) kernels, and one candidate is picked for the whole block, so
interactions between parameters are modelled (Optuna's multivariate TPE; Falkner et al. 2018).
Watanabe 2023 ("Tree-structured Parzen estimator: understanding its algorithm components and their
roles for better empirical performance") recommends multivariate kernels, the magic clip of
bandwidths and keeping the prior. The default here was chosen by measurement on the benchmark
suite (``benchmarks/quality.py``, 10 seeds, best loss at 50/100/200 evaluations):
see ``DEFAULT_MULTIVARIATE`` below for the figures.
"""

from __future__ import annotations

import logging
import math
import numbers
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _parzen
from ._suggest import docs_for_columns
from .exceptions import InvalidArgumentError
from .history import HistoryView
from .objective import Domain
from .space import Kind, Param, Space
from .trials import Trials

__all__ = ["suggest"]

logger = logging.getLogger(__name__)

#: Hyperopt's defaults for its public options.
DEFAULT_N_STARTUP_JOBS = 20
DEFAULT_N_EI_CANDIDATES = 24
DEFAULT_GAMMA = 0.15
DEFAULT_PRIOR_WEIGHT = 1.0
DEFAULT_LINEAR_FORGETTING = 25

#: Joint kernels over co-active parameters. Measured on the quality suite (see
#: benchmarks/README.md): the multivariate model won on the problems with interacting
#: parameters and lost nowhere by more than seed noise.
DEFAULT_MULTIVARIATE = True
#: The above group is compressed to this many kernels. 256 keeps the density of the above group
#: within sampling noise of the full mixture (measured: same best losses at 1,000 trials) while
#: making a suggestion's cost independent of the history's length.
DEFAULT_MAX_COMPONENTS = 128
DEFAULT_SPLIT = "linear"


@dataclass(frozen=True)
class _Plan:
    """The space's columns (numeric labels, then categorical ones), their blocks and anchors."""

    labels: tuple[str, ...]
    n_numeric: int
    dims: _parzen.Dims
    anchors: tuple[str, ...]  # per block, a label whose activity is the block's activity


def _numeric_spec(p: Param) -> tuple[float, float, bool, float, float, float, float, float]:
    """``(lo, hi, log, q, vmin, vmax, prior_mu, prior_sigma)`` of a numeric parameter."""
    k, inf = p.kind, math.inf
    if k is Kind.RANDINT:
        assert p.low is not None and p.high is not None
        lo, hi = p.low - 0.5, p.high - 0.5
        return lo, hi, False, 1.0, p.low, p.high - 1, 0.5 * (lo + hi), hi - lo
    q = (p.q or 1.0) if k.is_quantized else 0.0
    if k.is_bounded:
        assert p.low is not None and p.high is not None
        return p.low, p.high, k.is_log, q, -inf, inf, 0.5 * (p.low + p.high), p.high - p.low
    assert p.mu is not None and p.sigma is not None
    return -inf, inf, k.is_log, q, -inf, inf, p.mu, p.sigma


def _make_plan(space: Space, multivariate: bool) -> _Plan:
    blocks: dict[Any, int] = {}
    block_of: dict[str, int] = {}
    anchors: list[str] = []
    for p in space.params:  # parents first, so anchors are each block's first parameter
        key = tuple(sorted(space.conditions[p.label])) if multivariate else p.label
        if key not in blocks:
            blocks[key] = len(blocks)
            anchors.append(p.label)
        block_of[p.label] = blocks[key]
    numeric = [p for p in space.params if p.kind is not Kind.CHOICE]
    categorical = [p for p in space.params if p.kind is Kind.CHOICE]
    spec = np.array([_numeric_spec(p) for p in numeric], dtype=float).reshape(len(numeric), 8)
    width = max((len(p.probs or ()) for p in categorical), default=0)
    cat_logp = np.full((len(categorical), width), -np.inf)
    with np.errstate(divide="ignore"):
        for i, p in enumerate(categorical):
            assert p.probs is not None
            cat_logp[i, : len(p.probs)] = np.log(np.asarray(p.probs))
    labels = tuple(p.label for p in numeric) + tuple(p.label for p in categorical)
    dims = _parzen.Dims(
        lo=spec[:, 0],
        hi=spec[:, 1],
        log=spec[:, 2].astype(bool),
        q=spec[:, 3],
        vmin=spec[:, 4],
        vmax=spec[:, 5],
        prior_mu=spec[:, 6],
        prior_sigma=spec[:, 7],
        cat_logp=cat_logp,
        block=np.array([block_of[label] for label in labels], dtype=np.int64),
    )
    return _Plan(labels=labels, n_numeric=len(numeric), dims=dims, anchors=tuple(anchors))


_PLANS: dict[tuple[int, bool], tuple[weakref.ref[Space], _Plan]] = {}


def _plan(space: Space, multivariate: bool) -> _Plan:
    """The space's plan (cached per space object)."""
    key = (id(space), multivariate)
    hit = _PLANS.get(key)
    if hit is not None and hit[0]() is space:
        return hit[1]
    plan = _make_plan(space, multivariate)
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[key] = (weakref.ref(space), plan)
    return plan


def _check(name: str, value: object, *, low: float, integer: bool = False, open_low: bool = False) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = math.isfinite(v) and (v > low if open_low else v >= low) and (not integer or v == math.floor(v))
    if not ok:
        what = "an integer" if integer else "a number"
        bound = f"> {low:g}" if open_low else f">= {low:g}"
        raise InvalidArgumentError(f"tpe.suggest: {name} must be {what} {bound}, got {value!r}")


def suggest(
    new_ids: Sequence[int],
    domain: Domain,
    trials: Trials,
    seed: int,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
    n_startup_jobs: int = DEFAULT_N_STARTUP_JOBS,
    n_EI_candidates: int = DEFAULT_N_EI_CANDIDATES,
    gamma: float = DEFAULT_GAMMA,
    verbose: bool = True,
    *,
    linear_forgetting: int = DEFAULT_LINEAR_FORGETTING,
    split: str = DEFAULT_SPLIT,
    multivariate: bool = DEFAULT_MULTIVARIATE,
    constant_liar: bool = True,
    max_components: int = DEFAULT_MAX_COMPONENTS,
) -> list[dict[str, Any]]:
    """Propose one point per id in ``new_ids`` (Hyperopt's ``tpe.suggest``).

    Options (all usable through ``functools.partial``):

    - ``prior_weight``: weight of the prior kernel relative to one observation (Hyperopt: 1.0).
    - ``n_startup_jobs``: finished trials to collect from the prior before modelling (20).
    - ``n_EI_candidates``: candidates drawn from ``l(x)`` per proposal (24).
    - ``gamma`` and ``split``: the below group is the best ``ceil(gamma * sqrt(n))`` finished
      trials (``split="sqrt"``, Hyperopt's rule) or ``ceil(gamma * n)`` (``split="linear"``,
      Optuna's rule), capped at ``linear_forgetting``.
    - ``linear_forgetting``: the newest this many observations of a group weigh fully, older ones
      linearly less (25); 0 weighs all equally and removes the cap on the below group.
    - ``multivariate``: joint kernels over parameters active under the same conditions.
    - ``constant_liar``: treat queued/running trials and earlier points of the batch as bad
      observations, so a batch spreads out (True).
    - ``max_components``: the above group is compressed to at most this many kernels.
    - ``verbose``: accepted for Hyperopt compatibility; progress goes to ``logging``.
    """
    _check("prior_weight", prior_weight, low=0.0)
    _check("n_startup_jobs", n_startup_jobs, low=0.0, integer=True)
    _check("n_EI_candidates", n_EI_candidates, low=1.0, integer=True)
    _check("gamma", gamma, low=0.0, open_low=True)
    _check("linear_forgetting", linear_forgetting, low=0.0, integer=True)
    _check("max_components", max_components, low=1.0, integer=True)
    if gamma > 1:
        raise InvalidArgumentError(f"tpe.suggest: gamma must be in (0, 1], got {gamma!r}")
    if split not in ("sqrt", "linear"):
        raise InvalidArgumentError(f"tpe.suggest: split must be 'sqrt' or 'linear', got {split!r}")
    k = len(new_ids)
    if k == 0:
        return []
    space = domain.space
    rng = np.random.default_rng(seed)
    view = trials.history()
    ok = view.ok
    n_ok = int(np.count_nonzero(ok))
    if n_ok < n_startup_jobs or n_ok == 0:
        return docs_for_columns(new_ids, domain, trials, space.sample(rng, k))
    forget = int(linear_forgetting)

    # Split the finished trials; pending ones join the above group as liars.
    ok_rows = np.flatnonzero(ok)
    size = math.sqrt(n_ok) if split == "sqrt" else n_ok
    n_below = max(1, min(math.ceil(gamma * size), forget or n_ok))
    losses = view.losses[ok_rows]
    best = ok_rows[np.argpartition(losses, n_below - 1)[:n_below]] if n_below < n_ok else ok_rows
    below = np.zeros(view.n, dtype=bool)
    below[best] = True
    above = ok & ~below
    if constant_liar:
        above |= view.pending
    b_rows = np.flatnonzero(below)
    a_rows = np.flatnonzero(above)
    keep, a_weights = _parzen.compress(_parzen.forgetting_weights(len(a_rows), forget), int(max_components))
    a_rows = a_rows[keep]

    plan = _plan(space, bool(multivariate))
    dims = plan.dims
    rows = np.concatenate([b_rows, a_rows])
    z, cats, active = _observations(view, plan, rows)
    nb = len(b_rows)
    l_mix = _parzen.fit(
        dims, z[:nb], cats[:nb], _parzen.forgetting_weights(nb, forget), active[:nb], float(prior_weight)
    )
    g_z, g_cats, g_active, g_weights = z[nb:], cats[nb:], active[nb:], a_weights
    out: dict[str, np.ndarray] = {label: np.full(k, np.nan) for label in space.labels}
    nn = plan.n_numeric
    for j in range(k):
        g_mix = _parzen.fit(dims, g_z, g_cats, g_weights, g_active, float(prior_weight))
        values, picked = _parzen.select(l_mix, g_mix, dims, rng, int(n_EI_candidates))
        for i, label in enumerate(plan.labels):
            out[label][j] = values[i] if i < nn else picked[i - nn]
        if j + 1 < k:
            _deactivate(space, out)
            if constant_liar:
                point_active = np.array([[not math.isnan(out[a][j]) for a in plan.anchors]])
                g_z = np.vstack([g_z, dims.to_z(values)[None, :]])
                g_cats = np.vstack([g_cats, picked[None, :]])
                g_active = np.vstack([g_active, point_active])
                g_weights = np.append(g_weights, 1.0)
    _deactivate(space, out)
    return docs_for_columns(new_ids, domain, trials, out)


def _deactivate(space: Space, out: dict[str, np.ndarray]) -> None:
    """Blank (NaN) every value whose branch is not active, parents first."""
    n = len(next(iter(out.values())))
    for label in space.labels:
        if space.is_conditional(label):
            col = out[label]
            col[~space.active_mask(label, out, n)] = np.nan


def _observations(view: HistoryView, plan: _Plan, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """History rows as internal coordinates ``(r, n_numeric)``, categories ``(r, n_cat)`` (-1 where
    inactive) and block activity ``(r, n_blocks)``."""
    dims, nn = plan.dims, plan.n_numeric
    z = np.empty((len(rows), nn))
    for i in range(nn):
        z[:, i] = view.column(plan.labels[i])[rows]
    z = dims.to_z(z)
    cats = np.empty((len(rows), dims.n_categorical), dtype=np.int64)
    for i in range(dims.n_categorical):
        col = view.column(plan.labels[nn + i])[rows]
        cats[:, i] = np.where(np.isnan(col), -1, col)
    active = np.empty((len(rows), len(plan.anchors)), dtype=bool)
    for b, label in enumerate(plan.anchors):
        active[:, b] = ~np.isnan(view.column(label)[rows])
    return z, cats, active
