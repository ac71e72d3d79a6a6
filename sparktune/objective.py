"""The objective and its evaluation: the only sparktune code that runs on Spark executors.

:class:`Domain` pairs the user's function with the compiled space. :meth:`Domain.evaluate`
builds the point, calls the function and turns whatever came back (a number, a result dict,
an exception) into an :class:`Outcome`. It never raises for the objective's own failures, so an
executor can ship every outcome back as data.
"""

from __future__ import annotations

import math
import numbers
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .exceptions import InvalidLoss, InvalidResult, InvalidResultStatus
from .space import Space, compile_space

__all__ = [
    "DOMAIN_CMD",
    "STATUS_NEW",
    "STATUS_RUNNING",
    "STATUS_SUSPENDED",
    "STATUS_OK",
    "STATUS_FAIL",
    "STATUS_STRINGS",
    "Ctrl",
    "Domain",
    "ErrorInfo",
    "Outcome",
]

#: The ``cmd`` of every trial document (Hyperopt's value: the objective comes with the domain).
DOMAIN_CMD = ("domain_attachment", "FMinIter_Domain")

STATUS_NEW = "new"
STATUS_RUNNING = "running"
STATUS_SUSPENDED = "suspended"
STATUS_OK = "ok"
STATUS_FAIL = "fail"
STATUS_STRINGS = (STATUS_NEW, STATUS_RUNNING, STATUS_SUSPENDED, STATUS_OK, STATUS_FAIL)


@dataclass(frozen=True)
class ErrorInfo:
    """An exception raised by an objective, as data that survives a trip between processes."""

    type: str
    message: str
    traceback: str

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(type=type(exc).__qualname__, message=str(exc), traceback=text)

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


@dataclass
class Outcome:
    """What one evaluation produced.

    ``result`` is Hyperopt's result dict: it always has ``status``; ``loss`` is a finite float
    when the status is ``ok``. ``error`` is set when the objective raised; ``exception`` keeps
    the exception object for in-process re-raising and is never sent between processes.
    """

    result: dict[str, Any]
    attachments: dict[str, Any] = field(default_factory=dict)
    error: ErrorInfo | None = None
    exception: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.result.get("status") == STATUS_OK

    @classmethod
    def failed(cls, exc: BaseException) -> Outcome:
        error = ErrorInfo.from_exception(exc)
        result = {"status": STATUS_FAIL, "failure": {"type": error.type, "message": error.message}}
        return cls(result=result, error=error, exception=exc)

    def portable(self) -> Outcome:
        """A copy without the exception object, safe to pickle across processes."""
        return Outcome(result=self.result, attachments=self.attachments, error=self.error)


class Ctrl:
    """Hyperopt's ``ctrl`` argument for ``pass_expr_memo_ctrl=True`` objectives."""

    def __init__(self, trials: Any = None, current_trial: Any = None) -> None:
        self.trials = trials
        self.current_trial = current_trial
        self.attachments: dict[str, Any] = {}


class Domain:
    """The objective ``fn`` and its search space, ready to evaluate points.

    The signature follows Hyperopt's ``Domain(fn, expr, ...)``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        expr: object,
        workdir: str | None = None,
        pass_expr_memo_ctrl: bool | None = None,
        name: str | None = None,
        loss_target: float | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__} {fn!r}")
        self.fn = fn
        self.expr = expr
        self.space: Space = compile_space(expr)
        self.workdir = workdir
        self.pass_expr_memo_ctrl = bool(pass_expr_memo_ctrl or getattr(fn, "fmin_pass_expr_memo_ctrl", False))
        self.name = name
        self.loss_target = loss_target

    @property
    def params(self) -> dict[str, Any]:
        """Hyperopt's ``domain.params``: the parameter nodes by label."""
        return {p.label: p for p in self.space.params}

    # Hyperopt's helpers for algorithms that build trial documents themselves.
    cmd = DOMAIN_CMD

    def new_result(self) -> dict[str, Any]:
        """The result of a trial not run yet."""
        return {"status": STATUS_NEW}

    def memo_from_config(self, config: Mapping[str, Any]) -> dict[Any, Any]:
        """``{parameter node: value}`` for a ``{label: value}`` point."""
        return {p: config[p.label] for p in self.space.params if p.label in config}

    def loss(self, result: Mapping[str, Any], config: Any = None) -> float | None:
        return result.get("loss")

    def true_loss(self, result: Mapping[str, Any], config: Any = None) -> float | None:
        return result.get("true_loss", self.loss(result, config))

    def status(self, result: Mapping[str, Any], config: Any = None) -> str:
        return str(result["status"])

    def evaluate(
        self, config: Mapping[str, Any], ctrl: Ctrl | None = None, attach_attachments: bool = True
    ) -> dict[str, Any]:
        """Hyperopt's ``Domain.evaluate``: the objective's result dict at the point ``config``
        (``{label: value}``, choices as indices). What the objective raises is raised, as is an
        invalid result (:class:`InvalidResult` and its kinds). The result's ``attachments`` go to
        ``ctrl.attachments`` when ``attach_attachments`` and a ``ctrl`` are given, else they stay
        in the result."""
        outcome = self.outcome(config, ctrl)
        if outcome.exception is not None:
            raise outcome.exception
        result = dict(outcome.result)
        if outcome.attachments:
            if attach_attachments and ctrl is not None:
                ctrl.attachments.update(outcome.attachments)
            else:
                result["attachments"] = dict(outcome.attachments)
        return result

    def outcome(self, vals: Mapping[str, Any], ctrl: Ctrl | None = None) -> Outcome:
        """Run the objective on the point ``vals`` (``{label: value}``, choices as indices): what
        executors call, an objective's failure being a result rather than an exception.

        A ``pass_expr_memo_ctrl`` objective gets ``ctrl`` (a bare :class:`Ctrl` if none is
        given); what it puts in ``ctrl.attachments`` becomes the trial's attachments."""
        try:
            if self.pass_expr_memo_ctrl:
                ctrl = ctrl or Ctrl()
                memo = {p: vals[p.label] for p in self.space.params if p.label in vals}
                returned = self.fn(expr=self.space.root, memo=memo, ctrl=ctrl)
            else:
                returned = self.fn(self.space.evaluate(vals))
        except Exception as exc:  # an objective's failure is a result, not a crash
            return Outcome.failed(exc)
        outcome = normalize_result(returned)
        if ctrl is not None and ctrl.attachments:
            outcome.attachments = {**ctrl.attachments, **outcome.attachments}
        return outcome


