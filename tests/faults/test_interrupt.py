"""Ctrl-C (SIGINT) during a run: nothing left NEW or RUNNING, and the same session goes on."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from faultlib import Child, read_quietly

from sparktune import Trials


def test_sigint_leaves_no_trial_new_or_running_and_the_session_continues(
    tmp_path: Path, child_factory: Callable[..., Child]
) -> None:
    path = tmp_path / "t.jsonl"
    child = child_factory(path, 200, "rand", 0.5, "interrupt")
    # Interrupt while the fifth trial sleeps in its objective, so that a trial is running.
    child.wait_for("started", lambda n: n >= 5)
    child.proc.send_signal(signal.SIGINT)
    interrupted = child.wait_for("interrupted")
    assert 0 not in interrupted["states"] and 1 not in interrupted["states"]  # in memory
    assert 0 not in interrupted["file_states"] and 1 not in interrupted["file_states"]  # in the file
    assert 4 in interrupted["states"]  # the trial that was running is marked cancelled
    done = child.finish()[-1]
    assert done["done"] == len(interrupted["states"]) + 3
    assert set(done["states"]) == {2}  # the cancelled trial ran again, then 3 more
    contents = read_quietly(path)
    assert contents is not None and not contents.torn and contents.skipped == []
    assert {r["state"] for r in contents.records} == {"DONE"}
    assert len(Trials.load(str(path))) == done["done"]
