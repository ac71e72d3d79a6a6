"""Every fmin option, with plain Trials."""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sparktune import (
    JOB_STATE_CANCEL,
    JOB_STATE_DONE,
    JOB_STATE_ERROR,
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    STATUS_FAIL,
    STATUS_OK,
    Ctrl,
    Domain,
    Trials,
    early_stop,
    fmin,
    generate_trials_to_calculate,
    hp,
    rand,
)
from sparktune.exceptions import (
    AllTrialsFailed,
    InvalidArgumentError,
    InvalidLoss,
    InvalidResult,
    InvalidResultStatus,
    InvalidSpaceError,
)

SPACE = hp.uniform("x", -5, 5)


def run(**kwargs: Any) -> Any:
    kwargs.setdefault("algo", rand.suggest)
    kwargs.setdefault("show_progressbar", False)
    kwargs.setdefault("space", SPACE)
    kwargs.setdefault("fn", lambda x: x**2)
    return fmin(**kwargs)


def test_same_seed_same_trials_for_each_rstate_type() -> None:
    def points(rstate: Any) -> list[float]:
        t = Trials()
        run(max_evals=10, trials=t, rstate=rstate)
        return [d["misc"]["vals"]["x"][0] for d in t.trials]

    assert points(np.random.default_rng(5)) == points(np.random.default_rng(5))
    assert points(np.random.RandomState(5)) == points(np.random.RandomState(5))
    assert points(7) == points(7)
    assert points(7) != points(8)


def test_env_seed_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPEROPT_FMIN_SEED", "11")
    a, b = Trials(), Trials()
    run(max_evals=5, trials=a)
    run(max_evals=5, trials=b)
    assert a.vals == b.vals


