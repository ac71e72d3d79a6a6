"""Serialize the objective once per run, and refuse objectives that cannot run on executors.

An objective that captures the driver's SparkSession, SparkContext, a DataFrame or an RDD fails
later on an executor with an opaque error (or not at all on some paths). Here it fails before any
trial runs, with the name it was captured under and what to do instead.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import pickle
from collections.abc import Callable
from typing import Any

import cloudpickle

from .exceptions import SerializationError

__all__ = ["serialize_domain"]

#: Driver-only pyspark types an objective must not capture (classic and Connect share the names).
_DRIVER_ONLY = frozenset(
    {"SparkSession", "SparkContext", "SQLContext", "DataFrame", "Column", "RDD", "DataFrameReader", "GroupedData"}
)


def _driver_only_type(obj: Any) -> str | None:
    cls = type(obj)
    if not cls.__module__.startswith("pyspark"):
        return None
    for base in cls.__mro__:
        if base.__name__ in _DRIVER_ONLY and base.__module__.startswith("pyspark"):
            return f"{cls.__module__}.{cls.__qualname__}"
    return None


class _CapturedSparkObject(Exception):
    def __init__(self, obj: Any, type_name: str) -> None:
        super().__init__(type_name)
        self.obj = obj
        self.type_name = type_name


class _CheckingPickler(cloudpickle.CloudPickler):
    def reducer_override(self, obj: Any) -> Any:
        type_name = _driver_only_type(obj)
        if type_name is not None:
            raise _CapturedSparkObject(obj, type_name)
        return super().reducer_override(obj)


def _captured_name(fn: Callable[..., Any], target: Any) -> str | None:
    """The name under which ``fn`` (or a function it references) holds ``target``, if findable."""
    seen: set[int] = set()
    stack: list[Any] = [fn]
    while stack:
        func = stack.pop()
        if id(func) in seen or not inspect.isfunction(func):
            continue
        seen.add(id(func))
        try:
            closure = inspect.getclosurevars(func)
        except (TypeError, ValueError):
            continue
        for scope in (closure.nonlocals, closure.globals):
            for name, value in scope.items():
                if value is target:
                    return name
                if inspect.isfunction(value):
                    stack.append(value)
    return None


def _unpicklable_name(fn: Callable[..., Any]) -> str | None:
    """The first variable ``fn`` captures that cloudpickle cannot pickle, if any."""
    try:
        closure = inspect.getclosurevars(fn)
    except (TypeError, ValueError):
        return None
    for scope in (closure.nonlocals, closure.globals):
        for name, value in scope.items():
            try:
                cloudpickle.dumps(value)
            except Exception:
                return name
    return None


def serialize_domain(domain: Any) -> tuple[bytes, str]:
    """``(cloudpickled domain, content key)``; raises :class:`SerializationError` when it cannot travel."""
    fn = getattr(domain, "fn", None)
    fn_name = getattr(fn, "__qualname__", repr(fn))
    buffer = io.BytesIO()
    try:
        _CheckingPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(domain)
    except _CapturedSparkObject as captured:
        name = _captured_name(fn, captured.obj) if fn is not None else None
        where = f"the variable {name!r}" if name else "an object it references"
        raise SerializationError(
            f"the objective {fn_name!r} captures {where}, a {captured.type_name}; Spark driver objects "
            "cannot be sent to executors, so SparkTrials cannot run it. Fix: do not use Spark inside "
            "the objective; pass plain data instead (e.g. df.toPandas() computed once on the driver, "
            "or a path the objective loads), or tune with Trials() to run on the driver."
        ) from None
    except Exception as err:
        culprit = _unpicklable_name(fn) if fn is not None else None
        what = f"its variable {culprit!r}" if culprit else "its search space"
        raise SerializationError(
            f"the objective {fn_name!r} or {what} cannot be pickled with cloudpickle "
            f"({type(err).__name__}: {err}); SparkTrials must send it to executors. Fix: create "
            "unpicklable resources (locks, open files, connections, clients) inside the objective "
            "instead of capturing them, or tune with Trials() to run on the driver."
        ) from err
    payload = buffer.getvalue()
    return payload, hashlib.sha256(payload).hexdigest()[:32]
