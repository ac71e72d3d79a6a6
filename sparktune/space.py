"""Search spaces: typed nodes, compilation, prior sampling and ``space_eval``.

A user writes a space as nested dicts/lists/tuples holding ``hp.*`` parameters, literals and
``scope`` applications. :func:`compile_space` validates it once and flattens it into a
:class:`Space`: an ordered tuple of :class:`Param` (parents before children), each with the
branch conditions under which it is active. Algorithms work on flat columns of values (``NaN``
where a parameter is inactive); :meth:`Space.evaluate` turns one point back into the user's
structure.

Point values follow Hyperopt: a choice is stored as its option index, ``loguniform`` as the
value itself (its bounds are in log space), ``randint``/``uniformint``/choice values are ints.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import math
import numbers
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .exceptions import DuplicateLabel, InvalidSpaceError

__all__ = [
    "Node",
    "Literal",
    "Param",
    "Apply",
    "DictNode",
    "SeqNode",
    "Kind",
    "Space",
    "as_node",
    "compile_space",
    "space_eval",
]

#: A branch condition: the (choice label, option index) pairs that must all hold.
Path = tuple[tuple[str, int], ...]


class Node:
    """Base of every space node. Arithmetic on nodes builds :class:`Apply` nodes."""

    __slots__ = ()

    def __add__(self, other: object) -> Apply:
        return Apply(operator.add, (self, other))

    def __radd__(self, other: object) -> Apply:
        return Apply(operator.add, (other, self))

    def __sub__(self, other: object) -> Apply:
        return Apply(operator.sub, (self, other))

    def __rsub__(self, other: object) -> Apply:
        return Apply(operator.sub, (other, self))

    def __mul__(self, other: object) -> Apply:
        return Apply(operator.mul, (self, other))

    def __rmul__(self, other: object) -> Apply:
        return Apply(operator.mul, (other, self))

    def __truediv__(self, other: object) -> Apply:
        return Apply(operator.truediv, (self, other))

    def __rtruediv__(self, other: object) -> Apply:
        return Apply(operator.truediv, (other, self))

    def __floordiv__(self, other: object) -> Apply:
        return Apply(operator.floordiv, (self, other))

    def __rfloordiv__(self, other: object) -> Apply:
        return Apply(operator.floordiv, (other, self))

    def __mod__(self, other: object) -> Apply:
        return Apply(operator.mod, (self, other))

    def __pow__(self, other: object) -> Apply:
        return Apply(operator.pow, (self, other))

    def __rpow__(self, other: object) -> Apply:
        return Apply(operator.pow, (other, self))

    def __neg__(self) -> Apply:
        return Apply(operator.neg, (self,))

    def __abs__(self) -> Apply:
        return Apply(operator.abs, (self,))

    def __getitem__(self, key: object) -> Apply:
        return Apply(operator.getitem, (self, key))

    def __iter__(self) -> Iterator[Any]:
        # Without this, Python would iterate through __getitem__ forever.
        raise TypeError("a search-space node is not iterable; index it with node[i] instead")


class Literal(Node):
    """A constant inside a space."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Literal({self.value!r})"


class DictNode(Node):
    """A dict whose values are nodes."""

    __slots__ = ("items",)

    def __init__(self, items: Mapping[Any, Node]) -> None:
        self.items = dict(items)

    def __repr__(self) -> str:
        return f"DictNode({self.items!r})"


class SeqNode(Node):
    """A list or tuple whose elements are nodes."""

    __slots__ = ("items", "kind")

    def __init__(self, items: Sequence[Node], kind: type) -> None:
        self.items = tuple(items)
        self.kind = kind

    def __repr__(self) -> str:
        return f"SeqNode({self.kind.__name__}, {self.items!r})"


class Apply(Node):
    """A function applied to nodes: ``scope.int(x)``, ``10 ** x``, a ``@scope.define`` function."""

    __slots__ = ("args", "fn", "kwargs")

    def __init__(
        self, fn: Callable[..., Any], args: Sequence[object], kwargs: Mapping[str, object] | None = None
    ) -> None:
        self.fn = fn
        self.args = tuple(as_node(a) for a in args)
        self.kwargs = {k: as_node(v) for k, v in (kwargs or {}).items()}

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", repr(self.fn))
        return f"Apply({name}, {self.args!r}, {self.kwargs!r})"


