"""The synthetic district is reproducible and realistic enough to learn from."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from features.ingest import LYCEE_PRO_LEVELS
from features.synthetic import SynthConfig, synthesise
from tests.conftest import TEST_GRADES


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


def test_same_seed_same_extract_other_seed_other_extract(tmp_path: Path) -> None:
    config = SynthConfig(pupils=300, seed=11, first_year=2022, last_year=2023, grades_per_subject=TEST_GRADES)
    synthesise(config, tmp_path / "a")
    synthesise(config, tmp_path / "b")
    synthesise(
        SynthConfig(pupils=300, seed=12, first_year=2022, last_year=2023, grades_per_subject=TEST_GRADES),
        tmp_path / "c",
    )
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["attendance.csv"] != _digest(tmp_path / "c")["attendance.csv"]


def test_exact_pupil_count_and_parquet_output(tmp_path: Path) -> None:
    summary = synthesise(SynthConfig(pupils=1234, seed=1, first_year=2023, last_year=2023, format="parquet"), tmp_path)
    assert summary.pupils == summary.rows["pupils"] == 1234
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{t}.parquet" for t in ("pupils", "enrolments", "attendance", "grades", "incidents", "outcomes", "calendar")
    )


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, duckdb.DuckDBPyConnection]:
    out = tmp_path_factory.mktemp("district")
    summary = synthesise(
        SynthConfig(pupils=8000, seed=5, first_year=2019, last_year=2023, grades_per_subject=TEST_GRADES), out
    )
    assert summary.positive_rate
    con = duckdb.connect()
    for table in ("pupils", "enrolments", "attendance", "outcomes"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_csv_auto('{out / table}.csv')")
    return out, con


def test_about_two_percent_drop_out_within_a_year(district: tuple[Path, duckdb.DuckDBPyConnection]) -> None:
    _, con = district
    rate = con.execute(
        """SELECT avg((o.event_date IS NOT NULL)::int) FROM enrolments e
           LEFT JOIN outcomes o ON o.ine = e.ine AND o.event_date > DATE '2021-12-15'
                AND o.event_date <= DATE '2021-12-15' + INTERVAL 365 DAY
           WHERE e.entry_date <= DATE '2021-12-15' AND coalesce(e.exit_date, DATE '2022-09-01') > DATE '2021-12-15'"""
    ).fetchone()[0]  # type: ignore[index]
    assert 0.012 < rate < 0.03


def test_dropouts_are_over_16_and_concentrated_in_vocational_tracks(
    district: tuple[Path, duckdb.DuckDBPyConnection],
) -> None:
    _, con = district
    age, vocational = con.execute(
        f"""SELECT avg((date_diff('year', p.birth_date, o.event_date) >= 16)::int),
                   avg((e.grade_level IN {tuple(LYCEE_PRO_LEVELS)})::int)
            FROM outcomes o JOIN pupils p USING (ine)
            JOIN enrolments e ON e.ine = o.ine AND e.entry_date < o.event_date
                 AND e.school_year = (SELECT max(school_year) FROM enrolments x WHERE x.ine = o.ine)"""
    ).fetchone()  # type: ignore[misc]
    share_vocational = con.execute(
        f"SELECT avg((grade_level IN {tuple(LYCEE_PRO_LEVELS)})::int) FROM enrolments"
    ).fetchone()[0]  # type: ignore[index]
    assert age > 0.9
    assert vocational > 2 * share_vocational


def test_unjustified_absence_rises_months_before_a_dropout(district: tuple[Path, duckdb.DuckDBPyConnection]) -> None:
    _, con = district
    early, late, others = con.execute(
        """WITH d AS (SELECT ine, event_date FROM outcomes WHERE month(event_date) BETWEEN 3 AND 6),
           u AS (SELECT * FROM attendance WHERE kind = 'absence' AND NOT justified)
           SELECT
             (SELECT count(*) FROM u JOIN d USING (ine) WHERE u.date BETWEEN d.event_date - 180 AND d.event_date - 91)
               / (SELECT count(*) FROM d),
             (SELECT count(*) FROM u JOIN d USING (ine) WHERE u.date BETWEEN d.event_date - 90 AND d.event_date - 1)
               / (SELECT count(*) FROM d),
             (SELECT count(*) FROM u WHERE ine NOT IN (SELECT ine FROM outcomes) AND month(date) IN (1, 2, 3))
               / (SELECT count(DISTINCT ine) FROM enrolments WHERE ine NOT IN (SELECT ine FROM outcomes)) / 5"""
    ).fetchone()  # type: ignore[misc]
    assert late > 1.5 * early > 3 * others


def test_all_kinds_of_school_and_priority_education(district: tuple[Path, duckdb.DuckDBPyConnection]) -> None:
    _, con = district
    levels = {r[0] for r in con.execute("SELECT DISTINCT grade_level FROM enrolments").fetchall()}
    assert {"6E", "3E", "2NDE", "TLE", "CAP1", "2PRO", "TPRO"} <= levels
    priority = {r[0] for r in con.execute("SELECT DISTINCT priority_education FROM enrolments").fetchall()}
    assert priority == {"none", "REP", "REP+"}
    moves, mid_year, repeats = con.execute(
        """SELECT (SELECT count(*) FROM (SELECT ine, school_year FROM enrolments GROUP BY ALL HAVING count(*) > 1)),
                  (SELECT count(*) FROM enrolments WHERE month(entry_date) <> 9),
                  (SELECT avg(CASE WHEN repeating THEN 1 ELSE 0 END) FROM enrolments)"""
    ).fetchone()  # type: ignore[misc]
    assert moves > 0 and mid_year > moves and 0.01 < repeats < 0.08


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="The 'pupils' parameter of SynthConfig must be at least 50"):
        SynthConfig(pupils=3)


def test_the_default_grade_density_is_realistic(tmp_path: Path) -> None:
    """150 to 250 grades per pupil and year, as a collège or lycée pupil collects (issue 14)."""
    summary = synthesise(SynthConfig(pupils=400, seed=2, first_year=2022, last_year=2022, format="parquet"), tmp_path)
    grades = pd.read_parquet(tmp_path / "grades.parquet")
    per_pupil = grades.groupby("ine").size()
    full_year = per_pupil[per_pupil > per_pupil.quantile(0.25)]  # leave out pupils who came or left mid-year
    assert 150 <= full_year.median() <= 250, full_year.describe()
    assert summary.rows["grades"] == len(grades)