def test_seeded_run_reproduces_in_a_fresh_process() -> None:
    code = textwrap.dedent(
        """
        import numpy as np
        from sparktune import fmin, hp, rand, Trials
        t = Trials()
        fmin(lambda x: x, hp.uniform('x', 0, 1), algo=rand.suggest, max_evals=5, trials=t,
             rstate=np.random.default_rng(3), show_progressbar=False)
        print(t.vals['x'])
        """
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(outs) == 1


def test_max_evals_counts_previous_trials_to_resume() -> None:
    trials = Trials()
    run(max_evals=5, trials=trials)
    run(max_evals=8, trials=trials)
    assert len(trials) == 8
    run(max_evals=8, trials=trials)
    assert len(trials) == 8


def test_timeout_stops_a_running_trial() -> None:
    trials = Trials()
    calls = iter(range(100))

    def slow_after_first(x: float) -> float:
        if next(calls) > 0:
            for _ in range(2000):  # pure Python: interruptible at any instruction
                time.sleep(0.005)
        return x

    started = time.monotonic()
    best = run(fn=slow_after_first, max_evals=10, timeout=0.5, trials=trials)
    assert time.monotonic() - started < 5
    assert [t["state"] for t in trials.trials] == [JOB_STATE_DONE, JOB_STATE_CANCEL]
    assert trials.trials[1]["result"]["failure"]["type"] == "TrialCancelled"
    assert best == trials.argmin
    assert trials.fmin_cancelled_reason == "fmin run timeout"  # Hyperopt's SparkTrials text
    run(fn=lambda x: x, max_evals=12, trials=trials)
    assert trials.fmin_cancelled_reason is None  # a run that reached max_evals


def test_trials_run_on_the_calling_thread_with_or_without_a_timeout() -> None:
    seen: list[tuple[str, list[int]]] = []
    trials = Trials()

    def record(x: float) -> float:
        seen.append((threading.current_thread().name, [t["state"] for t in trials.trials]))
        return x

    run(fn=record, max_evals=3, trials=trials, max_queue_len=2)
    # As Hyperopt: Ctrl-C reaches the objective. The running trial is recorded as running first.
    assert [name for name, _ in seen] == [threading.current_thread().name] * 3
    assert seen[0][1] == [JOB_STATE_RUNNING, JOB_STATE_NEW]
    assert seen[2][1] == [JOB_STATE_DONE, JOB_STATE_DONE, JOB_STATE_RUNNING]
    seen.clear()
    trials = Trials()
    run(fn=record, max_evals=3, trials=trials, timeout=60)
    assert [name for name, _ in seen] == [threading.current_thread().name] * 3


def test_with_a_timeout_the_objective_keeps_the_callers_thread_state() -> None:
    """As in Hyperopt: thread-local state, context variables and signal handlers work in the
    objective (a per-trial SIGALRM limit is a common idiom)."""
    local = threading.local()
    local.value = "set by the caller"
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("set by the caller")
    seen: list[tuple[str, str, bool]] = []

    def objective(x: float) -> float:
        previous = signal.signal(signal.SIGALRM, signal.SIG_IGN)  # raises off the main thread
        signal.signal(signal.SIGALRM, previous)
        seen.append((getattr(local, "value", "missing"), var.get(), True))
        return x

    run(fn=objective, max_evals=2, timeout=60)
    assert seen == [("set by the caller", "set by the caller", True)] * 2


def test_a_timeout_leaves_nothing_running_after_fmin_returns() -> None:
    steps: list[int] = []

    def slow(x: float) -> float:
        for i in range(400):  # pure Python: interruptible at any instruction
            steps.append(i)
            time.sleep(0.005)
        return x

    with pytest.raises(AllTrialsFailed, match="TrialCancelled"):
        run(fn=slow, max_evals=3, timeout=0.2)
    after_return = len(steps)
    time.sleep(0.1)
    assert len(steps) == after_return < 400


def test_timeout_with_no_finished_trial_raises_all_failed() -> None:
    with pytest.raises(AllTrialsFailed, match="TrialCancelled"):
        run(fn=lambda x: time.sleep(0.3) or x, max_evals=10, timeout=0.05)


def test_loss_threshold_stops_early() -> None:
    trials = Trials()
    run(fn=lambda x: abs(x), max_evals=1000, loss_threshold=1.0, trials=trials)
    assert len(trials) < 1000
    assert trials.best_trial["result"]["loss"] <= 1.0
    assert all(t["result"]["loss"] > 1.0 for t in trials.trials[:-1])


def test_early_stop_no_progress_loss() -> None:
    trials = Trials()
    losses = iter([5.0, 4.0, 3.0] + [10.0] * 100)
    run(fn=lambda x: next(losses), max_evals=100, trials=trials, early_stop_fn=early_stop.no_progress_loss(5))
    # best at trial 3; five trials without progress after it
    assert len(trials) == 8


@pytest.mark.parametrize("count, improving, expected", [(1, True, 10), (1, False, 2), (2, False, 2), (3, False, 3)])
def test_no_progress_loss_never_stops_on_the_first_loss(count: int, improving: bool, expected: int) -> None:
    """Hyperopt's rule: the first loss counts as one trial without progress, but stops nothing."""
    trials = Trials()
    losses = iter(range(0, -100, -1) if improving else [1.0] * 100)
    run(fn=lambda x: next(losses), max_evals=10, trials=trials, early_stop_fn=early_stop.no_progress_loss(count))
    assert len(trials) == expected


def test_early_stop_custom_function_receives_its_state() -> None:
    calls: list[int] = []

    def stop_after(trials: Trials, count: int = 0) -> tuple[bool, list[int]]:
        calls.append(count)
        return count + 1 >= 4, [count + 1]

    trials = Trials()
    run(max_evals=50, trials=trials, early_stop_fn=stop_after)
    assert calls == [0, 1, 2, 3] and len(trials) == 4


def test_catch_eval_exceptions_records_and_continues() -> None:
    def sometimes(x: float) -> float:
        if x < 0:
            raise ValueError(f"negative {x}")
        return x

    trials = Trials()
    run(fn=sometimes, max_evals=20, trials=trials, catch_eval_exceptions=True, rstate=np.random.default_rng(0))
    errors = [t for t in trials.trials if t["state"] == JOB_STATE_ERROR]
    assert errors and len(trials) == 20
    record = trials.trial(errors[0]["tid"])
    assert record.error is not None and record.error.type == "ValueError"
    assert "Traceback" in record.error.traceback and "negative" in record.error.message
    assert errors[0]["misc"]["error"][0] == "ValueError"
    assert errors[0]["result"]["status"] == STATUS_FAIL


def test_exception_propagates_after_the_trial_is_recorded() -> None:
    trials = Trials()
    with pytest.raises(ZeroDivisionError):
        run(fn=lambda x: 1 / 0, max_evals=5, trials=trials)
    assert len(trials) == 1 and trials.trials[0]["state"] == JOB_STATE_ERROR


def test_all_failed_says_so_and_shows_the_first_failure() -> None:
    with pytest.raises(AllTrialsFailed, match=r"none of the 3 trials finished ok.*ValueError: boom"):
        run(fn=lambda x: (_ for _ in ()).throw(ValueError("boom")), max_evals=3, catch_eval_exceptions=True)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"loss": float("nan"), "status": STATUS_OK}])
