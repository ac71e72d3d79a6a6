"""Helpers for the fault-injection tests: start a tuning script as a real process and watch it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sparktune import journal as J

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("child.py")
CHILD_SPARK = Path(__file__).with_name("child_spark.py")

#: Longest a child may take for anything in this suite; hitting it is a failure, not a wait.
DEADLINE = 60.0


class Child:
    """A running ``child.py``: read its JSON events line by line, signal it, collect its end."""

    def __init__(self, *args: object, preexec_fn: Callable[[], None] | None = None, script: Path = CHILD) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable}
        env["SPARK_CONF_DIR"] = str(ROOT / "conf")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=preexec_fn,
        )

    def next_event(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(DEADLINE)
            raise AssertionError(f"child ended (rc={self.proc.returncode}): {self.proc.stderr.read()}")  # type: ignore[union-attr]
        return json.loads(line)

    def wait_for(self, key: str, predicate: Callable[[Any], bool] = lambda v: True) -> dict[str, Any]:
        while True:
            event = self.next_event()
            if key in event and predicate(event[key]):
                return event

    def kill_driver(self) -> None:
        """SIGKILL this process alone (the fault), then reap what it had started (a Spark JVM, its workers).

        A JVM started by PySpark exits by itself when its driver dies; anything still alive after
        the deadline is killed so that tests do not leak processes.
        """
        import psutil

        try:
            descendants = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(DEADLINE)
        _, alive = psutil.wait_procs(descendants, timeout=30)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(alive, timeout=10)

    def finish(self) -> list[dict[str, Any]]:
        out, err = self.proc.communicate(timeout=DEADLINE)
        assert self.proc.returncode == 0, err
        return [json.loads(line) for line in out.splitlines()]


def read_quietly(path: Path) -> J.JournalContents | None:
    """The file's contents (torn-line warnings are expected after a kill), or None if absent."""
    if not path.exists():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return J.read_journal(path)


def tpe_available() -> bool:
    try:
        import sparktune.tpe  # noqa: F401
    except ImportError:
        return False
    return True
