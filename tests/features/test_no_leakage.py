"""No leakage, ever: rows dated after D never change a feature at D (property-based)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.catalog import FEATURE_NAMES
from features.signals import FeatureConfig, build_features

AS_OF = date(2023, 3, 31)
EVENT_TABLES = {"attendance": "date", "grades": "date", "incidents": "date"}


def _features(extract: Path, out: Path) -> pd.DataFrame:
    build_features(extract, out, FeatureConfig(as_of=[AS_OF], labels_known_until=date(2030, 1, 1)))
    return pd.read_parquet(out / "features.parquet")[["pupil_id", "as_of", *FEATURE_NAMES]]


@pytest.fixture(scope="module")
def baseline(validated: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return _features(validated, tmp_path_factory.mktemp("baseline"))


def _rewrite(path: Path, change: object) -> None:
    table = pq.read_table(path)
    frame = change(table.to_pandas())  # type: ignore[operator]
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), path)


later_days = st.integers(min_value=1, max_value=500)


@st.composite
def future_changes(draw: st.DrawFn) -> list[tuple[str, str, int, int]]:
    """A list of (table, action, seed, days after D) edits, each touching rows dated after D only."""
    actions = st.sampled_from(["add", "remove", "change"])
    tables = st.sampled_from([*EVENT_TABLES, "enrolments"])
    return draw(st.lists(st.tuples(tables, actions, st.integers(0, 2**16), later_days), min_size=1, max_size=4))


def _apply(frame: pd.DataFrame, table: str, action: str, seed: int, days: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    column = EVENT_TABLES.get(table, "entry_date")
    after = frame[column] > AS_OF
    if action == "remove" and after.any():
        drop = frame.index[after][rng.random(int(after.sum())) < 0.5]
        return frame.drop(index=drop)
    if action == "change" and after.any():
        frame = frame.copy()
        target = frame.index[after][: max(1, int(after.sum()) // 3)]
        if table == "attendance":
            frame.loc[target, "justified"] = ~frame.loc[target, "justified"]
        elif table == "grades":
            frame.loc[target, "score"] = 0.0
        elif table == "incidents":
            frame.loc[target, "kind"] = "conseil_discipline"
        else:
            frame.loc[target, "repeating"] = ~frame.loc[target, "repeating"]
        return frame
    # add: copies of earlier rows, moved to a day after D
    new = frame.sample(n=min(len(frame), 25), random_state=seed).copy()
    new[column] = AS_OF + timedelta(days=days)
    if table == "enrolments":
        new["school_year"] = new[column].map(lambda d: d.year if d.month >= 9 else d.year - 1)
        new["exit_date"] = None
    return pd.concat([frame, new], ignore_index=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=future_changes())
def test_rows_after_the_as_of_date_change_nothing_at_it(
    validated: Path,
    baseline: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
    changes: list[tuple[str, str, int, int]],
) -> None:
    work = tmp_path_factory.mktemp("leak")
    copy = work / "extract"
    shutil.copytree(validated, copy)
    for table, action, seed, days in changes:
        _rewrite(copy / f"{table}.parquet", lambda f, t=table, a=action, s=seed, d=days: _apply(f, t, a, s, d))
    pd.testing.assert_frame_equal(_features(copy, work / "out"), baseline)


def test_the_property_can_fail(validated: Path, baseline: pd.DataFrame, tmp_path: Path) -> None:
    """The same edit dated on D itself must change features: the comparison has teeth."""
    copy = tmp_path / "extract"
    shutil.copytree(validated, copy)

    def on_the_day(frame: pd.DataFrame) -> pd.DataFrame:
        new = frame.sample(n=25, random_state=0).copy()
        new["date"], new["kind"], new["justified"], new["half_day"] = AS_OF, "absence", False, "AM"
        return pd.concat([frame, new], ignore_index=True).drop_duplicates(["pupil_id", "date", "half_day", "kind"])

    _rewrite(copy / "attendance.parquet", on_the_day)
    assert not _features(copy, tmp_path / "out").equals(baseline)
