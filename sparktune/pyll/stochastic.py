"""``sample(space, rng)``: one draw from a space's prior, as Hyperopt's ``pyll.stochastic``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..space import compile_space

__all__ = ["sample"]


def sample(space: object, rng: np.random.Generator | np.random.RandomState | int | None = None) -> Any:
    """Draw one point from ``space`` and return it built (choices resolved to their options)."""
    compiled = compile_space(space)
    columns = compiled.sample(_generator(rng), 1)
    return compiled.evaluate(compiled.point(columns, 0))


def _generator(rng: np.random.Generator | np.random.RandomState | int | None) -> np.random.Generator:
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.RandomState):
        return np.random.default_rng(rng.randint(2**31 - 1))
    raise TypeError(
        f"sample(space, rng): rng must be a numpy Generator, RandomState, int or None, got {type(rng).__name__}"
    )
