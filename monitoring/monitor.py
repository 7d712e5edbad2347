"""``vigie monitor`` from end to end: the serving version's training snapshots (reference)
against a score batch (current), overall, per school and per audit group; then the past
batches whose outcomes are now known; alerts and a verdict.

The score batches come from the caller (the CLI reads them from the service's score history):
monitoring knows the model and the features, not where the service keeps its files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fairness.config import FairnessConfig
from fairness.groups import audit_groups
from fairness.review import attach_audit
from features import french
from features.ingest import ContractError
from features.school import SNAPSHOT_KEY
from features.signals import AUDIT_TABLE
from models.objections import Objections
from models.operating_point import OperatingPoint
from models.registry import LoadedModel, TrainingRecord
from monitoring.alerts import Alert, drift_alerts, outcome_alerts, slice_alerts
from monitoring.config import MonitoringConfig
from monitoring.drift import OverallDrift, SliceDrift, alerting, correct, overall_drift, slice_drift
from monitoring.judgements import Disagreement, disagreement, disagreement_alerts
from monitoring.outcomes import OutcomeCheck, check_outcomes

if TYPE_CHECKING:
    from evidently.core.report import Snapshot

log = logging.getLogger(__name__)
KEYS = list(SNAPSHOT_KEY)


@dataclass(frozen=True)
class ScoredBatch:
    """A score batch as the service keeps it: scores and the model inputs they were computed on;
    and what the service's database holds about it when it is monitored: the standing objections
    (GDPR art. 21: their pupils are left out of every comparison, the training snapshots
    included) and the staff's latest judgement on each flag they judged (AI Act art. 14)."""

    as_of: date
    model_version: str
    scores: pd.DataFrame  # pupil_id, school_id, risk, tier
    inputs: pd.DataFrame  # pupil_id and the model's features
    objections: Objections = field(default_factory=Objections)
    judgements: pd.DataFrame | None = None  # pupil_id, tier, verdict (models.judgements.read_judgements)


@dataclass(frozen=True)
class Snapshots:
    """Rows to compare: keys, school, the model's inputs, its risk; the audit groups beside them
    (same order), for slicing only."""

    frame: pd.DataFrame
    groups: pd.DataFrame


@dataclass
class MonitoringResult:
    """Everything ``vigie monitor`` found for one batch: drift overall and by slice, the check of past outcomes, the
    alerts, and the Evidently snapshot behind them."""

    as_of: date
    model: str
    reference_dates: list[date]
    drift: OverallDrift
    schools: list[SliceDrift]
    groups: list[SliceDrift]
    outcomes: OutcomeCheck | None
    outcome_note: str
    alerts: list[Alert]
    snapshot: Snapshot
    config: MonitoringConfig
    #: The serving version's operating point: its horizon and the capacity of its tiers.
    operating_point: OperatingPoint
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: How often staff overruled the batch's flags (None: the batch came without judgements).
    disagreement: Disagreement | None = None

    @property
    def alerted(self) -> bool:
        """Whether any alert fired (the verdict ``alert`` rather than ``ok``)."""
        return bool(self.alerts)


def reference_dates(train_dates: list[date], as_of: date, same_season: bool) -> list[date]:
    """The training dates on the batch's day of the year if there are some, else all of them."""
    same = [d for d in train_dates if (d.month, d.day) == (as_of.month, as_of.day)]
    return sorted(same if same_season and same else train_dates)


def _groups(frame: pd.DataFrame, audit: pd.DataFrame) -> pd.DataFrame:
    return audit_groups(attach_audit(frame, audit), frame["track"].astype(str)).reset_index(drop=True)


def reference_snapshots(
    extract: Path, model: LoadedModel, dates: list[date], work_dir: Path, objections: Objections | None = None
) -> Snapshots:
    """The version's training snapshots at ``dates``, rebuilt from the extract with its own
    feature config (features at D use rows dated <= D only, so later rows change nothing), scored;
    the objected pupils left out."""
    folder = work_dir / "reference"
    model.build_features(extract, folder, dates)
    frame = (objections or Objections()).drop(pd.read_parquet(folder / "features.parquet"))
    frame["risk"] = model.risk(frame)
    return Snapshots(frame, _groups(frame, pd.read_parquet(folder / AUDIT_TABLE)))


def current_snapshots(extract: Path, model: LoadedModel, batch: ScoredBatch, work_dir: Path) -> Snapshots:
    """The batch's own inputs and risks; its audit groups from the extract at the batch's date."""
    folder = work_dir / "current"
    model.build_features(extract, folder, [batch.as_of])
    scores, inputs = batch.objections.drop(batch.scores), batch.objections.drop(batch.inputs)
    frame = inputs.merge(scores[["pupil_id", "school_id", "risk"]], on="pupil_id", how="inner",
                         suffixes=("_input", ""), validate="one_to_one")  # fmt: skip
    frame = frame.drop(columns=[c for c in frame.columns if c.endswith("_input")])
    if len(frame) != len(scores):
        raise ContractError(f"batch of {batch.as_of}: {len(scores) - len(frame)} scores have no model inputs.")
    frame.insert(1, "as_of", batch.as_of)
    return Snapshots(frame, _groups(frame, pd.read_parquet(folder / AUDIT_TABLE)))


