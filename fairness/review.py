"""An audit from end to end: snapshots and their risk in, a verdict, a report and its MLflow
record out. Training calls :func:`review_snapshots` on its test fold (through the CLI, which
hands it over); ``vigie audit`` calls :func:`audit_extract` on an extract at a date."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from fairness.audit import AuditResult, audit_predictions
from fairness.config import FairnessConfig
from fairness.gate import FairnessVerdict, fairness_gate
from fairness.groups import audit_groups
from fairness.mitigation import MitigationResult, compare_mitigations
from fairness.report import summary_lines, write_report
from features.ingest import ContractError
from features.school import SNAPSHOT_KEY
from features.signals import AUDIT_TABLE
from models.fairness_summary import AuditFigures, FairnessSummary, GateOutcome
from models.objections import Objections
from models.operating_point import OperatingPoint
from models.paths import Paths
from models.registry import LoadedModel

log = logging.getLogger(__name__)
KEYS = list(SNAPSHOT_KEY)


@dataclass
class ReviewContext:
    """What the report says it is about: the model, the as-of dates audited, the data hash, whether the data is
    synthetic, and when it was made."""

    model: str
    as_of: list[str]
    data_hash: str
    synthetic: bool
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class FairnessReview:
    """A fairness review as training and ``vigie audit`` hand it on: the audit, the gate's verdict on it, the mitigation
    trade-offs, and the context, config and operating point it was made at."""

    audit: AuditResult
    verdict: FairnessVerdict
    mitigation: MitigationResult | None
    context: ReviewContext
    config: FairnessConfig
    #: The operating point audited: the model's, with ``--capacity`` recorded as an override.
    operating_point: OperatingPoint = field(default_factory=OperatingPoint)

    @property
    def passed(self) -> bool:
        """Whether the audit passed its tolerances (what the promotion gate reads)."""
        return self.verdict.passed

    @property
    def detail(self) -> str:
        """The verdict in one French sentence, for the gate's report."""
        return self.verdict.detail

    def summary_lines(self) -> list[str]:
        """The audit in a few French sentences, for the model card."""
        return summary_lines(self)

    def write(self, folder: Path, model: str | None = None) -> list[Path]:
        """report.html (self-contained) and report.json; ``model`` names the registered version."""
        if model is not None:
            self.context.model = model
        return write_report(self, folder)

    def summary(self) -> FairnessSummary:
        """The typed summary published with the model version (``fairness_report.json``)."""
        return FairnessSummary(
            model=self.context.model,
            as_of=self.context.as_of,
            data_hash=self.context.data_hash,
            synthetic_data=self.context.synthetic,
            generated_at=self.context.generated_at.isoformat(timespec="seconds"),
            config=self.config.model_dump(mode="json"),
            operating_point=self.operating_point,
            gate=GateOutcome(passed=self.verdict.passed, judged=self.verdict.judged, breaches=self.verdict.breaches),
            audit=AuditFigures.model_validate(self.audit.as_dict()),
            mitigation=self.mitigation.as_dict() if self.mitigation else None,
        )


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(as_of=pd.to_datetime(frame["as_of"]).dt.date)


def attach_audit(snapshots: pd.DataFrame, audit: pd.DataFrame) -> pd.DataFrame:
    """The audit table's rows for the given snapshots, in their order (keys: pupil, as-of date)."""
    keys = _dated(snapshots[KEYS].reset_index(drop=True))
    joined = keys.merge(_dated(audit), on=KEYS, how="left", validate="one_to_one")
    if joined["sex"].isna().any():
        raise ContractError(f"{int(joined['sex'].isna().sum())} snapshots have no row in the audit table.")
    return joined


def _mitigated_attribute(result: AuditResult, config: FairnessConfig) -> str | None:
    """The judged attribute with the widest equalized-odds gap: where a mitigation would aim."""
    gaps = {}
    for audit in result.attributes:
        estimate = audit.disparities.get("equalized_odds_difference")
        if audit.attribute in config.gate.attributes and estimate is not None:
            gaps[audit.attribute] = estimate.value or 0.0
    return max(gaps, key=lambda k: gaps[k]) if gaps else None


