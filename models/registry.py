"""The MLflow store and registry, set up and read in one place.

Training writes models here; scoring, audits, the service and monitoring load them back,
each with the feature metadata the version was trained on (logged with its run), so that
fresh data is always turned into features the way the model expects.

Default store: a SQLite database and an artifact folder under the data directory, no server.
``MLFLOW_TRACKING_URI`` (a remote server, say) is used unchanged when set.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pydantic import BaseModel, ConfigDict

from features.ingest import ContractError
from features.signals import FeatureMetadata, FeatureOutput, Purpose, build_features, parse_metadata
from models import DEFAULT_MODEL_NAME
from models.base_rates import BASE_RATES_ARTIFACT, BaseRates
from models.estimator import DropoutRiskModel
from models.matrix import feature_matrix
from models.operating_point import OPERATING_POINT_ARTIFACT, OperatingPoint, parse_operating_point
from models.paths import Paths

CHAMPION = "champion"
#: The run artifact holding the feature metadata a version was trained on.
FEATURE_METADATA_ARTIFACT = "features_metadata.json"


def use_tracking_store(data_dir: Path) -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI``, or at the local SQLite store under ``data_dir``."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in logs and terminals
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        store = Paths(data_dir).mlflow.resolve()
        store.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{store / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def experiment_id(name: str, data_dir: Path) -> str:
    """The experiment ``name``, created on first use (artifacts beside the local store)."""
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if mlflow.get_tracking_uri().startswith("sqlite:"):
        location = (Paths(data_dir).mlflow / "artifacts").resolve().as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


def parse_model_reference(reference: str, default_name: str = DEFAULT_MODEL_NAME) -> tuple[str, str]:
    """``models:/name@alias``, ``models:/name/3``, or a bare alias or version of ``default_name``."""
    if not reference.startswith("models:/"):
        return default_name, reference
    path = reference.removeprefix("models:/")
    name, sep, alias = path.partition("@")
    if sep:
        return name, alias
    name, _, version = path.rpartition("/")
    if not name or not version:
        raise ValueError(f"model URI {reference!r}: expected models:/NAME@ALIAS or models:/NAME/VERSION")
    return name, version


@dataclass(frozen=True)
class LoadedModel:
    """A registered version, ready to score: the estimator, the features it was trained on and
    the operating point decided with it."""

    estimator: DropoutRiskModel
    name: str
    version: str
    run_id: str
    features: FeatureMetadata
    operating_point: OperatingPoint = field(default_factory=OperatingPoint)

    @property
    def label(self) -> str:
        """``name/version``, as logs, reports and monitoring name the model."""
        return f"{self.name}/{self.version}"

    def build_features(
        self, extract: Path, folder: Path, as_of: list[date], *, purpose: Purpose = "training"
    ) -> FeatureOutput:
        """Features of a validated extract at ``as_of``, built as this version's own were (its
        feature config, so its horizon gives the labels): the one way scoring, audits and
        monitoring turn fresh data into model inputs. Scoring (model inputs only) runs on DuckDB."""
        config = self.features.config.at(as_of)
        if purpose == "scoring":
            config = config.model_copy(update={"engine": "duckdb"})
        return build_features(extract, folder, config, purpose=purpose)

    def risk(self, frame: pd.DataFrame) -> np.ndarray:
        """The calibrated risk of each snapshot of ``frame`` (its features in any column order)."""
        names = list(self.estimator.feature_names_in_)
        return np.asarray(self.estimator.predict_proba(feature_matrix(frame, names))[:, 1])


def _run_artifact(run_id: str, artifact: str) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=tmp)
        except (MlflowException, OSError):
            raise ContractError(f"run {run_id} has no {artifact}: retrain the model with this Vigie.") from None
        return json.loads(Path(path).read_text(encoding="utf-8"))


def feature_metadata_of_run(run_id: str) -> FeatureMetadata:
    """The feature metadata logged with a training run."""
    values = _run_artifact(run_id, FEATURE_METADATA_ARTIFACT)
    return parse_metadata(values, f"run {run_id}/{FEATURE_METADATA_ARTIFACT}")


def operating_point_of_run(run_id: str) -> OperatingPoint:
    """The operating point logged with a training run (version-checked)."""
    values = _run_artifact(run_id, OPERATING_POINT_ARTIFACT)
    return parse_operating_point(values, f"run {run_id}/{OPERATING_POINT_ARTIFACT}")


class ModelNotFoundError(ValueError):
    """The registry has no such version or alias (a bad ``--model``, or nothing trained yet)."""


def load_registered(name: str, reference: str = CHAMPION) -> LoadedModel:
    """``reference`` is an alias or a version number; a missing one raises
    :class:`ModelNotFoundError` naming what the registry does hold."""
    client = MlflowClient()
    try:
        version = (
            client.get_model_version(name, reference)
            if reference.isdigit()
            else client.get_model_version_by_alias(name, reference)
        )
    except MlflowException as error:  # a missing alias is an invalid parameter to MLflow
        if error.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        raise ModelNotFoundError(
            f"model {name!r} has no {'version' if reference.isdigit() else 'alias'} {reference!r}; "
            f"{_registered_versions(client, name)}"
        ) from None
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
    estimator = pyfunc.unwrap_python_model().estimator
    run_id = str(version.run_id)
    features = feature_metadata_of_run(run_id)
    return LoadedModel(estimator, name, str(version.version), run_id, features, operating_point_of_run(run_id))


def _registered_versions(client: MlflowClient, name: str) -> str:
    try:
        registered = client.get_registered_model(name)
        versions = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
    except MlflowException:
        versions = []
    if not versions:
        return "nothing is registered under that name (run 'vigie train' first)"
    aliases: dict[int, list[str]] = {}
    for alias, version in registered.aliases.items():  # search results carry no aliases
        aliases.setdefault(int(version), []).append(alias)
    described = [f"{v} ({', '.join(sorted(aliases[v]))})" if v in aliases else str(v) for v in versions]
    return f"its versions: {', '.join(described)}"


#: The run artifact holding the as-of dates of a version's folds.
TRAINING_SPLIT_ARTIFACT = "training_split.json"


#: How a short extract's split fell back: the test fold holds only the last school year's latest
#: dates, or validation only some dates of its school year (those whose horizon closes in time).
SplitNote = Literal["test_part_of_year", "valid_part_of_year"]


class ShortHistory(BaseModel):
    """Labelled snapshots left out of training because the extract does not cover their
    look-back (features.school.LOOKBACK_YEARS): their "so far" histories would be cut short."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    snapshots: int = 0
    dates: tuple[date, ...] = ()
    #: The first school year of the extract, from which looking back starts.
    extract_from: int | None = None


