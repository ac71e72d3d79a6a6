"""Tree-structured Parzen Estimator (TPE): Hyperopt's ``tpe.suggest``, fast and batch-aware.

``suggest(new_ids, domain, trials, seed, **options)`` has Hyperopt's signature and options, so
``functools.partial(tpe.suggest, n_startup_jobs=5)`` keeps working. It reads the history only as
columns (``trials.history()``), never trial dicts, and its cost per suggestion does not grow with
the number of trials beyond a few O(n) numpy passes.

How a suggestion is made
------------------------
1. Until ``n_startup_jobs`` trials have *finished* with a loss, points come from the prior
   (queued and running trials do not count).
2. The parameters fall into *condition groups*: those active under the same branch conditions.
   For each group, the finished trials where it was active are split by loss: the best
   ``min(ceil(gamma * n), linear_forgetting)`` (``split="linear"``; ``"sqrt"`` is Hyperopt's
   ``ceil(gamma * sqrt(n))``) form its "below" set, the rest its "above" set. Splitting per group
   (as Optuna does for conditional parameters, where Hyperopt splits globally) lets a branch be
   refined among its own trials while another branch leads. Trials still queued or running join
   the above sets (*constant liar*: they are treated as bad, so new points move away from them),
   and so does each point already proposed in the same batch: ``k`` ids give ``k`` distinct
   points that spread out instead of ``k`` copies of the current best guess. Trials whose
   objective returned an infinite loss (the idiom for a configuration that cannot run) are failed
   trials, outside the split, but join the above sets too, so their regions are avoided.
3. A parameter learns only from trials where it was active. Parzen mixtures ``l`` (below) and
   ``g`` (above) are fitted as the two parts of one mixture, over every block at once, and
   scored by one kernel evaluation (:mod:`sparktune._parzen`),
   ``n_EI_candidates`` points are drawn from ``l``, each block keeps the candidate maximising
   ``l(x) / g(x)``, and values whose branch is not active in the new point are dropped
   (``Space.active_mask``, parents first).
4. The above sets are compressed to at most ``max_components`` kernels by deterministic
   resampling in proportion to the linear-forgetting weights; this keeps a suggestion at 10,000
   trials about as cheap as one at 1,000.

Defaults, by measurement
------------------------
Watanabe 2023 ("Tree-structured Parzen estimator: understanding its algorithm components and their
roles for better empirical performance") ablates TPE's components and recommends multivariate
kernels, a linear splitting rule, the magic clip of bandwidths and keeping the prior. Measured here
on Branin, Hartmann-6, Rosenbrock-5, Ackley-5 and the conditional mixed problem of
``benchmarks/problems.py`` (10 seeds, median best loss at 50/100/200 evaluations, ``/tmp`` runs
summarised in ``benchmarks/README.md``):

- *multivariate vs independent*: with Hyperopt's other defaults, multivariate reached at 200
  evaluations Rosenbrock 165 vs 586, Ackley 7.9 vs 12.1, Hartmann -3.09 vs -2.85, Branin 0.449 vs
  0.484, and tied on the conditional problem; with the final defaults, 21.8 vs 123 (Rosenbrock),
  4.7 vs 6.0 (Ackley), Branin and Hartmann within noise. Multivariate is the default
  (``multivariate=True``): parameters active under the same conditions form one block with joint
  (product) kernels and one candidate is picked per block, so interactions are modelled.
  ``multivariate=False`` is Hyperopt's model (one block per parameter).
- *splitting*: Hyperopt's ``0.25 * sqrt(n)`` below set (4 trials at n = 200) was the weakest
  setting on every continuous problem (Rosenbrock 165 vs 10.6, Ackley 7.9 vs 4.2 for
  ``0.15 * n``); ``0.1 * n`` and ``1.0 * sqrt(n)`` were close to ``0.15 * n``, which was best or
  tied on 4 of 5 problems. Hence ``split="linear"``, ``gamma=0.15`` (capped at 25).
- *bandwidth*: Scott's rule (Optuna's multivariate choice) lost to adaptive neighbour-gap widths
  with the magic clip on all four continuous problems (e.g. Ackley 13.1 vs 7.9), so only the
  adaptive rule is offered.
- *prior and weighting*: ``prior_weight`` 0.5 vs 1 and ``linear_forgetting`` 0 vs 25 moved the
  medians within seed noise, either way, so Hyperopt's values stay.
- *startup*: 10 instead of Hyperopt's 20 prior draws: at 200 evaluations Hartmann -3.30 vs -3.16
  and Ackley 3.96 vs 4.36, Branin and Rosenbrock tied, Rosenbrock worse at 100 (148 vs 42); so
  ``n_startup_jobs=10`` (also Optuna's choice).
- *compression*: 256 vs 64 kernels for the above set: Rosenbrock 10.6 vs 21.8 and Ackley 4.2 vs
  4.7 at 200 evaluations, others tied; 128 is the compromise with speed.
- *batches* (``constant_liar``, ``liar_weight``): batches of 8 in synchronous rounds, seeds 40-99,
  compared per seed (the 16 startup points are shared) in log10 regret. Batches without liars (8
  independent picks from one model, as Optuna's default) were worse on Branin @50 (+0.18) and the
  conditional problem @100 (+0.31); lighter liars (weight 0.1, 0.25, 0.5) on Hartmann-6 (+0.04 to
  +0.10 at every checkpoint, 1.3 to 3 standard errors) and Rosenbrock; heavier ones (2, 4) on
  Branin (+0.19 @50, +0.20 @200); a weight falling as ``8 / n`` with the history gained on Branin
  and lost on Hartmann-6 and Rosenbrock; earlier batch points joining ``l`` instead ("believer",
  seeds 0-19) and batch slots fitted with a smaller or a larger below set were worse everywhere.
  So a liar weighs like the newest finished trial (``liar_weight=1``); ``benchmarks/README.md``
  has the medians (``benchmarks/results/tpe-batch8-liar-ablation.json``).
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _parzen
from ._checks import check_option
from ._suggest import docs_for_columns
from .exceptions import InvalidArgumentError
from .history import HistoryView
from .objective import Domain
from .space import Kind, Param, Space
from .trials import Trials

__all__ = ["suggest"]

#: Hyperopt's defaults for its public options, except ``gamma`` and ``n_startup_jobs`` (see the
#: module docstring).
DEFAULT_N_STARTUP_JOBS = 10
DEFAULT_N_EI_CANDIDATES = 24
DEFAULT_GAMMA = 0.15
DEFAULT_PRIOR_WEIGHT = 1.0
DEFAULT_LINEAR_FORGETTING = 25

# Hyperopt's module-level names for the defaults, which some code passes through partial().
_default_prior_weight = DEFAULT_PRIOR_WEIGHT
_default_n_startup_jobs = DEFAULT_N_STARTUP_JOBS
_default_n_EI_candidates = DEFAULT_N_EI_CANDIDATES
_default_gamma = DEFAULT_GAMMA
_default_linear_forgetting = DEFAULT_LINEAR_FORGETTING

#: Chosen by measurement (see the module docstring): Hyperopt's sqrt split and independent
#: model are options, not defaults.
DEFAULT_MULTIVARIATE = True
DEFAULT_SPLIT = "linear"
#: Weight of a liar (pending trial or earlier point of the batch) in the above mixture; lighter and
#: heavier liars were measured worse with batches of 8 (see the module docstring).
DEFAULT_LIAR_WEIGHT = 1.0
#: Kernels kept for the above set: quality vs cost per suggestion (see the module docstring).
DEFAULT_MAX_COMPONENTS = 128
#: Below-set fraction (of sqrt(n), Hyperopt's rule) for groups that choose between branches.
#: The linear split keeps ~12 trials below at n = 80; when they all come from the branch found
#: first, a branch whose first good trial comes later is never picked (Hyperopt's tutorial
#: "case 1 / case 2" choice: 8 of 20 seeds found case 2 with the linear split, 19 of 20 with
#: this, as Hyperopt; the conditional benchmark cond_mixed also leaves its 0.2 trap).
DEFAULT_BRANCH_GAMMA = 0.25


@dataclass(frozen=True)
class _Plan:
    """The space's columns (numeric labels, then categorical ones), their blocks and anchors."""

    labels: tuple[str, ...]
    n_numeric: int
    dims: _parzen.Dims
    anchors: tuple[str, ...]  # per block, a label whose activity is the block's activity
    group_anchors: tuple[str, ...]  # per condition group (parameters active together), likewise
    branching: np.ndarray  # per condition group: it holds a choice that other parameters depend on
    block_group: np.ndarray  # the condition group of each block
    prior_scale: np.ndarray  # per block: options of a categorical-only block, else 1
    anchor_pos: tuple[int, ...]  # position of each block's anchor in ``labels``
    # Conditional parameters grouped by their conditions, parents first: the alternative paths of
    # (parent position, option index) under which they are active, and their positions in
    # ``labels``.
    conditional: tuple[tuple[tuple[tuple[tuple[int, int], ...], ...], tuple[int, ...]], ...]


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
    groups: dict[Any, int] = {}
    block_of: dict[str, int] = {}
    anchors: list[str] = []
    group_anchors: list[str] = []
    block_group: list[int] = []
    for p in space.params:  # parents first, so anchors are each block's first parameter
        condition = tuple(sorted(space.conditions[p.label]))
        if condition not in groups:
            groups[condition] = len(groups)
            group_anchors.append(p.label)
        key = condition if multivariate else p.label
        if key not in blocks:
            blocks[key] = len(blocks)
            anchors.append(p.label)
            block_group.append(groups[condition])
        block_of[p.label] = blocks[key]
    # Continuous parameters first, then quantized ones (the order _parzen.Dims expects).
    numeric = [p for p in space.params if p.kind is not Kind.CHOICE and _numeric_spec(p)[3] == 0]
    numeric += [p for p in space.params if p.kind is not Kind.CHOICE and _numeric_spec(p)[3] > 0]
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
    parents = {label for paths in space.conditions.values() for path in paths for label, _ in path}
    branching = np.zeros(len(group_anchors), dtype=bool)
    for p in space.params:
        if p.label in parents:
            branching[groups[tuple(sorted(space.conditions[p.label]))]] = True
    pos = {label: i for i, label in enumerate(labels)}
    by_condition: dict[tuple[tuple[tuple[int, int], ...], ...], list[int]] = {}
    for p in space.params:  # parents first: a group's parents come before its first parameter
        if () not in (conditions := space.conditions[p.label]):
            at = tuple(tuple((pos[parent], index) for parent, index in path) for path in conditions)
            by_condition.setdefault(at, []).append(pos[p.label])
    conditional = tuple((at, tuple(members)) for at, members in by_condition.items())
    return _Plan(
        labels=labels,
        n_numeric=len(numeric),
        dims=dims,
        anchors=tuple(anchors),
        group_anchors=tuple(group_anchors),
        branching=branching,
        block_group=np.array(block_group, dtype=np.int64),
        prior_scale=_prior_scale(dims, len(anchors)),
        anchor_pos=tuple(pos[label] for label in anchors),
        conditional=conditional,
    )


