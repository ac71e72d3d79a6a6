"""Adaptive TPE: TPE that tunes its own settings from the run's progress (``atpe.suggest``).

Hyperopt's ``atpe`` predicts TPE's settings with pre-trained LightGBM models; it needs lightgbm
and scikit-learn and ignores ``rstate``. This one has no such dependency:
its settings follow from two statistics of the history, both computed from the columns:

- **stall** in [0, 1]: how long since the best loss last improved, relative to the run's
  length (``trials since the best / max(STALL_MIN_WINDOW, STALL_FRACTION * finished trials)``,
  capped at 1). 0 means the run is still improving.
- **importance** of each parameter in [0, 1]: the larger of the absolute Spearman correlations
  between the loss and (a) the parameter's value, (b) its distance to the best trial's value
  (so a parameter with an optimum in the middle of its range also counts), or for a choice, the
  correlation ratio of the loss ranks over its options. Parameters used by fewer than
  ``MIN_ROWS_FOR_IMPORTANCE`` finished trials count as important.

ATPE then decides, for each call:

- **TPE's settings**: while the run improves, a narrow "below" group (``gamma``), many
  candidates per proposal (``n_EI_candidates``) and stronger linear forgetting of old trials; as
  it stalls, a wider below group, fewer candidates and less forgetting (``GAMMA_RANGE``, ...).
- **which proposals explore and which exploit**: a share ``LOCAL_PROBABILITY_RANGE`` of the
  proposals (more while improving) has *every* parameter locked to the neighbourhood of one of
  the best trials; the others are TPE's, with each *unimportant* parameter (the less important
  half, by rank) locked with a probability that grows as its importance falls.
- **which trial a lock is centred on**: a geometric draw (mean position ``LOCK_AVG_BEST_IDX``)
  over the best trials *one per region* (:func:`distinct_anchors`): going down the loss ranking,
  a trial inside the current local window of a better one is skipped. Without this, the
  runners-up are near-copies of the best trial (earlier local proposals around it), so every
  lock refined the same point; now a third of the local proposals continue the best trials of
  other regions, and a run whose best region is a poor basin (a wrong arm of Rosenbrock's
  valley) keeps a second local search going elsewhere.
- **how tight a lock is**: a locked numeric parameter is drawn from annealing's neighbourhood
  around the good trial's value (``1 / (1 + T * LOCK_SHRINK_COEF)`` of the prior's width, ``T``
  the trials that used the parameter) times a *success factor* set by the one-fifth success
  rule replayed over the finished trials that used it: each new best widens it by
  ``exp(SUCCESS_STEP)``, every other trial narrows it by ``exp(-SUCCESS_STEP / 4)``, within
  ``[MIN_SHRINK_FRACTION, 1]`` (``sparktune._neighbourhood.one_fifth_factor``). A run that
  keeps improving thus keeps wide steps, one that stops improving refines. (The windows used to
  return to annealing's width as the run stalled; traces of the runs that failed showed that
  this did not take a run out of a poor basin, a tenth of the range being far too small for
  that, but stopped its refinement there: a Rosenbrock run sat 120 trials without improving.)
  Choices and ``randint`` keep annealing's rule (keep the value with probability ``1 - 1 / (1 +
  T * LOCK_SHRINK_COEF)``): a step size means nothing for them. A locked choice that switches
  branch takes the options' parameters from a good trial that made the same choice (or the
  prior if none did).

Every setting is a deterministic function of the history, and the locking draws come from the
``seed``, so a seeded run reproduces. Batches and running trials are handled by TPE's constant
liar; locking is drawn independently per proposal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import tpe
from ._checks import check_option
from ._neighbourhood import internal, sample_near, success_factors, window
from ._suggest import docs_for_columns
from .exceptions import InvalidArgumentError
from .history import HistoryView
from .objective import Domain
from .space import Kind, Space
from .trials import Trials

__all__ = [
    "suggest",
    "Settings",
    "settings_for",
    "importance",
    "stall",
    "distinct_anchors",
    "DEFAULT_N_STARTUP_JOBS",
]

#: Random trials before modelling; fewer than TPE's 20 because locking keeps early TPE focused.
DEFAULT_N_STARTUP_JOBS = 10
#: Stall is measured over at least this many trials, or this fraction of the finished ones.
STALL_MIN_WINDOW = 10
STALL_FRACTION = 0.25
#: Ranges of TPE's settings, from improving (first value) to stalled (second value). The
#: improving ends are TPE's defaults made greedier; the stalled ends are broader than TPE's.
GAMMA_RANGE = (0.1, 0.3)  # with TPE's linear split: the best 10% .. 30% form the below group
N_EI_CANDIDATES_RANGE = (64, 16)
LINEAR_FORGETTING_RANGE = (15, 40)
#: Largest probability of locking the least important parameter (reached when not stalled).
MAX_LOCK_PROBABILITY = 0.5
#: Share of proposals drawn near a good trial (all parameters "locked" to its neighbourhood),
#: from improving to stalled; the rest are TPE's. Chosen on the quality suite (20 seeds, see
#: docs/algorithms.md): more local search wins at 100-200 evaluations on every smooth problem.
LOCAL_PROBABILITY_RANGE = (0.9, 0.75)
#: Mean loss rank, among the one-per-region anchors, of the trial that locked parameters copy
#: their values from. 1.1 rather than 1.5: over seeds 0-199 (docs/algorithms.md), Hartmann-6
#: @100 -3.253 vs -3.193 and Rosenbrock-5 @100 27.4 vs 32.0, @200 level.
LOCK_AVG_BEST_IDX = 1.1
#: Locked parameters are drawn from annealing's neighbourhood, ``1 / (1 + T * this)`` of the prior's.
LOCK_SHRINK_COEF = 0.1
#: One-fifth success rule for the local neighbourhoods' width factor (log step on a new best;
#: a quarter of it back on any other trial, so the factor is steady at one success in five),
#: kept between MIN_SHRINK_FRACTION and 1 times annealing's schedule.
SUCCESS_STEP = 0.2
MIN_SHRINK_FRACTION = 0.1
#: Importance needs this many finished trials using the parameter.
MIN_ROWS_FOR_IMPORTANCE = 8
#: Local proposals' anchors are chosen among this many of the best trials, one per region.
ANCHOR_POOL = 64


@dataclass(frozen=True)
class Settings:
    """What ATPE decided for one call: TPE's options and each label's lock probability."""

    gamma: float
    n_EI_candidates: int  # TPE's option name
    linear_forgetting: int
    local_probability: float
    lock_probability: Mapping[str, float]

    def tpe_options(self) -> dict[str, Any]:
        return {
            "gamma": self.gamma,
            "n_EI_candidates": self.n_EI_candidates,
            "linear_forgetting": self.linear_forgetting,
            "split": "linear",
        }


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), 0-based."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=float)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = _ranks(a), _ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return 0.0 if den == 0 else abs(float(ra @ rb)) / den


def _correlation_ratio(groups: np.ndarray, y: np.ndarray) -> float:
    """sqrt(between-group variance / total variance) of ``y`` over ``groups``."""
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0:
        return 0.0
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=y) / counts
    between = float(np.sum(counts * (means - y.mean()) ** 2))
    return math.sqrt(between / total)


def importance(space: Space, view: HistoryView) -> dict[str, float]:
    """Importance in [0, 1] of every parameter (see the module docstring)."""
    ok = view.ok
    ok_rows = np.flatnonzero(ok)
    out: dict[str, float] = {}
    if len(ok_rows) == 0:
        return {label: 1.0 for label in space.labels}
    best_row = ok_rows[int(np.argmin(view.losses[ok_rows]))]
    for p in space.params:
        col = view.column(p.label)
        rows = ok_rows[~np.isnan(col[ok_rows])]
        if len(rows) < MIN_ROWS_FOR_IMPORTANCE:
            out[p.label] = 1.0
            continue
        loss_rank = _ranks(view.losses[rows])
        x = col[rows]
        if p.kind is Kind.CHOICE:
            out[p.label] = _correlation_ratio(x, loss_rank)
            continue
        if p.kind.is_log:
            x = np.log(np.maximum(x, 1e-300))
        score = _spearman(x, loss_rank)
        centre = col[best_row]
        if not math.isnan(centre):
            c = math.log(max(centre, 1e-300)) if p.kind.is_log else centre
            score = max(score, _spearman(np.abs(x - c), loss_rank))
        out[p.label] = score
    return out


def stall(view: HistoryView) -> float:
    """How long the best loss has not improved, in [0, 1] (see the module docstring)."""
    losses = view.losses[view.ok]
    n = len(losses)
    if n == 0:
        return 0.0
    since = n - 1 - int(np.argmin(losses))  # argmin: the first time the best was reached
    window = max(STALL_MIN_WINDOW, STALL_FRACTION * n)
    return min(1.0, since / window)


def _between(pair: tuple[float, float], t: float) -> float:
    return pair[0] + (pair[1] - pair[0]) * t


def settings_for(space: Space, view: HistoryView) -> Settings:
    """TPE's settings and the lock probabilities for the next proposals."""
    s = stall(view)
    imp = importance(space, view)
    # Lock probability falls linearly with the importance rank: the least important parameter
    # gets the most, the most important none; all of it fades out as the run stalls.
    labels = sorted(imp, key=lambda label: (imp[label], label))
    m = len(labels)
    lock: dict[str, float] = {}
    for rank, label in enumerate(labels):
        top = rank / (m - 1) if m > 1 else 1.0  # 0 for the least important, 1 for the most
        lock[label] = MAX_LOCK_PROBABILITY * max(0.0, 1.0 - 2.0 * top) * (1.0 - imp[label])
    return Settings(
        gamma=_between(GAMMA_RANGE, s),
        n_EI_candidates=round(_between(N_EI_CANDIDATES_RANGE, s)),
        linear_forgetting=round(_between(LINEAR_FORGETTING_RANGE, s)),
        local_probability=_between(LOCAL_PROBABILITY_RANGE, s),
        lock_probability=lock,
    )


