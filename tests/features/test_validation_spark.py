"""The contract's rules are written once (Ibis); DuckDB and Spark must validate alike: the same
report, quarantine and kept tables, row for row, on the corpus of bad inputs (CSV, French
spreadsheet export, Parquet) and on a small synthetic district written to a folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.ingest import validate_extract, validate_to_folder
from features.ingest.validation import EngineLimits, ValidatedExtract
from tests.conftest import read_csv_text
from tests.features.test_validation_engine import BAD_ROWS, _assert_same, write_bad_rows

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPARK = EngineLimits(engine="spark", spark_master="local[2]")


def _both(path: Path) -> tuple[ValidatedExtract, ValidatedExtract]:
    return validate_extract(path, limits=SPARK), validate_extract(path)


def test_every_bad_row_is_reported_alike_on_spark(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    write_bad_rows(path)
    spark, duck = _both(path)
    assert duck.report.rows_quarantined > len(BAD_ROWS)
    _assert_same(spark, duck)


def test_cascade_overlaps_french_export_and_parquet_alike_on_spark(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    pupils = read_csv_text(path / "pupils.csv")
    pupils.loc[3, "sex"] = "?"  # the pupil's rows in every table go too
    pupils.to_csv(path / "pupils.csv", index=False)
    enrolments = read_csv_text(path / "enrolments.csv")
    overlap = enrolments.iloc[[0]].assign(school_id="0750002B")  # same pupil and entry date
    pd.concat([enrolments, overlap], ignore_index=True).to_csv(path / "enrolments.csv", index=False)
    grades = read_csv_text(path / "grades.csv")
    grades["score"] = grades["score"].str.replace(".", ",", regex=False)
    grades["date"] = pd.to_datetime(grades["date"]).dt.strftime("%d/%m/%Y")
    grades.loc[1, "date"] = "31/02/2023"
    grades.to_csv(path / "grades.csv", index=False, sep=";", encoding="cp1252")
    attendance = read_csv_text(path / "attendance.csv")
    attendance.loc[2, "pupil_id"] = "0" * 20
    attendance["date"] = pd.to_datetime(attendance["date"])
    attendance["justified"] = attendance["justified"].map({"true": True, "false": False})
    attendance.to_parquet(path / "attendance.parquet", index=False, row_group_size=500)  # several parts
    (path / "attendance.csv").unlink()
    spark, duck = _both(path)
    assert duck.report.tables["attendance"].rows_quarantined > 1
    assert duck.report.tables["grades"].rows_quarantined > 0
    _assert_same(spark, duck)


def test_a_district_written_by_spark_is_the_one_duckdb_writes(extract: Path, tmp_path: Path) -> None:
    """Through the command a user runs: ``vigie validate --engine spark``."""
    from typer.testing import CliRunner

    from vigie.cli import app

    duck = validate_to_folder(extract, tmp_path / "duckdb")
    command = ["validate", str(extract), "--out", str(tmp_path / "spark"), "--engine", "spark",
               "--spark-master", "local[2]", "--json"]  # fmt: skip
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    spark = json.loads((tmp_path / "spark" / "validation_report.json").read_text())
    assert spark == json.loads(duck.to_json())
    for name in duck.tables:
        written = pq.read_table(tmp_path / "spark" / f"{name}.parquet")
        expected = pq.read_table(tmp_path / "duckdb" / f"{name}.parquet")
        assert written.num_rows == expected.num_rows > 0
        assert [(f.name, f.type) for f in written.schema] == [(f.name, f.type) for f in expected.schema], name
        assert written.cast(expected.schema).equals(expected), name  # row for row, in file order
    assert sorted(p.name for p in (tmp_path / "spark").rglob("*")) == sorted(
        p.name for p in (tmp_path / "duckdb").rglob("*")
    )
