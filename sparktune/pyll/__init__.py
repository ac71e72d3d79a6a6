"""Hyperopt's ``pyll`` idioms: ``scope`` functions and ``stochastic.sample``.

Only what Hyperopt users write in their spaces is here; there is no general expression graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..space import Apply, as_node, compile_space
from . import stochastic
from .base import Scope, scope

__all__ = ["Apply", "Scope", "as_apply", "rec_eval", "scope", "stochastic"]

#: Hyperopt's name for wrapping a structure into nodes.
as_apply = as_node


def rec_eval(expr: Any, memo: Mapping[Any, Any] | None = None, **_: Any) -> Any:
    """The value of the space ``expr`` at the point ``memo`` (``{parameter: value}``, choices as
    option indices): what a ``pass_expr_memo_ctrl`` objective calls on its ``expr`` and ``memo``,
    as in Hyperopt. Hyperopt's other keyword arguments are accepted and ignored."""
    vals = {getattr(node, "label", node): value for node, value in (memo or {}).items()}
    return compile_space(expr).evaluate(vals)