def test_non_finite_losses_are_failed_trials_never_best(value: Any) -> None:
    trials = Trials()
    returns = iter([value, 3.0])
    best = run(fn=lambda x: next(returns), max_evals=2, trials=trials, rstate=np.random.default_rng(0))
    bad, good = trials.trials
    assert bad["result"]["status"] == STATUS_FAIL and "non-finite loss" in bad["result"]["failure"]["message"]
    assert bad["state"] == JOB_STATE_DONE
    assert trials.best_trial["tid"] == good["tid"] and best == trials.argmin


@pytest.mark.parametrize(
    "value, error, reason",
    [
        ("1.0", InvalidResult, "returned str"),
        (None, InvalidResult, "returned NoneType"),
        ({"loss": 1.0, "attachments": [1]}, InvalidResult, "'attachments' must be a dict"),
        ({"status": STATUS_OK}, InvalidLoss, "no 'loss'"),
        ({"loss": "a", "status": STATUS_OK}, InvalidLoss, "'loss' must be a number"),
        ({"loss": 1.0, "status": "bogus"}, InvalidResultStatus, "status 'bogus' is not one of"),
    ],
)
def test_a_result_that_is_not_one_stops_fmin_unless_caught(value: Any, error: type, reason: str) -> None:
    """As in Hyperopt, a mistake in what the objective returns stops the run at its first trial
    (instead of failing every trial); with ``catch_eval_exceptions`` it fails just that trial."""
    trials = Trials()
    with pytest.raises(error, match=reason):
        run(fn=lambda x: value, max_evals=3, trials=trials)
    assert [t["state"] for t in trials.trials] == [JOB_STATE_ERROR]
    trials = Trials()
    returns = iter([value, 3.0])
    best = run(fn=lambda x: next(returns), max_evals=2, trials=trials, catch_eval_exceptions=True)
    bad, good = trials.trials
    assert bad["state"] == JOB_STATE_ERROR and bad["result"]["failure"]["type"] == error.__name__
    assert reason in bad["result"]["failure"]["message"] and bad["misc"]["error"][0] == error.__name__
    assert trials.best_trial["tid"] == good["tid"] and best == trials.argmin


@pytest.mark.parametrize("loss", [np.array(0.5), np.float32(0.5), Decimal("0.5"), Fraction(1, 2)])
def test_scalar_losses_of_other_types_are_floats(loss: Any) -> None:
    trials = Trials()
    run(fn=lambda x: loss, max_evals=1, trials=trials)
    run(fn=lambda x: {"loss": loss, "status": STATUS_OK}, max_evals=2, trials=trials)
    assert trials.losses() == [0.5, 0.5] and all(type(v) is float for v in trials.losses())


def test_dict_result_keeps_extra_keys_and_attachments() -> None:
    trials = Trials()

    def objective(x: float) -> dict[str, Any]:
        return {"loss": x**2, "status": STATUS_OK, "x_seen": x, "attachments": {"blob": b"\x00\x01"}}

    run(fn=objective, max_evals=3, trials=trials)
    first = trials.trials[0]
    assert first["result"]["x_seen"] == first["misc"]["vals"]["x"][0]
    assert "attachments" not in first["result"]
    assert trials.trial_attachments(first)["blob"] == b"\x00\x01"


def test_return_argmin_false_without_an_ok_trial_raises_as_hyperopt() -> None:
    with pytest.raises(AllTrialsFailed, match="none of the 2 trials finished ok"):
        run(fn=lambda x: float("nan"), max_evals=2, return_argmin=False)
    assert run(max_evals=0, return_argmin=False) is None


def test_return_argmin_false_gives_values() -> None:
    space = {"c": hp.choice("c", ["a", "b"]), "x": hp.uniform("x", 0, 1)}
    best = run(fn=lambda p: p["x"] + (p["c"] == "a"), space=space, max_evals=30, return_argmin=False)
    assert best["c"] in ("a", "b") and isinstance(best["x"], float)