class TrainingSplit(BaseModel):
    """The as-of dates of a run's folds: written by training, read back by monitoring (its
    reference snapshots are the training dates), version-checked. It also says how the dates
    were chosen (``rule``, ``notes``) and which snapshots were left out (``short_history``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    version: Literal[1] = 1
    train: tuple[date, ...]
    valid: tuple[date, ...]
    test: tuple[date, ...]
    #: "school_years": derived from the labelled school years; "configured": the config's counts.
    rule: Literal["configured", "school_years"] = "configured"
    notes: tuple[SplitNote, ...] = ()
    short_history: ShortHistory = ShortHistory()

    def describe(self) -> dict[str, list[str]]:
        """The fold dates as ISO strings, for run parameters and reports."""
        return {name: [d.isoformat() for d in getattr(self, name)] for name in ("train", "valid", "test")}


@dataclass(frozen=True)
class TrainingRecord:
    """What a version's training run says about itself: its folds' as-of dates and its test-fold
    figures (``test.model.*`` metrics), the yardstick monitoring compares later batches with."""

    folds: dict[str, list[date]]  # "train", "valid", "test" -> as-of dates
    test_metrics: dict[str, float]
    #: Observed dropout rate and mean risk by fold and date (None: trained before they were logged).
    base_rates: BaseRates | None = None


def training_split(run_id: str) -> TrainingSplit:
    """The as-of dates of the run's folds: its typed artifact, version-checked."""
    values = _run_artifact(run_id, TRAINING_SPLIT_ARTIFACT)
    if not isinstance(values, dict) or values.get("version") != 1:
        raise ContractError(f"run {run_id}/{TRAINING_SPLIT_ARTIFACT}: unknown version; retrain with this Vigie.")
    return TrainingSplit.model_validate(values)


def training_record(run_id: str) -> TrainingRecord:
    """The version's split (its typed artifact, never a parameter parsed back) and test figures."""
    run = MlflowClient().get_run(run_id)
    split = training_split(run_id)
    folds = {fold: list(getattr(split, fold)) for fold in ("train", "valid", "test")}
    prefix = "test.model."
    metrics = {k.removeprefix(prefix): float(v) for k, v in run.data.metrics.items() if k.startswith(prefix)}
    try:
        rates = BaseRates.model_validate(_run_artifact(run_id, BASE_RATES_ARTIFACT))
    except ContractError:  # a version trained before base rates were logged
        rates = None
    return TrainingRecord(folds, metrics, rates)