class Kind(enum.Enum):
    """The distribution family of a :class:`Param`."""

    CHOICE = "choice"
    UNIFORM = "uniform"
    QUNIFORM = "quniform"
    LOGUNIFORM = "loguniform"
    QLOGUNIFORM = "qloguniform"
    NORMAL = "normal"
    QNORMAL = "qnormal"
    LOGNORMAL = "lognormal"
    QLOGNORMAL = "qlognormal"
    RANDINT = "randint"
    UNIFORMINT = "uniformint"

    @property
    def is_log(self) -> bool:
        return self in (Kind.LOGUNIFORM, Kind.QLOGUNIFORM, Kind.LOGNORMAL, Kind.QLOGNORMAL)

    @property
    def is_bounded(self) -> bool:
        return self in (
            Kind.UNIFORM,
            Kind.QUNIFORM,
            Kind.LOGUNIFORM,
            Kind.QLOGUNIFORM,
            Kind.UNIFORMINT,
        )

    @property
    def is_normal(self) -> bool:
        return self in (Kind.NORMAL, Kind.QNORMAL, Kind.LOGNORMAL, Kind.QLOGNORMAL)

    @property
    def is_quantized(self) -> bool:
        return self in (Kind.QUNIFORM, Kind.QLOGUNIFORM, Kind.QNORMAL, Kind.QLOGNORMAL, Kind.UNIFORMINT)

    @property
    def is_discrete(self) -> bool:
        """Values are indices or integers on a finite range (choice, randint)."""
        return self in (Kind.CHOICE, Kind.RANDINT)

    @property
    def is_integer(self) -> bool:
        """Values are returned to the user as Python ints."""
        return self in (Kind.CHOICE, Kind.RANDINT, Kind.UNIFORMINT)


class Param(Node):
    """One hyperparameter. Numeric fields are set according to ``kind``.

    - bounded kinds: ``low``/``high`` (in log space for the log kinds), ``q`` when quantized;
    - normal kinds: ``mu``/``sigma`` (of the log for the log kinds), ``q`` when quantized;
    - ``RANDINT``: integers in ``[low, high)``;
    - ``CHOICE``: ``options`` (nodes) and ``probs`` (one per option).
    """

    __slots__ = ("high", "kind", "label", "low", "mu", "options", "probs", "q", "sigma")

    def __init__(
        self,
        label: str,
        kind: Kind,
        *,
        low: float | None = None,
        high: float | None = None,
        mu: float | None = None,
        sigma: float | None = None,
        q: float | None = None,
        probs: Sequence[float] | None = None,
        options: Sequence[object] | None = None,
    ) -> None:
        self.label = label
        self.kind = kind
        self.low = low
        self.high = high
        self.mu = mu
        self.sigma = sigma
        self.q = q
        self.probs = None if probs is None else tuple(float(p) for p in probs)
        self.options = None if options is None else tuple(as_node(o) for o in options)

    @property
    def n_options(self) -> int:
        """Number of discrete values (choice options or randint integers); 0 if continuous."""
        if self.kind is Kind.CHOICE:
            assert self.options is not None
            return len(self.options)
        if self.kind is Kind.RANDINT:
            assert self.low is not None and self.high is not None
            return int(self.high - self.low)
        return 0

    def definition(self) -> tuple[Any, ...]:
        """A hashable description used to tell equal definitions of one label apart."""
        opts = None if self.options is None else tuple(_structure_key(o) for o in self.options)
        return (self.kind, self.low, self.high, self.mu, self.sigma, self.q, self.probs, opts)

    def to_python(self, value: float) -> int | float:
        """Convert a stored (float) value to the type a user sees."""
        return round(value) if self.kind.is_integer else float(value)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values from this parameter's prior, as float64."""
        k = self.kind
        if k is Kind.CHOICE:
            assert self.probs is not None
            return rng.choice(len(self.probs), size=n, p=np.asarray(self.probs)).astype(float)
        if k is Kind.RANDINT:
            assert self.low is not None and self.high is not None
            return rng.integers(int(self.low), int(self.high), size=n).astype(float)
        if k.is_bounded:
            assert self.low is not None and self.high is not None
            x = rng.uniform(self.low, self.high, size=n)
        else:
            assert self.mu is not None and self.sigma is not None
            x = rng.normal(self.mu, self.sigma, size=n)
        return self.from_internal(x)

    def from_internal(self, x: np.ndarray) -> np.ndarray:
        """Values of a numeric parameter from draws in its internal scale (the log for log
        kinds, before quantization): ``exp`` for log kinds, then rounding to the ``q`` grid."""
        k = self.kind
        if k.is_log:
            x = np.exp(x)
        if k.is_quantized:
            q = 1.0 if k is Kind.UNIFORMINT else self.q
            assert q is not None
            x = np.round(x / q) * q
        return x

    def __repr__(self) -> str:
        fields = [
            f"{name}={getattr(self, name)!r}"
            for name in ("low", "high", "mu", "sigma", "q", "probs")
            if getattr(self, name) is not None
        ]
        if self.options is not None:
            fields.append(f"options={len(self.options)}")
        return f"Param({self.label!r}, {self.kind.value}, {', '.join(fields)})"