def test_points_to_evaluate_run_first() -> None:
    trials = Trials()
    space = {"c": hp.choice("c", [{"k": "a", "y": hp.uniform("y", 0, 1)}, {"k": "b"}]), "x": hp.uniform("x", 0, 1)}
    run(
        fn=lambda p: p["x"],
        space=space,
        max_evals=4,
        trials=trials,
        points_to_evaluate=[{"c": 1, "x": 0.25}, {"c": 0, "y": 0.5, "x": 0.75}],
    )
    assert trials.trials[0]["misc"]["vals"] == {"c": [1], "y": [], "x": [0.25]}
    assert trials.trials[1]["misc"]["vals"] == {"c": [0], "y": [0.5], "x": [0.75]}
    assert len(trials) == 4


def test_points_to_evaluate_are_validated() -> None:
    with pytest.raises(InvalidSpaceError, match="points_to_evaluate\\[0\\] has labels \\['z'\\]"):
        run(max_evals=1, points_to_evaluate=[{"z": 1}])
    with pytest.raises(InvalidSpaceError, match="no value for the active parameter 'x'"):
        run(max_evals=1, points_to_evaluate=[{}])


def test_generate_trials_to_calculate() -> None:
    trials = generate_trials_to_calculate([{"x": 1.5}, {"x": -2.0}])
    best = run(max_evals=2, trials=trials)
    assert best == {"x": 1.5} and trials.losses() == [2.25, 4.0]


def test_max_queue_len_asks_for_several_points_at_once() -> None:
    sizes: list[int] = []

    def algo(new_ids: list[int], domain: Any, trials: Trials, seed: int) -> Any:
        sizes.append(len(new_ids))
        return rand.suggest(new_ids, domain, trials, seed)

    run(algo=algo, max_evals=10, max_queue_len=4)
    assert sizes == [4, 4, 2]  # in-process, as Hyperopt: a round of proposals, then their runs


def test_a_hyperopt_style_stop_function_sees_whole_rounds() -> None:
    """Hyperopt's own no_progress_loss reads the last trial's loss: with max_queue_len > 1 it
    must never see a trial of the round still queued."""

    def stop_fn(trials: Trials, best: float | None = None, streak: int = 0) -> tuple[bool, list[Any]]:
        loss = trials.trials[-1]["result"]["loss"]
        streak = 0 if best is None or loss < best else streak + 1
        return streak >= 6, [loss if best is None else min(best, loss), streak]

    trials = Trials()
    run(fn=lambda x: 1.0, max_evals=60, max_queue_len=3, trials=trials, early_stop_fn=stop_fn)
    assert len(trials) < 60 and len(trials) % 3 == 0


def test_algorithm_returning_nothing_ends_the_run() -> None:
    trials = Trials()
    run(algo=lambda new_ids, domain, trials, seed: [], max_evals=10, trials=trials, return_argmin=False)
    assert len(trials) == 0


def test_custom_progress_callback() -> None:
    updates: list[int] = []
    postfixes: list[str] = []

    class Bar:
        postfix = ""

        def update(self, n: int) -> None:
            updates.append(n)
            postfixes.append(self.postfix)

    @contextlib.contextmanager
    def progress(initial: int, total: int) -> Iterator[Bar]:
        assert (initial, total) == (0, 6)
        yield Bar()

    run(max_evals=6, show_progressbar=progress)
    assert sum(updates) == 6 and postfixes[-1].startswith("best loss: ")


def test_annotated_space() -> None:
    def objective(x: hp.uniform("x", -1, 1), y: hp.choice("y", [1, 2])) -> float:  # type: ignore[valid-type]
        return x**2 + y

    best = fmin(objective, space="annotated", algo=rand.suggest, max_evals=20, show_progressbar=False)
    assert set(best) == {"x", "y"}


