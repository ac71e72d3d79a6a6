"""Hyperopt's ``hyperopt.utils`` names that code written for Hyperopt calls."""

from __future__ import annotations

import datetime as dt

__all__ = ["coarse_utcnow"]


def coarse_utcnow() -> dt.datetime:
    """Now as a naive UTC datetime truncated to milliseconds, as Hyperopt stores trial times (as
    MongoDB would)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
