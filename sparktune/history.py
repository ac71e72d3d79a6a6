"""The trial history as columns: what algorithms read instead of trial dicts.

:class:`History` is owned by a ``Trials`` and updated in O(1) per trial (amortised growth of
numpy buffers). :meth:`History.view` hands algorithms read-only arrays over the rows so far:
one row per trial in insertion order, one float64 column per parameter label (``NaN`` where the
parameter was inactive), the trial state and the loss (``NaN`` unless the trial finished ``ok``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["History", "HistoryView", "STATE_NEW", "STATE_RUNNING", "STATE_DONE", "STATE_ERROR", "STATE_CANCEL"]

# Integer codes, equal to Hyperopt's JOB_STATE_* values.
STATE_NEW, STATE_RUNNING, STATE_DONE, STATE_ERROR, STATE_CANCEL = 0, 1, 2, 3, 4

_INITIAL_CAPACITY = 64


@dataclass(frozen=True)
class HistoryView:
    """Read-only columns of the first ``n`` trials."""

    tids: np.ndarray
    states: np.ndarray
    losses: np.ndarray
    columns: Mapping[str, np.ndarray]

    @property
    def n(self) -> int:
        return len(self.tids)

    @property
    def ok(self) -> np.ndarray:
        """Rows that finished with a finite loss."""
        return ~np.isnan(self.losses)

    @property
    def pending(self) -> np.ndarray:
        """Rows still queued or running: what a constant liar must account for."""
        return self.states <= STATE_RUNNING

    def column(self, label: str) -> np.ndarray:
        """Values of ``label`` (``NaN`` where inactive or where the label is unknown)."""
        col = self.columns.get(label)
        if col is None:
            return np.full(self.n, np.nan)
        return col


class History:
    """Growable columnar store; rows are appended, then updated in place by row index."""

    def __init__(self) -> None:
        self._n = 0
        self._cap = _INITIAL_CAPACITY
        self._tids = np.empty(self._cap, dtype=np.int64)
        self._states = np.empty(self._cap, dtype=np.int8)
        self._losses = np.empty(self._cap, dtype=np.float64)
        self._cols: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self._n

    def _grow(self) -> None:
        self._cap *= 2
        self._tids = np.resize(self._tids, self._cap)
        self._states = np.resize(self._states, self._cap)
        self._losses = np.resize(self._losses, self._cap)
        for label, col in self._cols.items():
            grown = np.full(self._cap, np.nan)
            grown[: self._n] = col[: self._n]
            self._cols[label] = grown

    def append(self, tid: int, state: int, vals: Mapping[str, float]) -> int:
        """Add a row and return its index."""
        if self._n == self._cap:
            self._grow()
        row = self._n
        self._tids[row] = tid
        self._states[row] = state
        self._losses[row] = np.nan
        for label, value in vals.items():
            col = self._cols.get(label)
            if col is None:
                col = self._cols[label] = np.full(self._cap, np.nan)
            col[row] = value
        self._n += 1
        return row

    def update(self, row: int, state: int, loss: float | None) -> None:
        """Set a row's state and loss (``None`` or non-finite: no usable loss)."""
        self._states[row] = state
        self._losses[row] = loss if loss is not None and math.isfinite(loss) else np.nan

    def view(self) -> HistoryView:
        n = self._n

        def ro(a: np.ndarray) -> np.ndarray:
            v = a[:n]
            v.flags.writeable = False
            return v

        return HistoryView(
            tids=ro(self._tids),
            states=ro(self._states),
            losses=ro(self._losses),
            columns={label: ro(col) for label, col in self._cols.items()},
        )
