"""Feature snapshots: population, labels, separation of audit attributes, an independent oracle."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from features.catalog import AUDIT_COLUMNS, FEATURE_NAMES
from features.signals import AsOfSchedule, FeatureConfig, build_features, load_feature_config
from features.signals.pandas_reference import SIGNALS, reference_signals
from vigie.cli import app

AS_OF = [date(2022, 12, 15), date(2023, 3, 31), date(2023, 6, 15)]


def build(validated: Path, out: Path, as_of: list[date] = AS_OF, **config: object) -> pd.DataFrame:
    build_features(validated, out, FeatureConfig.model_validate({"as_of": as_of, **config}))
    return pd.read_parquet(out / "features.parquet")


@pytest.fixture(scope="module")
def snapshots(validated: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return build(validated, tmp_path_factory.mktemp("features"))


def _enrolled(validated: Path, day: date) -> set[str]:
    e = pd.read_parquet(validated / "enrolments.parquet")
    end = pd.to_datetime((e["school_year"] + 1).astype(str) + "-09-01").dt.date
    exit_ = e["exit_date"].where(e["exit_date"].notna(), end)
    return set(e.loc[(e["entry_date"] <= day) & (pd.Series(exit_) > day), "pupil_id"])


def test_one_row_per_pupil_enrolled_on_each_date(validated: Path, snapshots: pd.DataFrame) -> None:
    assert not snapshots.duplicated(["pupil_id", "as_of"]).any()
    for day in AS_OF:
        rows = snapshots[snapshots["as_of"] == pd.Timestamp(day).date()]
        assert set(rows["pupil_id"]) == _enrolled(validated, day)


def test_pupil_who_left_before_the_date_is_not_in_the_snapshot(validated: Path, tmp_path: Path) -> None:
    e = pd.read_parquet(validated / "enrolments.parquet")
    leavers = e[e["exit_date"].notna() & (e["school_year"] == 2022)]
    row = leavers.iloc[0]
    left = row["exit_date"]
    frame = build(validated, tmp_path, [left - timedelta(days=1), left])
    on_eve = frame[frame["as_of"] == left - timedelta(days=1)]
    on_day = frame[frame["as_of"] == left]
    assert row["pupil_id"] in set(on_eve["pupil_id"])
    still_enrolled = e[
        (e["pupil_id"] == row["pupil_id"]) & (e["entry_date"] <= left) & (e["entry_date"] > row["entry_date"])
    ]
    assert (row["pupil_id"] in set(on_day["pupil_id"])) == (len(still_enrolled) > 0)


def test_sensitive_attributes_live_only_in_the_audit_table(
    snapshots: pd.DataFrame, tmp_path: Path, validated: Path
) -> None:
    assert not set(AUDIT_COLUMNS) & set(snapshots.columns)
    assert not set(AUDIT_COLUMNS) & set(FEATURE_NAMES)
    build(validated, tmp_path)
    audit = pd.read_parquet(tmp_path / "audit.parquet")
    assert set(AUDIT_COLUMNS) <= set(audit.columns)
    pd.testing.assert_frame_equal(audit[["pupil_id", "as_of"]], snapshots[["pupil_id", "as_of"]])


def test_every_catalogued_feature_is_built_and_described(
    snapshots: pd.DataFrame, tmp_path: Path, validated: Path
) -> None:
    assert [c for c in snapshots.columns if c in FEATURE_NAMES] == list(FEATURE_NAMES)
    build(validated, tmp_path)
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert [f["name"] for f in metadata["features"]] == list(FEATURE_NAMES)
    assert metadata["as_of_dates"] == [d.isoformat() for d in AS_OF]
    assert metadata["engine"] == "duckdb" and len(metadata["input_hash"]) == 16 and metadata["config_hash"]
    assert all(f["label_fr"] and f["meaning"] for f in metadata["features"])


def test_agrees_with_an_independent_pandas_implementation(validated: Path, snapshots: pd.DataFrame) -> None:
    reference = reference_signals(validated, AS_OF)
    ours = snapshots[["pupil_id", "as_of", *SIGNALS]].assign(as_of=lambda f: pd.to_datetime(f["as_of"]))
    merged = ours.merge(reference, on=["pupil_id", "as_of"], suffixes=("", "_ref"), validate="one_to_one")
    assert len(merged) == len(ours) == len(reference)
    for signal in SIGNALS:
        np.testing.assert_allclose(merged[signal].astype(float), merged[f"{signal}_ref"].astype(float), rtol=1e-12)
    assert merged["unjustified_absence_rate_4w"].gt(0).mean() > 0.2  # the comparison is not vacuous
    assert merged["grade_mean_previous_year"].notna().mean() > 0.5  # nor for the year before (read in the window)
    assert merged["unjustified_absences_previous_year"].gt(0).mean() > 0.2


def _with_outcome(validated: Path, tmp_path: Path, pupil: str, event: date | None) -> Path:
    copy = tmp_path / "extract"
    shutil.copytree(validated, copy)
    outcomes = pq.read_table(copy / "outcomes.parquet")
    frame = outcomes.to_pandas()
    frame = frame[frame["pupil_id"] != pupil]
    if event is not None:
        frame = pd.concat([frame, pd.DataFrame({"pupil_id": [pupil], "event_date": [event]})])
    pq.write_table(pa.Table.from_pandas(frame, schema=outcomes.schema, preserve_index=False), copy / "outcomes.parquet")
    return copy


@pytest.mark.parametrize(("offset", "label"), [(0, 0), (1, 1), (365, 1), (366, 0)])
def test_label_counts_only_events_in_the_open_closed_horizon(
    validated: Path, snapshots: pd.DataFrame, tmp_path: Path, offset: int, label: int
) -> None:
    day = AS_OF[0]
    pupil = snapshots.loc[(snapshots["as_of"] == day) & (snapshots["label"] == 0), "pupil_id"].iloc[0]
    copy = _with_outcome(validated, tmp_path, pupil, day + timedelta(days=offset))
    frame = build(copy, tmp_path / "out", [day], labels_known_until=date(2030, 1, 1))
    assert frame.loc[frame["pupil_id"] == pupil, "label"].item() == label


def test_no_label_until_the_horizon_has_closed(validated: Path, snapshots: pd.DataFrame, tmp_path: Path) -> None:
    day = AS_OF[0]
    positives = snapshots.loc[(snapshots["as_of"] == day) & (snapshots["label"] == 1), "pupil_id"]
    assert len(positives) > 0
    frame = build(validated, tmp_path, [day], labels_known_until=day + timedelta(days=364))
    assert frame["label"].isna().all()
    assert frame.loc[frame["pupil_id"].isin(positives), "event_date"].notna().all()


def test_schedule_and_config_validation(tmp_path: Path) -> None:
    schedule = AsOfSchedule(from_year=2019)
    assert schedule.dates(date(2019, 9, 1), date(2020, 6, 14)) == [date(2019, 12, 15), date(2020, 3, 31)]
    config_file = tmp_path / "f.yaml"
    config_file.write_text("schedule:\n  from_year: 2019\nhorizon_days: 180\n")
    config = load_feature_config(config_file, {"horizon_days": 90})
    assert config.horizon_days == 90 and config.schedule is not None
    config_file.write_text("schedule:\n  from_year: 2019\nhorizon: 180\n")
    with pytest.raises(ValueError, match=r"f\.yaml: invalid feature config: horizon: Extra inputs"):
        load_feature_config(config_file)
    with pytest.raises(ValueError, match="as-of dates"):
        load_feature_config(None, {})


def test_cli_features_needs_a_validated_extract(extract: Path, validated: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["features", "--data", str(extract), "--out", str(tmp_path), "--as-of", "2022-12-15"])
    assert refused.exit_code == 2 and "run 'vigie validate' first" in refused.output
    done = runner.invoke(
        app, ["features", "--data", str(validated), "--out", str(tmp_path / "f"), "--as-of", "2022-12-15,2023-03-31"]
    )
    assert done.exit_code == 0, done.output
    assert pd.read_parquet(tmp_path / "f" / "features.parquet")["as_of"].nunique() == 2


OPTIONAL_PARTS = {
    "allophone column": ("enrolments.csv", "allophone"),
    "coefficient column": ("grades.csv", "coefficient"),
    "incidents table": ("incidents.csv", None),
    "calendar table": ("calendar.csv", None),
    "attendance rows (header only, as in OULAD)": ("attendance.csv", ""),
}


@pytest.mark.parametrize("part", list(OPTIONAL_PARTS))
def test_an_extract_without_an_optional_part_builds_features(
    part: str, extract_copy: Callable[[], Path], snapshots: pd.DataFrame, tmp_path: Path
) -> None:
    """The contract marks these optional: validation accepts the extract, so features must too."""
    from features.ingest import validate_extract, write_validated

    path = extract_copy()
    file, column = OPTIONAL_PARTS[part]
    if column is None:
        (path / file).unlink()
    elif column == "":
        frame = pd.read_csv(path / file, dtype=str, keep_default_na=False)
        frame.head(0).to_csv(path / file, index=False)
    else:
        frame = pd.read_csv(path / file, dtype=str, keep_default_na=False)
        frame.drop(columns=[column]).to_csv(path / file, index=False)
    write_validated(validate_extract(path), tmp_path / "validated")
    dates = ",".join(d.isoformat() for d in AS_OF)
    args = ["features", "--data", str(tmp_path / "validated"), "--out", str(tmp_path / "f"), "--as-of", dates]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    built = pd.read_parquet(tmp_path / "f" / "features.parquet")
    assert len(built) == len(snapshots)
    if part == "incidents table":
        assert (built["incidents_year"] == 0).all()
    if part == "coefficient column":  # every grade weighs 1: the year mean is the plain mean
        assert built["grade_mean_year"].notna().sum() == snapshots["grade_mean_year"].notna().sum()
    if part.startswith("attendance rows"):
        assert (built["unjustified_absence_rate_year"].fillna(0) == 0).all()
    if part == "allophone column":
        assert pd.read_parquet(tmp_path / "f" / "audit.parquet")["allophone"].isna().all()


def test_metadata_is_typed_and_version_checked(validated: Path, tmp_path: Path) -> None:
    from features.ingest import ContractError
    from features.signals import read_metadata

    build(validated, tmp_path)
    metadata = read_metadata(tmp_path)
    assert metadata.purpose == "training" and metadata.as_of_dates == AS_OF
    assert metadata.per_as_of[AS_OF[0]].rows > 0 and metadata.config.horizon_days == 365
    old = json.loads((tmp_path / "metadata.json").read_text())
    del old["metadata_version"]  # what the previous Vigie wrote
    (tmp_path / "metadata.json").write_text(json.dumps(old))
    with pytest.raises(ContractError, match="feature metadata version 1, this Vigie reads version 2"):
        read_metadata(tmp_path)


def test_the_feature_stage_loads_validation_only_when_asked() -> None:
    """Features, scoring and the service never validate: pandera (and the pyspark pandas API it
    pulls in) stays unloaded until a validation name is used, which then still resolves."""
    import subprocess
    import sys

    probe = (
        "import sys, features.signals; before = 'pandera' in sys.modules; "
        "from features.ingest import validate_extract; "
        "print(before, 'pandera' in sys.modules, validate_extract.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["False", "True", "features.ingest.validation"]
