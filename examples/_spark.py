"""The Spark session the examples use: the submitted one under spark-submit, else local.

``SparkSession.builder.getOrCreate()`` without a master picks up ``--master`` under
``spark-submit`` and defaults to ``local[*]`` under plain ``python``, so the examples run
unchanged both ways.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["session"]


def session(app: str) -> Any:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName(app).config("spark.ui.showConsoleProgress", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
