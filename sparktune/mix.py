"""A mixture of algorithms: each proposal comes from one algorithm drawn by probability.

``mix.suggest(new_ids, domain, trials, seed, p_suggest=[(0.1, rand.suggest), (0.9, tpe.suggest)])``
is Hyperopt's ``mix.suggest``. Hyperopt draws one algorithm per call; here every new trial id
draws its own, so a batch of proposals is mixed in the given proportions too. Each algorithm
drawn is called once with its share of the ids and a seed derived from ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .exceptions import InvalidArgumentError
from .objective import Domain
from .trials import Trials

__all__ = ["suggest"]

#: Tolerance on ``sum(probabilities) == 1``, loose enough for decimal literals.
_PROB_SUM_TOL = 1e-6

Suggest = Callable[..., Sequence[dict[str, Any]]]


def _check(p_suggest: object) -> tuple[np.ndarray, list[Suggest]]:
    usage = "e.g. p_suggest=[(0.2, rand.suggest), (0.8, tpe.suggest)]"
    try:
        pairs = list(p_suggest)  # type: ignore[call-overload]
    except TypeError as err:
        raise InvalidArgumentError(
            f"mix.suggest: p_suggest must be a list of (probability, suggest) pairs, got {p_suggest!r}; {usage}"
        ) from err
    if not pairs:
        raise InvalidArgumentError(f"mix.suggest: p_suggest is empty; {usage}")
    probs: list[float] = []
    algos: list[Suggest] = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise InvalidArgumentError(
                f"mix.suggest: p_suggest[{i}] must be a (probability, suggest) pair, got {pair!r}"
            )
        p, algo = pair
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p) or p < 0:
            raise InvalidArgumentError(f"mix.suggest: p_suggest[{i}] has probability {p!r}; it must be a number >= 0")
        if not callable(algo):
            raise InvalidArgumentError(
                f"mix.suggest: p_suggest[{i}] has {algo!r} as its algorithm; it must be a suggest function"
            )
        probs.append(float(p))
        algos.append(algo)
    total = sum(probs)
    if abs(total - 1.0) > _PROB_SUM_TOL:
        raise InvalidArgumentError(f"mix.suggest: the probabilities in p_suggest must sum to 1, got {total!r}; {usage}")
    return np.asarray(probs) / total, algos


def suggest(
    new_ids: Sequence[int],
    domain: Domain,
    trials: Trials,
    seed: int,
    p_suggest: Sequence[tuple[float, Suggest]] = (),
) -> list[dict[str, Any]]:
    """Propose ``len(new_ids)`` points, each from an algorithm drawn from ``p_suggest``."""
    probs, algos = _check(p_suggest)
    rng = np.random.default_rng(seed)
    which = rng.choice(len(algos), size=len(new_ids), p=probs)
    seeds = rng.integers(2**31 - 1, size=len(algos))
    by_tid: dict[int, dict[str, Any]] = {}
    for k in np.unique(which):
        ids = [tid for tid, w in zip(new_ids, which, strict=True) if w == k]
        for doc in algos[k](ids, domain, trials, int(seeds[k])):
            by_tid[doc["tid"]] = doc
    return [by_tid[tid] for tid in new_ids if tid in by_tid]