def compare(
    reference: Snapshots, current: Snapshots, features: list[str], config: MonitoringConfig
) -> tuple[OverallDrift, list[SliceDrift], list[SliceDrift], Snapshot]:
    """Overall drift (Evidently report), then each school and each audit group against itself."""
    drift, snapshot = overall_drift(reference.frame, current.frame, features, config.drift)
    schools = slice_drift(reference.frame, current.frame, reference.frame["school_id"].astype(str),
                          current.frame["school_id"].astype(str), "school", config.slices)  # fmt: skip
    groups: list[SliceDrift] = []
    for attribute in config.slices.attributes:
        if attribute in current.groups.columns:
            groups += slice_drift(reference.frame, current.frame, reference.groups[attribute].astype(str),
                                  current.groups[attribute].astype(str), attribute, config.slices)  # fmt: skip
    correct(schools + groups, config.slices)  # one Bonferroni correction over every slice test
    return drift, schools, groups, snapshot


def past_outcomes(
    extract: Path,
    model: LoadedModel,
    past: list[ScoredBatch],
    record: TrainingRecord,
    *,
    config: MonitoringConfig,
    fairness: FairnessConfig,
    work_dir: Path,
) -> tuple[OutcomeCheck | None, str]:
    """The past batches whose horizon has closed, with their outcomes; None (and why) if none."""
    if not past:
        return None, "aucun lot antérieur de cette version"
    folder = work_dir / "outcomes"
    built = model.build_features(extract, folder, [b.as_of for b in past])
    labels = pd.read_parquet(folder / "features.parquet", columns=["pupil_id", "as_of", "track", "label", "event_date"])
    labels["as_of"] = pd.to_datetime(labels["as_of"]).dt.date
    known = labels.groupby("as_of")["label"].apply(lambda s: bool(s.notna().all()))
    closed = [b for b in past if bool(known.get(b.as_of, False))]
    if not closed:
        until = built.metadata.labels_known_until
        return None, f"aucun lot dont l'horizon est clos (résultats connus jusqu'au {french.day(until)})"
    scores = pd.concat([b.objections.drop(b.scores)[["pupil_id", "risk"]].assign(as_of=b.as_of) for b in closed],
                       ignore_index=True)  # fmt: skip
    frame = scores.merge(labels, on=KEYS, how="inner", validate="one_to_one")
    audit = pd.read_parquet(folder / AUDIT_TABLE)
    label = model.label
    check = check_outcomes(
        frame, frame["risk"].to_numpy(), audit, record, config.outcomes,
        fairness=fairness, model_label=label, model_point=model.operating_point,
    )  # fmt: skip
    return check, f"{len(closed)} lot(s) dont les résultats sont connus"


def monitor(
    extract: Path,
    model: LoadedModel,
    record: TrainingRecord,
    batch: ScoredBatch,
    past: list[ScoredBatch],
    *,
    config: MonitoringConfig,
    fairness: FairnessConfig,
    work_dir: Path,
) -> MonitoringResult:
    """Everything ``vigie monitor`` checks for one batch, with the alerts that fire."""
    dates = reference_dates(record.folds["train"], batch.as_of, config.drift.same_season)
    if not dates:
        raise ContractError(f"{model.label}: its training run names no training dates.")
    reference = reference_snapshots(extract, model, dates, work_dir, batch.objections)
    current = current_snapshots(extract, model, batch, work_dir)
    features = list(model.estimator.feature_names_in_)
    drift, schools, groups, snapshot = compare(reference, current, features, config)
    outcomes, note = past_outcomes(extract, model, past, record, config=config, fairness=fairness, work_dir=work_dir)
    alerts = drift_alerts(drift, config) + slice_alerts(alerting(schools + groups, config.slices), config)
    if outcomes is not None:
        alerts += outcome_alerts(outcomes, config)
    judged = None
    if batch.judgements is not None:
        judged = disagreement(batch.judgements, current.frame, current.groups, config)
        alerts += disagreement_alerts(judged, config)
    log.info("monitoring %s at %s: %d alert(s)", model.label, batch.as_of, len(alerts))
    return MonitoringResult(
        batch.as_of, model.label, dates, drift, schools, groups, outcomes, note, alerts, snapshot, config,
        model.operating_point, disagreement=judged,
    )  # fmt: skip


def summary(result: MonitoringResult) -> dict[str, Any]:
    """The verdict as JSON for machines (the Evidently JSON holds the per-column details)."""
    return {
        "as_of": result.as_of.isoformat(),
        "model": result.model,
        "generated_at": result.generated_at.isoformat(timespec="seconds"),
        "reference_dates": [d.isoformat() for d in result.reference_dates],
        "verdict": "alert" if result.alerted else "ok",
        "alerts": [a.__dict__ for a in result.alerts],
        "drift": result.drift.as_dict(),
        "schools": [s.__dict__ | {"drifted": s.drifted_columns} for s in result.schools],
        "groups": [s.__dict__ | {"drifted": s.drifted_columns} for s in result.groups],
        "outcomes": result.outcomes.as_dict() if result.outcomes else None,
        "outcomes_note": result.outcome_note,
        "config": result.config.model_dump(mode="json"),
        "operating_point": result.operating_point.model_dump(mode="json"),
        "staff_judgements": result.disagreement.as_dict() if result.disagreement else None,
    }
