"""Helpers shared by the ``suggest`` functions of every algorithm."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from .objective import STATUS_NEW, Domain
from .trials import Trials

__all__ = ["docs_for_points", "docs_for_columns", "non_adaptive", "is_adaptive"]


F = TypeVar("F", bound=Callable[..., Any])


def non_adaptive(suggest: F) -> F:
    """Mark an algorithm whose proposals do not depend on results (random search): an executor
    may then queue many trials ahead without hurting it."""
    suggest.sparktune_non_adaptive = True  # type: ignore[attr-defined]
    return suggest


def is_adaptive(algo: Any) -> bool:
    """Whether ``algo`` (possibly a ``functools.partial``) learns from results; unknown ones do."""
    while isinstance(algo, functools.partial):
        algo = algo.func
    return not getattr(algo, "sparktune_non_adaptive", False)


def docs_for_points(
    new_ids: Sequence[int], domain: Domain, trials: Trials, points: Sequence[Mapping[str, int | float]]
) -> list[dict[str, Any]]:
    """Hyperopt trial documents for ``points`` (``{label: value}`` of the active parameters)."""
    labels = domain.space.sorted_labels
    miscs = [
        {
            "tid": tid,
            "cmd": domain.cmd,
            "workdir": domain.workdir,
            "idxs": {k: [tid] if k in point else [] for k in labels},
            "vals": {k: [point[k]] if k in point else [] for k in labels},
        }
        for tid, point in zip(new_ids, points, strict=True)
    ]
    return trials.new_trial_docs(list(new_ids), [None] * len(new_ids), [{"status": STATUS_NEW} for _ in new_ids], miscs)


def docs_for_columns(
    new_ids: Sequence[int], domain: Domain, trials: Trials, columns: Mapping[str, np.ndarray]
) -> list[dict[str, Any]]:
    """Like :func:`docs_for_points` for columns with one row per new id (``NaN`` = inactive)."""
    return docs_for_points(new_ids, domain, trials, domain.space.points(columns, len(new_ids)))
