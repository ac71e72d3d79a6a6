"""A trial's point as flat ``{name: value}`` pairs, for logs, tables and files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["flatten_params", "point_params"]


def flatten_params(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"clf": {"type": "svm", "C": 1}}`` → ``{"clf.type": "svm", "clf.C": 1}``; lists by index."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten_params(item, f"{prefix}{key}."))
        return out
    if isinstance(value, (list, tuple)):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten_params(item, f"{prefix}{i}."))
        return out
    return {prefix.rstrip(".") or "value": value}


def point_params(space: Any, vals: Mapping[str, Any]) -> dict[str, Any]:
    """The point ``vals`` of a compiled ``space`` as values (``space_eval``), flattened; a space
    that is one parameter (``hp.uniform("x", ...)``, maybe inside ``scope.int``) keeps its label."""
    value = space.evaluate(vals)
    if not isinstance(value, (Mapping, list, tuple)) and len(space.params) == 1:
        return {space.params[0].label: value}
    return flatten_params(value)
