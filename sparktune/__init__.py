"""sparktune: Hyperopt-compatible hyperparameter tuning, in parallel on Apache Spark.

Change ``hyperopt`` to ``sparktune`` in your imports and everything runs::

    from sparktune import fmin, tpe, hp, STATUS_OK, Trials, SparkTrials
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from . import anneal, atpe, base, early_stop, exceptions, gp, hp, mix, progress, pyll, rand, tpe, utils
from .fmin import fmin, fmin_pass_expr_memo_ctrl, generate_trials_to_calculate
from .objective import (
    STATUS_FAIL,
    STATUS_NEW,
    STATUS_OK,
    STATUS_RUNNING,
    STATUS_STRINGS,
    STATUS_SUSPENDED,
    Ctrl,
    Domain,
)
from .space import space_eval
from .trials import (
    JOB_STATE_CANCEL,
    JOB_STATE_DONE,
    JOB_STATE_ERROR,
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    JOB_STATES,
    JOB_VALID_STATES,
    Trials,
    TrialState,
    trials_from_docs,
)

if TYPE_CHECKING:
    from .spark import SparkTrials

__version__ = "0.1.0"

__all__ = [
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "STATUS_STRINGS",
    "STATUS_SUSPENDED",
    "JOB_STATE_CANCEL",
    "JOB_STATE_DONE",
    "JOB_STATE_ERROR",
    "JOB_STATE_NEW",
    "JOB_STATE_RUNNING",
    "JOB_STATES",
    "JOB_VALID_STATES",
    "Ctrl",
    "Domain",
    "SparkTrials",
    "TrialState",
    "Trials",
    "anneal",
    "atpe",
    "base",
    "early_stop",
    "exceptions",
    "fmin",
    "fmin_pass_expr_memo_ctrl",
    "generate_trials_to_calculate",
    "gp",
    "hp",
    "mix",
    "partial",
    "progress",
    "pyll",
    "rand",
    "space_eval",
    "tpe",
    "trials_from_docs",
    "utils",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # SparkTrials lives in a module that needs pyspark; load it only when asked for.
    if name == "SparkTrials":
        from .spark import SparkTrials

        return SparkTrials
    raise AttributeError(f"module 'sparktune' has no attribute {name!r}")
