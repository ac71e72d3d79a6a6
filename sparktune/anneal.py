"""Annealing: sample ever closer to the best points found so far (Hyperopt's ``anneal``).

Each proposal picks one of the best finished trials (a geometric draw over the trials sorted by
loss, mean position ``avg_best_idx``; among equal losses the newest ranks first, so a run on a
plateau keeps moving) and draws every parameter near that trial's value. The neighbourhood of
parameter ``x`` shrinks with the number ``T`` of trials that used ``x``: a bounded parameter is
drawn uniformly from a window of ``(high - low) * f / (1 + T * shrink_coef)`` centred on the value
(shifted to stay inside the bounds, in log space for log parameters), a normal one from
``N(value, sigma * f / (1 + T * shrink_coef))``, and a choice or ``randint`` keeps the value with
probability ``1 - 1 / (1 + T * shrink_coef)`` and otherwise takes another value, drawn from the
prior over the other values (Hyperopt redraws from the whole prior, so the "change" is often the
same value: switching is more frequent here, which lets a run leave a deceptive branch).

``f`` (always 1 in Hyperopt) is a factor in
``[MIN_SUCCESS_FACTOR, 1]`` set by the one-fifth success rule of evolution strategies, replayed
over the finished trials that used ``x`` (each new best multiplies it by ``exp(SUCCESS_STEP)``,
any other trial by ``exp(-SUCCESS_STEP / 4)``). While one trial in five or more improves, the
neighbourhood is Hyperopt's; when improvements get rarer it narrows, so the search refines the
best point instead of sampling a window that mostly misses (on the quality suite: lower median
best loss on every problem, see docs/algorithms.md). ``success_rule=False`` gives Hyperopt's
widths exactly, and ``avg_best_idx=2.0`` its choice of centres (the default here is 1.5).

Choices and conditional parameters: choices are drawn first. When a proposal switches a choice,
the rest of the point is drawn near one of the best trials that made the same choice (Hyperopt
does this for the parameters of the chosen option: a runner-up that used them), or from the
prior where no finished trial did; its parameters shared by every option get ``f = 1`` (their
factor measured the other options' trials). Running trials count in ``T`` but are never picked
as a centre.

The first proposal, and every proposal while no trial has finished, comes from the prior. A batch
of proposals is a set of independent draws, so points in a batch differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._checks import check_option
from ._neighbourhood import sample_near, success_factors
from ._suggest import docs_for_columns
from .exceptions import InvalidArgumentError
from .objective import Domain
from .trials import Trials

__all__ = ["suggest", "DEFAULT_AVG_BEST_IDX", "DEFAULT_SHRINK_COEF"]

#: Mean rank of the trial a proposal is centred on. Hyperopt's is 2.0; with the narrower
#: neighbourhoods of the success rule, centring on the best trials more often measured better:
#: over seeds 0-199 Hartmann-6 @100 / @200 -3.256 / -3.321 vs -3.196 / -3.319, Rosenbrock-5
#: 17.5 / 4.45 vs 32.6 / 4.47 (1.0 gave -3.264 / -3.322 and 15.5 / 4.34; docs/algorithms.md).
DEFAULT_AVG_BEST_IDX = 1.5
#: Neighbourhood width is ``1 / (1 + T * shrink_coef)`` of the prior's (Hyperopt's default).
DEFAULT_SHRINK_COEF = 0.1
#: One-fifth success rule on the width of numeric neighbourhoods (see the module docstring):
#: log step on a new best, and the smallest factor. The classic rule of evolution strategies
#: (Rechenberg); the step is the usual order for a handful of parameters.
SUCCESS_STEP = 0.2
MIN_SUCCESS_FACTOR = 0.1


def suggest(
    new_ids: Sequence[int],
    domain: Domain,
    trials: Trials,
    seed: int,
    avg_best_idx: float = DEFAULT_AVG_BEST_IDX,
    shrink_coef: float = DEFAULT_SHRINK_COEF,
    success_rule: bool = True,
) -> list[dict[str, Any]]:
    """Propose ``len(new_ids)`` points by annealing (Hyperopt's ``anneal.suggest``).

    ``avg_best_idx`` (>= 1): mean position, in the loss ranking, of the trial each proposal is
    centred on; larger explores more. ``shrink_coef`` (>= 0): how fast neighbourhoods shrink
    with the number of trials; 0 keeps them at the prior's width (times the success factor).
    ``success_rule``: narrow numeric neighbourhoods by the one-fifth success rule (see the
    module docstring); ``False`` for Hyperopt's widths.
    """
    check_option("anneal.suggest", "avg_best_idx", avg_best_idx, low=1.0)
    check_option("anneal.suggest", "shrink_coef", shrink_coef, low=0.0)
    if not isinstance(success_rule, bool):
        raise InvalidArgumentError(f"anneal.suggest: success_rule must be True or False, got {success_rule!r}")
    rng = np.random.default_rng(seed)
    view = trials.history()
    ok = view.ok
    counted = ok | view.pending
    ranked = np.flatnonzero(ok)
    ranked = ranked[np.lexsort((-ranked, view.losses[ranked]))]  # ties: newest first
    columns = {p.label: view.column(p.label) for p in domain.space.params}
    uses = {label: int(np.count_nonzero(counted & ~np.isnan(col))) for label, col in columns.items()}

    factors = (
        success_factors(domain.space, columns, ok, view.losses, SUCCESS_STEP, MIN_SUCCESS_FACTOR)
        if success_rule
        else {}
    )

    def schedule(label: str) -> float:
        return 1.0 / (1.0 + uses[label] * shrink_coef)

    def shrink(label: str) -> float:
        return factors.get(label, 1.0) * schedule(label)

    def switched_shrink(label: str) -> float:
        # A point that switched a choice: the factor of a parameter used by every option mostly
        # measured the other options' progress, so it does not apply; a conditional parameter's
        # factor measured its own option's trials and does.
        return shrink(label) if domain.space.is_conditional(label) else schedule(label)

    points = sample_near(
        domain.space,
        columns,
        ranked,
        rng,
        len(new_ids),
        avg_best_idx=avg_best_idx,
        shrink=shrink,
        switched_shrink=switched_shrink,
    )
    return docs_for_columns(new_ids, domain, trials, points)
