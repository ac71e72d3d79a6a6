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

from .space import Space, compile_space

__all__ = [
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

    def evaluate(self, vals: Mapping[str, Any], ctrl: Ctrl | None = None) -> Outcome:
        """Run the objective on the point ``vals`` (``{label: value}``, choices as indices)."""
        try:
            if self.pass_expr_memo_ctrl:
                memo = {p: vals[p.label] for p in self.space.params if p.label in vals}
                returned = self.fn(expr=self.space.root, memo=memo, ctrl=ctrl or Ctrl())
            else:
                returned = self.fn(self.space.evaluate(vals))
        except Exception as exc:  # an objective's failure is a result, not a crash
            return Outcome.failed(exc)
        return normalize_result(returned)


def _fail(reason: str, result: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(result or {})
    out["status"] = STATUS_FAIL
    out["failure"] = {"type": "InvalidResult", "message": reason}
    return out


def normalize_result(returned: Any) -> Outcome:
    """Turn an objective's return value into an :class:`Outcome`.

    A number is a loss. A dict needs ``loss`` when its status is ``ok`` (a missing status with a
    loss means ``ok``). NaN/inf losses, non-numbers and unknown statuses become failed trials
    whose ``failure`` says why; they are never chosen as best.
    """
    if isinstance(returned, numbers.Real) and not isinstance(returned, bool):
        loss = float(returned)
        if not math.isfinite(loss):
            return Outcome(result=_fail(f"the objective returned a non-finite loss ({loss!r})", {"loss": loss}))
        return Outcome(result={"loss": loss, "status": STATUS_OK})
    if not isinstance(returned, Mapping):
        return Outcome(
            result=_fail(
                f"the objective returned {type(returned).__name__} {_short(returned)}; "
                "return a number or a dict with 'loss' and 'status'"
            )
        )
    result = dict(returned)
    attachments = result.pop("attachments", None) or {}
    if not isinstance(attachments, Mapping):
        result = _fail(f"'attachments' must be a dict, got {type(attachments).__name__}", result)
        return Outcome(result=result)
    status = result.setdefault("status", STATUS_OK)
    if status not in STATUS_STRINGS:
        return Outcome(
            result=_fail(f"status {status!r} is not one of {list(STATUS_STRINGS)}", result),
            attachments=dict(attachments),
        )
    if status == STATUS_OK:
        if "loss" not in result:
            result = _fail("the result dict has status 'ok' but no 'loss'; add result['loss']", result)
        else:
            loss = result["loss"]
            if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
                result = _fail(f"'loss' must be a number, got {type(loss).__name__} {_short(loss)}", result)
            elif not math.isfinite(float(loss)):
                result = _fail(f"the objective returned a non-finite loss ({float(loss)!r})", result)
            else:
                result["loss"] = float(loss)
    return Outcome(result=result, attachments=dict(attachments))


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
