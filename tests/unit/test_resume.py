"""fmin(trials_save_file=...) resume: nothing lost, in-flight trials re-run, the same proposals."""

from __future__ import annotations

import importlib
import json
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sparktune import STATUS_OK, Trials, fmin, hp, rand
from sparktune import journal as J
from sparktune.exceptions import JournalError, SerializationError

SPACE = {
    "x": hp.uniform("x", -5, 5),
    "branch": hp.choice("branch", [{"kind": "a"}, {"kind": "b", "y": hp.normal("y", 0, 1)}]),
}


def objective(p: dict[str, Any]) -> float:
    return float((p["x"] - 1) ** 2 + (p["branch"].get("y", 0.0) ** 2))


def _algos() -> list[Any]:
    algos = [pytest.param(rand.suggest, id="rand")]
    try:
        tpe = importlib.import_module("sparktune.tpe")
        algos.append(pytest.param(tpe.suggest, id="tpe"))
    except ImportError:
        algos.append(pytest.param(None, id="tpe", marks=pytest.mark.skip(reason="sparktune.tpe is not on this branch")))
    return algos


def run(path: Path | str, n: int, *, algo: Any = rand.suggest, rstate: Any = 7, fn: Callable[..., Any] = objective,
        trials: Trials | None = None, **kwargs: Any) -> Trials:  # fmt: skip
    trials = Trials() if trials is None else trials
    fmin(fn, SPACE, algo=algo, max_evals=n, trials=trials, rstate=np.random.default_rng(rstate) if isinstance(
        rstate, int) else rstate, trials_save_file=str(path), show_progressbar=False, **kwargs)  # fmt: skip
    return trials


def points(trials: Trials) -> list[tuple[int, dict[str, Any], Any]]:
    return [(t["tid"], t["misc"]["vals"], t["result"].get("loss")) for t in trials.trials]