def review_snapshots(
    snapshots: pd.DataFrame,
    risk: np.ndarray,
    audit: pd.DataFrame,
    config: FairnessConfig,
    context: ReviewContext,
    point: OperatingPoint | None = None,
) -> FairnessReview:
    """Audit labelled snapshots (pupil_id, as_of, label, track) scored with ``risk``, at the
    model's operating ``point`` (the default point when none is given)."""
    config, audited = config.at(point or OperatingPoint())
    labelled = snapshots["label"].notna().to_numpy()
    if not labelled.all():
        raise ContractError(
            "the audit needs outcomes: the label horizon of some snapshots has not closed "
            f"({int((~labelled).sum())} of {len(snapshots)})."
        )
    frame = snapshots.reset_index(drop=True)
    groups = audit_groups(attach_audit(frame, audit), frame["track"].astype(str))
    y = frame["label"].to_numpy(dtype=int)
    as_of = pd.to_datetime(frame["as_of"]).to_numpy()
    pupils = frame["pupil_id"].to_numpy()
    result = audit_predictions(y, risk, as_of, pupils, groups, config)
    verdict = fairness_gate(result, config.gate)
    mitigation = None
    target = _mitigated_attribute(result, config) if config.mitigation else None
    if target is not None:
        mitigation = compare_mitigations(y, risk, as_of, pupils, groups[target], seed=config.seed)
    log.info("fairness audit: %s", verdict.detail)
    return FairnessReview(result, verdict, mitigation, context, config, audited)


def fold_audit_check(
    feature_folder: Path, config: FairnessConfig, *, data_hash: str, synthetic: bool
) -> Callable[[pd.DataFrame, np.ndarray, OperatingPoint], FairnessReview]:
    """The audit training runs on its test fold, at the operating point it decided, reading the
    feature folder's audit table."""
    audit = pd.read_parquet(feature_folder / AUDIT_TABLE)

    def check(test: pd.DataFrame, risk: np.ndarray, point: OperatingPoint) -> FairnessReview:
        dates = sorted({str(d)[:10] for d in test["as_of"]})
        context = ReviewContext("candidat", dates, data_hash, synthetic)
        return review_snapshots(test, risk, audit, config, context, point)

    return check


def audit_extract(
    extract: Path,
    as_of: date,
    model: LoadedModel,
    config: FairnessConfig,
    *,
    work_dir: Path,
    synthetic: bool = False,
    objections: Objections | None = None,
) -> FairnessReview:
    """Features of a validated extract at ``as_of``, built with the model's own feature config
    (its horizon gives the labels, which need that horizon closed), scored by the model; the
    objected pupils (GDPR art. 21) left out."""
    folder = Paths(work_dir).audit_features(as_of)
    built = model.build_features(extract, folder, [as_of])
    frame = (objections or Objections()).drop(pd.read_parquet(built.features))
    context = ReviewContext(model.label, [as_of.isoformat()], built.metadata.input_hash, synthetic)
    audit = pd.read_parquet(folder / AUDIT_TABLE)
    return review_snapshots(frame, model.risk(frame), audit, config, context, model.operating_point)


def log_review(paths: list[Path], review: FairnessReview, name: str, version: str) -> str:
    """Attach the report to the model version's run and tag the version with the verdict."""
    client = MlflowClient()
    run_id = str(client.get_model_version(name, version).run_id)
    folder = "fairness/" + "_".join(review.context.as_of)
    for path in paths:
        client.log_artifact(run_id, str(path), folder)
    client.set_model_version_tag(name, version, "fairness_audit", "passed" if review.passed else "failed")
    client.set_model_version_tag(name, version, "fairness_audit_as_of", ",".join(review.context.as_of))
    return f"{mlflow.get_tracking_uri()} run {run_id}, {folder}/"
