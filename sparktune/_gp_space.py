"""The unit-cube encoding of a search space that ``gp.suggest`` models.

Every parameter becomes one or more coordinates in ``[0, 1]``:

- bounded numeric parameters (``uniform``, ``quniform``, ``loguniform``, ``qloguniform``,
  ``uniformint``): one coordinate, linear in the value (in the log for log kinds);
- normal kinds: one coordinate, the prior's CDF at the value (so the prior is uniform on it);
- ``randint``: one ordinal coordinate, ``(value - low + 0.5) / n``;
- ``choice``: one indicator coordinate per option (one-hot).

A conditional parameter that is inactive in a row takes the fixed value 0.5 (all indicators 0
for a choice); together with its parent's indicators this lets one kernel see the whole
conditional space. The *continuous* coordinates (every numeric kind but ``randint``) are those
the acquisition optimiser moves with gradients; :meth:`Encoding.decode_into` writes them back
as values, quantising and rounding as the parameter's kind requires.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

import numpy as np

from .space import Kind, Param, Space

__all__ = ["Encoding", "INACTIVE"]

#: Coordinate value of an inactive numeric parameter.
INACTIVE = 0.5
#: CDF values are kept this far inside (0, 1) so that normal kinds decode to finite values.
_CDF_EPS = 1e-9


@dataclass(frozen=True)
class _Slot:
    param: Param
    start: int
    width: int

    @property
    def continuous(self) -> bool:
        return self.param.kind not in (Kind.CHOICE, Kind.RANDINT)


class Encoding:
    """Maps value columns (``NaN`` = inactive) to rows of ``[0, 1]^dims`` and back."""

    def __init__(self, space: Space) -> None:
        self.space = space
        slots: list[_Slot] = []
        start = 0
        for p in space.params:
            width = p.n_options if p.kind is Kind.CHOICE else 1
            slots.append(_Slot(p, start, width))
            start += width
        self._slots = tuple(slots)
        self.dims = start
        mask = np.zeros(start, dtype=bool)
        for s in slots:
            mask[s.start] = s.continuous
        #: Coordinates moved by the gradient-based refinement.
        self.continuous = mask

    def encode(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Rows ``(n, dims)`` for ``n`` points given as value columns."""
        from scipy.special import ndtr

        x = np.full((n, self.dims), INACTIVE)
        for s in self._slots:
            p = s.param
            col = np.asarray(columns[p.label], dtype=float)[:n]
            active = ~np.isnan(col)
            v = col[active]
            if p.kind is Kind.CHOICE:
                block = np.zeros((n, s.width))
                block[np.flatnonzero(active), v.astype(int)] = 1.0
                x[:, s.start : s.start + s.width] = block
                continue
            if p.kind is Kind.RANDINT:
                assert p.low is not None
                u = (v - p.low + 0.5) / p.n_options
            else:
                t = np.log(np.maximum(v, 1e-300)) if p.kind.is_log else v
                if p.kind.is_bounded:
                    assert p.low is not None and p.high is not None
                    u = (t - p.low) / (p.high - p.low)
                else:
                    assert p.mu is not None and p.sigma is not None
                    u = ndtr((t - p.mu) / p.sigma)
            x[active, s.start] = np.clip(u, 0.0, 1.0)
        return x

    def movable(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Boolean ``(n, dims)``: continuous coordinates of parameters active in each row."""
        out = np.zeros((n, self.dims), dtype=bool)
        for s in self._slots:
            if s.continuous:
                out[:, s.start] = ~np.isnan(np.asarray(columns[s.param.label], dtype=float)[:n])
        return out

    def decode_into(self, columns: MutableMapping[str, np.ndarray], rows: np.ndarray, x: np.ndarray) -> None:
        """Write the continuous coordinates of ``x`` (one row per entry of ``rows``) into ``columns``.

        Only parameters active in a row change; values are quantised/rounded as their kind says.
        """
        from scipy.special import ndtri

        for s in self._slots:
            if not s.continuous:
                continue
            p = s.param
            col = columns[p.label]
            active = ~np.isnan(col[rows])
            if not active.any():
                continue
            u = np.clip(x[active, s.start], 0.0, 1.0)
            if p.kind.is_bounded:
                assert p.low is not None and p.high is not None
                t = p.low + u * (p.high - p.low)
            else:
                assert p.mu is not None and p.sigma is not None
                t = p.mu + p.sigma * ndtri(np.clip(u, _CDF_EPS, 1.0 - _CDF_EPS))
            v = np.exp(t) if p.kind.is_log else t
            if p.kind.is_quantized:
                q = 1.0 if p.kind is Kind.UNIFORMINT else p.q
                assert q is not None
                v = np.round(v / q) * q
            col[rows[active]] = v

    def describe(self) -> str:
        """``label:kind[width]`` of every slot, for logs and error messages."""
        return ", ".join(f"{s.param.label}:{s.param.kind.value}[{s.width}]" for s in self._slots)
