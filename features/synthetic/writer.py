"""Streaming writer of the raw synthetic extract: one table file, appended year by year."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
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
#: Per table, the date a row becomes known: rows after the extract date are not in the extract.
_DATED_BY = {
    "enrolments": "entry_date",
    "attendance": "date",
    "grades": "date",
    "incidents": "date",
    "outcomes": "event_date",
}
_CSV_OPTIONS = pacsv.WriteOptions(
    quoting_style="none", quoting_header="none"
)  # our values hold no separator; pyarrow fails loudly if one does


class ExtractWriter:
    """Appends batches to each table's file; call :meth:`close` to finish the files.

    With ``extract_date``, writes what an extract taken that day holds: rows dated after it
    are left out and an exit after it is not known yet (empty).
    """

    def __init__(self, out_dir: Path, fmt: Format, extract_date: date | None = None) -> None:
        self.out_dir, self.fmt, self.extract_date = out_dir, fmt, extract_date
        out_dir.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, pq.ParquetWriter | pacsv.CSVWriter] = {}
        self.rows: dict[str, int] = {}

    def path(self, table: str) -> Path:
        """The file of ``table`` in the extract folder."""
        return self.out_dir / f"{table}.{self.fmt}"

    def write(self, table: str, columns: Mapping[str, Any]) -> None:
        """Append ``columns`` to ``table``'s file in the contract's raw schema, leaving out what an extract taken on the
        extract date would not hold yet."""
        schema = RAW_SCHEMAS[table]
        batch = pa.table(
            [pa.array(columns[f.name], type=f.type, from_pandas=True) for f in schema], schema=schema
        )  # from_pandas: NaN is written as an empty cell
        if self.extract_date is not None and table in _DATED_BY:
            batch = self._as_known_on(table, batch, pa.scalar(self.extract_date, pa.date32()))
        if table not in self._writers:
            self._writers[table] = (
                pq.ParquetWriter(self.path(table), batch.schema, compression="zstd")
                if self.fmt == "parquet"
                else pacsv.CSVWriter(self.path(table), batch.schema, write_options=_CSV_OPTIONS)
            )
        self._writers[table].write_table(batch)
        self.rows[table] = self.rows.get(table, 0) + batch.num_rows

    @staticmethod
    def _as_known_on(table: str, batch: pa.Table, day: pa.Scalar) -> pa.Table:
        batch = batch.filter(pc.less_equal(batch[_DATED_BY[table]], day))
        if table == "enrolments":
            exit_ = batch["exit_date"]
            known = pc.if_else(pc.greater(exit_, day), pa.scalar(None, pa.date32()), exit_)
            batch = batch.set_column(batch.schema.get_field_index("exit_date"), "exit_date", known)
        return batch

    def close(self) -> None:
        """Close every open file (a Parquet file is unreadable until closed)."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
