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
from .objective import Domain
from .space import Kind, Param, Space
from .trials import Trials

__all__ = ["suggest"]

logger = logging.getLogger(__name__)

#: Hyperopt's defaults for its public options.
DEFAULT_N_STARTUP_JOBS = 20
DEFAULT_N_EI_CANDIDATES = 24
DEFAULT_GAMMA = 0.25
DEFAULT_PRIOR_WEIGHT = 1.0
DEFAULT_LINEAR_FORGETTING = 25

#: Joint kernels over co-active parameters. Measured on the quality suite (see
#: benchmarks/README.md): the multivariate model won on the problems with interacting
#: parameters and lost nowhere by more than seed noise.
DEFAULT_MULTIVARIATE = True
#: The above group is compressed to this many kernels. 256 keeps the density of the above group
#: within sampling noise of the full mixture (measured: same best losses at 1,000 trials) while
#: making a suggestion's cost independent of the history's length.
DEFAULT_MAX_COMPONENTS = 256
DEFAULT_SPLIT = "sqrt"
DEFAULT_BANDWIDTH = "adaptive"


@dataclass(frozen=True)
class _Block:
    """Parameters proposed together: numeric ones, then categorical ones, and their columns."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dims: _parzen.Dims
    anchor: str  # a label whose activity is the block's activity

    @property
    def labels(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


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


def _make_block(params: Sequence[Param]) -> _Block:
    numeric = [p for p in params if p.kind is not Kind.CHOICE]
    categorical = [p for p in params if p.kind is Kind.CHOICE]
    spec = np.array([_numeric_spec(p) for p in numeric], dtype=float).reshape(len(numeric), 8)
    width = max((len(p.probs or ()) for p in categorical), default=0)
    cat_logp = np.full((len(categorical), width), -np.inf)
    with np.errstate(divide="ignore"):
        for i, p in enumerate(categorical):
            assert p.probs is not None
            cat_logp[i, : len(p.probs)] = np.log(np.asarray(p.probs))
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
    )
    return _Block(
        numeric=tuple(p.label for p in numeric),
        categorical=tuple(p.label for p in categorical),
        dims=dims,
        anchor=params[0].label,
    )


_PLANS: dict[tuple[int, bool], tuple[weakref.ref[Space], tuple[_Block, ...]]] = {}


def _blocks(space: Space, multivariate: bool) -> tuple[_Block, ...]:
    """The space's blocks, parents first (cached per space object)."""
    key = (id(space), multivariate)
    hit = _PLANS.get(key)
    if hit is not None and hit[0]() is space:
        return hit[1]
    groups: dict[Any, list[Param]] = {}
    for p in space.params:
        group = tuple(sorted(space.conditions[p.label])) if multivariate else p.label
        groups.setdefault(group, []).append(p)
    blocks = tuple(_make_block(ps) for ps in groups.values())
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[key] = (weakref.ref(space), blocks)
    return blocks


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
    multivariate: bool = DEFAULT_MULTIVARIATE,
    constant_liar: bool = True,
    max_components: int = DEFAULT_MAX_COMPONENTS,
    split: str = DEFAULT_SPLIT,
    bandwidth: str = DEFAULT_BANDWIDTH,
) -> list[dict[str, Any]]:
    """Propose one point per id in ``new_ids`` (Hyperopt's ``tpe.suggest``).

    Options (all usable through ``functools.partial``):

    - ``prior_weight``: weight of the prior kernel relative to one observation (Hyperopt: 1.0).
    - ``n_startup_jobs``: finished trials to collect from the prior before modelling (20).
    - ``n_EI_candidates``: candidates drawn from ``l(x)`` per proposal (24).
    - ``gamma``: the below group is the best ``ceil(gamma * sqrt(n))`` finished trials (0.25),
      capped at ``linear_forgetting``.
    - ``linear_forgetting``: the newest this many observations of a group weigh fully, older ones
      linearly less (25); 0 weighs all equally.
    - ``multivariate``: joint kernels over parameters active under the same conditions.
    - ``constant_liar``: treat queued/running trials and earlier points of the batch as bad
      observations, so a batch spreads out (True).
    - ``max_components``: the above group is compressed to at most this many kernels (256).
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

    ok_rows = np.flatnonzero(ok)
    if split not in ("sqrt", "linear"):
        raise InvalidArgumentError(f"tpe.suggest: split must be 'sqrt' or 'linear', got {split!r}")
    if bandwidth not in ("adaptive", "scott"):
        raise InvalidArgumentError(f"tpe.suggest: bandwidth must be 'adaptive' or 'scott', got {bandwidth!r}")
    size = math.sqrt(n_ok) if split == "sqrt" else n_ok
    n_below = max(1, min(math.ceil(gamma * size), int(linear_forgetting) or n_ok))
    losses = view.losses[ok_rows]
    best = ok_rows[np.argpartition(losses, n_below - 1)[:n_below]] if n_below < n_ok else ok_rows
    below = np.zeros(view.n, dtype=bool)
    below[best] = True
    above = ok & ~below
    if constant_liar:
        above |= view.pending

    out: dict[str, np.ndarray] = {label: np.full(k, np.nan) for label in space.labels}
    for block in _blocks(space, bool(multivariate)):
        active_new = space.active_mask(block.anchor, out, k)
        if not active_new.any():
            continue
        cols = [view.column(label) for label in block.labels]
        active_old = np.ones(view.n, dtype=bool)
        for col in cols:
            active_old &= ~np.isnan(col)
        b_rows = np.flatnonzero(below & active_old)
        a_rows = np.flatnonzero(above & active_old)
        a_weights = _parzen.forgetting_weights(len(a_rows), int(linear_forgetting))
        keep, a_weights = _parzen.compress(a_weights, int(max_components))
        a_rows = a_rows[keep]
        dims = block.dims
        b_z, b_c = _observations(cols, b_rows, dims)
        a_z, a_c = _observations(cols, a_rows, dims)
        l_mix = _parzen.fit(
            dims,
            b_z,
            b_c,
            _parzen.forgetting_weights(len(b_rows), int(linear_forgetting)),
            float(prior_weight),
            bandwidth,
        )
        liar_z: list[np.ndarray] = []
        liar_c: list[np.ndarray] = []
        g_mix = _parzen.fit(dims, a_z, a_c, a_weights, float(prior_weight), bandwidth)
        for j in np.flatnonzero(active_new):
            if liar_z:
                g_mix = _parzen.fit(
                    dims,
                    np.vstack([a_z, *liar_z]),
                    np.vstack([a_c, *liar_c]),
                    np.append(a_weights, np.ones(len(liar_z))),
                    float(prior_weight),
                    bandwidth,
                )
            values, cats = _parzen.select(l_mix, g_mix, dims, rng, int(n_EI_candidates), bool(multivariate))
            for i, label in enumerate(block.numeric):
                out[label][j] = values[i]
            for i, label in enumerate(block.categorical):
                out[label][j] = cats[i]
            if constant_liar and k > 1:
                liar_z.append(dims.to_z(values)[None, :])
                liar_c.append(cats[None, :])
    return docs_for_columns(new_ids, domain, trials, out)


def _observations(cols: Sequence[np.ndarray], rows: np.ndarray, dims: _parzen.Dims) -> tuple[np.ndarray, np.ndarray]:
    """Internal coordinates ``(len(rows), n_numeric)`` and categories ``(len(rows), n_cat)``."""
    nn = dims.n_numeric
    z = np.empty((len(rows), nn))
    for i in range(nn):
        z[:, i] = cols[i][rows]
    z = dims.to_z(z)
    c = np.empty((len(rows), dims.n_categorical), dtype=np.int64)
    for i in range(dims.n_categorical):
        c[:, i] = cols[nn + i][rows]
    return z, c
