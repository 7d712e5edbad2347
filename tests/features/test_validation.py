"""Every contract rule, with a bad-input case; counts always reconcile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from features.ingest import ContractError, ValidatedExtract, validate_extract, write_validated
from tests.conftest import TEST_GRADES, append_rows, read_csv_text

TODAY = date.today()


def _row_of(path: Path, table: str, **overrides: str) -> dict[str, str]:
    row = read_csv_text(path / f"{table}.csv").iloc[0]
    return {**{str(k): str(v) for k, v in row.items()}, **overrides}


def _violations(result: ValidatedExtract, table: str, row: int) -> set[str]:
    quarantine = result.quarantine[table]
    reasons = quarantine.loc[quarantine["source_row"] == row, "quarantine_reasons"]
    assert len(reasons) == 1, f"row {row} of {table} was not quarantined"
    return set(reasons.iloc[0].split("; "))


def _assert_reconciled(result: ValidatedExtract) -> None:
    for name, table in result.report.tables.items():
        assert table.rows_read == table.rows_kept + table.rows_quarantined, name
        assert len(result.tables[name]) == table.rows_kept
        assert len(result.quarantine[name]) == table.rows_quarantined


def test_clean_synthetic_extract_keeps_every_row(extract: Path) -> None:
    result = validate_extract(extract)
    _assert_reconciled(result)
    assert result.report.rows_quarantined == 0
    assert set(result.tables) == {"pupils", "enrolments", "attendance", "grades", "incidents", "outcomes", "calendar"}
    grades = result.tables["grades"]
    assert grades["score"].dtype == "float64" and (grades["coefficient"] > 0).all()
    assert str(result.tables["attendance"]["date"].dtype).startswith("datetime64")


@pytest.mark.parametrize(
    ("table", "overrides", "expected"),
    [
        ("grades", {"score": "douze"}, "score: not a number"),
        ("grades", {"score": "25", "max_score": "20"}, "score: above max_score"),
        ("grades", {"score": "-1"}, "score: negative"),
        ("attendance", {"date": (TODAY + timedelta(days=30)).isoformat()}, "date: in the future"),
        ("attendance", {"date": "2021-02-30"}, "date: not a date YYYY-MM-DD"),
        ("attendance", {"half_day": "SOIR"}, "half_day: not one of AM, PM"),
        ("attendance", {"justified": "peut-être"}, "justified: not true or false"),
        ("attendance", {"pupil_id": "0" * 20}, "pupil_id: unknown pupil (not in pupils)"),
        ("attendance", {"date": "2015-03-02"}, "date: outside every enrolment period of the pupil"),
        ("attendance", {"pupil_id": "1234567890A"}, "pupil_id: not a 20-character hex pseudonym"),
        ("enrolments", {"scholarship": "9"}, "scholarship: outside 0..6"),
        ("enrolments", {"grade_level": "5EME"}, "grade_level: not one of"),
        ("enrolments", {"school_id": "0750001A"}, "school_id: not a UAI (7 digits and key letter)"),
        ("enrolments", {"school_year": "2022", "entry_date": "2022-08-15"}, "entry_date: outside the school year"),
        ("enrolments", {"exit_date": "2020-01-01"}, "exit_date: not after entry_date within the school year"),
        ("enrolments", {"priority_education": ""}, "priority_education: missing value"),
        ("incidents", {"kind": "bagarre"}, "kind: not one of"),
        ("pupils", {"sex": "X"}, "sex: not one of F, M"),
        ("pupils", {"birth_month": "2009-13"}, "birth_month: not a month YYYY-MM"),
    ],
)
def test_each_rule_quarantines_a_bad_row(
    extract_copy: Callable[[], Path], table: str, overrides: dict[str, str], expected: str
) -> None:
    path = extract_copy()
    row = append_rows(path / f"{table}.csv", [_row_of(path, table, **overrides)])
    result = validate_extract(path)
    _assert_reconciled(result)
    reasons = _violations(result, table, row)
    assert any(r.startswith(expected) for r in reasons), reasons
    example = next(v for v in result.report.tables[table].examples if v.row == row)
    assert example.file == f"{table}.csv"
    assert str(example).startswith(f"{table}.csv, row {row}, column ")


def test_duplicate_row_quarantines_the_repeat_only(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    original = {str(k): str(v) for k, v in read_csv_text(path / "attendance.csv").iloc[5].items()}
    row = append_rows(path / "attendance.csv", [original])
    result = validate_extract(path)
    assert _violations(result, "attendance", row) == {"pupil_id, date, half_day, kind: duplicate of an earlier row"}
    assert result.report.tables["attendance"].rows_quarantined == 1


def test_quarantined_pupil_cascades_to_its_rows(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    pupils = read_csv_text(path / "pupils.csv")
    victim = pupils.loc[3, "pupil_id"]
    pupils.loc[3, "sex"] = "?"
    pupils.to_csv(path / "pupils.csv", index=False)
    result = validate_extract(path)
    _assert_reconciled(result)
    own_rows = (read_csv_text(path / "attendance.csv")["pupil_id"] == victim).sum()
    assert result.report.tables["attendance"].rows_quarantined == own_rows > 0
    assert victim not in set(result.tables["attendance"]["pupil_id"])


def test_french_spreadsheet_export_is_read_and_reported(extract_copy: Callable[[], Path], extract: Path) -> None:
    path = extract_copy()
    grades = read_csv_text(path / "grades.csv")
    grades.loc[0, "subject"] = "FRANÇAIS"
    grades.loc[0, "score"] = "12.5"
    grades["score"] = grades["score"].str.replace(".", ",", regex=False)
    grades["date"] = pd.to_datetime(grades["date"]).dt.strftime("%d/%m/%Y")
    grades.to_csv(path / "grades.csv", index=False, sep=";", encoding="cp1252")
    result = validate_extract(path)
    report = result.report.tables["grades"]
    assert report.rows_quarantined == 0
    assert "read as CSV, encoding cp1252, separator ';'" in report.notes
    assert "decimal comma in score" in report.notes and "dates as DD/MM/YYYY in date" in report.notes
    kept = result.tables["grades"]
    assert kept.loc[0, "subject"] == "FRANÇAIS" and kept.loc[0, "score"] == 12.5
    reference = validate_extract(extract).tables["grades"]
    pd.testing.assert_series_equal(kept["score"].iloc[1:], reference["score"].iloc[1:])
    pd.testing.assert_series_equal(kept["date"], reference["date"])


def test_latin1_without_cp1252_bytes_is_detected(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    calendar = read_csv_text(path / "calendar.csv")
    calendar.to_csv(path / "calendar.csv", index=False, sep=";", encoding="latin-1")
    report = validate_extract(path).report.tables["calendar"]
    assert report.rows_quarantined == 0
    assert report.notes[0] == "read as CSV, encoding cp1252, separator ';'"  # cp1252 decodes latin-1 text


def test_missing_required_column_stops(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    read_csv_text(path / "grades.csv").drop(columns=["score"]).to_csv(path / "grades.csv", index=False)
    with pytest.raises(ContractError, match=r"grades\.csv: required column\(s\) score missing"):
        validate_extract(path)


def test_missing_required_table_stops(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    (path / "attendance.csv").unlink()
    with pytest.raises(ContractError, match="required table 'attendance' missing"):
        validate_extract(path)


def test_missing_outcomes_is_allowed_for_scoring(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    (path / "outcomes.csv").unlink()
    with pytest.raises(ContractError, match="outcomes"):
        validate_extract(path)
    result = validate_extract(path, require_outcomes=False)
    assert "no outcomes table" in result.report.warnings[0]


def test_raw_identifiers_are_refused(raw_extract: Path) -> None:
    with pytest.raises(ContractError, match=r"raw identifying column.*ine.*pseudonymise"):
        validate_extract(raw_extract)


def test_extra_columns_are_ignored_with_a_warning(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    incidents = read_csv_text(path / "incidents.csv")
    incidents["comment"] = "x"
    incidents.to_csv(path / "incidents.csv", index=False)
    result = validate_extract(path)
    assert "extra column(s) ignored: comment" in result.report.tables["incidents"].notes
    assert "comment" not in result.tables["incidents"].columns


def test_injected_errors_are_all_quarantined_and_written(tmp_path: Path, key_file: Path) -> None:
    from features.ingest import pseudonymise_extract
    from features.synthetic import SynthConfig, synthesise

    config = SynthConfig(pupils=300, seed=3, first_year=2022, last_year=2022, inject_errors=12,
                         grades_per_subject=TEST_GRADES)  # fmt: skip
    synthesise(config, tmp_path / "raw")
    pseudonymise_extract(tmp_path / "raw", tmp_path / "extract", key_file=key_file)
    result = validate_extract(tmp_path / "extract")
    _assert_reconciled(result)
    # Each injected error is one bad row (a duplicate pair has one good original).
    assert result.report.rows_quarantined == 12
    written = write_validated(result, tmp_path / "validated")
    for table, frame in result.quarantine.items():
        if len(frame):
            on_disk = pd.read_csv(written[f"quarantine/{table}"], dtype=str, keep_default_na=False)
            assert len(on_disk) == len(frame)
            assert (on_disk["quarantine_reasons"] != "").all()
            source = read_csv_text(tmp_path / "extract" / f"{table}.csv")
            rows = on_disk["source_row"].astype(int) - 1
            assert (source.loc[rows, "pupil_id"].to_numpy() == on_disk["pupil_id"].to_numpy()).all()
    kept = pd.read_parquet(written["attendance"])
    assert len(kept) == result.report.tables["attendance"].rows_kept
    assert str(kept["date"].dtype).startswith("datetime64") or kept["date"].dtype == object


@pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["zero-bytes", "blank-lines"])
def test_empty_table_file_is_a_structural_error_naming_the_file(
    extract_copy: Callable[[], Path], content: bytes
) -> None:
    path = extract_copy()
    (path / "attendance.csv").write_bytes(content)
    with pytest.raises(ContractError, match=r"attendance\.csv: (the file is empty|no header row)"):
        validate_extract(path)


def test_unreadable_parquet_is_a_structural_error_naming_the_file(extract_copy: Callable[[], Path]) -> None:
    path = extract_copy()
    (path / "grades.csv").unlink()
    (path / "grades.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ContractError, match=r"grades\.parquet: not a readable Parquet file"):
        validate_extract(path)
