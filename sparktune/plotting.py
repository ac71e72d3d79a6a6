"""Plots of a run's trials, as matplotlib figures (extra ``plot``).

Hyperopt's ``main_plot_history``, ``main_plot_histogram`` and ``main_plot_vars`` keep their names
and arguments, plus the plots people usually draw by hand: loss against each parameter
(:func:`plot_loss_vs_param`), the best loss so far (:func:`plot_best_so_far`), parallel
coordinates (:func:`plot_parallel_coordinates`) and a per-worker timeline of a run
(:func:`plot_timeline`).

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot``: nothing is
shown and no global figure is left behind, so they work under the Agg backend, in scripts and in
notebooks (a returned figure is displayed once by Jupyter). Save one with ``fig.savefig(path)``.
Hyperopt's ``do_show`` argument is accepted and ignored: call ``show`` yourself if you want it.

Pass the search ``space`` where a function takes it to show choice options by their values
(``"rbf"``) instead of their indices and to put log-distributed parameters on a log axis.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .exceptions import InvalidArgumentError
from .space import Apply, DictNode, Kind, Literal, Param, SeqNode, Space, compile_space
from .trials import Trial, Trials, TrialState

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "main_plot_history",
    "main_plot_histogram",
    "main_plot_vars",
    "plot_loss_vs_param",
    "plot_best_so_far",
    "plot_parallel_coordinates",
    "plot_timeline",
    "choice_option_labels",
]

#: Colours of trial outcomes, used by every plot that shows failures.
STATUS_COLORS = {"ok": "tab:blue", "fail": "tab:red", "cancelled": "tab:gray", "running": "tab:orange"}

#: Width of the random horizontal spread of points on a categorical axis (fraction of one slot).
_JITTER = 0.15


def _figure(**kwargs: Any) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError('sparktune.plotting needs matplotlib: pip install "sparktune[plot]"') from err
    _enable_notebook_display(Figure)
    return Figure(**kwargs)


def _enable_notebook_display(figure_type: type) -> None:
    """In IPython, show a returned figure as a PNG even when pyplot was never imported.

    IPython registers its figure formatter when pyplot's inline backend loads; our figures are
    made without pyplot, so register the same PNG formatter if none is there yet.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    if _has_type(formatter, figure_type):
        return
    from IPython.core.pylabtools import print_figure

    formatter.for_type(figure_type, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


def _has_type(formatter: Any, figure_type: type) -> bool:
    try:
        formatter.lookup_by_type(figure_type)
    except KeyError:
        return False
    return True


def _check_trials(trials: object, fn: str) -> Trials:
    if not isinstance(trials, Trials):
        raise InvalidArgumentError(
            f"{fn}: trials must be a sparktune Trials (or SparkTrials), got {type(trials).__name__}"
        )
    return trials


def _status(record: Trial) -> str:
    if record.state is TrialState.CANCEL:
        return "cancelled"
    if record.state in (TrialState.NEW, TrialState.RUNNING):
        return "running"
    return "ok" if record.loss is not None else "fail"


def _ok_records(trials: Trials) -> list[Trial]:
    return [r for r in trials.records if r.loss is not None]


def _losses(records: Sequence[Trial]) -> np.ndarray:
    """The records' losses as floats, ``NaN`` where a trial has none."""
    return np.array([np.nan if r.loss is None else r.loss for r in records], dtype=float)


def _note_if_empty(ax: Axes, count: int, what: str = "no trial has finished ok yet") -> None:
    """Say so on an axes that has nothing to draw, rather than leave it blank (a figure refreshed
    while a run starts, or a run whose every trial failed)."""
    if count == 0:
        ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", color="0.4")


# ----- choice labels ---------------------------------------------------------------------------


def _node_label(node: Any, index: int) -> str:
    if isinstance(node, Literal):
        value = node.value
        return value if isinstance(value, str) else repr(value)
    if isinstance(node, DictNode):
        # A branch written as {"type": "svm", ...}: name it by its first string constant.
        for value in node.items.values():
            if isinstance(value, Literal) and isinstance(value.value, str):
                return value.value
    if isinstance(node, SeqNode):
        for value in node.items:
            if isinstance(value, Literal) and isinstance(value.value, str):
                return value.value
    if isinstance(node, Param):
        return node.label
    if isinstance(node, Apply):
        return getattr(node.fn, "__name__", f"#{index}")
    return f"#{index}"


def choice_option_labels(param: Param) -> list[str]:
    """Display names of the options of a choice: the value for constants, else a short name.

    A branch that is a dict or tuple is named by its first string constant (e.g. the ``"svm"``
    of ``{"type": "svm", "C": ...}``); anything else by its position ``#i``.
    """
    if param.kind is not Kind.CHOICE or param.options is None:
        raise InvalidArgumentError(f"choice_option_labels: {param.label!r} is a {param.kind.value}, not a choice")
    return [_node_label(option, i) for i, option in enumerate(param.options)]


def _numeric_options(param: Param | None) -> np.ndarray | None:
    """The option values of a choice whose options are all plain numbers (``range(1, 40)``), else None."""
    if param is None or param.kind is not Kind.CHOICE or param.options is None:
        return None
    values = []
    for option in param.options:
        if not isinstance(option, Literal) or isinstance(option.value, bool):
            return None
        if not isinstance(option.value, (int, float, np.integer, np.floating)):
            return None
        values.append(float(option.value))
    return np.array(values)


def _values(param: Param | None, records: Sequence[Trial], label: str) -> np.ndarray:
    """What to plot for ``label`` in each record: numeric choices as their values, else the stored value."""
    raw = np.array([float(r.vals[label]) if label in r.vals else np.nan for r in records])
    numeric = _numeric_options(param)
    if numeric is None:
        return raw
    out = np.full(len(raw), np.nan)
    ok = ~np.isnan(raw)
    out[ok] = numeric[raw[ok].astype(int)]
    return out


def _categorical(param: Param | None) -> bool:
    """A choice drawn as categories (its options are not all numbers)."""
    return param is not None and param.kind is Kind.CHOICE and _numeric_options(param) is None


#: Most category names written on a choice axis; with more options every k-th is written.
_MAX_CATEGORY_TICKS = 12


def _compiled(space: object) -> Space | None:
    return None if space is None else compile_space(space)


def _labels(trials: Trials, space: Space | None, labels: Sequence[str] | None) -> list[str]:
    known: list[str] = list(space.labels) if space is not None else []
    for record in trials.records:
        for label in record.labels or tuple(record.vals):
            if label not in known:
                known.append(label)
    if labels is None:
        return known
    if isinstance(labels, str):  # one label, not its letters
        labels = [labels]
    unknown = [label for label in labels if label not in known]
    if unknown:
        raise InvalidArgumentError(f"labels {unknown} are not parameters of these trials; they have {known}")
    return list(labels)


def _param(space: Space | None, label: str) -> Param | None:
    if space is None or label not in space.labels:
        return None
    return space.param(label)


def _grid(n: int, columns: int) -> tuple[int, int]:
    cols = max(1, min(columns, n))
    return max(1, math.ceil(n / cols)), cols


# ----- Hyperopt's three plots ------------------------------------------------------------------


def main_plot_history(
    trials: Trials, do_show: bool = True, status_colors: Mapping[str, str] | None = None, title: str = "Loss History"
) -> Figure:
    """Loss of every trial against its id, one colour per status, and the best loss as a line.

    Failed and cancelled trials have no loss; they are drawn as ``x`` marks along the top edge
    so that where failures happened stays visible.
    """
    trials = _check_trials(trials, "main_plot_history")
    colors = {**STATUS_COLORS, **(status_colors or {})}
    fig = _figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    records = [r for r in trials.records if r.state.finished]
    ok = [r for r in records if r.loss is not None]
    if ok:
        ax.scatter([r.tid for r in ok], _losses(ok), s=18, color=colors["ok"], label="ok")
        best = float(_losses(ok).min())
        ax.axhline(best, color="tab:green", linewidth=1, label=f"best {best:.4g}")
    for status in ("fail", "cancelled"):
        bad = [r.tid for r in records if _status(r) == status]
        if bad:
            ax.scatter(bad, [1.0] * len(bad), transform=ax.get_xaxis_transform(), marker="x", s=24,
                       color=colors[status], label=status, clip_on=False)  # fmt: skip
    if records:  # the failure marks do not widen the axis by themselves
        tids = [r.tid for r in records]
        pad = max(0.5, 0.02 * (max(tids) - min(tids)))
        ax.set_xlim(min(tids) - pad, max(tids) + pad)
    _note_if_empty(ax, len(ok), "no trial has finished ok yet" if records else "no trial has finished yet")
    ax.set_title(title)
    ax.set_xlabel("trial id")
    ax.set_ylabel("loss")
    if records:
        ax.legend(loc="best", fontsize="small")
    return fig


def main_plot_histogram(trials: Trials, do_show: bool = True, title: str = "Loss Histogram") -> Figure:
    """Histogram of the losses of the trials that finished ``ok``."""
    trials = _check_trials(trials, "main_plot_histogram")
    fig = _figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    losses = _losses(_ok_records(trials))
    if len(losses):
        ax.hist(losses, bins=max(5, min(50, int(math.sqrt(len(losses))) * 2)), color=STATUS_COLORS["ok"])
    _note_if_empty(ax, len(losses))
    ax.set_title(title)
    ax.set_xlabel("loss")
    ax.set_ylabel("trials")
    return fig


def main_plot_vars(
    trials: Trials,
    do_show: bool = True,
    fontsize: float = 10,
    colorize_best: int | None = None,
    columns: int = 5,
    arrange_by_loss: bool = False,
    *,
    space: object = None,
) -> Figure:
    """One panel per parameter: its value in each trial against the trial id, coloured by loss.

    Darker is better. ``colorize_best=n`` marks the ``n`` best trials in red instead;
    ``arrange_by_loss=True`` puts the loss on the x axis instead of the trial id. With
    ``space``, choice panels show option values and log parameters use a log axis.
    """
    trials = _check_trials(trials, "main_plot_vars")
    compiled = _compiled(space)
    labels = _labels(trials, compiled, None)
    rows, cols = _grid(len(labels), columns)
    fig = _figure(figsize=(3.2 * cols, 2.6 * rows), layout="constrained")
    ok = _ok_records(trials)
    best_tids: set[int] = set()
    if colorize_best:
        best_tids = {r.tid for r in sorted(ok, key=lambda r: r.loss or 0.0)[:colorize_best]}
    losses = np.array([r.loss for r in ok], dtype=float)
    for i, label in enumerate(labels):
        ax = fig.add_subplot(rows, cols, i + 1)
        rows_ = [r for r in ok if label in r.vals]
        y = _values(_param(compiled, label), rows_, label)
        x = np.array([r.loss if arrange_by_loss else r.tid for r in rows_], dtype=float)
        if colorize_best:
            color: Any = ["tab:red" if r.tid in best_tids else "0.6" for r in rows_]
            ax.scatter(x, y, s=12, c=color)
        elif len(rows_):
            c = np.array([r.loss for r in rows_], dtype=float)
            ax.scatter(x, y, s=12, c=c, cmap="viridis", vmin=losses.min(), vmax=losses.max())
        _note_if_empty(ax, len(rows_), "no ok trial with this parameter yet")
        _style_value_axis(ax, _param(compiled, label), "y")
        ax.set_title(label, fontsize=fontsize)
        ax.tick_params(labelsize=fontsize * 0.8)
        ax.set_xlabel("loss" if arrange_by_loss else "trial id", fontsize=fontsize * 0.8)
    return fig


def _style_value_axis(ax: Axes, param: Param | None, which: str) -> None:
    """Label a choice axis with its option names; use a log scale for log parameters."""
    if param is None:
        return
    if _categorical(param):
        names = choice_option_labels(param)
        step = math.ceil(len(names) / _MAX_CATEGORY_TICKS)
        ticks, setter = (ax.set_xticks, ax.set_xlim) if which == "x" else (ax.set_yticks, ax.set_ylim)
        ticks(range(0, len(names), step), names[::step])
        setter(-0.5, len(names) - 0.5)
    elif param.kind.is_log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")


# ----- what people draw by hand ----------------------------------------------------------------


def plot_loss_vs_param(
    trials: Trials,
    space: object = None,
    labels: Sequence[str] | None = None,
    *,
    columns: int = 3,
    jitter_seed: int = 0,
) -> Figure:
    """Loss against each parameter's value, one panel per parameter (the tutorial's scatter plot).

    Choices are categorical axes labelled with the options' values (given ``space``) with a small
    horizontal jitter so that points of one option do not hide each other; a choice among numbers
    (``hp.choice("k", range(1, 40))``) is a numeric axis of those numbers; log parameters use a
    log axis. Only trials that finished ``ok`` and where the parameter was active are drawn.
    """
    trials = _check_trials(trials, "plot_loss_vs_param")
    compiled = _compiled(space)
    chosen = _labels(trials, compiled, labels)
    rows, cols = _grid(len(chosen), columns)
    fig = _figure(figsize=(3.6 * cols, 3.0 * rows), layout="constrained")
    rng = np.random.default_rng(jitter_seed)
    ok = _ok_records(trials)
    for i, label in enumerate(chosen):
        ax = fig.add_subplot(rows, cols, i + 1)
        active = [r for r in ok if label in r.vals]
        param = _param(compiled, label)
        x = _values(param, active, label)
        if _categorical(param):
            x = x + rng.uniform(-_JITTER, _JITTER, size=len(x))
        ax.scatter(x, _losses(active), s=14, alpha=0.8, color=STATUS_COLORS["ok"])
        _note_if_empty(ax, len(active), "no ok trial with this parameter yet")
        _style_value_axis(ax, param, "x")
        ax.set_xlabel(label)
        ax.set_ylabel("loss")
    return fig


def plot_best_so_far(trials: Trials, *, by: str = "trial", ax: Axes | None = None) -> Figure:
    """The lowest loss found so far, as trials finish, with every trial's loss as faint points.

    ``by="trial"``: x is the number of finished trials, in the order they finished.
    ``by="time"``: x is seconds since the first trial started (needs the trials' timestamps).
    """
    trials = _check_trials(trials, "plot_best_so_far")
    if by not in ("trial", "time"):
        raise InvalidArgumentError(f"plot_best_so_far: by must be 'trial' or 'time', got {by!r}")
    if ax is None:
        fig = _figure(figsize=(7, 4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure(root=True)  # type: ignore[assignment]
    finished = [r for r in trials.records if r.state.finished]
    if by == "time":
        finished = [r for r in finished if r.refresh_time is not None]
        finished.sort(key=lambda r: (r.refresh_time, r.tid))
        starts = [r.book_time or r.refresh_time for r in finished]
        start = min(t for t in starts if t is not None) if finished else None
        x = [(r.refresh_time - start).total_seconds() for r in finished if r.refresh_time and start]
        ax.set_xlabel("seconds since the first trial started")
    else:
        finished.sort(key=lambda r: (r.refresh_time or dt.datetime.max, r.tid))
        x = list(range(1, len(finished) + 1))
        ax.set_xlabel("trials finished")
    losses = _losses(finished)
    best = np.fmin.accumulate(losses) if len(losses) else losses
    ok = ~np.isnan(losses)
    ax.scatter(np.asarray(x)[ok], losses[ok], s=10, color="0.65", label="trial loss")
    ax.step(x, best, where="post", color="tab:green", linewidth=2, label="best so far")
    _note_if_empty(ax, int(ok.sum()))
    ax.set_ylabel("loss")
    ax.set_title("Best loss so far")
    if len(finished):
        ax.legend(loc="best", fontsize="small")
    return fig


def plot_parallel_coordinates(
    trials: Trials, space: object = None, labels: Sequence[str] | None = None, *, cmap: str = "viridis"
) -> Figure:
    """One line per ``ok`` trial across one vertical axis per parameter, coloured by loss.

    Each axis is scaled to the range of its values (in log for log parameters); choice axes are
    labelled with their options (numeric options are a numeric axis). A trial's line joins the
    axes of the parameters active in it and passes by the others.
    """
    trials = _check_trials(trials, "plot_parallel_coordinates")
    compiled = _compiled(space)
    chosen = _labels(trials, compiled, labels)
    ok = _ok_records(trials)
    fig = _figure(figsize=(max(5.0, 1.6 * len(chosen) + 2), 4.5), layout="constrained")
    ax = fig.add_subplot()
    scaled = np.full((len(ok), len(chosen)), np.nan)
    tick_text: list[list[tuple[float, str]]] = []
    for j, label in enumerate(chosen):
        param = _param(compiled, label)
        raw = _values(param, ok, label)
        log = param is not None and param.kind.is_log
        if log:  # a log-quantized value can round to 0; it sits at the axis' low end
            with np.errstate(divide="ignore"):
                values = np.log(raw)
            positive = values[np.isfinite(values)]
            values[np.isneginf(values)] = positive.min() if len(positive) else 0.0
        else:
            values = raw
        if _categorical(param):
            assert param is not None
            names = choice_option_labels(param)
            lo, hi = 0.0, float(max(len(names) - 1, 1))
            step = math.ceil(len(names) / _MAX_CATEGORY_TICKS)
            ticks = [(i / hi, name) for i, name in enumerate(names)][::step]
        else:
            finite = values[~np.isnan(values)]
            lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
            hi = hi if hi > lo else lo + 1.0
            ends = (lo, hi) if not log else (math.exp(lo), math.exp(hi))
            ticks = [(0.0, f"{ends[0]:.3g}"), (1.0, f"{ends[1]:.3g}")]
        scaled[:, j] = (values - lo) / (hi - lo)
        tick_text.append(ticks)
    losses = np.array([r.loss for r in ok], dtype=float)
    if len(ok):
        from matplotlib import colormaps
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        low, high = float(losses.min()), float(losses.max())
        norm = Normalize(vmin=low, vmax=high if high > low else low + 1.0)
        colormap = colormaps[cmap]
        # Worst first, so the best lines are drawn on top. A line joins the axes of the
        # parameters active in its trial and passes by the others.
        for row, loss in sorted(zip(scaled, losses, strict=True), key=lambda p: -p[1]):
            active = ~np.isnan(row)
            ax.plot(np.flatnonzero(active), row[active], color=colormap(norm(loss)), alpha=0.7, linewidth=1.2,
                    marker="o", markersize=2.5)  # fmt: skip
        fig.colorbar(ScalarMappable(norm=norm, cmap=colormap), ax=ax, label="loss")
    _note_if_empty(ax, len(ok))
    ax.vlines(range(len(chosen)), 0, 1, color="0.3", linewidth=0.8)
    for j, ticks in enumerate(tick_text):
        for pos, text in ticks:
            ax.annotate(text, (j, pos), xytext=(3, 0), textcoords="offset points", fontsize=7, va="center")
    ax.set_xticks(range(len(chosen)), chosen)
    ax.set_yticks([])
    ax.set_xlim(-0.2, max(len(chosen) - 1, 0) + 0.6)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Parallel coordinates (darker = lower loss)")
    return fig


# ----- timeline -------------------------------------------------------------------------------


def _lanes(records: Sequence[Trial]) -> list[tuple[str, int, Trial]]:
    """Assign each timed trial a (worker, slot): overlapping trials of one worker get their own slot."""
    out: list[tuple[str, int, Trial]] = []
    ends: dict[str, list[dt.datetime]] = {}
    for record in sorted(records, key=lambda r: (r.book_time, r.tid)):
        assert record.book_time is not None and record.refresh_time is not None
        worker = record.worker or "driver"
        slots = ends.setdefault(worker, [])
        for slot, end in enumerate(slots):
            if end <= record.book_time:
                slots[slot] = record.refresh_time
                break
        else:
            slot = len(slots)
            slots.append(record.refresh_time)
        out.append((worker, slot, record))
    return out


def plot_timeline(trials: Trials, *, annotate: bool | None = None) -> Figure:
    """When each trial ran and where: one row per worker slot, one bar per trial.

    A bar spans a trial's ``book_time`` (started) to its ``refresh_time`` (finished or
    cancelled), coloured by outcome; white space in a row is time that slot sat idle. Rows are
    the ``worker`` each trial reported (for SparkTrials, the Spark executor and task slot);
    trials that overlap on one worker are spread over extra rows of that worker. Bars carry
    their trial ids when there are few enough to read (``annotate``).
    """
    trials = _check_trials(trials, "plot_timeline")
    timed = [r for r in trials.records if r.book_time is not None and r.refresh_time is not None]
    lanes = _lanes(timed)
    rows = sorted({(worker, slot) for worker, slot, _ in lanes})
    row_of = {key: i for i, key in enumerate(rows)}
    fig = _figure(figsize=(8, max(2.5, 0.45 * len(rows) + 1.5)), layout="constrained")
    ax = fig.add_subplot()
    start = min((r.book_time for r in timed if r.book_time is not None), default=None)
    annotate = len(timed) <= 40 if annotate is None else annotate
    seen: set[str] = set()
    for worker, slot, record in lanes:
        assert start is not None and record.book_time is not None and record.refresh_time is not None
        left = (record.book_time - start).total_seconds()
        width = max((record.refresh_time - record.book_time).total_seconds(), 1e-3)
        status = _status(record)
        y = row_of[(worker, slot)]
        ax.barh(y, width, left=left, height=0.7, color=STATUS_COLORS[status], edgecolor="white",
                label=None if status in seen else status)  # fmt: skip
        seen.add(status)
        if annotate:
            ax.text(left + width / 2, y, str(record.tid), ha="center", va="center", fontsize=7, color="white")
    ax.set_yticks(range(len(rows)), [w if s == 0 else f"{w} [{s}]" for w, s in rows])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first trial started")
    ax.set_title(f"Timeline of {len(timed)} trials on {len(rows)} slots")
    if seen:
        ax.legend(loc="upper right", fontsize="small")
    return fig
