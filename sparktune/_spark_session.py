"""Finding or making the Spark session SparkTrials runs on, and what it offers.

Classic sessions and Spark Connect sessions differ in a few places that matter here (how many
task slots there are, how jobs are tagged and cancelled); this module hides those differences
behind :class:`SessionFacts` and :func:`tag_jobs` / :func:`cancel_tag`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SessionFacts", "import_pyspark", "resolve_session", "session_facts", "tag_jobs", "cancel_tag"]

logger = logging.getLogger(__name__)

#: The project's Spark configuration for sessions SparkTrials creates itself (a source checkout).
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
#: What matters most in conf/spark-defaults.conf, for installs that do not ship conf/.
_FALLBACK_DEFAULTS = {
    "spark.python.worker.reuse": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def import_pyspark() -> Any:
    """``pyspark.sql``; fails with the extra to install when pyspark is missing."""
    try:
        import pyspark.sql
    except ImportError as err:
        raise ImportError(
            'SparkTrials needs pyspark, which is not installed: pip install "sparktune[spark]" '
            '(or "sparktune[connect]" for Spark Connect)'
        ) from err
    return pyspark.sql


def is_connect(session: Any) -> bool:
    """Whether ``session`` is a Spark Connect session (no SparkContext, no RDDs)."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def _read_defaults(path: Path) -> dict[str, str]:
    conf: dict[str, str] = {}
    if not path.is_file():
        return conf
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            conf[key.strip()] = value.strip()
    return conf


def resolve_session(spark_session: Any | None) -> Any:
    """The session given, else the active one, else a new embedded ``local[*]`` session."""
    sql = import_pyspark()
    if spark_session is not None:
        if not hasattr(spark_session, "range") or not hasattr(spark_session, "interruptTag"):
            raise TypeError(
                "spark_session must be a pyspark.sql.SparkSession (classic or Spark Connect), "
                f"got {type(spark_session).__name__}"
            )
        return spark_session
    active = sql.SparkSession.getActiveSession()
    if active is not None:
        return active
    if "PYSPARK_GATEWAY_PORT" in os.environ or "SPARK_REMOTE" in os.environ:
        # Launched by spark-submit / pyspark, or pointed at Spark Connect: their settings decide.
        return sql.SparkSession.builder.getOrCreate()
    # Workers must run the interpreter running this driver, with the same packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    log4j = CONF_DIR / "log4j2.properties"
    builder = sql.SparkSession.builder.master("local[*]").appName("sparktune")
    for key, value in (_read_defaults(CONF_DIR / "spark-defaults.conf") or _FALLBACK_DEFAULTS).items():
        builder = builder.config(key, value)
    if log4j.is_file():
        option = f"-Dlog4j2.configurationFile=file:{log4j}"
        builder = builder.config("spark.driver.extraJavaOptions", option)
        builder = builder.config("spark.executor.extraJavaOptions", option)
    logger.info("no active Spark session: starting an embedded local[*] session")
    return builder.getOrCreate()


@dataclass(frozen=True)
class SessionFacts:
    """What SparkTrials needs to know about a session, probed once."""

    connect: bool
    master: str
    slots: int  # concurrent tasks the cluster can run now (cores / spark.task.cpus)
    task_cpus: int

    @property
    def local(self) -> bool:
        return self.master.startswith("local")


def _conf(session: Any, key: str, default: str | None = None) -> str | None:
    try:
        value = session.conf.get(key, default)
    except Exception:  # Connect refuses some static keys; the default is right then
        return default
    return None if value is None else str(value)


def _local_cores(master: str) -> int | None:
    """Cores of a ``local[N]`` / ``local[*]`` / ``local`` master string, else ``None``."""
    if master == "local":
        return 1
    if master.startswith("local[") and master.endswith("]"):
        inner = master[len("local[") : -1].split(",")[0].strip()
        return (os.cpu_count() or 1) if inner == "*" else int(inner)
    return None


def _probe_parallelism(session: Any) -> int:
    """Default parallelism as the cluster reports it, through a one-job SQL query (works on Connect)."""
    from pyspark.sql import functions as F

    row = session.range(0, 1 << 16).select(F.max(F.spark_partition_id()).alias("p")).collect()[0]
    return int(row["p"]) + 1


def session_facts(session: Any) -> SessionFacts:
    """Probe ``session`` once: kind, master and task slots."""
    connect = is_connect(session)
    task_cpus = int(_conf(session, "spark.task.cpus", "1") or 1)
    if connect:
        master = _conf(session, "spark.master", "") or ""
        cores = _local_cores(master)
        if cores is None:
            cores = _probe_parallelism(session)
    else:
        sc = session.sparkContext
        master = sc.master
        # A local master says its cores; spark.default.parallelism may say anything.
        cores = _local_cores(master) or int(sc.defaultParallelism)
    return SessionFacts(connect=connect, master=master, slots=max(1, cores // max(task_cpus, 1)), task_cpus=task_cpus)


@contextmanager
def tag_jobs(session: Any, connect: bool, tags: list[str]) -> Iterator[None]:
    """Tag every Spark job this thread starts inside the block (cancellable with :func:`cancel_tag`)."""
    target = session if connect else session.sparkContext
    add, remove = ("addTag", "removeTag") if connect else ("addJobTag", "removeJobTag")
    for tag in tags:
        getattr(target, add)(tag)
    try:
        yield
    finally:
        for tag in tags:
            getattr(target, remove)(tag)


def cancel_tag(session: Any, connect: bool, tag: str) -> None:
    """Cancel the running and queued Spark jobs tagged ``tag`` (returns at once)."""
    try:
        if connect:
            session.interruptTag(tag)
        else:
            session.sparkContext.cancelJobsWithTag(tag)
    except Exception as err:  # a stopped session has nothing left to cancel
        logger.debug("cancelling Spark jobs tagged %s failed: %s", tag, err)
