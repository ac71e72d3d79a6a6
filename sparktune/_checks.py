"""Validation of algorithms' numeric options, with one message format for all of them."""

from __future__ import annotations

import math
import numbers

from .exceptions import InvalidArgumentError

__all__ = ["check_option"]


def check_option(
    owner: str, name: str, value: object, *, low: float, integer: bool = False, open_low: bool = False
) -> float:
    """Return ``value`` (an int when ``integer``) or raise naming ``owner``, the option and the bound.

    e.g. ``tpe.suggest: gamma must be a number > 0, got -1``.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = math.isfinite(v) and (v > low if open_low else v >= low) and (not integer or v == math.floor(v))
    if not ok:
        what = "an integer" if integer else "a number"
        bound = f"> {low:g}" if open_low else f">= {low:g}"
        raise InvalidArgumentError(f"{owner}: {name} must be {what} {bound}, got {value!r}")
    return int(v) if integer else v