def test_resume_keeps_trials_and_max_evals_counts_the_total(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    first = run(path, 4)
    second = run(path, 9)
    assert len(second) == 9
    assert points(second)[:4] == points(first)
    assert all(t["state"] == 2 for t in second.trials)
    assert len(Trials.load(str(path))) == 9


@pytest.mark.parametrize("queue", [1, 3])
@pytest.mark.parametrize("algo", _algos())
def test_a_kill_at_any_byte_resumes_to_the_uninterrupted_run(tmp_path: Path, algo: Any, queue: int) -> None:
    """Also in rounds (max_queue_len 3): the rest of an interrupted round runs as its own round,
    then the rounds go on as in the uninterrupted run."""
    reference_file = tmp_path / "reference.jsonl"
    reference = points(run(reference_file, 8, algo=algo, max_queue_len=queue))
    data = reference_file.read_bytes()
    ends = [i + 1 for i, b in enumerate(data) if b == ord("\n")]
    # A round's proposals reach the file in one write, so no kill leaves part of them: skip
    # the ends between the NEW lines of one round.
    states = [json.loads(line).get("state") for line in data.split(b"\n")[:-1]]
    before, after = [None, *states[:-1]], [*states[1:], None]
    whole = [e for e, st, nx in zip(ends, states, after, strict=True) if not (st == nx == "NEW")]
    single = [e for e, st, pv, nx in zip(ends, states, before, after, strict=True)
              if not (st == "NEW" and "NEW" in (pv, nx))]  # fmt: skip
    cuts = sorted({*whole, *(e - 7 for e in single[1:]), 3})  # at every write's end, inside one-line writes
    for cut in cuts:
        path = tmp_path / f"cut{cut}.jsonl"
        path.write_bytes(data[:cut])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torn last lines are expected here
            resumed = run(path, 8, algo=algo, max_queue_len=queue)
        assert points(resumed) == reference, f"cut at byte {cut}"
        assert points(Trials.load(str(path))) == reference


def test_resume_without_rstate_continues_with_the_recorded_seed(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    reference = points(run(path, 6, rstate=None))
    lines = path.read_bytes().split(b"\n")
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"\n".join(lines[:8]) + b"\n")
    assert points(run(cut, 6, rstate=None)) == reference


def test_points_to_evaluate_are_not_evaluated_twice_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    start = [{"x": 1.0, "branch": 0}, {"x": 2.0, "branch": 1, "y": 0.5}]
    run(path, 3, points_to_evaluate=start)
    resumed = run(path, 5, points_to_evaluate=start)
    assert len(resumed) == 5
    xs = [t["misc"]["vals"]["x"][0] for t in resumed.trials]
    assert xs[:2] == [1.0, 2.0] and xs.count(1.0) == 1
    # Given in another order, or with one more point, the points already run still run once.
    again = run(path, 7, points_to_evaluate=[{"x": 3.0, "branch": 0}, *start[::-1]])
    xs = [t["misc"]["vals"]["x"][0] for t in again.trials]
    assert len(xs) == 7 and xs.count(1.0) == xs.count(2.0) == xs.count(3.0) == 1
    assert xs[:5] == [t["misc"]["vals"]["x"][0] for t in resumed.trials]


def test_a_different_space_is_refused_naming_what_changed(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    run(path, 2)
    other = {"x": hp.uniform("x", -10, 10), "z": hp.randint("z", 3)}
    expected = (
        r"different search space \('x' was Param\('x', uniform, low=-5.0, high=5.0\), "
        r"now Param\('x', uniform, low=-10.0, high=10.0\); 'branch' was in the file"
    )
    with pytest.raises(JournalError, match=expected):
        fmin(objective, other, algo=rand.suggest, max_evals=3, trials_save_file=str(path), show_progressbar=False)


def test_a_result_that_cannot_be_stored_stops_the_run_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"

    def leaky(p: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"loss": objective(p), "status": STATUS_OK}
        if p["x"] > 0:
            out["lock"] = threading.Lock()
        return out

    with pytest.raises(SerializationError, match=r"\['result'\]\['lock'\] holds a _thread.lock") as info:
        run(path, 10, fn=leaky)
    in_memory: Trials = info.value.trials  # type: ignore[attr-defined]
    bad = in_memory.trials[-1]
    assert bad["state"] == 2 and "lock" in bad["result"]
    on_disk = Trials.load(str(path))
    assert points(on_disk)[:-1] == points(in_memory)[:-1]
    assert on_disk.trials[-1]["state"] == 1  # still RUNNING on disk: a resumed run evaluates it again
    # Rerunning with a fixed objective resumes and re-evaluates that trial.
    fixed = run(path, 10)
    assert len(fixed) == 10 and points(fixed)[: len(in_memory) - 1] == points(in_memory)[:-1]
    assert all(t["state"] == 2 for t in fixed.trials)


def test_opting_in_to_pickled_results(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"

    def with_object(p: dict[str, Any]) -> dict[str, Any]:
        return {"loss": objective(p), "status": STATUS_OK, "fit": complex(p["x"], 1)}

    run(path, 3, fn=with_object, trials=Trials(journal_pickle=True))
    with pytest.raises(JournalError, match="allow_pickle=True"):
        Trials.load(str(path))
    loaded = Trials.load(str(path), allow_pickle=True)
    assert all(isinstance(r["fit"], complex) for r in loaded.results)
    resumed = run(path, 5, fn=with_object, trials=Trials(journal_pickle=True))
    assert len(resumed) == 5


def test_trials_cancelled_by_a_stop_are_run_again_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    stopped = run(path, 6, loss_threshold=1e9, max_queue_len=3)  # stops at the first result
    states = [t["state"] for t in stopped.trials]
    assert states[0] == 2 and set(states[1:]) == {4}
    on_disk = J.read_journal(path).records
    assert {r["state"] for r in on_disk} <= {"DONE", "CANCEL"}
    resumed = run(path, 6)
    assert len(resumed) == 6 and all(t["state"] == 2 for t in resumed.trials)
    assert [t["misc"]["vals"] for t in resumed.trials[:3]] == [t["misc"]["vals"] for t in stopped.trials]


def test_trials_given_in_memory_are_written_to_a_new_file(tmp_path: Path) -> None:
    trials = run(tmp_path / "a.jsonl", 3)
    run(tmp_path / "b.jsonl", 5, trials=trials)
    assert points(Trials.load(str(tmp_path / "b.jsonl"))) == points(trials)


def test_every_state_change_is_journaled_with_timing_and_seed(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    run(path, 2)
    lines = path.read_text().splitlines()[1:]
    import json

    states = [(json.loads(line)["tid"], json.loads(line)["state"]) for line in lines]
    assert states == [(0, "NEW"), (0, "RUNNING"), (0, "DONE"), (1, "NEW"), (1, "RUNNING"), (1, "DONE")]
    done = json.loads(lines[2])
    assert done["seed"] is not None and done["book_time"] and done["refresh_time"]
    assert json.loads(lines[0])["seed"] == done["seed"]  # the proposal line already carries it


def test_saving_to_the_running_journal_keeps_it_intact(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    trials = Trials()

    def save_midway(t: Trials, *args: Any) -> tuple[bool, list[Any]]:
        if len(t) == 2:
            t.save(str(path))  # e.g. a checkpoint in early_stop_fn, to the file fmin is writing
        return False, []

    run(path, 5, trials=trials, early_stop_fn=save_midway)
    assert points(Trials.load(str(path))) == points(trials)


def test_a_file_another_run_appended_to_while_this_one_loaded_it_is_not_cut(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    run(path, 3)
    contents = J.read_journal(path)
    other = run(tmp_path / "other.jsonl", 4)  # lines "another run" appends after our read
    extra = (tmp_path / "other.jsonl").read_bytes().split(b"\n")[-2] + b"\n"
    with path.open("ab") as f:
        f.write(extra)
    before = path.read_bytes()
    with pytest.raises(JournalError, match="grew while this run was loading it"):
        J.JournalWriter.reopen(path, contents.valid_size)
    assert path.read_bytes() == before and len(other) == 4


def test_choice_options_that_changed_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    fmin(lambda lr: lr, hp.choice("lr", [0.1, 0.01]), algo=rand.suggest, max_evals=3, trials_save_file=str(path),
         show_progressbar=False)  # fmt: skip
    with pytest.raises(JournalError, match=r"the options of \['lr'\] changed"):
        fmin(lambda lr: lr, hp.choice("lr", [0.1, 0.5]), algo=rand.suggest, max_evals=5, trials_save_file=str(path),
             show_progressbar=False)  # fmt: skip


def test_a_0d_array_in_a_result_is_stored_as_its_number(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    run(path, 2, fn=lambda p: {"loss": 1.0, "status": STATUS_OK, "auc": np.array(0.75)})
    assert [r["auc"] for r in Trials.load(str(path)).results] == [0.75, 0.75]


def test_pickled_values_that_no_longer_load_are_an_error_not_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A renamed class or a missing module must not make intact lines look damaged (their
    trials would then run again and their results be lost)."""
    (tmp_path / "gone_mod.py").write_text("class Fit:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import gone_mod  # type: ignore[import-not-found]

    path = tmp_path / "t.jsonl"
    run(path, 2, fn=lambda p: {"loss": 1.0, "status": STATUS_OK, "fit": gone_mod.Fit()},
        trials=Trials(journal_pickle=True))  # fmt: skip
    monkeypatch.delitem(__import__("sys").modules, "gone_mod")
    (tmp_path / "gone_mod.py").unlink()
    with pytest.raises(JournalError, match=r"trial \d+'s pickled values cannot be loaded.*gone_mod"):
        Trials.load(str(path), allow_pickle=True)


def test_a_saved_copy_resumes_with_the_run_seed(tmp_path: Path) -> None:
    """The disk-full recipe: err.trials.save(other) then resume from it, without rstate."""
    reference = points(run(tmp_path / "ref.jsonl", 6, rstate=5))
    trials = Trials()
    fmin(objective, SPACE, algo=rand.suggest, max_evals=3, trials=trials, rstate=np.random.default_rng(5),
         show_progressbar=False)  # fmt: skip
    trials.save(str(tmp_path / "copy.jsonl"))
    assert points(run(tmp_path / "copy.jsonl", 6, rstate=None)) == reference


def test_a_file_another_run_holds_is_refused_with_the_callers_trials_untouched(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    run(path, 3)
    holder = J.JournalWriter.reopen(path, path.stat().st_size)  # "another run" holds the file
    try:
        mine = Trials()
        with pytest.raises(JournalError, match="being written by another running process"):
            run(path, 5, trials=mine)
        assert len(mine) == 0
    finally:
        holder.close()