def test_annotated_space_requires_annotations() -> None:
    with pytest.raises(InvalidArgumentError, match=r"parameter 'x' of .* has no annotation"):
        fmin(lambda x, y: 0, space="annotated", algo=rand.suggest, max_evals=1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_evals": -1}, "max_evals must be >= 0, got -1"),
        ({"max_evals": "10"}, "max_evals must be a number or None, got str"),
        ({"timeout": -5}, "timeout must be >= 0"),
        ({"timeout": "soon"}, "timeout must be a number"),
        ({"algo": "tpe"}, "algo must be a suggest function"),
        ({"rstate": "seed"}, "rstate must be a numpy.random.Generator"),
        ({"rstate": 1.5}, "rstate must be"),
        ({"max_queue_len": 0}, "max_queue_len must be an int >= 1"),
        ({"trials": []}, "trials must be a sparktune Trials"),
        ({"space": "annotate"}, "space must be a search space or 'annotated'"),
        ({"loss_threshold": "0"}, "loss_threshold must be a number"),
        ({"early_stop_fn": 3}, "early_stop_fn must be callable"),
    ],
)
def test_bad_arguments_fail_before_any_evaluation(kwargs: dict[str, Any], message: str) -> None:
    calls: list[float] = []
    kwargs.setdefault("max_evals", 3)
    with pytest.raises(InvalidArgumentError, match=message):
        run(fn=calls.append, **kwargs)
    assert calls == []


def test_keyboard_interrupt_cancels_the_running_trial_and_keeps_finished_ones() -> None:
    trials = Trials()
    main = threading.main_thread()
    assert threading.current_thread() is main
    count = iter(range(100))

    def objective(x: float) -> float:
        if next(count) == 3:
            import _thread

            _thread.interrupt_main()
            for _ in range(1000):
                time.sleep(0.01)
        return x

    with pytest.raises(KeyboardInterrupt):
        run(fn=objective, max_evals=10, trials=trials)
    states = [t["state"] for t in trials.trials]
    assert states == [JOB_STATE_DONE] * 3 + [JOB_STATE_CANCEL]