def _prior_scale(dims: _parzen.Dims, n_blocks: int) -> np.ndarray:
    """A block of categorical parameters only weighs its prior as one pseudo-observation per
    option (Laplace smoothing) rather than one in all: with a below group of up to 25 trials,
    a single pseudo-observation spread over the options made an option that had no good trial
    yet practically unreachable (measured on the conditional benchmark, where it kept TPE in a
    deceptive branch)."""
    scale = np.ones(n_blocks)
    numeric_blocks = set(dims.block[: dims.n_numeric].tolist())
    for i, b in enumerate(dims.block[dims.n_numeric :].tolist()):
        if b not in numeric_blocks:
            options = int(np.isfinite(dims.cat_logp[i]).sum())
            scale[b] = max(scale[b], options)
    return scale


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
    check_option("tpe.suggest", name, value, low=low, integer=integer, open_low=open_low)


#: Option tuples already checked (with their types, so that ``True`` is not taken for ``1``): a
#: run calls ``suggest`` with the same options every time.
_CHECKED: set[tuple[tuple[type, object], ...]] = set()


def _options_key(options: tuple[object, ...]) -> tuple[tuple[type, object], ...] | None:
    """``options`` as a key of ``_CHECKED`` (``None`` when unhashable: checked every time)."""
    try:
        key = tuple((type(v), v) for v in options)
        hash(key)
    except TypeError:
        return None
    return key


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
    liar_weight: float = DEFAULT_LIAR_WEIGHT,
    max_components: int = DEFAULT_MAX_COMPONENTS,
    branch_gamma: float | None = DEFAULT_BRANCH_GAMMA,
) -> list[dict[str, Any]]:
    """Propose one point per id in ``new_ids`` (Hyperopt's ``tpe.suggest``).

    Options (all usable through ``functools.partial``):

    - ``prior_weight``: weight of the prior kernel relative to one observation (Hyperopt: 1.0).
    - ``n_startup_jobs``: finished trials to collect from the prior before modelling (10;
      Hyperopt's is 20).
    - ``n_EI_candidates``: candidates drawn from ``l(x)`` per proposal (24).
    - ``gamma`` and ``split``: the below set is the best ``ceil(gamma * n)`` finished trials
      (``split="linear"``, default, gamma 0.15) or ``ceil(gamma * sqrt(n))`` (``split="sqrt"``,
      Hyperopt's rule; pass ``split="sqrt", gamma=0.25`` for Hyperopt's exact setting), capped at
      ``linear_forgetting``.
    - ``linear_forgetting``: the newest this many observations of a group weigh fully, older ones
      linearly less (25); 0 weighs all equally and removes the cap on the below group.
    - ``multivariate``: joint kernels over parameters active under the same conditions.
    - ``constant_liar``: treat queued/running trials and earlier points of the batch as bad
      observations, so a batch spreads out (True).
    - ``liar_weight``: the weight of each such liar in the above mixture, relative to the newest
      finished trial (1.0; lighter liars spread a batch less, see the module docstring).
    - ``max_components``: the above group is compressed to at most this many kernels.
    - ``branch_gamma``: a condition group holding a choice between branches (a choice whose
      options have their own parameters) is split with Hyperopt's rule ``ceil(branch_gamma *
      sqrt(n))`` instead (0.25); ``None`` splits it like the others.
    - ``verbose``: accepted for Hyperopt compatibility and ignored.
    """
    key = _options_key(
        (
            prior_weight,
            n_startup_jobs,
            n_EI_candidates,
            gamma,
            branch_gamma,
            linear_forgetting,
            max_components,
            liar_weight,
            split,
        )
    )
    if key is None or key not in _CHECKED:
        _check("prior_weight", prior_weight, low=0.0)
        _check("n_startup_jobs", n_startup_jobs, low=0.0, integer=True)
        _check("n_EI_candidates", n_EI_candidates, low=1.0, integer=True)
        _check("gamma", gamma, low=0.0, open_low=True)
        if branch_gamma is not None:
            _check("branch_gamma", branch_gamma, low=0.0, open_low=True)
        _check("linear_forgetting", linear_forgetting, low=0.0, integer=True)
        _check("max_components", max_components, low=1.0, integer=True)
        _check("liar_weight", liar_weight, low=0.0, open_low=True)
        if gamma > 1:
            raise InvalidArgumentError(f"tpe.suggest: gamma must be in (0, 1], got {gamma!r}")
        if split not in ("sqrt", "linear"):
            raise InvalidArgumentError(f"tpe.suggest: split must be 'sqrt' or 'linear', got {split!r}")
        if key is not None and len(_CHECKED) < 64:
            _CHECKED.add(key)
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

    # Split the finished trials, separately among the trials where each condition group was
    # active (so a branch is refined among its own trials even while another branch leads);
    # pending trials join the above group as liars.
    plan = _plan(space, bool(multivariate))
    dims = plan.dims
    below, above = _split(view, ok, plan, gamma, split, forget, branch_gamma, constant_liar)
    b_rows = np.logical_or.reduce(below, axis=0).nonzero()[0]
    a_rows = np.logical_or.reduce(above, axis=0).nonzero()[0]
    keep, a_weights = _above_kernels(len(a_rows), forget, int(max_components))
    a_rows = a_rows[keep]
    if constant_liar and liar_weight != 1.0:  # pending rows are liars too
        a_weights = np.where(view.pending[a_rows], a_weights * float(liar_weight), a_weights)

    # One mixture of two parts: l (the below rows) and g (the above rows and, for a batch, the
    # points proposed so far in it).
    z, cats = _observations(view, plan, np.concatenate([b_rows, a_rows]))
    active = np.concatenate([below[:, b_rows], above[:, a_rows]], axis=1)[plan.block_group].T
    weights = np.concatenate([_parzen.forgetting_weights(len(b_rows), forget), a_weights])
    prior = float(prior_weight) * plan.prior_scale
    out = np.empty((len(plan.labels), k))  # column j: the j-th point, in plan.labels order
    for j in range(k):
        mix = _parzen.fit(dims, z, cats, weights, active, prior, sizes=(len(b_rows), len(weights) - len(b_rows)))
        values, picked = _parzen.select(mix, dims, rng, int(n_EI_candidates))
        point = _deactivate(plan, values.tolist() + picked.tolist())
        out[:, j] = point
        if j + 1 < k and constant_liar:
            point_active = np.array([[not math.isnan(point[i]) for i in plan.anchor_pos]])
            z = np.vstack([z, dims.to_z(values)[None, :]])
            cats = np.vstack([cats, picked[None, :]])
            active = np.vstack([active, point_active])
            weights = np.append(weights, float(liar_weight))
    return docs_for_columns(new_ids, domain, trials, dict(zip(plan.labels, out, strict=True)))


