"""Where validation's rules run: DuckDB embedded (bounded memory, spilling to disk), or Spark.

The rules (:mod:`features.ingest.rules`) are Ibis expressions and run unchanged on both; what
differs is how a raw table gets in with its row numbers, how rows are held between tables, and
how a kept table comes out in file order. Each backend does these few things its own way.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from features.ingest.extract import ContractError
from features.ingest.rules import ROW
from features.ingest.spark import Engine, concatenate_parts, spark_session

#: DuckDB's memory for validating, whatever the size of the extract or partition: past it, DuckDB
#: spills to a temporary folder (about 0.3 GB more is Python's own, imports included).
DEFAULT_MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class EngineLimits:
    """Which engine validates and how much it may hold. On DuckDB: its ``memory_limit``, and the
    folder in which it spills past it (a fresh subfolder per process, removed after; the system's
    temporary folder when ``temp_directory`` is None). On Spark: the master to run on (the
    cluster's own settings bound its memory)."""

    memory_limit: str | None = DEFAULT_MEMORY_LIMIT
    temp_directory: Path | None = None
    threads: int | None = None
    engine: Engine = "duckdb"
    spark_master: str = "local[*]"


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


class DuckDBBackend:
    """DuckDB in this process: temporary tables spill past the memory limit; scans and filters
    keep the file's order, so kept rows stream out in order without a sort."""

    #: Up to this many quarantined rows, kept rows are the typed rows filtered by a list of rows
    #: (a scan keeps the file's order); past it, an anti-join then a sort on the row.
    filter_rows = 50_000
    #: Compiled SQL kept, at most (a table's rules are a handful).
    max_compiled = 64

    def __init__(self, limits: EngineLimits) -> None:
        if limits.temp_directory is not None:
            limits.temp_directory.mkdir(parents=True, exist_ok=True)
        self.spill = Path(tempfile.mkdtemp(prefix="vigie-validate-", dir=limits.temp_directory))  # one per process
        self.con = ibis.duckdb.connect()
        settings = {"temp_directory": str(self.spill)}
        if limits.memory_limit:
            settings["memory_limit"] = limits.memory_limit
        if limits.threads:
            settings["threads"] = str(limits.threads)
        for name, value in settings.items():
            self.con.raw_sql(f"SET {name} = '{value}'")
        self.held: dict[str, str] = {}  # name -> VIEW or TABLE, what this extract put in the engine
        self.compiled: dict[Any, str] = {}  # expression -> its SQL, kept across extracts
        # no progress bar on the console; in Jupyter DuckDB refuses the setting without ipywidgets
        with contextlib.suppress(duckdb.Error):
            self.con.raw_sql("SET enable_progress_bar = false")

    def read_parquet(self, view: str, path: Path) -> ir.Table:
        """A Parquet file where it lies, with each row's position in the file as ``_row``."""
        try:
            self.con.raw_sql(
                f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * EXCLUDE (file_row_number), "
                f"file_row_number AS {ROW} FROM read_parquet('{_quoted(path)}', file_row_number = true)"
            )
        except duckdb.Error as error:
            raise ContractError(f"{path}: not a readable Parquet file ({error}).") from None
        self.held[view] = "VIEW"
        return self.con.table(view)

    def load_arrow(self, view: str, table: pa.Table) -> ir.Table:
        """Rows read outside the engine (a CSV export), copied in."""
        self.con.con.register(f"{view}_arrow", table)
        self.con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT * FROM {view}_arrow")
        self.con.con.unregister(f"{view}_arrow")
        self.held[view] = "TABLE"
        return self.con.table(view)

    def _sql(self, expr: ir.Table) -> str:
        """An expression's SQL, compiled once: the next partition's same rules on same-named
        tables of the same columns are the same expression (compiling was most of the fixed cost
        of a partition)."""
        key = expr.op()
        if key not in self.compiled:
            if len(self.compiled) >= self.max_compiled:  # kept rows filtered by a list of rows are each new
                self.compiled.clear()
            self.compiled[key] = str(self.con.compile(expr))
        return self.compiled[key]

    def materialise(self, name: str, expr: ir.Table) -> ir.Table:
        """Hold an expression's rows in the engine (a temporary table, spilled past the memory limit)."""
        self.con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {name} AS {self._sql(expr)}")
        self.held[name] = "TABLE"
        return self.con.table(name)

    def fetch(self, expr: ir.Table) -> pa.Table:
        """A (small) expression's rows, here."""
        return self.con.con.sql(self._sql(expr)).to_arrow_table()

    def count(self, table: ir.Table) -> int:
        """How many rows a table holds."""
        return int(self.fetch(table.count().as_table()).column(0)[0].as_py())

    def drop(self, name: str) -> None:
        """Forget a held table."""
        self.con.raw_sql(f"DROP TABLE IF EXISTS {name}")
        self.held.pop(name, None)

    def forget_all(self) -> None:
        """Forget every table and view this extract put in the engine (before the next extract)."""
        for name, kind in self.held.items():
            self.con.raw_sql(f"DROP {kind} IF EXISTS {name}")
        self.held.clear()

    def in_file_order(self, kept: ir.Table) -> ir.Table:
        """Kept rows (with ``_row``) without it; DuckDB already keeps them in file order."""
        return kept.drop(ROW)

    def write_parquet(self, expr: ir.Table, path: Path) -> None:
        """Stream an expression's rows to one Parquet file, in order (as Ibis's ``to_parquet``,
        from the SQL compiled once)."""
        self.con.raw_sql(f"COPY ({self._sql(expr)}) TO '{_quoted(path)}' (FORMAT 'parquet')")

    def close(self) -> None:
        """Disconnect and remove the spill folder."""
        self.con.disconnect()
        shutil.rmtree(self.spill, ignore_errors=True)


class SparkBackend:
    """Spark, for a national extract on a cluster: Parquet is read by the executors (row numbers
    from the file's own metadata), rows between tables are checkpointed, and a kept table is
    sorted on its row and written by parts, then joined into one file."""

    #: Kept rows are always an anti-join: a long literal list is a long SQL text for Spark.
    filter_rows = 0

    def __init__(self, limits: EngineLimits) -> None:
        self.session = spark_session(limits.spark_master)
        self.con = ibis.pyspark.connect(self.session)
        self.views: list[str] = []

    def _register(self, view: str, frame: Any) -> ir.Table:
        frame.createOrReplaceTempView(view)
        self.views.append(view)
        return self.con.table(view)

    def read_parquet(self, view: str, path: Path) -> ir.Table:
        """A Parquet file read by Spark, with each row's position in the file as ``_row``."""
        from pyspark.errors import PySparkException

        try:
            frame = self.session.read.parquet(str(path))
            frame = frame.select(*(f"`{col}`" for col in frame.columns), frame["_metadata.row_index"].alias(ROW))
        except PySparkException as error:
            raise ContractError(f"{path}: not a readable Parquet file ({error}).") from None
        return self._register(view, frame)

    def load_arrow(self, view: str, table: pa.Table) -> ir.Table:
        """Rows read outside the engine (a CSV export), copied in."""
        return self._register(view, self.session.createDataFrame(table).localCheckpoint())

    def materialise(self, name: str, expr: ir.Table) -> ir.Table:
        """Hold an expression's rows (checkpointed on the executors: the plan is cut there)."""
        return self._register(name, self.session.sql(str(self.con.compile(expr))).localCheckpoint())

    def fetch(self, expr: ir.Table) -> pa.Table:
        """A (small) expression's rows, here."""
        return expr.to_pyarrow()

    def count(self, table: ir.Table) -> int:
        """How many rows a table holds."""
        return int(table.count().to_pyarrow().as_py())

    def drop(self, name: str) -> None:
        """Forget a held table."""
        self.session.catalog.dropTempView(name)

    def in_file_order(self, kept: ir.Table) -> ir.Table:
        """Kept rows (with ``_row``) sorted on it, then without it: Spark keeps no order by itself."""
        return kept.order_by(ROW).drop(ROW)

    def write_parquet(self, expr: ir.Table, path: Path) -> None:
        """Write an expression's sorted parts, then stream them into one Parquet file."""
        parts = path.with_name(f".{path.name}.parts")
        shutil.rmtree(parts, ignore_errors=True)
        self.con.to_parquet(expr, parts)
        concatenate_parts(sorted(parts.glob("part-*.parquet")), path)
        shutil.rmtree(parts)

    def forget_all(self) -> None:
        """Drop this extract's views (before the next extract)."""
        for view in self.views:
            self.session.catalog.dropTempView(view)
        self.views.clear()

    def close(self) -> None:
        """Drop this validation's views; the session stays for the rest of the process."""
        self.forget_all()


#: Either backend: the validation calls only what both do.
Backend = DuckDBBackend | SparkBackend


def open_backend(limits: EngineLimits) -> Backend:
    """The backend ``limits`` names."""
    if limits.engine == "spark":
        return SparkBackend(limits)
    return DuckDBBackend(limits)
