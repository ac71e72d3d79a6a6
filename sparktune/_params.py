"""A trial's point as flat ``{name: value}`` pairs, for logs, tables and files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["flatten_params"]


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
