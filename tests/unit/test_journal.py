"""The trials file format: plain-data encoding, torn and damaged lines, writers, snapshots."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

from sparktune import Trials
from sparktune import journal as J
from sparktune.exceptions import JournalError, SerializationError, UnstorableValue
from sparktune.objective import Outcome


def _record(tid: int, state: str = "DONE", **result: object) -> dict[str, object]:
    return {"tid": tid, "state": state, "vals": {"x": tid / 10}, "result": {"status": "ok", "loss": 1.0, **result}}


@pytest.mark.parametrize(
    "value",
    [
        {"loss": float("nan"), "other": float("-inf"), "big": 1e308},
        {"raw": b"\x00\xffbytes"},
        {"when": dt.datetime(2024, 1, 2, 3, 4, 5, 6000)},
        {"__bytes__": "not a tag, a user key"},
        {"__dict__": {"nested": [1, 2]}},
        {"list": [1, "a", None, True, [2.5]]},
    ],
)
def test_plain_values_round_trip(value: dict[str, object]) -> None:
    line = J.encode_line({"tid": 0, "result": value}, "trial 0")
    back = J.from_plain(json.loads(line))["result"]
    for key, expected in value.items():
        got = back[key]
        if isinstance(expected, dict):
            assert got == expected
        elif isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(got)
        else:
            assert got == expected


def test_numpy_values_become_python_values() -> None:
    plain = J.to_plain({"a": np.float32(0.5), "b": np.int64(3), "c": np.arange(3), "d": (1, 2)})
    assert plain == {"a": 0.5, "b": 3, "c": [0, 1, 2], "d": [1, 2]}


def test_a_result_that_is_not_plain_data_is_rejected_naming_where_it_is() -> None:
    with pytest.raises(SerializationError, match=r"trial 4\['result'\]\['model'\] holds a threading.Event") as info:
        J.encode_line({"tid": 4, "result": {"loss": 1.0, "model": threading.Event()}}, "trial 4")
    assert "journal_pickle=True" in str(info.value)
    assert isinstance(info.value, UnstorableValue) and isinstance(info.value, JournalError)


def test_non_string_keys_are_rejected() -> None:
    with pytest.raises(SerializationError, match=r"has the key 3 \(int\)"):
        J.to_plain({"loss": 1.0, "per_fold": {3: 0.5}})


def test_pickled_values_need_an_opt_in_to_write_and_to_read(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = J.JournalWriter.create(path, {}, allow_pickle=True)
    writer.append(_record(0, model=complex(1, 2)))
    writer.close()
    with pytest.raises(JournalError, match=r"holds pickled values .* allow_pickle=True"):
        J.read_journal(path)
    records = J.read_journal(path, allow_pickle=True).records
    assert records[0]["result"]["model"] == complex(1, 2)


def test_torn_last_line_is_skipped_with_a_warning_and_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = J.JournalWriter.create(path, {"space": "abc"})
    for tid in range(3):
        writer.append(_record(tid))
    writer.close()
    full = path.read_bytes()
    path.write_bytes(full[:-20])  # the last line loses its end
    with pytest.warns(UserWarning, match="last line is incomplete"):
        contents = J.read_journal(path)
    assert [r["tid"] for r in contents.records] == [0, 1]
    assert contents.torn
    writer = J.JournalWriter.reopen(path, contents.valid_size)
    writer.append(_record(7))
    writer.close()
    contents = J.read_journal(path)  # no warning: the torn tail was cut, the new line is whole
    assert [r["tid"] for r in contents.records] == [0, 1, 7]


def test_damaged_middle_lines_are_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = J.JournalWriter.create(path, {})
    for tid in range(4):
        writer.append(_record(tid))
    writer.close()
    lines = path.read_bytes().split(b"\n")
    lines[2] = b'{"tid": 1, "sta\x00garbage'
    lines[3] = b'{"no": "tid"}'
    path.write_bytes(b"\n".join(lines))
    with pytest.warns(UserWarning, match=r"2 damaged line\(s\) skipped \(line 3, 4\)"):
        contents = J.read_journal(path)
    assert [r["tid"] for r in contents.records] == [0, 3]


def test_last_record_of_a_tid_wins(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = J.JournalWriter.create(path, {})
    writer.append({"tid": 0, "state": "NEW", "vals": {}, "result": {"status": "new"}})
    writer.append({"tid": 0, "state": "RUNNING", "vals": {}, "result": {"status": "running"}})
    writer.append({"tid": 0, "state": "DONE", "vals": {}, "result": {"status": "ok", "loss": 2.0}})
    writer.close()
    (record,) = J.read_journal(path).records
    assert record["state"] == "DONE" and record["result"]["loss"] == 2.0


@pytest.mark.parametrize(
    "content, message",
    [
        (b"hello\nworld\n", "does not start with a sparktune-trials header"),
        (b'{"format": "other"}\n', "is not a sparktune-trials file"),
        (b'{"format": "sparktune-trials", "version": 99}\n', "format version 99.*Upgrade sparktune"),
        (pickle.dumps({"a": 1}), "is a pickle .*Trials.load\\(path, allow_pickle=True\\)"),
        (b"garbage without newline", "is not a sparktune-trials file"),
    ],
)
def test_files_that_are_not_trials_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(content)
    with pytest.raises(JournalError, match=message):
        J.read_journal(path)


def test_a_file_cut_inside_its_header_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    J.JournalWriter.create(path, {"space": "abc"}).close()
    header = path.read_bytes()
    for cut in range(1, len(header) - 1):
        path.write_bytes(header[:cut])
        with pytest.warns(UserWarning, match="incomplete"):
            contents = J.read_journal(path)
        assert contents.header is None and contents.records == []


def test_a_second_writer_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    first = J.JournalWriter.create(path, {})
    try:
        with pytest.raises(JournalError, match="being written by another running process"):
            J.JournalWriter.reopen(path, path.stat().st_size)
    finally:
        first.close()
    J.JournalWriter.reopen(path, path.stat().st_size).close()  # free again once the first one closed


def test_a_failed_write_leaves_the_file_loadable_and_stops_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = J.JournalWriter.create(path, {})
    writer.append(_record(0))
    before = path.read_bytes()
    good_fd = writer._fd
    writer._fd = os.open(path, os.O_RDONLY)  # every write now fails with EBADF
    with pytest.raises(JournalError, match=r"cannot write to trials file .*every trial stays in memory"):
        writer.append(_record(1))
    assert writer.failed
    with pytest.raises(JournalError, match="not written any more after an earlier error"):
        writer.append(_record(2))
    os.close(writer._fd)
    writer._fd = good_fd
    writer.close()
    assert path.read_bytes() == before
    assert [r["tid"] for r in J.read_journal(path).records] == [0]


def test_creating_a_file_in_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match=r"folder .* does not exist: create it first"):
        J.JournalWriter.create(tmp_path / "missing" / "t.jsonl", {})


def test_snapshot_with_a_bad_record_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    J.write_snapshot(path, {}, [_record(0)])
    before = path.read_bytes()
    with pytest.raises(SerializationError):
        J.write_snapshot(path, {}, [_record(0), _record(1, model=object())])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.jsonl"]  # no temporary file left behind


def _trials_with_everything() -> Trials:
    trials = Trials(exp_key="e")
    for tid in range(4):
        trials._add(_trial(tid))
    trials._mark_running(0, "w0")
    trials._record_outcome(0, Outcome(result={"status": "ok", "loss": 0.5}, attachments={"blob": b"\x01\x02"}))
    trials._mark_running(1)
    trials._record_outcome(1, Outcome.failed(ValueError("bad point")))
    trials._mark_cancelled(2, "cancelled by fmin (timeout)")
    trials.trial(0).seed = 123
    return trials


def _trial(tid: int) -> object:
    from sparktune.trials import Trial

    return Trial(tid=tid, vals={"x": tid * 0.25, "c": tid % 2}, labels=("x", "c"))


def test_save_and_load_keep_states_results_errors_attachments_and_seeds(tmp_path: Path) -> None:
    trials = _trials_with_everything()
    path = str(tmp_path / "snap.jsonl")
    trials.save(path)
    back = Trials.load(path)
    assert back.exp_key == "e"
    assert [t["state"] for t in back.trials] == [t["state"] for t in trials.trials] == [2, 3, 4, 0]
    assert back.results == trials.results
    assert back.trial(1).error == trials.trial(1).error
    assert back.trial(0).seed == 123
    assert back.trial_attachments(back.trials[0]) == {"blob": b"\x01\x02"}
    assert back.best_trial["tid"] == 0 and back.argmin == {"x": 0.0, "c": 0}
    assert back.trials[0]["book_time"] == trials.trials[0]["book_time"]


def test_hyperopt_pickles_are_converted_only_with_allow_pickle(tmp_path: Path) -> None:
    hyperopt = pytest.importorskip("hyperopt")
    path = str(tmp_path / "hyperopt.pkl")
    space = hyperopt.hp.uniform("x", -1, 1)
    old = hyperopt.Trials()
    hyperopt.fmin(lambda x: x**2, space, algo=hyperopt.rand.suggest, max_evals=5, trials=old,
                  trials_save_file=path, show_progressbar=False, rstate=np.random.default_rng(0))  # fmt: skip
    with pytest.raises(JournalError, match="is a pickle"):
        Trials.load(path)
    converted = Trials.load(path, allow_pickle=True)
    assert len(converted) == 5
    assert converted.losses() == old.losses()
    assert converted.vals == old.vals


def test_a_file_a_running_writer_holds_is_not_replaced_or_created_twice(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = J.JournalWriter.create(path, {"space": "abc"})
    writer.append(_record(0))
    trials = Trials()
    with pytest.raises(JournalError, match="being written by a running fmin"):
        trials.save(str(path))
    with pytest.raises(JournalError, match="being written by a running fmin"):
        J.JournalWriter.create(path, {"space": "abc"})
    writer.append(_record(1))
    writer.close()
    assert [r["tid"] for r in J.read_journal(path).records] == [0, 1]  # nothing orphaned


def test_a_finished_trial_is_synced_once_the_interval_passes_without_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(J, "FSYNC_INTERVAL", 0.05)
    writer = J.JournalWriter.create(tmp_path / "t.jsonl", {"space": "abc"})
    writer.sync()
    synced = writer._last_sync
    writer.append(_record(0), durable=True)  # within the interval: not synced now
    for _ in range(200):  # the deferred sync comes without another write
        if writer._last_sync > synced:
            break
        threading.Event().wait(0.01)
    assert writer._last_sync > synced
    writer.close()
