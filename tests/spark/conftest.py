"""Real Spark for the SparkTrials tests, shared by the whole pytest session.

- ``classic``: an in-process ``local[2]`` session (one per process, as Spark allows);
- ``connect``: a Spark Connect server (``local[2]``) in a subprocess, and a client session to it;
- ``standalone_master``: a standalone master and one 2-core worker on 127.0.0.1.

Each is started on first use and stopped when the session ends. Every test here is marked
``spark``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest_paths import CONF, spark_env, spark_home


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.spark)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[Any], what: str, log: Path, deadline_s: float = 90.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.2)  # a readiness probe of a starting JVM, bounded by the deadline
    raise RuntimeError(f"{what} did not open port {port} within {deadline_s} s:\n{log.read_text()[-3000:]}")


def start_jvm(args: list[str], log: Path, what: str, port: int) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(args, env=spark_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port(port, proc, what, log)
    return proc


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def classic() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    builder = SparkSession.builder.master("local[2]").appName("sparktune-tests")
    for line in (CONF / "spark-defaults.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, value = line.split(None, 1)
            builder = builder.config(key, value.strip())
    option = f"-Dlog4j2.configurationFile=file:{CONF / 'log4j2.properties'}"
    spark = builder.config("spark.driver.extraJavaOptions", option).getOrCreate()
    yield spark
    spark.stop()


@pytest.fixture(scope="session")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server on a free port (master local[2]), as a separate JVM."""
    port = free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    args = [
        str(spark_home() / "bin" / "spark-submit"),
        "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--master", "local[2]",
        "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf", f"spark.driver.extraJavaOptions=-Dlog4j2.configurationFile=file:{CONF / 'log4j2.properties'}",
        "spark-internal",
    ]  # fmt: skip
    proc = start_jvm(args, log, "the Spark Connect server", port)
    yield f"sc://127.0.0.1:{port}"
    stop(proc)


@pytest.fixture(scope="session")
def connect(connect_url: str) -> Iterator[Any]:
    # The Connect builder itself: the generic one picks classic when a classic session exists.
    from pyspark.sql.connect.session import SparkSession

    spark = SparkSession.builder.remote(connect_url).getOrCreate()
    yield spark
    spark.stop()


@pytest.fixture(params=["classic", "connect"])
def session(request: pytest.FixtureRequest) -> Any:
    """Each test using this runs on a classic session and on a Spark Connect session."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def standalone_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone master and a 2-core worker on 127.0.0.1; yields the master URL."""
    work = tmp_path_factory.mktemp("standalone")
    spark_class = str(spark_home() / "bin" / "spark-class")
    port = free_port()
    master = start_jvm(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
         "--webui-port", str(free_port())],
        work / "master.log", "the standalone master", port,
    )  # fmt: skip
    url = f"spark://127.0.0.1:{port}"
    worker_port = free_port()
    try:
        worker = start_jvm(
            [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
             "--port", str(worker_port), "--webui-port", str(free_port()), "--cores", "2", "--memory", "1g",
             "--work-dir", str(work / "work")],
            work / "worker.log", "the standalone worker", worker_port,
        )  # fmt: skip
    except BaseException:
        stop(master)
        raise
    yield url
    stop(worker)
    stop(master)
