"""Backends for the feature definitions: DuckDB embedded by default, Spark to scale out.

The same Ibis expressions run on both; only the connection differs.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Literal

import ibis

Engine = Literal["duckdb", "spark"]


def connect(engine: Engine, *, spark_master: str = "local[*]", memory_limit: str | None = None) -> Any:
    """An Ibis backend. DuckDB spills to disk past ``memory_limit``; Spark uses ``spark_master``."""
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        if memory_limit:
            con.raw_sql(f"SET memory_limit = '{memory_limit}'")
        return con
    if engine == "spark":
        return ibis.pyspark.connect(spark_session(spark_master))
    raise ValueError(f"The 'engine' parameter must be 'duckdb' or 'spark'. Got {engine!r} instead.")


def spark_session(master: str = "local[*]") -> Any:
    """A Spark session for Vigie's jobs (UTC, no UI); the existing one if already started."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run our environment
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(master)
        .appName("vigie")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")  # coalesces small shuffle partitions, splits skewed ones
        .config("spark.driver.memory", os.environ.get("VIGIE_SPARK_DRIVER_MEMORY", "6g"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
