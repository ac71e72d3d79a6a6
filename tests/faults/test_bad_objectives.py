"""Objectives that raise or return junk: every trial is recorded, saved, and loads back the same."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sparktune import STATUS_OK, Trials, fmin, hp, rand
from sparktune.exceptions import TrialError

HUGE_LIST = 200_000
HUGE_TEXT = 4_000_000

BEHAVIOURS: list[tuple[str, Any]] = [
    ("ok", 1.5),
    ("raise", ValueError("boom")),
    ("nan", float("nan")),
    ("inf", float("inf")),
    ("none", None),
    ("string", "0.3"),
    ("no loss", {"status": STATUS_OK}),
    ("huge list", {"loss": 0.25, "status": STATUS_OK, "curve": [0.5] * HUGE_LIST}),
    ("huge text", {"loss": 0.75, "status": STATUS_OK, "log": "x" * HUGE_TEXT}),
    ("huge loss", 1e308),
]


def _objective(i: int) -> Any:
    value = BEHAVIOURS[i][1]
    if isinstance(value, Exception):
        raise value
    return value


def _points() -> list[dict[str, int]]:
    return [{"i": i} for i in range(len(BEHAVIOURS))]


def test_every_bad_result_is_recorded_saved_and_loaded_back(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    trials = Trials()
    n = len(BEHAVIOURS)
    fmin(_objective, hp.randint("i", n), algo=rand.suggest, max_evals=n, trials=trials, points_to_evaluate=_points(),
         catch_eval_exceptions=True, trials_save_file=str(path), show_progressbar=False)  # fmt: skip
    by_name = {BEHAVIOURS[t["misc"]["vals"]["i"][0]][0]: t for t in trials.trials}
    assert by_name["ok"]["result"] == {"loss": 1.5, "status": "ok"}
    assert by_name["raise"]["state"] == 3 and by_name["raise"]["misc"]["error"] == ("ValueError", "boom")
    for name in ("nan", "inf"):
        assert by_name[name]["result"]["status"] == "fail" and by_name[name]["state"] == 2, name
    for name, error in (("none", "InvalidResult"), ("string", "InvalidResult"), ("no loss", "InvalidLoss")):
        assert by_name[name]["result"]["status"] == "fail" and by_name[name]["state"] == 3, name
        assert by_name[name]["result"]["failure"]["type"] == error, name
    assert "non-finite loss (nan)" in by_name["nan"]["result"]["failure"]["message"]
    assert "returned str '0.3'" in by_name["string"]["result"]["failure"]["message"]
    assert len(by_name["huge list"]["result"]["curve"]) == HUGE_LIST
    assert trials.best_trial["result"]["loss"] == 0.25

    loaded = Trials.load(str(path))
    assert [t["state"] for t in loaded.trials] == [t["state"] for t in trials.trials]
    for mine, theirs in zip(trials.results, loaded.results, strict=True):
        assert mine.keys() == theirs.keys()
        for key in mine:
            a, b = mine[key], theirs[key]
            assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), key
    assert loaded.trial(1).error is not None and "ValueError: boom" in loaded.trial(1).error.traceback
    assert loaded.best_trial["tid"] == trials.best_trial["tid"]


def test_an_objective_error_without_catch_is_saved_before_it_propagates(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    trials = Trials()
    try:
        fmin(_objective, hp.randint("i", 3), algo=rand.suggest, max_evals=3, trials=trials,
             points_to_evaluate=_points()[:3], trials_save_file=str(path), show_progressbar=False)  # fmt: skip
    except ValueError as err:
        assert str(err) == "boom"
    else:
        raise AssertionError("the objective's error did not propagate")
    loaded = Trials.load(str(path))
    assert [t["state"] for t in loaded.trials] == [2, 3, 4]  # ok, the error, the queued point cancelled
    assert not isinstance(loaded.trial(1).error, TrialError)
