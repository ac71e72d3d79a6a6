"""Early-stopping rules for ``fmin(early_stop_fn=...)``.

A rule is called as ``rule(trials, *state)`` after each finished trial and returns
``(stop, state)``; the state is handed back on the next call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .history import STATE_DONE

__all__ = ["no_progress_loss"]


def no_progress_loss(
    iteration_stop_count: int = 20, percent_increase: float = 0.0
) -> Callable[..., tuple[bool, list[Any]]]:
    """Stop when ``iteration_stop_count`` trials in a row did not improve the best loss by more
    than ``percent_increase`` percent (Hyperopt's rule).

    Only trials that finished ``ok`` count, and each is counted once, however many trials
    finish between two calls.
    """
    if iteration_stop_count < 1:
        raise ValueError(f"no_progress_loss: iteration_stop_count must be >= 1, got {iteration_stop_count}")

    def stop_fn(
        trials: Any, best_loss: float | None = None, since_best: int = 0, seen: int = 0, losses: int = 0
    ) -> tuple[bool, list[Any]]:
        history = trials.history()
        # Rows are in insertion order; count each finished row once, in order.
        for loss, state in zip(history.losses[seen:], history.states[seen:], strict=True):
            if state < STATE_DONE:
                break
            seen += 1
            if not math.isfinite(loss):  # failed or cancelled: no loss to compare
                continue
            losses += 1
            if best_loss is None:
                # As in Hyperopt, the first loss counts as one trial without progress.
                best_loss, since_best = float(loss), since_best + 1
            elif loss < best_loss - abs(best_loss) * percent_increase / 100.0:
                best_loss, since_best = float(loss), 0
            else:
                since_best += 1
        # As in Hyperopt, the first loss alone never stops the run.
        stop = losses > 1 and since_best >= iteration_stop_count
        return stop, [best_loss, since_best, seen, losses]

    return stop_fn
