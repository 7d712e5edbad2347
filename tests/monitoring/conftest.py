"""Monitoring on the synthetic district: the served district's champion, its validated extract,
and a helper that scores a batch of a (possibly altered) copy of the extract and monitors it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from fairness.config import FairnessConfig
from models.registry import LoadedModel, TrainingRecord, load_registered, training_record
from monitoring import MonitoringConfig, MonitoringResult, ScoredBatch, monitor_extract
from serving.batch import TierConfig, score_extract
from tests.serving.conftest import ServedDistrict, _tracking_store, served_district  # noqa: F401 - fixtures

#: The batch monitored (school year 2023-2024), a date after the training snapshots.
CURRENT = date(2024, 3, 31)
#: Changes of recording start here: after training, inside the batch's school year.
CHANGE_FROM = date(2024, 1, 8)
#: A past batch whose horizon (365 days) has closed: outcomes are known to 2024-10-15.
PAST = date(2023, 6, 15)


@dataclass(frozen=True)
class Monitored:
    district: ServedDistrict
    model: LoadedModel
    record: TrainingRecord
    validated: Path


@pytest.fixture(scope="session")
def monitored(served_district: ServedDistrict) -> Monitored:  # noqa: F811 - the imported fixture
    model = load_registered("vigie-dropout", "champion")
    validated = served_district.names_dir.parent / "validated"
    return Monitored(served_district, model, training_record(model.run_id), validated)


def altered_copy(monitored: Monitored, folder: Path, alter: Callable[[Path], None] | None = None) -> Path:
    """A copy of the validated extract, changed by ``alter`` (which edits its Parquet tables)."""
    target = folder / "validated"
    shutil.copytree(monitored.validated, target)
    if alter is not None:
        alter(target)
    return target


def scored(monitored: Monitored, extract: Path, as_of: date, work: Path) -> ScoredBatch:
    batch = score_extract(extract, as_of, monitored.model, TierConfig(), work_dir=work)
    scores = batch.scores.select(["pupil_id", "school_id", "grade_level", "risk", "tier"]).to_pandas()
    assert batch.inputs is not None
    return ScoredBatch(as_of, monitored.model.label, scores, batch.inputs)


def run_monitor(
    monitored: Monitored,
    extract: Path,
    work: Path,
    *,
    past: list[ScoredBatch] | None = None,
    current: ScoredBatch | None = None,
) -> MonitoringResult:
    batch = current or scored(monitored, extract, CURRENT, work)
    return monitor_extract(extract, monitored.model, monitored.record, batch, past or [], config=MonitoringConfig(),
                           fairness=FairnessConfig(), work_dir=work / "monitoring")  # fmt: skip


def enrolled_schools(extract: Path, school_year: int) -> pd.DataFrame:
    enrolments = pd.read_parquet(extract / "enrolments.parquet")
    return enrolments[enrolments["school_year"] == school_year].drop_duplicates("pupil_id")