def _check_int(name: str, value: object) -> int:
    return int(check_option("atpe.suggest", name, value, low=0, integer=True))


def suggest(
    new_ids: Sequence[int],
    domain: Domain,
    trials: Trials,
    seed: int,
    n_startup_jobs: int = DEFAULT_N_STARTUP_JOBS,
    **tpe_options: Any,
) -> list[dict[str, Any]]:
    """Propose ``len(new_ids)`` points with adaptive TPE (Hyperopt's ``atpe.suggest``).

    ``n_startup_jobs``: finished trials drawn from the prior before modelling. Other keyword
    options go to :func:`sparktune.tpe.suggest` unchanged (e.g. ``prior_weight``,
    ``multivariate``); the settings ATPE adapts (``gamma``, ``n_EI_candidates``,
    ``linear_forgetting``) cannot be given.
    """
    n_startup_jobs = _check_int("n_startup_jobs", n_startup_jobs)
    fixed = sorted(set(tpe_options) & {"gamma", "n_EI_candidates", "linear_forgetting", "n_startup_jobs", "split"})
    if fixed:
        raise InvalidArgumentError(
            f"atpe.suggest: {fixed} are chosen by ATPE itself and cannot be given; use tpe.suggest to set them by hand"
        )
    if not new_ids:
        return []
    space = domain.space
    rng = np.random.default_rng(seed)
    view = trials.history()
    ok_rows = np.flatnonzero(view.ok)
    if len(ok_rows) < max(n_startup_jobs, 1):
        return docs_for_columns(new_ids, domain, trials, space.sample(rng, len(new_ids)))
    settings = settings_for(space, view)
    tpe_seed, lock_seed = (int(s) for s in rng.integers(2**31 - 1, size=2))
    docs = tpe.suggest(new_ids, domain, trials, tpe_seed, n_startup_jobs=0, **settings.tpe_options(), **tpe_options)
    proposed = _columns_of(docs, space)
    ranked = ok_rows[np.argsort(view.losses[ok_rows], kind="stable")]
    locked = _lock(
        space,
        view,
        proposed,
        ranked,
        settings.lock_probability,
        settings.local_probability,
        np.random.default_rng(lock_seed),
    )
    return docs_for_columns([d["tid"] for d in docs], domain, trials, locked)


