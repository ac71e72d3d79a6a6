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


def audit(path: Path, seen: dict[int, Any], lost: set[int]) -> None:
    """After a kill: add to ``lost`` every trial seen finished before that the file no longer
    holds as finished with the same loss, then add the file's finished trials to ``seen``."""
    contents = read_quietly(path)
    records = {} if contents is None else {r["tid"]: r for r in contents.records}
    for tid, loss in seen.items():
        record = records.get(tid)
        if record is None or record["state"] != "DONE" or record["result"].get("loss") != loss:
            lost.add(tid)
    for tid, record in records.items():
        if record["state"] == "DONE":
            seen.setdefault(tid, record["result"]["loss"])


def tpe_available() -> bool:
    try:
        import sparktune.tpe  # noqa: F401
    except ImportError:
        return False
    return True


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, deadline_s: float = 120.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"a Spark JVM exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.2)  # readiness probe of a starting JVM, bounded by the deadline
    raise RuntimeError(f"a Spark JVM did not open port {port} in {deadline_s} s:\n{log.read_text()[-2000:]}")


class Standalone:
    """A standalone Spark master and ``workers`` one-core workers on 127.0.0.1, as real processes."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        import pyspark

        self.spark_class = str(Path(pyspark.__file__).parent / "bin" / "spark-class")
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable,
                    "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(Path(pyspark.__file__).parent)}  # fmt: skip
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes]] = []
        port = _free_port()
        self.url = f"spark://127.0.0.1:{port}"
        self._start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                     "--webui-port", str(_free_port())], port, "master")  # fmt: skip
        self.workers = []
        for i in range(workers):
            wport = _free_port()
            self.workers.append(
                self._start(
                    [
                        "org.apache.spark.deploy.worker.Worker",
                        self.url,
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(wport),
                        "--webui-port",
                        str(_free_port()),
                        "--cores",
                        "1",
                        "--memory",
                        "1g",
                        "--work-dir",
                        str(folder / f"work{i}"),
                    ],
                    wport,
                    f"worker{i}",
                )
            )

    def _start(self, args: list[str], port: int, name: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([self.spark_class, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # fmt: skip
        self.procs.append(proc)
        _wait_for_port(port, proc, log)
        return proc

    def kill_tree(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker and everything it started (its executor JVM and Python workers)."""
        import psutil

        try:
            tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for p in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(tree, timeout=30)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            self.kill_tree(proc)
            proc.wait(DEADLINE)
