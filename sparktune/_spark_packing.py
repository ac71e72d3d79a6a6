"""How many trials to hand a Spark slot at once, adapted to measured trial durations.

Spark pays a fixed cost per job and per task, and the driver pays a round trip per hand-out. Short
trials are therefore handed out (or packed into one task) several at a time so that the fixed
costs stay a small fraction of the work; long trials go one at a time so that each result comes
back as soon as it exists.
"""

from __future__ import annotations

import math
import statistics
import threading
from collections import deque

__all__ = ["PackSizer"]

#: Trials whose durations are remembered; a median over this many ignores stragglers.
_WINDOW = 32


class PackSizer:
    """Pack size = ``target_seconds / median trial duration``, clamped to ``[1, max_pack]``.

    ``target_seconds`` is the work one hand-out should carry: long enough that the per-hand-out
    cost (a Spark job of ~0.1-0.2 s, or a loopback round trip plus the driver's reaction) is
    small next to it, short enough that results still arrive promptly. Before any trial has
    finished the size is 1.
    """

    def __init__(self, target_seconds: float, max_pack: int) -> None:
        if target_seconds <= 0 or max_pack < 1:
            raise ValueError(f"PackSizer needs target_seconds > 0 and max_pack >= 1, got {target_seconds}, {max_pack}")
        self._target = target_seconds
        self._max = max_pack
        self._durations: deque[float] = deque(maxlen=_WINDOW)
        self._lock = threading.Lock()
        self._size = 1

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._durations.append(max(seconds, 1e-6))
            median = statistics.median(self._durations)
            self._size = max(1, min(self._max, math.floor(self._target / median)))

    @property
    def size(self) -> int:
        return self._size