def _columns_of(docs: Sequence[Mapping[str, Any]], space: Space) -> dict[str, np.ndarray]:
    out = {label: np.full(len(docs), np.nan) for label in space.labels}
    for i, doc in enumerate(docs):
        for label, values in doc["misc"]["vals"].items():
            if values and label in out:
                out[label][i] = float(values[0])
    return out


def distinct_anchors(
    space: Space, columns: Mapping[str, np.ndarray], ranked: np.ndarray, shrink: Callable[[str], float]
) -> np.ndarray:
    """``ranked`` (rows, best first) keeping, among its first ``ANCHOR_POOL``, one row per region.

    Going down the ranking, a row is dropped when it lies inside the local window (``shrink``
    of the prior's spread, as :func:`sparktune._neighbourhood.sample_near` draws it) of a better
    row already kept: every parameter within the window's half-width of that row's value, and
    the same choices and ``randint`` values. The rows after the pool follow unchanged (runner-ups
    for points that switch a choice).
    """
    pool = ranked[:ANCHOR_POOL]
    m = len(pool)
    if m < 2:
        return ranked
    apart = np.zeros((m, m), dtype=bool)  # apart[i, j]: rows i and j are outside each other's window
    for p in space.params:
        x = columns[p.label][pool]
        nan = np.isnan(x)
        one_used = nan[:, None] != nan[None, :]
        if p.kind.is_discrete:
            apart |= one_used | ((x[:, None] != x[None, :]) & ~nan[:, None] & ~nan[None, :])
            continue
        x = internal(p, x)
        with np.errstate(invalid="ignore"):
            apart |= one_used | (np.abs(x[:, None] - x[None, :]) > window(p, shrink(p.label)))
    keep = np.zeros(m, dtype=bool)
    keep[0] = True
    for i in range(1, m):
        keep[i] = bool(apart[i, keep].all())
    return np.concatenate([pool[keep], ranked[m:]])


