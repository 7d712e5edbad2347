"""What the registry holds about one model version, read once for the documents made from it.

The public notice of the algorithm (``serving/notice.py``, CRPA L312-1-3) and the deployment
dossier (``serving/dossier.py``, AI Act art. 11, 13, 27 and Annex IV; GDPR art. 35) print the
version's figures: they take them from here, as MLflow holds them (the training run's metrics,
its newest fairness audit, its monitoring verdicts), never recomputed, so that a document and
the registry cannot disagree. Reading needs no model: no estimator is loaded.
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, Literal

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pydantic import BaseModel, ConfigDict

from features import french
from features.ingest import ContractError
from features.signals import FeatureMetadata
from models.fairness_summary import FAIRNESS_REPORT_ARTIFACT, FairnessSummary, parse_fairness_summary
from models.operating_point import OperatingPoint
from models.registry import (
    ModelNotFoundError,
    TrainingSplit,
    feature_metadata_of_run,
    operating_point_of_run,
    training_split,
)

log = logging.getLogger(__name__)

#: Where ``vigie monitor`` logs its files on the version's run (``monitoring/as_of=D/``) and the
#: name of its verdict: written by ``monitoring/report.py``, read here.
MONITORING_ARTIFACTS: Final = "monitoring"
MONITORING_VERDICT: Final = "monitoring.json"
#: Every figure of the test fold sits under ``test.<ranker>.<metric>`` in the run's metrics.
TEST_PREFIX: Final = "test."


class MonitoringNote(BaseModel):
    """One ``vigie monitor`` verdict of the version: its batch date, verdict and alerts (French)."""

    model_config = ConfigDict(frozen=True)
    as_of: date
    verdict: Literal["ok", "alert"]
    generated_at: str
    alerts: list[str]


class VersionRecord(BaseModel):
    """A registered version as the registry describes it: identity, provenance, operating point,
    features, folds, every metric of its training run, its newest fairness audit, its monitoring."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())
    name: str
    version: str
    run_id: str
    registered_at: datetime
    aliases: list[str]
    tags: dict[str, str]
    code_version: str
    data_hash: str
    config_hash: str
    synthetic_data: bool
    metrics: dict[str, float]
    #: The model's settings as training logged them (``model.*`` parameters of the run): Annex IV 2(b).
    hyperparameters: dict[str, str] = {}
    operating_point: OperatingPoint
    features: FeatureMetadata
    split: TrainingSplit
    fairness: FairnessSummary | None
    monitoring: list[MonitoringNote]

    @property
    def label(self) -> str:
        """``vigie-dropout/3``: how batches and the service name the version."""
        return f"{self.name}/{self.version}"

    def test_metric(self, ranker: str, metric: str) -> float | None:
        """A test-fold figure (``ranker``: model, abc_rule or logistic), None when not logged."""
        return self.metrics.get(f"{TEST_PREFIX}{ranker}.{metric}")

    def aliases_fr(self) -> list[str]:
        """The registry aliases in French (``champion`` → « version en service »)."""
        return [ALIASES_FR.get(alias, alias) for alias in self.aliases]

    def tags_fr(self) -> list[str]:
        """The registry tags as French sentences (``gate=passed`` → « contrôle de promotion : réussi »)."""
        return [f"{TAG_LABELS_FR.get(key, key)} : {_tag_value_fr(value)}" for key, value in sorted(self.tags.items())]


#: The registry's aliases, tags and their values as the French documents print them.
ALIASES_FR: Final = {"champion": "version en service", "challenger": "version candidate"}
TAG_LABELS_FR: Final = {
    "gate": "contrôle de promotion",
    "fairness_audit": "audit d'équité",
    "fairness_audit_as_of": "date d'observation de l'audit d'équité",
    "monitoring_as_of": "dernier lot surveillé",
    "monitoring_verdict": "verdict de la surveillance",
}
TAG_VALUES_FR: Final = {"passed": "réussi", "failed": "échoué", "ok": "aucune alerte", "alert": "alerte"}


def _tag_value_fr(value: str) -> str:
    try:
        return french.day(date.fromisoformat(value))
    except ValueError:
        return TAG_VALUES_FR.get(value, value)


def _download_json(run_id: str, artifact: str, tmp: str) -> Any:
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=tmp)
    return json.loads(Path(path).read_text(encoding="utf-8"))


