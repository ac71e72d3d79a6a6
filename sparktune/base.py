"""Hyperopt's ``hyperopt.base`` names, for code that imports them from there."""

from __future__ import annotations

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
    trials_from_docs,
)

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
    "Trials",
    "space_eval",
    "trials_from_docs",
]
