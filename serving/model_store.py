"""Loading a registered model from MLflow: by alias (``champion``) or by version number."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from models.estimator import DropoutRiskModel


@dataclass(frozen=True)
class LoadedModel:
    estimator: DropoutRiskModel
    name: str
    version: str

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


def use_tracking_store(data_dir: Path) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the project's local SQLite store (as training writes it)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(data_dir / 'mlflow' / 'mlflow.db').resolve()}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def parse_model_reference(reference: str, default_name: str) -> tuple[str, str]:
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


def load_registered(name: str, reference: str = "champion") -> LoadedModel:
    """``reference`` is an alias or a version number."""
    client = MlflowClient()
    version = (
        client.get_model_version(name, reference)
        if reference.isdigit()
        else client.get_model_version_by_alias(name, reference)
    )
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
    estimator = pyfunc.unwrap_python_model().estimator
    return LoadedModel(estimator, name, str(version.version))
