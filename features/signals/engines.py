"""Backends for the feature definitions: DuckDB embedded by default, Spark to scale out.

The same Ibis expressions run on both; only the connection differs.
"""

from __future__ import annotations

from typing import Any

import ibis

from features.ingest import Engine, spark_session

__all__ = ["Engine", "connect", "spark_session"]


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
