"""Random search: every point is an independent draw from the space's prior."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._suggest import docs_for_columns, non_adaptive
from .objective import Domain
from .trials import Trials

__all__ = ["suggest"]


@non_adaptive
def suggest(new_ids: Sequence[int], domain: Domain, trials: Trials, seed: int) -> list[dict[str, Any]]:
    """Propose ``len(new_ids)`` points drawn from the prior (Hyperopt's ``rand.suggest``)."""
    rng = np.random.default_rng(seed)
    return docs_for_columns(new_ids, domain, trials, domain.space.sample(rng, len(new_ids)))
