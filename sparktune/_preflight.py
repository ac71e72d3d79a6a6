"""Pre-flight checks: problems found before the first trial cost no evaluation.

- :func:`serialize_checked` pickles an objective (or anything holding it, such as a ``Domain``)
  with cloudpickle, as an executor needs it, and turns the two ways this goes wrong into
  :class:`~sparktune.exceptions.SerializationError` messages that name the captured object:
  a driver-only Spark object (``SparkSession``, ``SparkContext``, ``DataFrame``, ``RDD``, ...)
  reached from the objective, or an object that cannot be pickled (a lock, an open file, a
  client connection).
- :func:`find_captured` lists, by name, the objects a function carries with it when cloudpickle
  ships it by value: closure variables, referenced globals, defaults, ``functools.partial``
  arguments, attributes of callable objects, and what those hold in turn.
- :func:`check_parallelism` warns when a requested parallelism cannot be used.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import sys
import types
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .exceptions import SerializationError

__all__ = [
    "Captured",
    "DRIVER_ONLY_TYPES",
    "driver_only_type",
    "find_captured",
    "serialize_checked",
    "serialize_with_broadcasts",
    "check_parallelism",
]

#: pyspark types that exist only on the driver (classic and Spark Connect use the same names).
DRIVER_ONLY_TYPES = frozenset(
    {"SparkSession", "SparkContext", "SQLContext", "DataFrame", "RDD", "Column", "DataFrameReader", "GroupedData"}
)

#: How deep :func:`find_captured` follows references, and how many items of a container it looks at.
_MAX_DEPTH = 6
_MAX_ITEMS = 200


@dataclass(frozen=True)
class Captured:
    """An object reached from a function, and the path that reaches it."""

    path: str
    value: Any

    @property
    def type_name(self) -> str:
        cls = type(self.value)
        return f"{cls.__module__}.{cls.__qualname__}"


def driver_only_type(obj: object) -> str | None:
    """The qualified type name when ``obj`` is a driver-only Spark object, else ``None``. Needs no pyspark."""
    cls = type(obj)
    if not cls.__module__.startswith("pyspark"):
        return None
    for base in cls.__mro__:
        if base.__name__ in DRIVER_ONLY_TYPES and base.__module__.startswith("pyspark"):
            return f"{cls.__module__}.{cls.__qualname__}"
    return None


def _by_value(fn: types.FunctionType) -> bool:
    """Whether cloudpickle ships ``fn``'s code and globals (rather than a reference to its module)."""
    try:
        from cloudpickle import cloudpickle as _cp

        return not _cp._should_pickle_by_reference(fn)
    except (ImportError, AttributeError):
        return fn.__module__ == "__main__" or "<locals>" in fn.__qualname__


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _children(value: Any) -> Iterator[tuple[str, Any]]:
    """The named references cloudpickle follows from ``value`` (one level)."""
    if isinstance(value, (types.ModuleType, type, str, bytes, int, float, bool)) or value is None:
        return
    if isinstance(value, types.FunctionType):
        if not _by_value(value):
            return
        code = value.__code__
        for name, cell in zip(code.co_freevars, value.__closure__ or (), strict=False):
            try:
                yield f"closure variable {name!r}", cell.cell_contents
            except ValueError:  # an empty cell
                continue
        for name in sorted(_code_names(code)):
            if name in value.__globals__:
                yield f"global {name!r}", value.__globals__[name]
        defaults = value.__defaults__ or ()
        first = code.co_argcount - len(defaults)
        for i, default in enumerate(defaults):
            yield f"default of {code.co_varnames[first + i]!r}", default
        for name, default in (value.__kwdefaults__ or {}).items():
            yield f"default of {name!r}", default
        return
    if isinstance(value, types.MethodType):
        yield "self", value.__self__
        yield "method", value.__func__
        return
    if isinstance(value, functools.partial):
        yield "partial function", value.func
        for i, arg in enumerate(value.args):
            yield f"partial argument #{i}", arg
        for name, arg in value.keywords.items():
            yield f"partial argument {name!r}", arg
        return
    if isinstance(value, dict):
        for i, (k, v) in enumerate(value.items()):
            if i >= _MAX_ITEMS:
                return
            yield f"[{k!r}]", v
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for i, v in enumerate(value):
            if i >= _MAX_ITEMS:
                return
            yield f"[{i}]", v
        return
    if type(value).__module__ in ("builtins", "numpy") or driver_only_type(value):
        return
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict):
        for name, v in list(attrs.items())[:_MAX_ITEMS]:
            yield f".{name}", v


def _join(path: str, step: str) -> str:
    if not path:
        return step
    return path + step if step.startswith(("[", ".")) else f"{path} -> {step}"


def find_captured(fn: Any, predicate: Callable[[Any], bool], *, max_depth: int = _MAX_DEPTH) -> list[Captured]:
    """Objects reachable from ``fn`` for which ``predicate`` holds, each with the path that reaches it.

    Paths read like ``global 'spark'`` or ``closure variable 'cfg' -> ['session']``.
    """
    found: list[Captured] = []
    seen: set[int] = set()
    queue: deque[tuple[str, Any, int]] = deque([("", fn, 0)])
    while queue:
        path, value, depth = queue.popleft()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if path and predicate(value):
            found.append(Captured(path, value))
            continue
        if depth >= max_depth:
            continue
        queue.extend((_join(path, step), child, depth + 1) for step, child in _children(value))
    return found


