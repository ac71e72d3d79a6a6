"""``scope``: named functions that build :class:`~sparktune.space.Apply` nodes.

``scope.int(hp.quniform('n', 1, 10, 1))`` applies ``int`` when the point is built, and
``@scope.define`` makes a user function usable the same way (``scope.my_fn(...)``).
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ..space import Apply, as_node

__all__ = ["Scope", "scope"]

F = TypeVar("F", bound=Callable[..., Any])


def _switch(index: int, *options: Any) -> Any:
    return options[index]


def _identity(value: Any) -> Any:
    return value


def _call(fn: Callable[..., Any], args: Any = (), kwargs: Any = None) -> Any:
    return fn(*args, **(kwargs or {}))


def _str_join(sep: str, items: Any) -> str:
    return sep.join(items)


class Scope:
    """A registry of functions; attribute access returns a node builder."""

    def __init__(self) -> None:
        self._fns: dict[str, Callable[..., Any]] = {}

    def define(self, fn: F) -> F:
        """Register ``fn`` under its name; returns ``fn`` unchanged (usable as a decorator)."""
        name = fn.__name__
        if name in self._fns and self._fns[name] is not fn:
            raise ValueError(f"scope.define: a function named {name!r} is already defined; rename yours")
        self._fns[name] = fn
        return fn

    define_pure = define

    def define_if_new(self, fn: F) -> F:
        """Register ``fn`` unless a function of that name exists already."""
        self._fns.setdefault(fn.__name__, fn)
        return fn

    def undefine(self, fn: Callable[..., Any] | str) -> None:
        del self._fns[fn if isinstance(fn, str) else fn.__name__]

    def __getattr__(self, name: str) -> Callable[..., Apply]:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            fn = self._fns[name]
        except KeyError:
            raise AttributeError(f"scope has no function {name!r}; register one with @scope.define") from None

        def build(*args: Any, **kwargs: Any) -> Apply:
            return Apply(fn, [as_node(a) for a in args], {k: as_node(v) for k, v in kwargs.items()})

        build.__name__ = name
        return build

    def __contains__(self, name: str) -> bool:
        return name in self._fns


scope = Scope()
for _fn in (
    builtins.int, builtins.float, builtins.bool, builtins.str, builtins.len, builtins.abs, builtins.round,
    builtins.max, builtins.min, builtins.sum, builtins.pow, builtins.range, builtins.getattr,
):  # fmt: skip
    scope.define(_fn)
# Hyperopt's other scope functions that spaces use (its names).
_extra: dict[str, Any] = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "maximum": max,
    "minimum": min,
    "switch": _switch,
    "identity": _identity,
    "call": _call,
    "str_join": _str_join,
    "asarray": np.asarray,
}
for _name, _extra_fn in _extra.items():
    scope._fns[_name] = _extra_fn
