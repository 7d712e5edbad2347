"""The engine's validation (Ibis on DuckDB) against the former pandas path, on a corpus of bad
inputs: the same report, the same quarantine and the same kept tables, row for row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.ingest import validate_extract, validate_to_folder
from features.ingest.pandas_reference import validate_extract_pandas
from features.ingest.validation import EngineLimits, ValidatedExtract
from tests.conftest import TEST_GRADES, append_rows, read_csv_text

TODAY = date.today()

#: One bad row per rule (the cases of test_validation.py), all in one extract.
BAD_ROWS: list[tuple[str, dict[str, str]]] = [
    ("grades", {"score": "douze"}),
    ("grades", {"score": "25", "max_score": "20"}),
    ("grades", {"score": "-1"}),
    ("grades", {"max_score": "0", "coefficient": "-2"}),
    ("grades", {"coefficient": ""}),
    ("grades", {"score": "12,5"}),
    ("grades", {"date": "2015-03-02"}),
    ("attendance", {"date": (TODAY + timedelta(days=30)).isoformat()}),
    ("attendance", {"date": "2021-02-30"}),
    ("attendance", {"half_day": "SOIR", "kind": "absent"}),
    ("attendance", {"justified": "peut-être"}),
    ("attendance", {"justified": "oui"}),
    ("attendance", {"pupil_id": "0" * 20}),
    ("attendance", {"date": "2015-03-02"}),
    ("attendance", {"pupil_id": "1234567890A"}),
    ("attendance", {"pupil_id": ""}),
    ("enrolments", {"scholarship": "9"}),
    ("enrolments", {"scholarship": "2.5"}),
    ("enrolments", {"grade_level": "5EME"}),
    ("enrolments", {"school_id": "0750001A"}),
    ("enrolments", {"school_year": "2022", "entry_date": "2022-08-15"}),
    ("enrolments", {"exit_date": "2020-01-01"}),
    ("enrolments", {"priority_education": ""}),
    ("enrolments", {"repeating": "peut-être", "school_year": "1985"}),
    ("incidents", {"kind": "bagarre"}),
    ("incidents", {"date": "2010-01-04"}),
    ("pupils", {"sex": "X"}),
    ("pupils", {"birth_month": "2009-13"}),
    ("pupils", {"birth_month": "1970-01"}),
    ("outcomes", {"event_date": "2001-01-01"}),
    ("calendar", {"start_date": "2023-05-01", "end_date": "2023-04-01"}),
]


def _row_of(path: Path, table: str, overrides: dict[str, str], index: int = 0) -> dict[str, str]:
    row = read_csv_text(path / f"{table}.csv").iloc[index]
    return {**{str(k): str(v) for k, v in row.items()}, **overrides}


def _assert_same(new: ValidatedExtract, old: ValidatedExtract) -> None:
    assert new.report.to_json() == old.report.to_json()
    assert set(new.tables) == set(old.tables) and set(new.quarantine) == set(old.quarantine)
    for name, kept in old.tables.items():
        pd.testing.assert_frame_equal(new.tables[name], kept, obj=f"kept {name}")
    for name, quarantined in old.quarantine.items():
        if len(quarantined) or len(new.quarantine[name]):
            pd.testing.assert_frame_equal(
                new.quarantine[name].reset_index(drop=True),
                quarantined.reset_index(drop=True),
                check_dtype=False,
                obj=f"quarantine {name}",
            )


def _both(path: Path, *, require_outcomes: bool = True) -> tuple[ValidatedExtract, ValidatedExtract]:
    return (
        validate_extract(path, require_outcomes=require_outcomes),
        validate_extract_pandas(path, require_outcomes=require_outcomes),
    )


def write_bad_rows(path: Path) -> None:
    """The corpus of bad inputs: each of BAD_ROWS appended, and a duplicate of an earlier row per table."""
    for table, overrides in BAD_ROWS:
        append_rows(path / f"{table}.csv", [_row_of(path, table, overrides)])
    for table in ("attendance", "enrolments", "pupils", "outcomes"):  # duplicates of an earlier row
        append_rows(path / f"{table}.csv", [_row_of(path, table, {}, 3)])


def test_every_bad_row_is_reported_alike(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    write_bad_rows(path)
    new, old = _both(path)
    assert old.report.rows_quarantined > len(BAD_ROWS)
    _assert_same(new, old)


def test_cascade_overlaps_and_french_export_alike(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    pupils = read_csv_text(path / "pupils.csv")
    pupils.loc[3, "sex"] = "?"  # the pupil's rows in every table go too
    pupils.to_csv(path / "pupils.csv", index=False)
    enrolments = read_csv_text(path / "enrolments.csv")
    overlap = enrolments.iloc[[0]].assign(school_id="0750002B")  # same pupil and entry date
    enrolments = pd.concat([enrolments, overlap], ignore_index=True).drop(columns=["allophone"], errors="ignore")
    enrolments.to_csv(path / "enrolments.csv", index=False)
    grades = read_csv_text(path / "grades.csv")
    grades.loc[0, "subject"] = "FRANÇAIS"
    grades["score"] = grades["score"].str.replace(".", ",", regex=False)
    grades["date"] = pd.to_datetime(grades["date"]).dt.strftime("%d/%m/%Y")
    grades["comment"] = "x"
    grades.to_csv(path / "grades.csv", index=False, sep=";", encoding="cp1252")
    new, old = _both(path)
    assert old.report.tables["attendance"].rows_quarantined > 0
    _assert_same(new, old)


def test_parquet_extract_alike(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    for table in ("attendance", "grades", "enrolments"):
        frame = read_csv_text(path / f"{table}.csv")
        frame.loc[2, "pupil_id"] = "0" * 20
        if table == "attendance":
            frame["date"] = pd.to_datetime(frame["date"])
            frame["justified"] = frame["justified"].map({"true": True, "false": False})
        if table == "grades":
            frame["score"] = pd.to_numeric(frame["score"])
            frame.loc[4, "score"] = -3.0
            frame.loc[5, "score"] = float("nan")
        frame.to_parquet(path / f"{table}.parquet", index=False)
        (path / f"{table}.csv").unlink()
    new, old = _both(path)
    _assert_same(new, old)


def test_injected_errors_alike(tmp_path: Path, key_file: Path) -> None:
    from features.ingest import pseudonymise_extract
    from features.synthetic import SynthConfig, synthesise

    config = SynthConfig(pupils=300, seed=5, first_year=2021, last_year=2022, inject_errors=30,
                         grades_per_subject=TEST_GRADES)  # fmt: skip
    synthesise(config, tmp_path / "raw")
    pseudonymise_extract(tmp_path / "raw", tmp_path / "extract", key_file=key_file)
    new, old = _both(tmp_path / "extract", require_outcomes=False)
    assert old.report.rows_quarantined >= 30
    _assert_same(new, old)


def test_written_folder_holds_the_kept_tables_typed(extract: Path, tmp_path: Path) -> None:
    report = validate_to_folder(extract, tmp_path / "out", limits=EngineLimits(memory_limit="200MB", threads=1))
    old = validate_extract_pandas(extract)
    assert report.to_json() == old.report.to_json()
    for name, kept in old.tables.items():
        written = pq.read_table(tmp_path / "out" / f"{name}.parquet")
        assert written.num_rows == len(kept)
        assert written.column_names == list(kept.columns)
        assert written.column("pupil_id" if "pupil_id" in kept else "label").to_pylist() == [
            None if pd.isna(v) else v for v in kept["pupil_id" if "pupil_id" in kept else "label"]
        ]


@pytest.mark.parametrize("memory_limit", ["100MB"])
def test_a_small_memory_limit_gives_the_same_result(extract: Path, memory_limit: str) -> None:
    new = validate_extract(extract, limits=EngineLimits(memory_limit=memory_limit, threads=1))
    _assert_same(new, validate_extract_pandas(extract))
