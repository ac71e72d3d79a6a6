"""Seeds: one base seed per run, and one derived seed per algorithm call.

The seed for proposing trial ``tid`` depends only on the base seed and ``tid``, so a run that
is resumed from its trials file proposes the same points it would have proposed without the
interruption, however its earlier calls were batched.
"""

from __future__ import annotations

import os

import numpy as np

from .exceptions import InvalidArgumentError

__all__ = ["base_seed", "seed_for", "seed_is_given", "ENV_SEED"]

#: Environment variables that fix the seed when ``rstate`` is not given (Hyperopt's first).
ENV_SEED = ("HYPEROPT_FMIN_SEED", "SPARKTUNE_FMIN_SEED")

_SEED_LIMIT = 2**31 - 1


def base_seed(rstate: object) -> int:
    """Draw the run's base seed from ``rstate`` (Generator, RandomState, int or None)."""
    if rstate is None:
        for name in ENV_SEED:
            text = os.environ.get(name, "").strip()
            if text:
                try:
                    return int(text) % _SEED_LIMIT
                except ValueError as err:
                    raise InvalidArgumentError(f"{name} must be an integer seed, got {text!r}") from err
        return int(np.random.default_rng().integers(_SEED_LIMIT))
    if isinstance(rstate, np.random.Generator):
        return int(rstate.integers(_SEED_LIMIT))
    if isinstance(rstate, np.random.RandomState):
        return int(rstate.randint(_SEED_LIMIT))
    if isinstance(rstate, (int, np.integer)) and not isinstance(rstate, bool):
        return int(np.random.default_rng(int(rstate)).integers(_SEED_LIMIT))
    raise InvalidArgumentError(
        f"rstate must be a numpy.random.Generator, a numpy.random.RandomState, an int or None, "
        f"got {type(rstate).__name__}; e.g. rstate=np.random.default_rng(42)"
    )


def seed_is_given(rstate: object) -> bool:
    """Whether the caller fixed the seed (``rstate`` or an environment variable)."""
    return rstate is not None or any(os.environ.get(name, "").strip() for name in ENV_SEED)


def seed_for(base: int, tid: int) -> int:
    """The seed an algorithm gets when it proposes the trials starting at ``tid``."""
    return int(np.random.SeedSequence([base, tid]).generate_state(1)[0] % _SEED_LIMIT)
