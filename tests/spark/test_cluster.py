"""SparkTrials on a real standalone cluster, and the example script under spark-submit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest_paths import ROOT, spark_env, spark_home

HERE = Path(__file__).resolve().parent


def last_json_line(out: str) -> dict[str, object]:
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, out[-3000:]
    return json.loads(lines[-1])


@pytest.mark.parametrize("channel", ["socket", "spark"])
def test_standalone_cluster_isolates_a_crash_and_a_lost_executor(standalone_master: str, channel: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(HERE / "standalone_driver.py"), standalone_master, channel],
        env=spark_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = last_json_line(proc.stdout)
    assert summary["channel"] == channel
    assert summary["parallelism"] == 2
    assert summary["errors"] == {"3.5": "WorkerLost", "2.5": "KeyError"}
    assert summary["successful"] == 6 and summary["failed"] == 2
    assert summary["lost_errors"] == {"4.5": "WorkerLost"}
    assert summary["lost_successful"] == 3


def test_spark_submit_runs_the_example() -> None:
    proc = subprocess.run(
        [str(spark_home() / "bin" / "spark-submit"), "--master", "local[2]",
         str(ROOT / "examples" / "spark_quickstart.py"), "--max-evals", "12"],
        env=spark_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = last_json_line(proc.stdout)
    assert summary["successful"] == summary["total"] == 12
    assert summary["parallelism"] == 2 and summary["channel"] == "socket"
    assert float(summary["best_loss"]) < 0.1


def test_example_starts_an_embedded_session_when_none_is_active() -> None:
    env = spark_env()
    env.pop("SPARK_CONF_DIR")  # the project's conf/ must be found by sparktune itself
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "spark_quickstart.py"), "--max-evals", "6"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = last_json_line(proc.stdout)
    assert summary["successful"] == summary["total"] == 6
    assert summary["parallelism"] == os.cpu_count()  # local[*]
    assert " WARN " not in proc.stderr  # conf/log4j2.properties keeps Spark's log quiet
