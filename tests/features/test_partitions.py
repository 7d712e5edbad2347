"""A national extract in partitions: written, pseudonymised, validated and featurised one
partition at a time, with the same results as the same rows in one extract."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.ingest import TABLES, ContractError, find_partitions, pseudonymise_extract, validate_to_folder
from features.signals import FeatureConfig, build_features
from features.signals.build import input_hash
from features.synthetic import SynthConfig, synthesise_partitioned
from tests.conftest import TEST_GRADES

EXTRACT_DATE = date(2024, 11, 15)
NATIONAL = SynthConfig(
    pupils=1500,
    seed=4,
    first_year=2022,
    last_year=2024,
    format="parquet",
    grades_per_subject=TEST_GRADES,
    extract_date=EXTRACT_DATE,
)
AS_OF = [date(2023, 12, 15), date(2024, 3, 31), EXTRACT_DATE]


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory, key_file: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("national")
    synthesise_partitioned(NATIONAL, root / "raw", 3, jobs=2)
    pseudonymise_extract(root / "raw", root / "extract", key_file=key_file, jobs=2)
    validate_to_folder(root / "extract", root / "validated", reference_date=date(2024, 11, 20), jobs=2)
    return {"root": root, "raw": root / "raw", "extract": root / "extract", "validated": root / "validated"}


def _rows(folder: Path, table: str) -> pd.DataFrame:
    return duckdb.connect().execute(f"SELECT * FROM read_parquet('{folder}/*/{table}.parquet', filename = true)").df()


def test_one_folder_per_departement_whose_code_starts_every_uai(national: dict[str, Path]) -> None:
    parts = find_partitions(national["raw"])
    assert [p.name for p in parts] == ["departement=001", "departement=002", "departement=003"]
    enrolments = _rows(national["raw"], "enrolments")
    code = enrolments["filename"].str.extract(r"departement=(\d{3})")[0]
    assert (enrolments["school_id"].str[:3] == code).all()
    pupils = _rows(national["raw"], "pupils")
    # the pupils the simulation chose, less those arriving after the extract was taken
    assert 0.99 * NATIONAL.pupils <= len(pupils) <= NATIONAL.pupils
    assert set(pupils["ine"]) == set(enrolments["ine"])
    assert pupils["ine"].is_unique  # one INE sequence, disjoint ranges


def test_an_extract_taken_on_a_day_holds_nothing_after_it(national: dict[str, Path]) -> None:
    day = pd.Timestamp(EXTRACT_DATE)
    for table, column in (
        ("attendance", "date"),
        ("grades", "date"),
        ("incidents", "date"),
        ("outcomes", "event_date"),
    ):
        assert (pd.to_datetime(_rows(national["raw"], table)[column]) <= day).all(), table
    enrolments = _rows(national["raw"], "enrolments")
    assert (pd.to_datetime(enrolments["entry_date"]) <= day).all()
    exits = pd.to_datetime(enrolments["exit_date"]).dropna()
    assert (exits <= day).all()
    # pupils still enrolled on that day: the current year's enrolments with an exit not known yet
    assert enrolments.loc[enrolments["school_year"] == 2024, "exit_date"].isna().mean() > 0.9


def test_counts_reconcile_summed_over_partitions(national: dict[str, Path]) -> None:
    import json

    report = json.loads((national["validated"] / "validation_report.json").read_text())
    for name in ("pupils", "enrolments", "attendance", "grades", "outcomes"):
        table = report["tables"][name]
        read = len(_rows(national["extract"], name))
        kept = len(_rows(national["validated"], name))
        assert table["rows_read"] == read == table["rows_kept"] + table["rows_quarantined"]
        assert table["rows_kept"] == kept and table["reconciled"], name


def test_a_bad_row_in_one_partition_is_named_with_its_partition(national: dict[str, Path], tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    shutil.copytree(national["extract"], extract)
    grades_file = extract / "departement=002" / "grades.parquet"
    grades = pq.read_table(grades_file)
    scores = grades["score"].to_pylist()
    scores[4] = 99.0
    pq.write_table(grades.set_column(grades.schema.get_field_index("score"), "score", pa.array(scores)), grades_file)
    report = validate_to_folder(extract, tmp_path / "validated", reference_date=date(2024, 11, 20))
    assert report.tables["grades"].rows_quarantined == 1
    [example] = report.tables["grades"].examples
    assert (example.file, example.row, example.column) == ("departement=002/grades.parquet", 5, "score")
    assert report.tables["grades"].reconciled


def test_workers_that_keep_their_engine_across_partitions_validate_as_one_process(
    national: dict[str, Path], tmp_path: Path
) -> None:
    """Two workers on three partitions: one validates two in the same engine, with the rules it
    built for the first; bad rows in both of its partitions are found as in one process."""
    extract = tmp_path / "extract"
    shutil.copytree(national["extract"], extract)
    for part, row in (("departement=001", 2), ("departement=003", 7)):
        grades_file = extract / part / "grades.parquet"
        grades = pq.read_table(grades_file)
        ids = grades["pupil_id"].to_pylist()
        ids[row] = "not-a-pseudonym"
        pq.write_table(
            grades.set_column(grades.schema.get_field_index("pupil_id"), "pupil_id", pa.array(ids)), grades_file
        )
    reports = {
        jobs: validate_to_folder(extract, tmp_path / f"jobs{jobs}", reference_date=date(2024, 11, 20), jobs=jobs)
        for jobs in (1, 2)
    }
    assert reports[1].to_json() == reports[2].to_json()
    grades = reports[2].tables["grades"]
    assert grades.rows_quarantined == 2 and grades.reconciled
    assert grades.issues == {
        "date: not in a school year the pupil is enrolled": 2,
        "pupil_id: not a 20-character hex pseudonym": 2,
        "pupil_id: unknown pupil (not in pupils)": 2,
    }
    for part in ("departement=001", "departement=002", "departement=003"):
        for table in ("pupils", "grades", "attendance"):
            one = pq.read_table(tmp_path / "jobs1" / part / f"{table}.parquet")
            assert one.equals(pq.read_table(tmp_path / "jobs2" / part / f"{table}.parquet")), (part, table)


def test_a_pupil_in_two_partitions_stops_validation(national: dict[str, Path], tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    shutil.copytree(national["extract"], extract)
    stray = pq.read_table(extract / "departement=001" / "pupils.parquet").slice(0, 1)
    other = extract / "departement=003" / "pupils.parquet"
    pq.write_table(pa.concat_tables([pq.read_table(other), stray.cast(pq.read_schema(other))]), other)
    pupil = stray["pupil_id"][0].as_py()
    with pytest.raises(ContractError, match=f"1 pupil.*{pupil} in departement=001, departement=003"):
        validate_to_folder(extract, tmp_path / "validated", reference_date=date(2024, 11, 20))


def test_partition_by_partition_features_equal_the_features_of_one_extract(
    national: dict[str, Path], key_file: Path, tmp_path: Path
) -> None:
    """Every row of a pupil lives in one partition: building partition by partition changes nothing."""
    whole = tmp_path / "raw"
    whole.mkdir()
    for name in TABLES:
        files = sorted(national["raw"].glob(f"*/{name}.parquet"))
        if not files:
            continue
        tables = [pq.read_table(f) for f in files]
        merged = tables[0] if name == "calendar" else pa.concat_tables(tables)  # one zone: the same calendar
        pq.write_table(merged, whole / f"{name}.parquet")
    pseudonymise_extract(whole, tmp_path / "extract", key_file=key_file)
    validate_to_folder(tmp_path / "extract", tmp_path / "validated", reference_date=date(2024, 11, 20))
    config = FeatureConfig(as_of=AS_OF)
    one = build_features(tmp_path / "validated", tmp_path / "one", config)
    parts = build_features(national["validated"], tmp_path / "parts", config)
    assert parts.rows == one.rows > 1000
    keys = ["pupil_id", "as_of"]
    for table in ("features.parquet", "audit.parquet"):
        expected = pd.read_parquet(tmp_path / "one" / table).sort_values(keys).reset_index(drop=True)
        got = pd.read_parquet(tmp_path / "parts" / table).sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
    assert parts.metadata.per_as_of == one.metadata.per_as_of
    assert parts.metadata.labels_known_until == one.metadata.labels_known_until == EXTRACT_DATE
    assert not (tmp_path / "parts" / ".partitions").exists()
    assert parts.metadata.input_hash == input_hash(national["validated"]) != one.metadata.input_hash


def test_revalidating_into_the_same_folder_drops_partitions_the_extract_no_longer_has(
    national: dict[str, Path], tmp_path: Path
) -> None:
    extract, out = tmp_path / "extract", tmp_path / "validated"
    shutil.copytree(national["extract"], extract)
    validate_to_folder(extract, out, reference_date=date(2024, 11, 20))
    shutil.rmtree(extract / "departement=003")
    report = validate_to_folder(extract, out, reference_date=date(2024, 11, 20))
    assert [p.name for p in find_partitions(out)] == ["departement=001", "departement=002"]
    assert report.tables["pupils"].rows_kept == len(_rows(out, "pupils"))


def test_the_departements_ine_ranges_never_meet() -> None:
    """INE numbers are ``position * M + offset mod 10**10``, a bijection on positions below
    10**10: every département's range lies below it, and the product is exact past 64 bits."""
    import numpy as np

    from features.synthetic import DEPARTEMENTS
    from features.synthetic.generator import _INE_STEP, _identifiers
    from features.synthetic.partitioned import partition_configs

    configs = list(partition_configs(SynthConfig(pupils=len(DEPARTEMENTS) * 100), len(DEPARTEMENTS)).values())
    starts = [c.first_pupil for c in configs]
    room = starts[1] - starts[0]
    assert starts == sorted(starts) and starts[-1] + room <= 10**10
    last = configs[-1]
    assert last.ine_offset is not None
    drawn = _identifiers(np.random.default_rng(last.seed), 1000, last)[0]
    exact = [f"{((last.first_pupil + i) * _INE_STEP + last.ine_offset) % 10**10:010d}" for i in range(1000)]
    assert [ine[:10] for ine in drawn] == exact
