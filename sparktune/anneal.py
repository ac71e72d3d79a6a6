"""Annealing: sample ever closer to the best points found so far (Hyperopt's ``anneal``).

Each proposal picks one of the best finished trials (a geometric draw over the trials sorted by
loss, mean position ``avg_best_idx``) and draws every parameter near that trial's value. The
neighbourhood of parameter ``x`` shrinks with the number ``T`` of trials that used ``x``: a bounded
parameter is drawn uniformly from a window of ``(high - low) / (1 + T * shrink_coef)`` centred on
the value (shifted to stay inside the bounds, in log space for log parameters), a normal one from
``N(value, sigma / (1 + T * shrink_coef))``, and a choice or ``randint`` keeps the value with
probability ``1 - 1 / (1 + T * shrink_coef)`` and is drawn from its prior otherwise.

Conditional parameters: when a proposal switches a choice, the chosen option's parameters are
drawn near the best trial that used them (a runner-up, as Hyperopt does), or from the prior if no
finished trial used them yet. Running trials count in ``T`` but are never picked as a centre.

The first proposal, and every proposal while no trial has finished, comes from the prior. A batch
of proposals is a set of independent draws, so points in a batch differ.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._neighbourhood import sample_near
from ._suggest import docs_for_columns
from .exceptions import InvalidArgumentError
from .objective import Domain
from .trials import Trials

__all__ = ["suggest", "DEFAULT_AVG_BEST_IDX", "DEFAULT_SHRINK_COEF"]

#: Mean rank of the trial a proposal is centred on (Hyperopt's default).
DEFAULT_AVG_BEST_IDX = 2.0
#: Neighbourhood width is ``1 / (1 + T * shrink_coef)`` of the prior's (Hyperopt's default).
DEFAULT_SHRINK_COEF = 0.1


def suggest(
    new_ids: Sequence[int],
    domain: Domain,
    trials: Trials,
    seed: int,
    avg_best_idx: float = DEFAULT_AVG_BEST_IDX,
    shrink_coef: float = DEFAULT_SHRINK_COEF,
) -> list[dict[str, Any]]:
    """Propose ``len(new_ids)`` points by annealing (Hyperopt's ``anneal.suggest``).

    ``avg_best_idx`` (>= 1): mean position, in the loss ranking, of the trial each proposal is
    centred on; larger explores more. ``shrink_coef`` (>= 0): how fast neighbourhoods shrink
    with the number of trials; 0 keeps them at the prior's width.
    """
    if not (isinstance(avg_best_idx, (int, float)) and math.isfinite(avg_best_idx) and avg_best_idx >= 1):
        raise InvalidArgumentError(
            f"anneal.suggest: avg_best_idx must be a finite number >= 1 (mean rank of the centre trial), "
            f"got {avg_best_idx!r}"
        )
    if not (isinstance(shrink_coef, (int, float)) and math.isfinite(shrink_coef) and shrink_coef >= 0):
        raise InvalidArgumentError(f"anneal.suggest: shrink_coef must be a finite number >= 0, got {shrink_coef!r}")
    rng = np.random.default_rng(seed)
    view = trials.history()
    ok = view.ok
    counted = ok | view.pending
    ranked = np.flatnonzero(ok)
    ranked = ranked[np.argsort(view.losses[ranked], kind="stable")]
    columns = {p.label: view.column(p.label) for p in domain.space.params}
    uses = {label: int(np.count_nonzero(counted & ~np.isnan(col))) for label, col in columns.items()}

    def shrink(label: str) -> float:
        return 1.0 / (1.0 + uses[label] * shrink_coef)

    points = sample_near(domain.space, columns, ranked, rng, len(new_ids), avg_best_idx=avg_best_idx, shrink=shrink)
    return docs_for_columns(new_ids, domain, trials, points)
