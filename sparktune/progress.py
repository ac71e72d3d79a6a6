"""Progress reporting for ``fmin``: trials done (of the total), running, failed and the best loss.

Where it shows up, with ``show_progressbar=True`` (the default):

- in a Jupyter/Databricks notebook: a tqdm widget (text when ``ipywidgets`` is missing);
- in a terminal: a tqdm bar on stderr;
- when stderr is not a terminal (``spark-submit`` driver logs, CI, a redirected job): plain
  lines on stderr, one at the first trial, then at most one every ``_TEXT_EVERY`` seconds, and
  one at the end, so logs are not flooded with carriage returns.

``fmin`` updates the display when each trial finishes (and refreshes the running count when one
starts). Switch it off with ``show_progressbar=False`` or, without touching code, with the
environment variable ``SPARKTUNE_PROGRESS=off``; ``SPARKTUNE_PROGRESS=text`` or ``=bar`` forces
one style. As in Hyperopt, ``show_progressbar`` may also be a callable
``(initial, total) -> context manager`` whose object has ``update(n)`` and a writable ``postfix``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TextIO

from .exceptions import InvalidArgumentError

__all__ = [
    "ENV_VAR",
    "ProgressFactory",
    "default_callback",
    "no_progress_callback",
    "postfix",
    "resolve",
    "text_progress_callback",
    "tqdm_progress_callback",
]

ProgressFactory = Callable[..., AbstractContextManager[Any]]

#: Environment variable that picks the progress style: ``auto`` (default), ``bar``, ``text``, ``off``.
ENV_VAR = "SPARKTUNE_PROGRESS"

#: Seconds between two lines of the text display; often enough to see a job move, rare enough for logs.
_TEXT_EVERY = 10.0

_STYLES = ("auto", "bar", "text", "off")


def postfix(best_loss: float | None, running: int = 0, failed: int = 0) -> str:
    """The text after the counter: ``best loss: 0.0123, running: 4, failed: 1``."""
    text = f"best loss: {'?' if best_loss is None else f'{best_loss:.6g}'}"
    if running:
        text += f", running: {running}"
    if failed:
        text += f", failed: {failed}"
    return text


class _Silent:
    postfix = ""
    silent = True  # fmin skips computing postfix text nobody reads

    def update(self, n: int = 1) -> None:
        pass


class _TextProgress:
    """Newline-terminated progress lines: readable in log files, no control characters."""

    def __init__(self, initial: int, total: int | None, stream: TextIO) -> None:
        self.n = initial
        self.total = total
        self.postfix = ""
        self._stream = stream
        self._last: float | None = None
        self._written_n: int | None = None

    def _line(self) -> None:
        total = "" if self.total is None else f"/{self.total}"
        self._stream.write(f"sparktune: {self.n}{total} trials done, {self.postfix or postfix(None)}\n")
        self._stream.flush()
        self._last = time.monotonic()
        self._written_n = self.n

    def update(self, n: int = 1) -> None:
        self.n += n
        if n == 0:
            return
        if self._last is None or time.monotonic() - self._last >= _TEXT_EVERY:
            self._line()

    def close(self) -> None:
        if self._written_n != self.n:
            self._line()


@contextlib.contextmanager
def no_progress_callback(initial: int, total: int | None) -> Iterator[_Silent]:
    """No display at all."""
    yield _Silent()


@contextlib.contextmanager
def text_progress_callback(initial: int, total: int | None) -> Iterator[_TextProgress]:
    """Plain progress lines on stderr (for logs and non-interactive jobs)."""
    bar = _TextProgress(initial, total, sys.stderr)
    try:
        yield bar
    finally:
        bar.close()


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), which is what draws widgets."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _tqdm_class() -> Any:
    try:
        from tqdm import tqdm
    except ImportError as err:
        raise ImportError(
            'the progress bar needs tqdm: pip install "sparktune[progress]" (or pass show_progressbar=False)'
        ) from err
    if _in_notebook():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as notebook_tqdm
        except ImportError:
            return tqdm  # tqdm's notebook widget needs ipywidgets; text works everywhere
        return notebook_tqdm
    return tqdm


@contextlib.contextmanager
def tqdm_progress_callback(initial: int, total: int | None) -> Iterator[Any]:
    """A tqdm bar: a widget in notebooks (with ipywidgets), text on a terminal's stderr."""
    tqdm = _tqdm_class()
    with tqdm(total=total, initial=initial, postfix=postfix(None), dynamic_ncols=True, unit="trial") as bar:
        yield bar


def _style() -> str:
    style = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if style in ("0", "false", "no", "none"):
        return "off"
    if style not in _STYLES:
        raise InvalidArgumentError(f"{ENV_VAR} must be one of {list(_STYLES)}, got {style!r}")
    return style


def default_callback(initial: int, total: int | None) -> AbstractContextManager[Any]:
    """The display ``show_progressbar=True`` gives; see the module docstring."""
    style = _style()
    if style == "off":
        return no_progress_callback(initial, total)
    if style == "auto":
        try:
            import tqdm  # noqa: F401
        except ImportError:
            style = "text"
        else:
            interactive = _in_notebook() or (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
            style = "bar" if interactive else "text"
    if style == "text":
        return text_progress_callback(initial, total)
    return tqdm_progress_callback(initial, total)


def resolve(show_progressbar: bool | ProgressFactory) -> ProgressFactory:
    """The factory ``fmin`` uses for its ``show_progressbar`` argument."""
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
