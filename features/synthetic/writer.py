"""Streaming writer of the raw synthetic extract: one table file, appended year by year."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

RAW_SCHEMAS: dict[str, pa.Schema] = {
    "pupils": pa.schema(
        [
            ("ine", pa.string()),
            ("last_name", pa.string()),
            ("first_name", pa.string()),
            ("birth_date", pa.date32()),
            ("sex", pa.string()),
        ]
    ),
    "enrolments": pa.schema(
        [
            ("ine", pa.string()),
            ("school_year", pa.int32()),
            ("school_id", pa.string()),
            ("grade_level", pa.string()),
            ("repeating", pa.bool_()),
            ("entry_date", pa.date32()),
            ("exit_date", pa.date32()),
            ("scholarship", pa.int32()),
            ("disability_plan", pa.string()),
            ("priority_education", pa.string()),
            ("allophone", pa.bool_()),
        ]
    ),
    "attendance": pa.schema(
        [
            ("ine", pa.string()),
            ("date", pa.date32()),
            ("half_day", pa.string()),
            ("kind", pa.string()),
            ("justified", pa.bool_()),
        ]
    ),
    "grades": pa.schema(
        [
            ("ine", pa.string()),
            ("date", pa.date32()),
            ("subject", pa.string()),
            ("score", pa.float64()),
            ("max_score", pa.float64()),
            ("coefficient", pa.float64()),
        ]
    ),
    "incidents": pa.schema([("ine", pa.string()), ("date", pa.date32()), ("kind", pa.string())]),
    "outcomes": pa.schema([("ine", pa.string()), ("event_date", pa.date32())]),
    "calendar": pa.schema([("start_date", pa.date32()), ("end_date", pa.date32()), ("label", pa.string())]),
}

Format = Literal["csv", "parquet"]
_CSV_OPTIONS = pacsv.WriteOptions(
    quoting_style="none", quoting_header="none"
)  # our values hold no separator; pyarrow fails loudly if one does


class ExtractWriter:
    """Appends batches to each table's file; call :meth:`close` to finish the files."""

    def __init__(self, out_dir: Path, fmt: Format) -> None:
        self.out_dir, self.fmt = out_dir, fmt
        out_dir.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, pq.ParquetWriter | pacsv.CSVWriter] = {}
        self.rows: dict[str, int] = {}

    def path(self, table: str) -> Path:
        return self.out_dir / f"{table}.{self.fmt}"

    def write(self, table: str, columns: Mapping[str, Any]) -> None:
        schema = RAW_SCHEMAS[table]
        batch = pa.table(
            [pa.array(columns[f.name], type=f.type, from_pandas=True) for f in schema], schema=schema
        )  # from_pandas: NaN is written as an empty cell
        if table not in self._writers:
            self._writers[table] = (
                pq.ParquetWriter(self.path(table), batch.schema, compression="zstd")
                if self.fmt == "parquet"
                else pacsv.CSVWriter(self.path(table), batch.schema, write_options=_CSV_OPTIONS)
            )
        self._writers[table].write_table(batch)
        self.rows[table] = self.rows.get(table, 0) + batch.num_rows

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
