"""Pre-flight checks: captured objects found by name, serialization failures explained."""

from __future__ import annotations

import functools
import pickle
import threading
import warnings
from typing import Any

import cloudpickle
import pytest

from sparktune import _preflight as P
from sparktune.exceptions import SerializationError


class SparkSession:
    """Stands in for pyspark's class: same name, module faked below."""


SparkSession.__module__ = "pyspark.sql.session"


class DataFrame:
    pass


DataFrame.__module__ = "pyspark.sql.connect.dataframe"

spark = SparkSession()
LOCK = threading.Lock()
CONFIG = {"db": {"session": spark}}


def test_driver_only_types_are_recognised_by_name_and_module() -> None:
    assert P.driver_only_type(spark) == "pyspark.sql.session.SparkSession"
    assert P.driver_only_type(DataFrame()) == "pyspark.sql.connect.dataframe.DataFrame"
    assert P.driver_only_type(object()) is None


def _paths(fn: Any) -> list[str]:
    return [c.path for c in P.find_captured(fn, lambda v: P.driver_only_type(v) is not None)]


def test_finds_a_global_a_closure_variable_and_nested_containers() -> None:
    df = DataFrame()

    def uses_global(p: float) -> float:
        return p + len(str(spark))

    def uses_closure(p: float) -> float:
        return p + len(str(df))

    def uses_config(p: float) -> float:
        return p + len(CONFIG)

    assert _paths(uses_global) == ["global 'spark'"]
    assert _paths(uses_closure) == ["closure variable 'df'"]
    assert _paths(uses_config) == ["global 'CONFIG'['db']['session']"]


def test_follows_helpers_partials_defaults_and_callable_objects() -> None:
    def helper() -> int:
        return len(str(spark))

    def outer(p: float) -> float:
        return p + helper()

    def with_default(p: float, s: Any = spark) -> float:
        return p

    class Objective:
        def __init__(self) -> None:
            self.session = spark

        def __call__(self, p: float) -> float:
            return p

    assert _paths(outer) == ["closure variable 'helper' -> global 'spark'"]
    assert _paths(with_default) == ["default of 's'"]
    assert _paths(functools.partial(lambda p, s: p, s=spark)) == ["partial argument 's'"]
    assert _paths(Objective()) == [".session"]
    assert _paths(Objective().__call__) == ["self.session"]


def test_serialize_checked_names_a_captured_spark_object() -> None:
    def objective(p: float) -> float:
        return p + len(CONFIG)

    with pytest.raises(SerializationError, match=r"captures global 'CONFIG'\['db'\]\['session'\] \(pyspark.sql"):
        P.serialize_checked(objective)


def test_serialize_checked_names_the_unpicklable_object() -> None:
    holder = {"ok": 1, "lock": LOCK}

    def objective(p: float) -> float:
        return p + len(holder)

    with pytest.raises(SerializationError, match=r"closure variable 'holder'\['lock'\] is a _thread.lock"):
        P.serialize_checked(objective)


def test_serialize_checked_returns_a_cloudpickle_payload() -> None:
    factor = 3

    def objective(p: float) -> float:
        return p * factor

    payload = P.serialize_checked({"fn": objective}, objective)
    assert pickle.loads(payload)["fn"](2) == 6
    assert cloudpickle.loads(payload)["fn"](1) == 3


def test_functions_pickled_by_reference_are_not_walked() -> None:
    assert _paths(functools.reduce) == []
    assert _paths(P.find_captured) == []


@pytest.mark.parametrize(
    "parallelism, max_evals, slots, used, message",
    [
        (8, 4, None, 4, "parallelism=8 is larger than max_evals=4"),
        (8, None, 2, 2, "larger than the 2 task slots"),
        (3, 10, 4, 3, None),
    ],
)
def test_check_parallelism(
    parallelism: int, max_evals: int | None, slots: int | None, used: int, message: str | None
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert P.check_parallelism(parallelism, max_evals, slots) == used
    texts = [str(w.message) for w in caught]
    assert (message is None and texts == []) or (message is not None and any(message in t for t in texts))