def _lock(
    space: Space,
    view: HistoryView,
    proposed: Mapping[str, np.ndarray],
    ranked: np.ndarray,
    lock_probability: Mapping[str, float],
    local_probability: float,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Replace locked parameters by draws near a good trial, keeping each point consistent."""
    k = len(next(iter(proposed.values())))
    columns = {label: view.column(label) for label in space.labels}
    counted = view.ok | view.pending
    uses = {label: int(np.count_nonzero(counted & ~np.isnan(col))) for label, col in columns.items()}

    # Choices have no factor (a step size means nothing for them): they keep annealing's rule.
    factors = success_factors(space, columns, view.ok, view.losses, SUCCESS_STEP, MIN_SHRINK_FRACTION)

    def narrow(label: str) -> float:
        return factors.get(label, 1.0) / (1.0 + uses[label] * LOCK_SHRINK_COEF)

    anchors = distinct_anchors(space, columns, ranked, narrow)
    near = sample_near(space, columns, anchors, rng, k, avg_best_idx=LOCK_AVG_BEST_IDX, shrink=narrow)
    local = rng.random(k) < local_probability
    out: dict[str, np.ndarray] = {}
    for p in space.params:
        active = space.active_mask(p.label, out, k)
        values = proposed[p.label].copy()
        ref_values = near[p.label]
        lock = (local | (rng.random(k) < lock_probability.get(p.label, 0.0))) & ~np.isnan(ref_values)
        values[lock] = ref_values[lock]
        missing = active & np.isnan(values)  # activated by a locked choice that switched branch
        if missing.any():
            values[missing] = ref_values[missing]
            still = missing & np.isnan(values)
            values[still] = p.sample(rng, int(still.sum()))
        values[~active] = np.nan
        out[p.label] = values
    return out
