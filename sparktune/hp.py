"""The ``hp.*`` parameter constructors, with Hyperopt's names, signatures and meanings.

Every constructor validates its arguments immediately, so a bad space fails where it is written,
with the label in the message.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

from .exceptions import InvalidSpaceError
from .space import Kind, Param

__all__ = [
    "choice",
    "pchoice",
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
    "randint",
    "uniformint",
]

#: How far pchoice probabilities may sum from 1 (``[(0.33, a), (0.33, b), (0.33, c)]`` is fine; they
#: are rescaled to sum to 1).
_PROB_SUM_TOL = 0.01


def _check_label(fn: str, label: object) -> str:
    if not isinstance(label, str):
        raise InvalidSpaceError(
            f"hp.{fn}: the label must be a str, got {type(label).__name__} {label!r}; write hp.{fn}('name', ...)"
        )
    return label


def _number(fn: str, label: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidSpaceError(
            f"hp.{fn}({label!r}, ...): {name} must be a number, got {type(value).__name__} {value!r}"
        )
    x = float(value)
    if not math.isfinite(x):
        raise InvalidSpaceError(f"hp.{fn}({label!r}, ...): {name} must be finite, got {x!r}")
    return x


def _bounds(fn: str, label: str, low: object, high: object) -> tuple[float, float]:
    lo, hi = _number(fn, label, "low", low), _number(fn, label, "high", high)
    if not lo < hi:
        raise InvalidSpaceError(f"hp.{fn}({label!r}, ...): low must be < high, got low={lo:g}, high={hi:g}")
    return lo, hi


def _positive(fn: str, label: str, name: str, value: object) -> float:
    x = _number(fn, label, name, value)
    if x <= 0:
        raise InvalidSpaceError(f"hp.{fn}({label!r}, ...): {name} must be > 0, got {name}={x:g}")
    return x


def uniform(label: str, low: float, high: float) -> Param:
    """A float drawn uniformly from ``[low, high]``."""
    label = _check_label("uniform", label)
    lo, hi = _bounds("uniform", label, low, high)
    return Param(label, Kind.UNIFORM, low=lo, high=hi)


def quniform(label: str, low: float, high: float, q: float) -> Param:
    """``round(uniform(low, high) / q) * q``: a float on a grid of step ``q``."""
    label = _check_label("quniform", label)
    lo, hi = _bounds("quniform", label, low, high)
    return Param(label, Kind.QUNIFORM, low=lo, high=hi, q=_positive("quniform", label, "q", q))


def loguniform(label: str, low: float, high: float) -> Param:
    """``exp(uniform(low, high))``: note that the bounds are in log space, as in Hyperopt."""
    label = _check_label("loguniform", label)
    lo, hi = _bounds("loguniform", label, low, high)
    return Param(label, Kind.LOGUNIFORM, low=lo, high=hi)


def qloguniform(label: str, low: float, high: float, q: float) -> Param:
    """``round(exp(uniform(low, high)) / q) * q`` (bounds in log space)."""
    label = _check_label("qloguniform", label)
    lo, hi = _bounds("qloguniform", label, low, high)
    return Param(label, Kind.QLOGUNIFORM, low=lo, high=hi, q=_positive("qloguniform", label, "q", q))


def normal(label: str, mu: float, sigma: float) -> Param:
    """A float drawn from a normal distribution."""
    label = _check_label("normal", label)
    return Param(
        label,
        Kind.NORMAL,
        mu=_number("normal", label, "mu", mu),
        sigma=_positive("normal", label, "sigma", sigma),
    )


def qnormal(label: str, mu: float, sigma: float, q: float) -> Param:
    """``round(normal(mu, sigma) / q) * q``."""
    label = _check_label("qnormal", label)
    return Param(
        label,
        Kind.QNORMAL,
        mu=_number("qnormal", label, "mu", mu),
        sigma=_positive("qnormal", label, "sigma", sigma),
        q=_positive("qnormal", label, "q", q),
    )


def lognormal(label: str, mu: float, sigma: float) -> Param:
    """``exp(normal(mu, sigma))``."""
    label = _check_label("lognormal", label)
    return Param(
        label,
        Kind.LOGNORMAL,
        mu=_number("lognormal", label, "mu", mu),
        sigma=_positive("lognormal", label, "sigma", sigma),
    )


def qlognormal(label: str, mu: float, sigma: float, q: float) -> Param:
    """``round(exp(normal(mu, sigma)) / q) * q``."""
    label = _check_label("qlognormal", label)
    return Param(
        label,
        Kind.QLOGNORMAL,
        mu=_number("qlognormal", label, "mu", mu),
        sigma=_positive("qlognormal", label, "sigma", sigma),
        q=_positive("qlognormal", label, "q", q),
    )


def _integer(fn: str, label: str, name: str, value: object) -> int:
    x = _number(fn, label, name, value)
    if x != int(x):
        raise InvalidSpaceError(f"hp.{fn}({label!r}, ...): {name} must be an integer, got {x:g}")
    return int(x)


def randint(label: str, *args: int, **kwargs: int) -> Param:
    """An integer in ``[0, upper)`` (``randint(label, upper)``) or ``[low, high)``."""
    label = _check_label("randint", label)
    if kwargs:
        names = ("low", "high") if len(args) + len(kwargs) == 2 else ("upper",)
        try:
            args = (*args, *(kwargs.pop(n) for n in names[len(args) :]))
        except KeyError as err:
            raise InvalidSpaceError(
                f"hp.randint({label!r}, ...): expected randint(label, upper) or randint(label, low, high), "
                f"got keywords {sorted(kwargs)}"
            ) from err
        if kwargs:
            raise InvalidSpaceError(f"hp.randint({label!r}, ...): unexpected keywords {sorted(kwargs)}")
    if len(args) == 1:
        low, high = 0, _integer("randint", label, "upper", args[0])
    elif len(args) == 2:
        low, high = _integer("randint", label, "low", args[0]), _integer("randint", label, "high", args[1])
    else:
        raise InvalidSpaceError(
            f"hp.randint({label!r}, ...): expected randint(label, upper) or randint(label, low, high), "
            f"got {len(args)} bounds"
        )
    if not low < high:
        raise InvalidSpaceError(f"hp.randint({label!r}, ...): low must be < high, got low={low}, high={high}")
    return Param(label, Kind.RANDINT, low=float(low), high=float(high))


def uniformint(label: str, low: float, high: float, q: float = 1.0) -> Param:
    """An integer drawn as ``round(uniform(low, high))``, returned as ``int``."""
    label = _check_label("uniformint", label)
    lo, hi = _bounds("uniformint", label, low, high)
    if q != 1.0:
        warnings.warn(
            f"hp.uniformint({label!r}, ...): q={q!r} is ignored, the values step by 1 (as in Hyperopt); "
            "use scope.int(hp.quniform(...)) for a coarser grid",
            UserWarning,
            stacklevel=2,
        )
    return Param(label, Kind.UNIFORMINT, low=lo, high=hi, q=1.0)


def choice(label: str, options: Sequence[Any]) -> Param:
    """One of ``options``, each equally likely. Options may hold their own parameters."""
    label = _check_label("choice", label)
    try:
        opts = list(options)
    except TypeError as err:
        raise InvalidSpaceError(
            f"hp.choice({label!r}, options): options must be a list or tuple, got {type(options).__name__}"
        ) from err
    if not opts:
        raise InvalidSpaceError(f"hp.choice({label!r}, options): options is empty; give at least one option")
    return Param(label, Kind.CHOICE, probs=[1.0 / len(opts)] * len(opts), options=opts)


def pchoice(label: str, p_options: Sequence[tuple[float, Any]]) -> Param:
    """One of the options of ``[(probability, option), ...]``; probabilities must sum to 1 (within
    1%, then they are rescaled)."""
    label = _check_label("pchoice", label)
    pairs = list(p_options)
    if not pairs:
        raise InvalidSpaceError(f"hp.pchoice({label!r}, p_options): p_options is empty; give [(p, option), ...]")
    probs: list[float] = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise InvalidSpaceError(
                f"hp.pchoice({label!r}, p_options): item {i} must be a (probability, option) pair, got {pair!r}"
            )
        p = _number("pchoice", label, f"probability {i}", pair[0])
        if p < 0:
            raise InvalidSpaceError(f"hp.pchoice({label!r}, p_options): probability {i} is negative ({p:g})")
        probs.append(p)
    total = sum(probs)
    if round(abs(total - 1.0), 9) > _PROB_SUM_TOL:  # (0.33 * 3 is 1 - 0.0100000001)
        raise InvalidSpaceError(
            f"hp.pchoice({label!r}, p_options): probabilities must sum to 1, got {total:g}; normalise them"
        )
    return Param(label, Kind.CHOICE, probs=[p / total for p in probs], options=[o for _, o in pairs])
