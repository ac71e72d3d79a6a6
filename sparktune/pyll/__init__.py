"""Hyperopt's ``pyll`` idioms: ``scope`` functions and ``stochastic.sample``.

Only what Hyperopt users write in their spaces is here; there is no general expression graph.
"""

from __future__ import annotations

from ..space import Apply, as_node
from . import stochastic
from .base import Scope, scope

__all__ = ["Apply", "Scope", "as_apply", "scope", "stochastic"]

#: Hyperopt's name for wrapping a structure into nodes.
as_apply = as_node
