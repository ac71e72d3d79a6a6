"""Progress reporting for ``fmin``: a tqdm bar when tqdm is installed, log lines otherwise.

``show_progressbar`` may be ``True``/``False`` or, as in Hyperopt, a callable
``(initial, total) -> context manager`` whose object has ``update(n)`` and a writable
``postfix`` string.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

__all__ = ["ProgressFactory", "default_callback", "no_progress_callback", "tqdm_progress_callback", "resolve"]

logger = logging.getLogger(__name__)

ProgressFactory = Callable[..., AbstractContextManager[Any]]

#: Seconds between two log lines of the tqdm-less fallback.
_LOG_EVERY = 10.0


class _Silent:
    postfix = ""

    def update(self, n: int = 1) -> None:
        pass


class _LogProgress:
    """Writes a progress line to the log at most every ``_LOG_EVERY`` seconds."""

    def __init__(self, initial: int, total: int | None) -> None:
        self.n = initial
        self.total = total
        self.postfix = ""
        self._last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= _LOG_EVERY or (self.total is not None and self.n >= self.total):
            self._last = now
            total = "?" if self.total is None else self.total
            logger.info("%s/%s trials, %s", self.n, total, self.postfix)


@contextlib.contextmanager
def no_progress_callback(initial: int, total: int | None) -> Iterator[_Silent]:
    yield _Silent()


@contextlib.contextmanager
def tqdm_progress_callback(initial: int, total: int | None) -> Iterator[Any]:
    """A tqdm bar (a widget in notebooks, text in terminals)."""
    try:
        from tqdm.auto import tqdm
    except ImportError as err:
        raise ImportError(
            'the progress bar needs tqdm: pip install "sparktune[progress]" (or pass show_progressbar=False)'
        ) from err
    with tqdm(total=total, initial=initial, postfix="best loss: ?", dynamic_ncols=True, unit="trial") as bar:
        yield bar


@contextlib.contextmanager
def _log_progress_callback(initial: int, total: int | None) -> Iterator[_LogProgress]:
    yield _LogProgress(initial, total)


def default_callback(initial: int, total: int | None) -> AbstractContextManager[Any]:
    """tqdm when it is installed; otherwise progress lines on the ``sparktune.progress`` logger."""
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return _log_progress_callback(initial, total)
    return tqdm_progress_callback(initial, total)


def resolve(show_progressbar: bool | ProgressFactory) -> ProgressFactory:
    if show_progressbar is True:
        return default_callback
    if show_progressbar is False or show_progressbar is None:
        return no_progress_callback
    if callable(show_progressbar):
        return show_progressbar
    raise TypeError(
        "show_progressbar must be True, False or a callable (initial, total) -> context manager, "
        f"got {type(show_progressbar).__name__}"
    )