class _Placeholder:
    """Stands in for a driver-only object while checking, so the rest can still be pickled."""


def _pickler_class() -> type:
    import cloudpickle

    class CheckingPickler(cloudpickle.CloudPickler):
        def __init__(self, file: io.BytesIO) -> None:
            super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
            self.driver_objects: list[Any] = []
            self.broadcasts: list[Any] = []

        def reducer_override(self, obj: Any) -> Any:
            if driver_only_type(obj) is not None:
                self.driver_objects.append(obj)
                return _Placeholder, ()
            if _is_broadcast(obj):
                self.broadcasts.append(obj)  # pickled as usual: by its id
            return super().reducer_override(obj)

    return CheckingPickler


def _fails_to_pickle(value: Any) -> BaseException | None:
    import cloudpickle

    try:
        cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:
        return err
    return None


def _culprit(fn: Any) -> tuple[str, Any, BaseException] | None:
    """The most specific named object reached from ``fn`` that cannot be pickled."""
    path, value, err = "", fn, _fails_to_pickle(fn)
    if err is None:
        return None
    seen = {id(fn)}
    for _ in range(_MAX_DEPTH):
        for step, child in _children(value):
            if id(child) in seen:
                continue
            seen.add(id(child))
            child_err = _fails_to_pickle(child)
            if child_err is not None:
                path, value, err = _join(path, step), child, child_err
                break
        else:
            break
    return path, value, err


def _name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__qualname__)


def _is_broadcast(obj: object) -> bool:
    """Whether ``obj`` is a pyspark broadcast variable (needs no pyspark)."""
    cls = type(obj)
    return cls.__name__ == "Broadcast" and cls.__module__.startswith("pyspark")


def serialize_checked(obj: Any, fn: Any = None, *, where: str = "SparkTrials") -> bytes:
    """Cloudpickle ``obj`` for an executor, or raise :class:`SerializationError` naming the culprit.

    ``fn`` is the user's objective inside ``obj`` (``obj`` itself when not given); names in the
    message are paths from it. ``where`` names what needs the pickling, for the message.
    """
    return serialize_with_broadcasts(obj, fn, where=where)[0]


def serialize_with_broadcasts(obj: Any, fn: Any = None, *, where: str = "SparkTrials") -> tuple[bytes, list[Any]]:
    """:func:`serialize_checked`, and the broadcast variables the pickle refers to: a pickle holds
    only their ids, so every Spark job whose tasks unpickle it must carry them."""
    fn = obj if fn is None else fn
    buffer = io.BytesIO()
    pickler = _pickler_class()(buffer)
    try:
        pickler.dump(obj)
        error: BaseException | None = None
    except Exception as err:
        error = err
    if pickler.driver_objects:
        targets = {id(o) for o in pickler.driver_objects}
        named = find_captured(fn, lambda v: id(v) in targets)
        first = pickler.driver_objects[0]
        where_found = f"{named[0].path} ({named[0].type_name})" if named else f"a {driver_only_type(first)}"
        raise SerializationError(
            f"the objective {_name(fn)!r} captures {where_found}: Spark driver objects (SparkSession, SparkContext, "
            f"DataFrame, RDD) cannot be used inside a trial, which runs on an executor, so {where} cannot run it. "
            "Fix: keep Spark out of the objective; compute what it needs on the driver first and capture plain data "
            "(e.g. pdf = df.toPandas()), or pass a path it can load, or use a broadcast variable's value"
        )
    if error is not None:
        culprit = _culprit(fn)
        if culprit is not None and culprit[0]:
            path, value, cause = culprit
            kind = f"{type(value).__module__}.{type(value).__qualname__}"
            detail = f"{path} is a {kind} ({type(cause).__name__}: {cause})"
        else:
            detail = f"{type(error).__name__}: {error}"
        raise SerializationError(
            f"the objective {_name(fn)!r} cannot be serialized with cloudpickle, which {where} needs to send it to "
            f"executors: {detail}. Fix: create such objects (locks, open files, connections, clients) inside the "
            "objective instead of capturing them, or import them from a module; or run with Trials() on the driver"
        ) from error
    return buffer.getvalue(), pickler.broadcasts


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside sparktune."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def check_parallelism(parallelism: int, max_evals: int | None = None, slots: int | None = None) -> int:
    """The parallelism that can be used; warns when ``parallelism`` exceeds ``max_evals`` or ``slots``."""
    use = parallelism
    if max_evals is not None and parallelism > max_evals:
        warnings.warn(
            f"parallelism={parallelism} is larger than max_evals={max_evals}: at most {max_evals} trials can run "
            f"at once, so parallelism {max_evals} is used. Lower parallelism or raise max_evals",
            stacklevel=_user_stacklevel(),
        )
        use = max(1, max_evals)
    if slots is not None and slots > 0 and use > slots:
        warnings.warn(
            f"parallelism={use} is larger than the {slots} task slots the cluster offers now: at most {slots} "
            f"trials run at once, so parallelism {slots} is used. Lower parallelism, or add executors/cores",
            stacklevel=_user_stacklevel(),
        )
        use = slots
    return use
