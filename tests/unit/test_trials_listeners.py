"""Trials tell listeners about every finished trial, from fmin's driver loop."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

from sparktune import STATUS_FAIL, STATUS_OK, Trials, TrialState, fmin, hp, rand
from sparktune.exceptions import InvalidArgumentError
from sparktune.trials import Trial


def objective(x: float) -> dict[str, object]:
    return {"status": STATUS_FAIL} if x > 0.5 else {"status": STATUS_OK, "loss": x}


def test_listener_sees_each_finished_trial_once_in_state() -> None:
    seen: list[tuple[int, TrialState, float | None, str]] = []
    trials = Trials()
    trials.add_listener(lambda t: seen.append((t.tid, t.state, t.loss, threading.current_thread().name)))
    fmin(objective, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=12, trials=trials,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    assert [s[0] for s in seen] == list(range(12))
    assert {s[1] for s in seen} <= {TrialState.DONE}
    assert [s[2] for s in seen] == [r.loss for r in trials.records]
    assert any(s[2] is None for s in seen) and any(s[2] is not None for s in seen)
    assert {s[3] for s in seen} == {threading.current_thread().name}, "listeners run on the driver loop's thread"


def test_cancelled_trials_are_reported() -> None:
    trials = Trials()
    seen: list[Trial] = []
    trials._add(Trial(tid=0, vals={"x": 0.1}, labels=("x",)))
    trials.add_listener(seen.append)
    trials._mark_cancelled(0, "test")
    trials._mark_cancelled(0, "again")  # already finished: no second call
    assert [(t.tid, t.state) for t in seen] == [(0, TrialState.CANCEL)]


def test_remove_listener_and_unknown_listener() -> None:
    calls: list[int] = []
    trials = Trials()
    listener = calls.append
    trials.add_listener(lambda t: listener(t.tid))
    trials.remove_listener(listener)  # never added: ignored
    first = trials._listeners[0]
    trials.remove_listener(first)
    fmin(lambda x: x, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=2, trials=trials, show_progressbar=False)
    assert calls == []


def test_listener_error_stops_fmin_and_cancels_nothing_silently() -> None:
    trials = Trials()

    def broken(t: Trial) -> None:
        raise RuntimeError("listener broke")

    trials.add_listener(broken)
    with pytest.raises(RuntimeError, match="listener broke"):
        fmin(objective, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=5, trials=trials, show_progressbar=False)
    assert trials.records[0].state is TrialState.DONE


def test_listeners_survive_delete_all_but_not_pickling() -> None:
    trials = Trials()
    seen: list[int] = []
    trials.add_listener(lambda t: seen.append(t.tid))
    trials.delete_all()
    copy = pickle.loads(pickle.dumps(Trials()))
    assert copy._listeners == []
    fmin(lambda x: x, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=2, trials=trials, show_progressbar=False)
    assert seen == [0, 1]


def test_add_listener_rejects_non_callables() -> None:
    with pytest.raises(InvalidArgumentError, match="listener must be callable"):
        Trials().add_listener("print")  # type: ignore[arg-type]


def test_delete_all_keeps_a_subclass_and_its_settings() -> None:
    class MyTrials(Trials):
        def __init__(self, setting: int) -> None:
            super().__init__()
            self.setting = setting

    trials = MyTrials(7)
    fmin(lambda x: x, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=2, trials=trials, show_progressbar=False)
    trials.delete_all()
    assert len(trials) == 0 and trials.setting == 7 and trials.new_trial_ids(1) == [0]