def _fail(reason: str, result: dict[str, Any] | None = None, kind: str = "InvalidResult") -> dict[str, Any]:
    out = dict(result or {})
    out["status"] = STATUS_FAIL
    out["failure"] = {"type": kind, "message": reason}
    return out


def _invalid(
    exc: InvalidResult, result: dict[str, Any] | None = None, attachments: Mapping[str, Any] | None = None
) -> Outcome:
    """A result that is not one: an error of the trial, like an exception the objective raised
    (``fmin`` raises it unless ``catch_eval_exceptions``, as Hyperopt does)."""
    return Outcome(
        result=_fail(str(exc), result, type(exc).__name__),
        attachments=dict(attachments or {}),
        error=ErrorInfo.from_exception(exc),
        exception=exc,
    )


def normalize_result(returned: Any) -> Outcome:
    """Turn an objective's return value into an :class:`Outcome`.

    A number (anything scalar that ``float()`` converts) is a loss. A dict needs ``loss`` when its
    status is ``ok`` (a missing status with a loss means ``ok``). A NaN or infinite loss makes a
    failed trial whose ``failure`` says why, never chosen as best (a diverged model is a result).
    Anything else is a mistake in the objective, reported as its error (:class:`InvalidResult`,
    :class:`InvalidLoss`, :class:`InvalidResultStatus`), so that ``fmin`` stops at the first trial
    instead of failing every one.
    """
    loss = _as_loss(returned)
    if loss is not None:
        if not math.isfinite(loss):
            return Outcome(result=_fail(f"the objective returned a non-finite loss ({loss!r})", {"loss": loss}))
        return Outcome(result={"loss": loss, "status": STATUS_OK})
    if not isinstance(returned, Mapping):
        return _invalid(
            InvalidResult(
                f"the objective returned {type(returned).__name__} {_short(returned)}; "
                "return a number or a dict with 'loss' and 'status'"
            )
        )
    result = dict(returned)
    attachments = result.pop("attachments", None) or {}
    if not isinstance(attachments, Mapping):
        return _invalid(InvalidResult(f"'attachments' must be a dict, got {type(attachments).__name__}"), result)
    status = result.setdefault("status", STATUS_OK)
    if status not in STATUS_STRINGS:
        return _invalid(
            InvalidResultStatus(f"status {status!r} is not one of {list(STATUS_STRINGS)}"), result, attachments
        )
    if status == STATUS_OK:
        if "loss" not in result:
            return _invalid(
                InvalidLoss("the result dict has status 'ok' but no 'loss'; add result['loss']"), result, attachments
            )
        loss = _as_loss(result["loss"])
        if loss is None:
            given = result["loss"]
            return _invalid(
                InvalidLoss(f"'loss' must be a number, got {type(given).__name__} {_short(given)}"), result, attachments
            )
        if not math.isfinite(loss):
            result = _fail(f"the objective returned a non-finite loss ({loss!r})", result)
        else:
            result["loss"] = loss
    return Outcome(result=result, attachments=dict(attachments))


def _as_loss(value: Any) -> float | None:
    """``value`` as a float loss, or None if it is not a number. Besides Python and numpy numbers,
    anything scalar that converts with ``float()`` counts, as in Hyperopt: a 0-d array, a
    one-element tensor of a deep-learning framework, a ``Decimal``. Strings and bools do not."""
    if isinstance(value, (bool, str, bytes)):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if not hasattr(type(value), "__float__") or getattr(value, "ndim", 0) != 0:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