def as_node(obj: object) -> Node:
    """Wrap a user structure (dicts, lists, tuples, literals, nodes) into nodes."""
    if isinstance(obj, Node):
        return obj
    if isinstance(obj, dict):
        return DictNode({k: as_node(v) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        return SeqNode([as_node(v) for v in obj], type(obj))
    return Literal(obj)


def _structure_key(node: Node) -> Any:
    if isinstance(node, Param):
        return ("param", node.label)
    if isinstance(node, Literal):
        try:
            hash(node.value)
        except TypeError:
            return ("literal", repr(node.value))
        return ("literal", type(node.value).__name__, node.value)
    if isinstance(node, DictNode):
        return ("dict", tuple((repr(k), _structure_key(v)) for k, v in node.items.items()))
    if isinstance(node, SeqNode):
        return ("seq", node.kind.__name__, tuple(_structure_key(v) for v in node.items))
    if isinstance(node, Apply):
        return (
            "apply",
            getattr(node.fn, "__qualname__", repr(node.fn)),
            tuple(_structure_key(a) for a in node.args),
            tuple((k, _structure_key(v)) for k, v in sorted(node.kwargs.items())),
        )
    raise TypeError(f"unknown node type {type(node).__name__}")


@dataclass(frozen=True)
class Space:
    """A compiled, validated search space.

    ``params`` are ordered so that every choice comes before the parameters it activates.
    ``conditions[label]`` lists alternative paths; the parameter is active when all pairs of
    at least one path hold. A path ``()`` means "always active".
    """

    root: Node
    params: tuple[Param, ...]
    conditions: Mapping[str, tuple[Path, ...]]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.params)

    @functools.cached_property
    def sorted_labels(self) -> tuple[str, ...]:
        """The labels sorted: the key order of the ``{label: ...}`` dicts Hyperopt hands out (a
        trial's ``misc['vals']``, ``best``, ``trials.argmin``, ``trials.vals``)."""
        return tuple(sorted(self.labels))

    def param(self, label: str) -> Param:
        for p in self.params:
            if p.label == label:
                return p
        raise KeyError(f"the space has no parameter labelled {label!r}; labels: {list(self.labels)}")

    def is_conditional(self, label: str) -> bool:
        return () not in self.conditions[label]

    def active_mask(self, label: str, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Boolean mask of rows where ``label`` is active, given its parents' columns."""
        paths = self.conditions[label]
        if () in paths:
            return np.ones(n, dtype=bool)
        mask = np.zeros(n, dtype=bool)
        for path in paths:
            ok = np.ones(n, dtype=bool)
            for parent, index in path:
                ok &= columns[parent] == index
            mask |= ok
        return mask

    def sample(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """Draw ``n`` points from the prior as columns (``NaN`` where inactive)."""
        columns: dict[str, np.ndarray] = {}
        for p in self.params:
            values = p.sample(rng, n)
            mask = self.active_mask(p.label, columns, n)
            values[~mask] = np.nan
            columns[p.label] = values
        return columns

    def point(self, columns: Mapping[str, np.ndarray], row: int) -> dict[str, int | float]:
        """Row ``row`` of ``columns`` as a ``{label: value}`` dict of active parameters."""
        point: dict[str, int | float] = {}
        for p in self.params:
            value = float(columns[p.label][row])
            if not math.isnan(value):
                point[p.label] = p.to_python(value)
        return point

    def points(self, columns: Mapping[str, np.ndarray], n: int) -> list[dict[str, int | float]]:
        return [self.point(columns, i) for i in range(n)]

    def active_labels(self, vals: Mapping[str, Any]) -> list[str]:
        """Labels that are active given the choice values in ``vals``."""
        active: list[str] = []
        for p in self.params:
            if any(all(vals.get(c) == i for c, i in path) for path in self.conditions[p.label]):
                active.append(p.label)
        return active

    def validate_point(self, vals: Mapping[str, Any], what: str = "point") -> dict[str, int | float]:
        """Check a user-given point (``points_to_evaluate``) and return it normalised."""
        unknown = sorted(set(vals) - set(self.labels))
        if unknown:
            raise InvalidSpaceError(
                f"{what} has labels {unknown} that are not in the space; labels are {list(self.labels)}"
            )
        clean: dict[str, int | float] = {}
        for p in self.params:
            active = any(all(clean.get(c) == i for c, i in path) for path in self.conditions[p.label])
            if not active:
                continue
            if p.label not in vals:
                raise InvalidSpaceError(
                    f"{what} has no value for the active parameter {p.label!r}; add it (choices take the option index)"
                )
            value = _unwrap(vals[p.label])
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or math.isnan(float(value)):
                raise InvalidSpaceError(f"{what}: value of {p.label!r} must be a number, got {value!r}")
            if p.kind.is_discrete and not 0 <= int(float(value)) - int(p.low or 0) < p.n_options:
                raise InvalidSpaceError(
                    f"{what}: {p.label!r} must be an index in [0, {p.n_options}) for a {p.kind.value}, got {value!r}"
                    if p.kind is Kind.CHOICE
                    else f"{what}: {p.label!r} must be an integer in [{p.low:g}, {p.high:g}), got {value!r}"
                )
            clean[p.label] = p.to_python(float(value))
        return clean

    def evaluate(self, vals: Mapping[str, Any]) -> Any:
        """Build the user's structure for one point (Hyperopt's ``space_eval``)."""
        clean = {k: _unwrap(v) for k, v in vals.items()}
        clean = {k: v for k, v in clean.items() if v is not _MISSING}
        by_label = {p.label: p for p in self.params}
        return _evaluate(self.root, clean, by_label)

    def choice_options(self) -> dict[str, str]:
        """Per choice parameter, a stable text of its options (values and structure): a resumed
        run must see the same options behind the same indices."""
        return {
            p.label: repr([_structure_key(o) for o in p.options or ()]) for p in self.params if p.kind is Kind.CHOICE
        }

    def fingerprint(self) -> str:
        """A short hash of the parameters and their conditions, stable across processes."""
        text = repr(
            [
                (p.label, p.kind.value, p.low, p.high, p.mu, p.sigma, p.q, p.probs, self.conditions[p.label])
                for p in self.params
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


_MISSING = object()


def _unwrap(value: Any) -> Any:
    """Accept Hyperopt's ``{label: [value]}`` shape as well as ``{label: value}``."""
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return _MISSING
        if len(value) == 1:
            return value[0]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sorted_keys(items: Mapping[Any, Any]) -> list[Any]:
    """A dict's keys sorted, as Hyperopt builds every dict of a point (insertion order when the
    keys do not compare)."""
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def _evaluate(node: Node, vals: Mapping[str, Any], params: Mapping[str, Param]) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Param):
        if node.label not in vals:
            raise KeyError(
                f"no value for the active parameter {node.label!r}; give it in the assignment "
                "(choices take the option index)"
            )
        value = vals[node.label]
        if node.kind is Kind.CHOICE:
            assert node.options is not None
            index = int(value)
            if not 0 <= index < len(node.options):
                raise IndexError(f"{node.label!r}: option index {index} is out of range [0, {len(node.options)})")
            return _evaluate(node.options[index], vals, params)
        return node.to_python(float(value))
    if isinstance(node, DictNode):
        return {k: _evaluate(node.items[k], vals, params) for k in _sorted_keys(node.items)}
    if isinstance(node, SeqNode):
        items = [_evaluate(v, vals, params) for v in node.items]
        if hasattr(node.kind, "_fields"):  # a namedtuple
            return node.kind(*items)
        return tuple(items) if node.kind is list else node.kind(items)
    if isinstance(node, Apply):
        args = [_evaluate(a, vals, params) for a in node.args]
        kwargs = {k: _evaluate(v, vals, params) for k, v in node.kwargs.items()}
        return node.fn(*args, **kwargs)
    raise TypeError(f"unknown node type {type(node).__name__}")


def compile_space(space: object) -> Space:
    """Validate ``space`` and flatten it into a :class:`Space`.

    Raises :class:`DuplicateLabel` when one label has two different definitions.
    """
    if isinstance(space, Space):
        return space
    root = as_node(space)
    params: dict[str, Param] = {}
    conditions: dict[str, list[Path]] = {}
    _walk(root, (), params, conditions)
    return Space(
        root=root,
        params=tuple(params.values()),
        conditions={k: tuple(v) for k, v in conditions.items()},
    )


def _walk(node: Node, path: Path, params: dict[str, Param], conditions: dict[str, list[Path]]) -> None:
    if isinstance(node, Param):
        seen = params.get(node.label)
        if seen is None:
            params[node.label] = node
            conditions[node.label] = []
        elif seen is not node and seen.definition() != node.definition():
            raise DuplicateLabel(
                f"label {node.label!r} is used by two different parameters: {seen!r} and {node!r}; "
                "give each parameter its own label, or reuse the same hp object"
            )
        if path not in conditions[node.label]:
            conditions[node.label].append(path)
            if node.options is not None:
                for i, option in enumerate(node.options):
                    _walk(option, (*path, (node.label, i)), params, conditions)
        return
    if isinstance(node, DictNode):
        children: Sequence[Node] = list(node.items.values())
    elif isinstance(node, SeqNode):
        children = node.items
    elif isinstance(node, Apply):
        children = [*node.args, *node.kwargs.values()]
    else:
        children = ()
    for child in children:
        _walk(child, path, params, conditions)


def space_eval(space: object, hp_assignment: Mapping[str, Any]) -> Any:
    """Return the point of ``space`` described by ``hp_assignment`` (choices as indices)."""
    return compile_space(space).evaluate(hp_assignment)
