"""Trials: Hyperopt-shaped views, document API, counters, pickling and files."""

from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sparktune import (
    JOB_STATE_DONE,
    JOB_STATE_NEW,
    STATUS_OK,
    Domain,
    Trials,
    fmin,
    hp,
    rand,
    tpe,
    trials_from_docs,
)
from sparktune.exceptions import AllTrialsFailed, InvalidTrial, JournalError
from sparktune.history import STATE_DONE, History

SPACE = {"c": hp.choice("c", [{"x": hp.uniform("x", 0, 1)}, {"y": hp.randint("y", 5)}])}


@pytest.fixture
def trials() -> Trials:
    t = Trials()
    fmin(
        lambda p: p["c"].get("x", 0.5) + p["c"].get("y", 0) / 10,
        SPACE,
        algo=rand.suggest,
        max_evals=12,
        trials=t,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    return t


def test_views_have_hyperopt_shape(trials: Trials) -> None:
    doc = trials.trials[0]
    assert set(doc) >= {
        "state",
        "tid",
        "spec",
        "result",
        "misc",
        "exp_key",
        "owner",
        "version",
        "book_time",
        "refresh_time",
    }
    assert set(doc["misc"]) >= {"tid", "cmd", "workdir", "idxs", "vals"}
    assert set(doc["misc"]["vals"]) == {"c", "x", "y"}
    assert trials.tids == list(range(12))
    assert len(trials.results) == len(trials.miscs) == len(trials.specs) == 12
    assert trials.statuses() == [STATUS_OK] * 12
    idxs, vals = trials.idxs_vals
    assert idxs["c"] == trials.tids and len(idxs["x"]) + len(idxs["y"]) == 12
    assert all(isinstance(v, int) for v in vals["y"])
    assert trials.count_by_state_unsynced(JOB_STATE_DONE) == 12
    assert trials.count_by_state_synced([JOB_STATE_NEW, JOB_STATE_DONE]) == 12
    assert [t["tid"] for t in trials] == trials.tids and trials[3]["tid"] == 3


def test_best_trial_and_argmin(trials: Trials) -> None:
    losses = trials.losses()
    best = trials.best_trial
    assert best["result"]["loss"] == min(losses)
    assert trials.argmin == {k: v[0] for k, v in best["misc"]["vals"].items() if v}
    assert trials.average_best_error() == min(losses)


def test_average_best_error_with_variance() -> None:
    docs = []
    for tid, (loss, var, true) in enumerate([(1.0, 0.25, 1.5), (1.1, 0.25, 0.5), (5.0, 0.25, 9.0)]):
        docs.append(
            {
                "tid": tid, "state": JOB_STATE_DONE, "spec": None, "exp_key": None, "owner": None, "version": 0,
                "book_time": None, "refresh_time": None,
                "result": {"status": STATUS_OK, "loss": loss, "loss_variance": var, "true_loss": true},
                "misc": {"tid": tid, "cmd": None, "workdir": None, "idxs": {"x": [tid]}, "vals": {"x": [float(tid)]}},
            }
        )  # fmt: skip
    value = trials_from_docs(docs).average_best_error()
    # the two close candidates are each the minimum about half the time; the far one never
    assert 0.7 < value < 1.3


def test_insert_docs_warm_start_then_fmin_continues() -> None:
    t = Trials()
    ids = t.new_trial_ids(2)
    miscs = [
        {"tid": i, "cmd": None, "workdir": None, "idxs": {"x": [i]}, "vals": {"x": [v]}}
        for i, v in zip(ids, [0.1, 0.9], strict=True)
    ]
    docs = t.new_trial_docs(
        ids, [None, None], [{"status": STATUS_OK, "loss": 0.1}, {"status": STATUS_OK, "loss": 0.9}], miscs
    )
    for d in docs:
        d["state"] = JOB_STATE_DONE
    t.insert_trial_docs(docs)
    t.refresh()
    fmin(lambda x: x, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=5, trials=t, show_progressbar=False)
    assert len(t) == 5 and t.tids == [0, 1, 2, 3, 4]


def _tell(trials: Trials, doc: dict[str, Any], loss: float) -> None:
    """Hyperopt's ask/tell by document edits (Ray Tune's HyperOptSearch does this)."""
    doc["state"] = JOB_STATE_DONE
    doc["result"] = {"status": STATUS_OK, "loss": loss}
    trials.refresh()


def test_results_told_by_editing_documents_reach_every_view_and_the_algorithm() -> None:
    space = {"x": hp.uniform("x", -5, 5)}
    domain = Domain(lambda p: p["x"] ** 2, space)
    t = Trials()
    for i in range(12):
        docs = tpe.suggest(t.new_trial_ids(1), domain, t, i)
        t.insert_trial_docs(docs)
        t.refresh()
        (doc,) = [d for d in t.trials if d["tid"] == docs[0]["tid"]]
        assert doc is docs[0]  # the inserted dict is the stored document, as in Hyperopt
        _tell(t, doc, doc["misc"]["vals"]["x"][0] ** 2)
    losses = t.losses()
    assert all(isinstance(v, float) for v in losses)
    assert t.count_by_state_unsynced(JOB_STATE_DONE) == 12
    assert t.best_trial["result"]["loss"] == min(losses)
    assert t.argmin == {"x": t.best_trial["misc"]["vals"]["x"][0]}
    assert np.nanmin(t.history().losses) == min(losses)  # what the algorithms read
    # A later fmin runs only the missing trials.
    calls: list[float] = []
    fmin(lambda x: calls.append(x) or x**2, space["x"], algo=rand.suggest, max_evals=15, trials=t,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    assert len(calls) == 3 and len(t) == 15


def test_fmin_takes_in_edits_made_without_refresh_and_the_best_follows_edits() -> None:
    t = Trials()
    fmin(lambda x: x, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=4, trials=t,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    best = t.best_trial
    best["result"]["loss"] = 5.0  # an edit inside the result dict, then the best trial is another
    t.refresh()
    assert t.best_trial["tid"] != best["tid"] and t.best_loss() == min(t.losses())
    t.trials[0]["result"] = {"status": STATUS_OK, "loss": -1.0}  # no refresh: fmin takes it in
    assert t.losses()[0] == -1.0 and t.results[0]["loss"] == -1.0  # and these show it at once
    fmin(lambda x: x, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=5, trials=t,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    assert t.best_trial["tid"] == t.trials[0]["tid"] and t.best_loss() == -1.0


def test_documents_shared_with_another_trials_are_not_taken_for_edits() -> None:
    t = Trials()
    fmin(lambda x: x, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=4, trials=t,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    copy = trials_from_docs(t.trials)  # Hyperopt's way to copy trials: the documents are shared
    seen: list[int] = []
    t.add_listener(lambda record: seen.append(record.tid))
    t.refresh()
    copy.refresh()
    assert seen == [] and copy.losses() == t.losses() and copy.best_trial["tid"] == t.best_trial["tid"]
    _tell(copy, copy.trials[0], -1.0)  # an edit through one is an edit of both, as in Hyperopt
    t.refresh()
    assert seen == [t.trials[0]["tid"]] and t.best_loss() == copy.best_loss() == -1.0


def test_bad_document_edits_are_refused_naming_the_trial() -> None:
    t = Trials()
    t.insert_trial_doc({"tid": 0, "misc": {"tid": 0, "vals": {"x": [1.0]}}, "result": {"status": "new"}})
    t.trials[0]["state"] = 7
    with pytest.raises(InvalidTrial, match=r"trial 0: doc\['state'\] must be one of"):
        t.refresh()
    t.trials[0]["state"] = JOB_STATE_DONE
    t.trials[0]["result"] = {"status": STATUS_OK}
    with pytest.raises(InvalidTrial, match=r"trial 0: doc\['result'\] must be a dict with 'status'"):
        t.refresh()


def test_a_subclass_that_overrides_the_hooks_sees_every_trial() -> None:
    class Logged(Trials):
        def __init__(self) -> None:
            super().__init__()
            self.inserted: list[int] = []
            self.refreshed = 0

        def _insert_trial_docs(self, docs: Sequence[Mapping[str, Any]]) -> list[int]:
            self.inserted += [d["tid"] for d in docs]
            return super()._insert_trial_docs(docs)

        def refresh(self) -> None:
            self.refreshed += 1
            super().refresh()

    t = Logged()
    fmin(lambda x: x, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=4, trials=t,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    assert t.inserted == [0, 1, 2, 3]
    assert t.refreshed >= 4  # at the start and at least once a trial, as Hyperopt's fmin


def test_dicts_of_labels_come_sorted_as_in_hyperopt() -> None:
    space = {"z": hp.uniform("zeta", 0, 1), "a": hp.uniform("alpha", 0, 1), "m": hp.choice("mid", [0, 1])}
    t = Trials()
    best = fmin(lambda p: p["z"], space, algo=rand.suggest, max_evals=3, trials=t,
                points_to_evaluate=[{"zeta": 0.5, "alpha": 0.5, "mid": 1}], rstate=np.random.default_rng(0),
                show_progressbar=False)  # fmt: skip
    keys = ["alpha", "mid", "zeta"]
    assert list(best) == list(t.argmin) == list(t.vals) == list(t.idxs) == keys
    # As Hyperopt's: floats are numpy float64 (numpy methods work), and json writes best.
    assert best["zeta"].astype(int) == int(best["zeta"]) and type(best["mid"]) is int
    assert json.loads(json.dumps(best)) == best
    assert [list(doc["misc"]["vals"]) for doc in t.trials] == [keys] * 3  # the given point, then proposals


def test_bad_documents_are_refused() -> None:
    with pytest.raises(InvalidTrial, match="a trial needs 'tid'"):
        Trials().insert_trial_doc({"state": 0})
    t = Trials()
    t.insert_trial_doc({"tid": 0, "misc": {"tid": 0, "vals": {"x": [1.0]}}, "result": {"status": "new"}})
    with pytest.raises(InvalidTrial, match="already in these trials"):
        t.insert_trial_doc({"tid": 0, "misc": {"tid": 0, "vals": {"x": [1.0]}}})


def test_all_failed_best_trial() -> None:
    t = Trials()
    with pytest.raises(AllTrialsFailed, match="none of the 0 trials"):
        _ = t.best_trial


def test_delete_all_and_pickle(trials: Trials) -> None:
    clone = pickle.loads(pickle.dumps(trials))
    assert clone.vals == trials.vals and clone.argmin == trials.argmin
    trials.delete_all()
    assert len(trials) == 0 and trials.trials == []
    assert len(clone) == 12


def test_history_columns(trials: Trials) -> None:
    h = trials.history()
    assert h.n == 12 and h.ok.all() and not h.pending.any()
    c = h.column("c")
    assert np.array_equal(~np.isnan(h.column("x")), c == 0)
    assert np.isnan(h.column("unknown")).all()
    with pytest.raises(ValueError):
        h.losses[0] = 1.0  # read-only
    with pytest.raises(ValueError):
        h.column("x")[0] = 1.0


def test_history_gathers_several_columns_and_rows(trials: Trials) -> None:
    h = trials.history()
    rows = np.array([5, 0, 3])
    got = h.columns(["c", "unknown", "x"], rows)
    assert got.shape == (3, 3) and got.flags.c_contiguous
    assert np.array_equal(got[0], h.column("c")[rows])
    assert np.isnan(got[1]).all()
    assert np.array_equal(got[2], h.column("x")[rows], equal_nan=True)
    assert np.array_equal(h.columns(["x", "c"]), np.vstack([h.column("x"), h.column("c")]), equal_nan=True)


def test_history_grows_and_learns_new_labels() -> None:
    h = History()
    for i in range(100):  # past the initial capacity
        h.append(i, STATE_DONE, {"a": float(i)} if i < 70 else {"b": -float(i)})
    v = h.view()
    assert v.n == 100 and np.array_equal(v.column("a")[:70], np.arange(70.0))
    assert np.isnan(v.column("a")[70:]).all() and np.isnan(v.column("b")[:70]).all()
    assert np.array_equal(v.column("b")[70:], -np.arange(70.0, 100.0))


def test_history_pickled_by_an_earlier_build_still_loads() -> None:
    """Earlier builds kept one array per label in ``_cols``; their pickles must still load."""
    old = History.__new__(History)
    cap = 64
    a, b = np.full(cap, np.nan), np.full(cap, np.nan)
    a[:2], b[2] = [1.0, 2.0], 5.0
    state = {
        "_n": 3,
        "_cap": cap,
        "_tids": np.arange(cap),
        "_states": np.full(cap, STATE_DONE, dtype=np.int8),
        "_losses": np.zeros(cap),
        "_cols": {"a": a, "b": b},
    }
    old.__setstate__(state)
    v = old.view()
    assert np.array_equal(v.column("a"), [1.0, 2.0, np.nan], equal_nan=True)
    assert np.array_equal(v.column("b"), [np.nan, np.nan, 5.0], equal_nan=True)
    old.append(3, STATE_DONE, {"c": 7.0})
    assert old.view().column("c")[3] == 7.0


def test_save_and_load_round_trip(trials: Trials, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    trials.save(str(path))
    loaded = Trials.load(str(path))
    assert loaded.vals == trials.vals and loaded.losses() == trials.losses()
    assert loaded.trials[0]["book_time"] == trials.trials[0]["book_time"]


def test_torn_last_line_is_skipped_with_a_warning(trials: Trials, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    trials.save(str(path))
    with path.open("a") as f:
        f.write('{"tid": 99, "sta')
    with pytest.warns(UserWarning, match="last line is incomplete"):
        loaded = Trials.load(str(path))
    assert len(loaded) == 12


def test_loading_a_pickle_is_refused_without_running_it(tmp_path: Path) -> None:
    path = tmp_path / "hyperopt.pkl"
    path.write_bytes(pickle.dumps(Trials()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(JournalError, match="not a sparktune trials file"):
            Trials.load(str(path))


def test_non_plain_results_are_rejected_clearly(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with pytest.raises(
        JournalError, match=r"\['result'\]\['model'\] holds a builtins.object, which a trial file cannot store"
    ):
        fmin(
            lambda x: {"loss": x, "status": STATUS_OK, "model": object()},
            hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=2, trials_save_file=str(path), show_progressbar=False,
        )  # fmt: skip


def test_numpy_values_are_stored_as_plain_data(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    t = Trials()
    fmin(
        lambda x: {"loss": np.float32(x), "status": STATUS_OK, "arr": np.arange(3), "n": np.int64(4)},
        hp.uniform("x", 0, 1),
        algo=rand.suggest,
        max_evals=2,
        trials=t,
        trials_save_file=str(path),
        show_progressbar=False,
    )
    loaded = Trials.load(str(path))
    assert loaded.results[0]["arr"] == [0, 1, 2] and loaded.results[0]["n"] == 4
