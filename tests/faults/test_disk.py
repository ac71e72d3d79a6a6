"""A disk that fills up or a save path that cannot be written: a clear error, nothing lost."""

from __future__ import annotations

import os
import resource
import signal
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from faultlib import Child, read_quietly

from sparktune import Trials, fmin, hp, rand
from sparktune.exceptions import JournalError


def _counting_objective() -> tuple[Callable[[float], float], list[float]]:
    calls: list[float] = []

    def objective(x: float) -> float:
        calls.append(x)
        return x * x

    return objective, calls


def test_a_full_disk_at_start_fails_before_any_evaluation() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    objective, calls = _counting_objective()
    with pytest.raises(
        JournalError, match=r"cannot create trials file '/dev/full': No space left on device \(ENOSPC\)"
    ):
        fmin(objective, hp.uniform("x", -1, 1), algo=rand.suggest, max_evals=3, trials_save_file="/dev/full",
             show_progressbar=False)  # fmt: skip
    assert calls == []


def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return folder
    try:  # root ignores permission bits; /sys refuses new files even to root
        fd, name = tempfile.mkstemp(dir="/sys")
    except OSError:
        return Path("/sys")
    os.close(fd)
    os.unlink(name)
    pytest.skip("no folder that root cannot write to")


@pytest.mark.parametrize(
    "where, message",
    [
        ("missing", r"the folder '.*missing' does not exist: create it first"),
        ("under-a-file", r"Not a directory \(ENOTDIR\); '.*a-file' is not a folder"),
        ("read-only", r"(Permission denied|Read-only file system).*is not writable: choose a path you can write to"),
    ],
)
def test_an_unwritable_save_path_fails_before_any_evaluation(tmp_path: Path, where: str, message: str) -> None:
    if where == "missing":
        path = tmp_path / "missing" / "t.jsonl"
    elif where == "under-a-file":
        (tmp_path / "a-file").write_text("x")
        path = tmp_path / "a-file" / "t.jsonl"
    else:
        path = _unwritable_folder(tmp_path) / "t.jsonl"
    objective, calls = _counting_objective()
    trials = Trials()
    with pytest.raises(JournalError, match=message):
        fmin(objective, hp.uniform("x", -1, 1), algo=rand.suggest, max_evals=3, trials=trials,
             trials_save_file=str(path), show_progressbar=False)  # fmt: skip
    assert calls == [] and len(trials) == 0


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_disk_that_fills_mid_run_stops_with_a_clear_error_and_keeps_everything(
    tmp_path: Path, child_factory: Callable[..., Child]
) -> None:
    path = tmp_path / "t.jsonl"
    limit = 6000  # room for the header and a dozen trials
    child = child_factory(path, 100, "rand", 0.0, "diskfull", preexec_fn=_limit_file_size(limit))
    report = child.finish()[-1]
    assert "cannot write to trials file" in report["error"] and "File too large (EFBIG)" in report["error"]
    assert "every trial stays in memory" in report["error"]
    in_memory = {tid: (state, loss) for tid, state, loss in report["trials"]}
    contents = read_quietly(path)
    assert contents is not None
    assert not contents.torn and contents.skipped == []  # the partial line was rolled back
    assert path.stat().st_size <= limit
    on_disk = {r["tid"]: r for r in contents.records}
    done_on_disk = [tid for tid, r in on_disk.items() if r["state"] == "DONE"]
    assert len(done_on_disk) >= 3
    for tid in done_on_disk:  # every trial the file kept is in memory, unchanged
        assert in_memory[tid] == (2, on_disk[tid]["result"]["loss"])
    assert len(in_memory) >= len(on_disk)
    assert {state for state, _ in in_memory.values()} <= {2, 4}  # nothing left NEW or RUNNING
