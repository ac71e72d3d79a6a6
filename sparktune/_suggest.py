"""Helpers shared by the ``suggest`` functions of every algorithm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .objective import STATUS_NEW, Domain
from .trials import Trials

__all__ = ["docs_for_points", "docs_for_columns"]


def docs_for_points(
    new_ids: Sequence[int], domain: Domain, trials: Trials, points: Sequence[Mapping[str, int | float]]
) -> list[dict[str, Any]]:
    """Hyperopt trial documents for ``points`` (``{label: value}`` of the active parameters)."""
    labels = domain.space.labels
    miscs = [
        {
            "tid": tid,
            "cmd": ("domain_attachment", "FMinIter_Domain"),
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