@functools.lru_cache(maxsize=256)
def _above_kernels(n: int, forget: int, max_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``n`` above rows (in time order) become kernels, and their weights: linear
    forgetting, then compression. Depends on the counts only, so it is cached (read-only)."""
    keep, weights = _parzen.compress(_parzen.forgetting_weights(n, forget), max_components)
    keep.flags.writeable = weights.flags.writeable = False
    return keep, weights


def _split(
    view: HistoryView,
    ok: np.ndarray,
    plan: _Plan,
    gamma: float,
    split: str,
    forget: int,
    branch_gamma: float | None,
    constant_liar: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """``(groups, n)`` masks of the rows in each condition group's below and above sets (``ok``:
    the rows that finished with a loss). Groups come first so that every operation runs along
    contiguous rows of trials."""
    act = ~np.isnan(view.columns(plan.group_anchors))
    ok_act = act & ok
    n_below = []
    for gi, m in enumerate(ok_act.sum(axis=1).tolist()):
        if plan.branching[gi] and branch_gamma is not None:
            # A group that chooses between branches keeps Hyperopt's small below set, so that
            # one good trial in a rarely tried branch is enough to pull the search there.
            nb = math.ceil(float(branch_gamma) * math.sqrt(m))
        else:
            nb = math.ceil(gamma * (math.sqrt(m) if split == "sqrt" else m))
        n_below.append(max(1, min(nb, forget or m, m)))
    # Rank rows by loss (unfinished ones last, ties by age); each group's best are its below
    # set: its rows ranked no later than the one where its running count reaches its size.
    order = view.losses.argsort(kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    reached = ok_act.take(order, axis=1).cumsum(axis=1, dtype=np.int32) >= np.array(n_below)[:, None]
    below = ok_act & (rank <= np.argmax(reached, axis=1)[:, None])
    above = ok_act & ~below
    # Trials whose objective returned an infinite loss (a configuration that cannot run) are
    # not in the split, but their regions are bad: they join the above sets.
    above |= act & view.infeasible
    if constant_liar:
        above |= act & view.pending
    return below, above


def _deactivate(plan: _Plan, point: list[float]) -> list[float]:
    """``point`` (one value per label of ``plan``) with the values whose branch is not active set
    to NaN, parents first (the scalar form of ``Space.active_mask``: on one point, plain Python
    comparisons cost less than numpy calls on 1-element arrays)."""
    for paths, members in plan.conditional:
        if not any(all(point[parent] == index for parent, index in path) for path in paths):
            for i in members:
                point[i] = math.nan
    return point


def _observations(view: HistoryView, plan: _Plan, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """History rows as internal coordinates ``(r, n_numeric)`` and categories ``(r, n_cat)`` (-1
    where inactive)."""
    dims, nn = plan.dims, plan.n_numeric
    values = view.columns(plan.labels, rows).T
    z = dims.to_z(values[:, :nn])
    cats = np.where(np.isnan(values[:, nn:]), -1, values[:, nn:]).astype(np.int64)
    return z, cats