def test_trials_save_file_resumes(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    first = Trials()
    run(max_evals=5, trials=first, trials_save_file=str(path), rstate=np.random.default_rng(0))
    assert path.exists()
    resumed = Trials()
    run(max_evals=9, trials=resumed, trials_save_file=str(path))
    assert len(resumed) == 9
    assert resumed.vals["x"][:5] == first.vals["x"]
    again = Trials.load(str(path))
    assert again.vals == resumed.vals and again.losses() == resumed.losses()


def test_trials_save_file_with_another_space_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run(max_evals=2, trials_save_file=str(path))
    with pytest.raises(Exception, match="different search space"):
        run(max_evals=4, space=hp.uniform("y", 0, 1), trials_save_file=str(path))


def test_unfinished_trials_in_the_save_file_are_rerun(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    trials = Trials()
    run(max_evals=3, trials=trials, trials_save_file=str(path))
    # Simulate a driver killed while trial 3 was running: its last record says RUNNING.
    text = path.read_text()
    running = text.splitlines()[-1].replace('"state":"DONE"', '"state":"RUNNING"')
    running = running[: running.index(',"crc":')] + "}"  # an edited line drops its checksum
    path.write_text(text + running.replace('"tid":2', '"tid":3') + "\n")
    resumed = Trials()
    run(max_evals=4, trials=resumed, trials_save_file=str(path))
    assert [t["state"] for t in resumed.trials] == [JOB_STATE_DONE] * 4
    assert math.isfinite(resumed.trials[3]["result"]["loss"])


def test_pass_expr_memo_ctrl() -> None:
    from sparktune import fmin_pass_expr_memo_ctrl

    seen: list[Any] = []

    @fmin_pass_expr_memo_ctrl
    def objective(expr: Any, memo: dict[Any, Any], ctrl: Any) -> float:
        seen.append(ctrl)
        (value,) = memo.values()
        return float(value) ** 2

    best = run(fn=objective, max_evals=3)
    assert len(seen) == 3 and "x" in best


def test_pass_expr_memo_ctrl_as_hyperopt_documents_it() -> None:
    """rec_eval builds the point; ctrl has the trials and the running trial's document; what
    goes in ctrl.attachments is the trial's attachments."""
    from sparktune import fmin_pass_expr_memo_ctrl, pyll

    trials = Trials()

    @fmin_pass_expr_memo_ctrl
    def objective(expr: Any, memo: dict[Any, Any], ctrl: Any) -> dict[str, Any]:
        config = pyll.rec_eval(expr, memo=memo)
        ctrl.attachments["config"] = json.dumps(config)
        assert ctrl.trials is trials and ctrl.current_trial["state"] == JOB_STATE_RUNNING
        assert any(doc is ctrl.current_trial for doc in trials.trials)  # the document itself, as Hyperopt
        return {"loss": config["c"]["w"] + config["x"], "status": STATUS_OK, "tid": ctrl.current_trial["tid"]}

    space = {"x": hp.uniform("x", 0, 1), "c": hp.choice("c", [{"w": 1.0}, {"w": 2.0}])}
    fmin(objective, space, algo=rand.suggest, max_evals=3, trials=trials, show_progressbar=False)
    for doc in trials.trials:
        assert doc["result"]["tid"] == doc["tid"]
        config = json.loads(trials.trial_attachments(doc)["config"])
        assert config["x"] == doc["misc"]["vals"]["x"][0]


def test_trials_fmin_method() -> None:
    trials = Trials()
    best = trials.fmin(lambda x: x**2, SPACE, algo=rand.suggest, max_evals=4, show_progressbar=False)
    assert len(trials) == 4 and best == trials.argmin


def test_default_progress_bar_runs(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    run(max_evals=3, show_progressbar=True)
    assert "best loss" in capsys.readouterr().err


def test_seeded_queued_run_reproduces() -> None:
    from sparktune import tpe

    def points() -> list[float]:
        t = Trials()
        run(
            fn=lambda x: (x - 1) ** 2,
            algo=tpe.suggest,
            max_evals=40,
            max_queue_len=4,
            trials=t,
            rstate=np.random.default_rng(9),
        )
        return t.vals["x"]

    assert points() == points() == points()


def test_a_custom_algorithm_written_as_for_hyperopt() -> None:
    """A grid-like algorithm building its own documents with Hyperopt's helpers."""
    from sparktune import base

    def grid(new_ids: list[int], domain: Any, trials: Trials, seed: int) -> list[dict[str, Any]]:
        idxs = {"x": list(new_ids), "c": list(new_ids)}
        vals = {"x": [float(tid) for tid in new_ids], "c": [tid % 2 for tid in new_ids]}
        miscs = [{"tid": tid, "cmd": domain.cmd, "workdir": domain.workdir} for tid in new_ids]
        base.miscs_update_idxs_vals(miscs, idxs, vals)
        results = [domain.new_result() for _ in new_ids]
        return trials.new_trial_docs(list(new_ids), [None] * len(new_ids), results, miscs)

    space = {"x": hp.uniform("x", -5, 5), "c": hp.choice("c", ["a", "b"])}
    trials = Trials()
    best = fmin(lambda p: p["x"] ** 2, space, algo=grid, max_evals=4, trials=trials, max_queue_len=2,
                show_progressbar=False)  # fmt: skip
    assert best == {"x": 0.0, "c": 0} and trials.vals == {"x": [0.0, 1.0, 2.0, 3.0], "c": [0, 1, 0, 1]}
    assert base.spec_from_misc(trials.trials[1]["misc"]) == {"x": 1.0, "c": 1}
    assert base.miscs_to_idxs_vals(trials.miscs, keys=["x"]) == ({"x": [0, 1, 2, 3]}, {"x": [0.0, 1.0, 2.0, 3.0]})


def test_domain_evaluate_is_hyperopts() -> None:
    """``Domain.evaluate(config, ctrl)`` returns the result dict and raises what the objective raises."""
    space = {"x": hp.uniform("x", -1, 1)}
    domain = Domain(lambda p: {"loss": p["x"] ** 2, "status": STATUS_OK, "attachments": {"a": b"1"}}, space)
    ctrl = Ctrl(Trials())
    assert domain.evaluate({"x": 0.5}, ctrl) == {"loss": 0.25, "status": STATUS_OK}
    assert ctrl.attachments == {"a": b"1"}
    kept = domain.evaluate({"x": 0.5}, ctrl, attach_attachments=False)
    assert kept == {"loss": 0.25, "status": STATUS_OK, "attachments": {"a": b"1"}}
    assert Domain(lambda p: p["x"], space).evaluate({"x": 0.5}) == {"loss": 0.5, "status": STATUS_OK}
    with pytest.raises(ZeroDivisionError):
        Domain(lambda p: 1 / 0, space).evaluate({"x": 0.5}, ctrl)
    with pytest.raises(InvalidResult):
        Domain(lambda p: None, space).evaluate({"x": 0.5}, ctrl)