def newest_fairness_summary(run_id: str) -> FairnessSummary | None:
    """The newest fairness audit logged on the run (training's, or a later ``vigie audit``'s);
    an audit this code cannot read is skipped with a warning, never half-read."""
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="fairness", dst_path=tmp))
            found = sorted(folder.rglob(FAIRNESS_REPORT_ARTIFACT))
        except (MlflowException, OSError):
            found = []
        for path in found:
            where = f"run {run_id}: {path.relative_to(tmp)}"
            try:
                reports.append(parse_fairness_summary(json.loads(path.read_text(encoding="utf-8")), where))
            except (ContractError, ValueError) as error:
                log.warning("fairness audit not shown: %s", error)
    return max(reports, key=lambda r: r.generated_at) if reports else None


def monitoring_notes(run_id: str) -> list[MonitoringNote]:
    """The run's monitoring verdicts, oldest batch first."""
    client = MlflowClient()
    try:
        folders = [a.path for a in client.list_artifacts(run_id, MONITORING_ARTIFACTS) if a.is_dir]
    except (MlflowException, OSError):
        return []
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for folder in folders:
            try:
                values = _download_json(run_id, f"{folder}/{MONITORING_VERDICT}", tmp)
                notes.append(
                    MonitoringNote(
                        as_of=values["as_of"], verdict=values["verdict"], generated_at=values["generated_at"],
                        alerts=[str(alert["message"]) for alert in values.get("alerts", [])],
                    )
                )  # fmt: skip
            except (MlflowException, OSError, KeyError, TypeError, ValueError) as error:
                log.warning("monitoring verdict not read from %s: %s", folder, error)
    return sorted(notes, key=lambda note: (note.as_of, note.generated_at))


def version_record(name: str, reference: str) -> VersionRecord:
    """The version ``reference`` (an alias or a number) of ``name``; a missing one raises
    :class:`~models.registry.ModelNotFoundError`."""
    client = MlflowClient()
    try:
        found = (
            client.get_model_version(name, reference)
            if reference.isdigit()
            else client.get_model_version_by_alias(name, reference)
        )
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        raise ModelNotFoundError(f"model {name!r} has no version or alias {reference!r}") from None
    run_id = str(found.run_id)
    run = client.get_run(run_id)
    split = training_split(run_id)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            train_config = _download_json(run_id, "train_config.json", tmp)
        except (MlflowException, OSError, ValueError) as error:
            raise ContractError(f"run {run_id}: its training config cannot be read ({error})") from None
    aliases = [alias for alias, v in client.get_registered_model(name).aliases.items() if str(v) == str(found.version)]
    return VersionRecord(
        name=name,
        version=str(found.version),
        run_id=run_id,
        registered_at=datetime.fromtimestamp(int(found.creation_timestamp) / 1000, UTC),
        aliases=sorted(aliases),
        tags={str(k): str(v) for k, v in (found.tags or {}).items()},
        code_version=str(run.data.tags.get("git_commit", "inconnu")),
        data_hash=str(run.data.tags.get("data_hash", "inconnu")),
        config_hash=str(run.data.tags.get("config_hash", "inconnu")),
        synthetic_data=bool(train_config.get("synthetic_data", False)),
        metrics={str(k): float(v) for k, v in run.data.metrics.items()},
        hyperparameters={str(k): str(v) for k, v in sorted(run.data.params.items()) if str(k).startswith("model.")},
        operating_point=operating_point_of_run(run_id),
        features=feature_metadata_of_run(run_id),
        split=split,
        fairness=newest_fairness_summary(run_id),
        monitoring=monitoring_notes(run_id),
    )


def previous_version(record: VersionRecord) -> VersionRecord | None:
    """The version registered just before ``record`` (the highest lower number), if any."""
    client = MlflowClient()
    numbers = sorted((int(v.version) for v in client.search_model_versions(f"name = '{record.name}'")), reverse=True)
    earlier = [n for n in numbers if n < int(record.version)]
    if not earlier:
        return None
    try:
        return version_record(record.name, str(earlier[0]))
    except (ContractError, ModelNotFoundError) as error:  # a version from an older Vigie: said, not guessed
        log.warning("previous version %s not read: %s", earlier[0], error)
        return None
