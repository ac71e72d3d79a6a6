"""Error types raised by sparktune.

Names that exist in Hyperopt (``AllTrialsFailed``, ``InvalidLoss``, ...) keep their names so
that ``except hyperopt.exceptions.X`` clauses keep working after the import swap.
"""

from __future__ import annotations

__all__ = [
    "SparktuneError",
    "InvalidSpaceError",
    "BadSearchSpace",
    "DuplicateLabel",
    "InvalidAnnotatedParameter",
    "InvalidArgumentError",
    "InvalidTrial",
    "InvalidResult",
    "InvalidResultStatus",
    "InvalidLoss",
    "AllTrialsFailed",
    "TrialCancelled",
    "TrialTimeout",
    "TrialError",
    "JournalError",
    "SerializationError",
    "UnstorableValue",
]


class SparktuneError(Exception):
    """Base class of every error sparktune raises on purpose."""


class InvalidSpaceError(SparktuneError, ValueError):
    """A search space is malformed (bad bounds, empty choice, wrong label type, ...)."""


#: Hyperopt's name for the base class of search-space errors.
BadSearchSpace = InvalidSpaceError


class DuplicateLabel(InvalidSpaceError):
    """Two different parameters of one space share a label."""


class InvalidArgumentError(SparktuneError, ValueError):
    """An argument of ``fmin`` or ``Trials`` has a wrong type or value."""


class InvalidAnnotatedParameter(InvalidArgumentError):
    """``space="annotated"``: a parameter of the objective has no usable annotation (Hyperopt's name)."""


class InvalidTrial(SparktuneError, ValueError):
    """A trial document does not have the shape Hyperopt defines."""


class InvalidResult(SparktuneError, ValueError):
    """An objective returned something that is not a result: not a number, not a result dict
    (``None``, a string, ...), or a dict whose ``attachments`` is not a dict."""


class InvalidResultStatus(InvalidResult):
    """An objective returned a result whose ``status`` is not one of ``STATUS_STRINGS``."""


class InvalidLoss(InvalidResult):
    """An objective returned a result with status ``ok`` whose ``loss`` is missing or not a number."""


class AllTrialsFailed(SparktuneError):
    """No trial finished with status ``ok``, so there is no best point."""


class TrialCancelled(SparktuneError):
    """A running trial was stopped by ``timeout``, an early stop or an interrupt."""


class TrialTimeout(SparktuneError):
    """A trial ran longer than its per-trial time limit."""


class JournalError(SparktuneError):
    """A trials journal cannot be written or read."""


class SerializationError(SparktuneError, TypeError):
    """An objective or a result cannot be serialized for the place it has to go."""


class UnstorableValue(JournalError, SerializationError):
    """A result (or attachment) is not plain data, so a trials file cannot store it."""


class TrialError(SparktuneError):
    """An objective raised in another process; carries the original type name and traceback."""

    def __init__(self, tid: int, error: object) -> None:
        self.tid = tid
        self.error = error
        super().__init__(
            f"trial {tid}: the objective raised {error}\n"
            "(pass catch_eval_exceptions=True to record failures and go on)\n"
            f"remote traceback:\n{getattr(error, 'traceback', '')}"
        )
