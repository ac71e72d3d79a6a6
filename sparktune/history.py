"""The trial history as columns: what algorithms read instead of trial dicts.

:class:`History` is owned by a ``Trials`` and updated in O(1) per trial (amortised growth of
numpy buffers). :meth:`History.view` hands algorithms read-only arrays over the rows so far:
one row per trial in insertion order, one float64 column per parameter label (``NaN`` where the
parameter was inactive), the trial state and the loss (``NaN`` unless the trial finished ``ok``,
``inf`` when the objective returned an infinite loss).
The parameter columns live in one 2-D array, so an algorithm gathers the rows it needs of all its
parameters in one numpy call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["History", "HistoryView", "STATE_NEW", "STATE_RUNNING", "STATE_DONE", "STATE_ERROR", "STATE_CANCEL"]

# Integer codes, equal to Hyperopt's JOB_STATE_* values.
STATE_NEW, STATE_RUNNING, STATE_DONE, STATE_ERROR, STATE_CANCEL = 0, 1, 2, 3, 4

_INITIAL_CAPACITY = 64


@dataclass(frozen=True)
class HistoryView:
    """Read-only columns of the first ``n`` trials: ``values`` holds one row per label (its row
    number in ``index``) and one column per trial."""

    tids: np.ndarray
    states: np.ndarray
    losses: np.ndarray
    values: np.ndarray
    index: Mapping[str, int]

    @property
    def n(self) -> int:
        return len(self.tids)

    @property
    def ok(self) -> np.ndarray:
        """Rows that finished with a finite loss."""
        return np.isfinite(self.losses)

    @property
    def infeasible(self) -> np.ndarray:
        """Rows whose objective returned an infinite loss: failed trials, never the best, but
        evidence that their region is bad (returning ``inf`` for a configuration that cannot
        run is a common idiom), which a model may use."""
        return np.isposinf(self.losses)

    @property
    def pending(self) -> np.ndarray:
        """Rows still queued or running: what a constant liar must account for."""
        return self.states <= STATE_RUNNING

    def column(self, label: str) -> np.ndarray:
        """Values of ``label`` (``NaN`` where inactive or where the label is unknown)."""
        i = self.index.get(label)
        if i is None:
            return np.full(self.n, np.nan)
        return self.values[i]

    def columns(self, labels: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
        """The columns ``labels`` as one new ``(len(labels), n)`` array, or only the trials
        ``rows``; unknown labels give ``NaN`` rows."""
        index = [self.index.get(label, -1) for label in labels]
        if min(index, default=0) >= 0:
            return self.values[index] if rows is None else self.values.take(rows, axis=1)[index]
        out = np.full((len(labels), self.n if rows is None else len(rows)), np.nan)
        for i, j in enumerate(index):
            if j >= 0:
                out[i] = self.values[j] if rows is None else self.values[j, rows]
        return out


class History:
    """Growable columnar store; rows are appended, then updated in place by row index."""

    def __init__(self) -> None:
        self._n = 0
        self._cap = _INITIAL_CAPACITY
        self._tids = np.empty(self._cap, dtype=np.int64)
        self._states = np.empty(self._cap, dtype=np.int8)
        self._losses = np.empty(self._cap, dtype=np.float64)
        self._values = np.empty((0, self._cap))  # one row per label
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return self._n

    def __setstate__(self, state: dict[str, object]) -> None:
        """Unpickle, also a ``Trials`` pickled by earlier builds, which kept one array per label."""
        cols = state.pop("_cols", None)
        self.__dict__.update(state)
        if isinstance(cols, dict):
            self._index = {label: i for i, label in enumerate(cols)}
            self._values = np.array(list(cols.values())).reshape(len(cols), self._cap)

    def _grow(self) -> None:
        self._cap *= 2
        self._tids = np.resize(self._tids, self._cap)
        self._states = np.resize(self._states, self._cap)
        self._losses = np.resize(self._losses, self._cap)
        grown = np.full((len(self._index), self._cap), np.nan)
        grown[:, : self._n] = self._values[:, : self._n]
        self._values = grown

    def _add_label(self, label: str) -> int:
        self._index[label] = len(self._index)
        self._values = np.vstack([self._values, np.full((1, self._cap), np.nan)])
        return self._index[label]

    def append(self, tid: int, state: int, vals: Mapping[str, float]) -> int:
        """Add a row and return its index."""
        if self._n == self._cap:
            self._grow()
        row = self._n
        self._tids[row] = tid
        self._states[row] = state
        self._losses[row] = np.nan
        for label, value in vals.items():
            i = self._index.get(label)
            if i is None:
                i = self._add_label(label)
            self._values[i, row] = value
        self._n += 1
        return row

    def update(self, row: int, state: int, loss: float | None, *, infeasible: bool = False) -> None:
        """Set a row's state and loss (``None`` or non-finite: no usable loss; ``inf`` when the
        objective returned an infinite loss, see :attr:`HistoryView.infeasible`)."""
        self._states[row] = state
        if loss is not None and math.isfinite(loss):
            self._losses[row] = loss
        else:
            self._losses[row] = np.inf if infeasible else np.nan

    def view(self) -> HistoryView:
        n = self._n

        def ro(a: np.ndarray) -> np.ndarray:
            v = a[..., :n]
            v.flags.writeable = False
            return v

        return HistoryView(
            tids=ro(self._tids),
            states=ro(self._states),
            losses=ro(self._losses),
            values=ro(self._values),
            index=dict(self._index),
        )
