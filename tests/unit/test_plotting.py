"""The plots render under Agg and draw what the trials hold."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib

matplotlib.use("Agg")

from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from sparktune import STATUS_FAIL, STATUS_OK, Trials, fmin, hp, plotting, rand
from sparktune.exceptions import AllTrialsFailed, InvalidArgumentError
from sparktune.objective import Outcome
from sparktune.trials import Trial

SPACE = {
    "x": hp.uniform("x", -5, 5),
    "lr": hp.loguniform("lr", -7, 0),
    "kernel": hp.choice("kernel", ["linear", "rbf", {"type": "poly", "degree": hp.randint("degree", 2, 5)}]),
}


def objective(p: dict) -> dict:
    if p["x"] > 4:
        return {"status": STATUS_FAIL}
    return {"loss": p["x"] ** 2 + p["lr"], "status": STATUS_OK}


@pytest.fixture(scope="module")
def trials() -> Trials:
    t = Trials()
    fmin(objective, SPACE, algo=rand.suggest, max_evals=30, trials=t, rstate=np.random.default_rng(0),
         show_progressbar=False)  # fmt: skip
    return t


def n_ok(trials: Trials) -> int:
    return sum(r.loss is not None for r in trials.records)


def points(ax) -> int:  # type: ignore[no-untyped-def]
    return sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))


def test_history_draws_one_point_per_finished_trial_and_the_best_line(trials: Trials) -> None:
    fig = plotting.main_plot_history(trials, do_show=True)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    failed = len(trials) - n_ok(trials)
    assert failed > 0, "the fixture should hold failures"
    assert points(ax) == len(trials)
    assert [line.get_ydata()[0] for line in ax.lines] == [pytest.approx(trials.best_loss())]
    assert ax.get_title() == "Loss History"
    fig.savefig(io.BytesIO(), format="png")


def test_histogram_counts_every_ok_loss(trials: Trials) -> None:
    (ax,) = plotting.main_plot_histogram(trials, title="H").axes
    assert sum(p.get_height() for p in ax.patches) == n_ok(trials)
    assert ax.get_title() == "H"


def test_vars_has_one_panel_per_label_with_choice_names(trials: Trials) -> None:
    fig = plotting.main_plot_vars(trials, columns=2, space=SPACE)
    assert [ax.get_title() for ax in fig.axes] == ["x", "lr", "kernel", "degree"]
    x_ax, lr_ax, kernel_ax, degree_ax = fig.axes
    assert points(x_ax) == n_ok(trials)
    assert points(degree_ax) == sum(1 for r in trials.records if r.loss is not None and "degree" in r.vals)
    assert [t.get_text() for t in kernel_ax.get_yticklabels()] == ["linear", "rbf", "poly"]
    assert lr_ax.get_yscale() == "log"


def test_vars_colorize_best_marks_that_many_in_red(trials: Trials) -> None:
    fig = plotting.main_plot_vars(trials, colorize_best=3)
    (x_ax,) = [ax for ax in fig.axes if ax.get_title() == "x"]  # active in every trial
    colors = x_ax.collections[0].get_facecolors()
    red = matplotlib.colors.to_rgba("tab:red")
    assert sum(np.allclose(c, red) for c in colors) == 3


def test_loss_vs_param_shows_choice_labels_not_indices(trials: Trials) -> None:
    fig = plotting.plot_loss_vs_param(trials, SPACE, labels=["kernel", "lr"])
    kernel_ax, lr_ax = fig.axes
    assert [t.get_text() for t in kernel_ax.get_xticklabels()] == ["linear", "rbf", "poly"]
    assert points(kernel_ax) == n_ok(trials)
    offsets = kernel_ax.collections[0].get_offsets()
    kernels = [r.vals["kernel"] for r in trials.records if r.loss is not None]
    assert np.all(np.abs(offsets[:, 0] - kernels) <= 0.15)
    assert lr_ax.get_xscale() == "log" and lr_ax.get_xlabel() == "lr"


def test_loss_vs_param_rejects_unknown_labels(trials: Trials) -> None:
    with pytest.raises(InvalidArgumentError, match="'nope'"):
        plotting.plot_loss_vs_param(trials, SPACE, labels=["nope"])


def test_best_so_far_is_a_non_increasing_step_line(trials: Trials) -> None:
    (ax,) = plotting.plot_best_so_far(trials).axes
    (line,) = ax.lines
    y = np.asarray(line.get_ydata(), dtype=float)
    finite = y[~np.isnan(y)]
    assert len(y) == len(trials)
    assert np.all(np.diff(finite) <= 0) and finite[-1] == pytest.approx(trials.best_loss())
    (ax_t,) = plotting.plot_best_so_far(trials, by="time").axes
    assert np.all(np.diff(ax_t.lines[0].get_xdata()) >= 0)
    with pytest.raises(InvalidArgumentError, match="by must be"):
        plotting.plot_best_so_far(trials, by="tid")


def test_parallel_coordinates_draws_one_line_per_ok_trial(trials: Trials) -> None:
    fig = plotting.plot_parallel_coordinates(trials, SPACE)
    ax = fig.axes[0]
    assert len(ax.lines) == n_ok(trials)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "lr", "kernel", "degree"]
    texts = {t.get_text() for t in ax.texts}
    assert {"linear", "rbf", "poly"} <= texts
    # degree is inactive unless kernel is poly: those lines pass by its axis (x = 3).
    skipping = sum(3 not in line.get_xdata() for line in ax.lines)
    assert skipping == sum(1 for r in trials.records if r.loss is not None and "degree" not in r.vals)
    assert all(list(line.get_xdata())[:3] == [0, 1, 2] for line in ax.lines)


def test_numeric_choices_are_numeric_axes() -> None:
    space = {"k": hp.choice("k", [1, 5, 25]), "depth": hp.choice("depth", list(range(1, 30)))}
    t = Trials()
    fmin(lambda p: p["k"] / 25 + p["depth"], space, algo=rand.suggest, max_evals=12, trials=t,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    k_ax, depth_ax = plotting.plot_loss_vs_param(t, space).axes
    xs = sorted(set(k_ax.collections[0].get_offsets()[:, 0]))
    assert set(xs) <= {1.0, 5.0, 25.0}, "the option values, not indices, and no jitter"
    depths = depth_ax.collections[0].get_offsets()[:, 0]
    assert np.all(depths >= 1) and np.all(depths <= 29)
    fig = plotting.main_plot_vars(t, space=space)
    assert set(fig.axes[0].collections[0].get_offsets()[:, 1]) <= {1.0, 5.0, 25.0}


def test_many_category_names_are_thinned() -> None:
    names = [f"opt{i}" for i in range(30)]
    space = {"c": hp.choice("c", names)}
    t = Trials()
    fmin(lambda p: len(p["c"]), space, algo=rand.suggest, max_evals=5, trials=t, show_progressbar=False)
    (ax,) = plotting.plot_loss_vs_param(t, space).axes
    labels = [x.get_text() for x in ax.get_xticklabels()]
    assert labels[0] == "opt0" and len(labels) <= 12


def _timed_trials() -> Trials:
    """Two workers: w1 runs trials 0 and 2 back to back with an idle gap; w2 runs 1 overlapping 3."""
    t0 = dt.datetime(2026, 1, 1, 12, 0, 0)
    spans = [(0, "w1", 0, 2, True), (1, "w2", 0, 3, True), (2, "w1", 5, 6, False), (3, "w2", 1, 2, True)]
    trials = Trials()
    for tid, worker, start, end, ok in spans:
        trials._add(Trial(tid=tid, vals={"x": float(tid)}, labels=("x",)))
        result = {"status": STATUS_OK, "loss": float(tid)} if ok else {"status": STATUS_FAIL}
        record = trials._record_outcome(tid, Outcome(result=result), worker)
        record.book_time = t0 + dt.timedelta(seconds=start)
        record.refresh_time = t0 + dt.timedelta(seconds=end)
    return trials


def test_timeline_has_a_row_per_slot_and_leaves_idle_time_blank() -> None:
    (ax,) = plotting.plot_timeline(_timed_trials()).axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["w1", "w2", "w2 [1]"]
    bars = {(round(p.get_x(), 3), round(p.get_width(), 3), round(p.get_y() + p.get_height() / 2)) for p in ax.patches}
    assert bars == {(0.0, 2.0, 0), (5.0, 1.0, 0), (0.0, 3.0, 1), (1.0, 1.0, 2)}
    assert [t.get_text() for t in ax.texts] == ["0", "1", "3", "2"]
    fail = matplotlib.colors.to_rgba(plotting.STATUS_COLORS["fail"])
    assert [np.allclose(p.get_facecolor(), fail) for p in ax.patches].count(True) == 1


def test_timeline_of_a_real_serial_run_is_one_lane(trials: Trials) -> None:
    (ax,) = plotting.plot_timeline(trials, annotate=False).axes
    assert len(ax.patches) == len(trials)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["local"]
    lefts = sorted(p.get_x() for p in ax.patches)
    assert lefts[0] == 0.0


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_plots_of_empty_trials_still_render() -> None:
    for fn in (plotting.main_plot_history, plotting.main_plot_histogram, plotting.plot_best_so_far,
               plotting.plot_timeline, plotting.plot_parallel_coordinates):  # fmt: skip
        assert isinstance(fn(Trials()), Figure)
    assert texts(plotting.main_plot_history(Trials())) == ["no trial has finished yet"]


def test_plots_without_an_ok_trial_say_so(trials: Trials) -> None:
    failed = Trials()
    with pytest.raises(AllTrialsFailed):
        fmin(lambda p: {"status": STATUS_FAIL}, SPACE, algo=rand.suggest, max_evals=3, trials=failed,
             show_progressbar=False)  # fmt: skip
    note = "no trial has finished ok yet"
    for fn in (plotting.main_plot_history, plotting.main_plot_histogram, plotting.plot_best_so_far,
               plotting.plot_parallel_coordinates):  # fmt: skip
        assert texts(fn(failed)).count(note) == 1, fn.__name__
    panels = texts(plotting.plot_loss_vs_param(failed, SPACE))
    assert panels == ["no ok trial with this parameter yet"] * 4  # x, lr, kernel, degree
    assert len(texts(plotting.main_plot_vars(failed))) == 4
    # A run with ok trials carries no such note, except in the panel of a parameter no ok trial had.
    assert note not in texts(plotting.main_plot_history(trials)) + texts(plotting.plot_best_so_far(trials))


def test_rejects_non_trials() -> None:
    with pytest.raises(InvalidArgumentError, match="main_plot_history: trials must be"):
        plotting.main_plot_history([])  # type: ignore[arg-type]


def test_nothing_is_left_in_pyplot(trials: Trials) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plotting.main_plot_vars(trials)
    assert plt.get_fignums() == before


def test_history_shows_failures_after_the_last_ok_trial() -> None:
    trials = Trials()
    losses = iter([0.5] + [float("nan")] * 9)
    fmin(lambda x: next(losses), hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=10, trials=trials,
         show_progressbar=False)  # fmt: skip
    low, high = plotting.main_plot_history(trials).axes[0].get_xlim()
    assert low < 0 and high > 9


def test_parallel_coordinates_with_log_quantized_zeros() -> None:
    """qlognormal rounds small values to 0, whose log is -inf: the axis must still be drawn."""
    space = {"n": hp.qlognormal("n", 0, 2, 1)}
    trials = Trials()
    fmin(lambda p: p["n"], space, algo=rand.suggest, max_evals=30, trials=trials, rstate=np.random.default_rng(0),
         show_progressbar=False)  # fmt: skip
    assert any(r.vals["n"] == 0 for r in trials.records)
    fig = plotting.plot_parallel_coordinates(trials, space)
    ys = np.concatenate([line.get_ydata() for line in fig.axes[0].lines])
    assert len(ys) == 30 and np.isfinite(ys).all() and ys.min() == 0.0


def test_one_label_as_a_string_and_equal_losses(trials: Trials) -> None:
    assert len(plotting.plot_loss_vs_param(trials, SPACE, labels="lr").axes) == 1
    runs = Trials()
    fmin(lambda x: -x, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=2, trials=runs,
         points_to_evaluate=[{"x": 0.0}, {"x": 1.0}], show_progressbar=False)  # fmt: skip
    bar = plotting.plot_parallel_coordinates(runs).axes[-1]
    assert bar.get_ylim() == (-1.0, 0.0)  # the worst loss is 0: the colour scale ends there, not at 1
