"""Spark, shared by the stages that scale out on it: validation (here) and the features.

One session per process (the existing one when already started), and one way to turn Spark's
ordered part files into the single Parquet file every stage writes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal

import pyarrow.parquet as pq

#: Where a stage's Ibis expressions run: DuckDB embedded (the default), or Spark to scale out.
Engine = Literal["duckdb", "spark"]


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


def concatenate_parts(parts: list[Path], target: Path) -> None:
    """One Parquet file from Spark's ordered part files (or any files of one schema), a row group
    at a time: never the whole table in memory, never through the driver."""
    schema = pq.read_schema(parts[0])
    with pq.ParquetWriter(target, schema) as writer:
        for part in parts:
            table = pq.ParquetFile(part)
            for group in range(table.num_row_groups):
                writer.write_table(table.read_row_group(group).cast(schema))
