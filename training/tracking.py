"""MLflow: the run, the registered version, the promotion gate and the ``champion`` alias.

Default store: a SQLite database and an artifact folder under the data directory, no server.
``MLFLOW_TRACKING_URI`` (a remote server, say) is used unchanged when set.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import joblib
import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, Schema

from features.catalog import CATEGORICAL_FEATURES, FEATURE_NAMES
from features.signals import code_version
from models.matrix import model_input
from models.pyfunc import ESTIMATOR_ARTIFACT, CalibratedRiskModel
from training.config import GateConfig, TrainConfig
from training.model_card import CardContext, write_model_card
from training.plots import write_figures, write_shap_figures
from training.train import FeatureSet, TrainingResult, evaluate

CHAMPION = "champion"
PIP_REQUIREMENTS = [
    f"{p}=={v}"
    for p, v in (
        ("lightgbm", "4.7.0"),
        ("scikit-learn", "1.9.1"),
        ("pandas", "3.0.6"),
        ("numpy", "2.4.6"),
        ("mlflow", "3.17.2"),
    )
]


class FairnessOutcome(Protocol):
    """What training needs of a fairness audit (``fairness.review.FairnessReview`` is one).

    Training does not import the fairness package: the CLI hands the audit in as a
    :data:`FairnessCheck`, so the promotion gate can judge it.
    """

    @property
    def passed(self) -> bool: ...

    @property
    def detail(self) -> str: ...

    def summary_lines(self) -> list[str]: ...

    def write(self, folder: Path, model: str | None = None) -> list[Path]: ...


#: The test fold (pupil_id, as_of, label, track...) and the candidate's risk -> an audit.
FairnessCheck = Callable[[pd.DataFrame, np.ndarray], FairnessOutcome]


def configure_tracking(data_dir: Path) -> str:
    """Point MLflow at ``MLFLOW_TRACKING_URI`` or at the local SQLite store; return the URI."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        store = (data_dir / "mlflow").resolve()
        store.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{store / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def _experiment(name: str, data_dir: Path) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if mlflow.get_tracking_uri().startswith("sqlite:"):
        location = (data_dir / "mlflow" / "artifacts").resolve().as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


@dataclass
class GateCheck:
    label: str
    passed: bool | None  # None: not evaluated
    detail: str

    def __post_init__(self) -> None:
        if self.passed is not None:
            self.passed = bool(self.passed)  # numpy booleans are not True


@dataclass
class GateDecision:
    promoted: bool
    checks: list[GateCheck] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"promoted": self.promoted, "checks": [asdict(c) for c in self.checks]}


def promotion_gate(
    metrics: dict[str, float],
    abc_metrics: dict[str, float],
    champion_metrics: dict[str, float] | None,
    gate: GateConfig,
    fairness_passed: bool | None = None,
    champion_note: str = "aucun champion jusqu'ici",
    fairness_detail: str = "audit d'équité non évalué",
) -> GateDecision:
    """Better than the champion and the ABC rule at the gate's capacity, calibrated, fair."""
    key = f"precision_at_{round(gate.capacity * 100)}pct"
    ours = metrics[key]
    checks = [
        GateCheck(
            f"Précision à {gate.capacity:.0%} supérieure à la règle ABC",
            ours > abc_metrics[key],
            f"{ours:.4f} contre {abc_metrics[key]:.4f}",
        ),
        GateCheck(
            f"Erreur de calibration au plus {gate.max_ece}", metrics["ece"] <= gate.max_ece, f"ECE {metrics['ece']:.4f}"
        ),
    ]
    if champion_metrics is None:
        no_champion = champion_note == "aucun champion jusqu'ici"
        checks.append(GateCheck("Meilleure que le champion actuel", no_champion, champion_note))
    else:
        theirs = champion_metrics[key]
        checks.append(
            GateCheck(
                "Meilleure que le champion actuel",
                ours > theirs,
                f"{ours:.4f} contre {theirs:.4f} sur le même pli de test",
            )
        )
    checks.append(GateCheck("Audit d'équité", fairness_passed, fairness_detail))
    required = [c.passed for c in checks[:3]] + ([fairness_passed] if gate.require_fairness else [])
    return GateDecision(promoted=all(p is True for p in required), checks=checks)


def champion_probability(name: str, test: pd.DataFrame) -> tuple[np.ndarray | None, str]:
    """The current champion's risk on the test fold, or None with the reason."""
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None, "aucun champion jusqu'ici"
    try:
        model = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
        risk = model.predict(model_input(test))["risk"].to_numpy()
        return risk, f"champion : version {version.version}"
    except Exception as error:  # a champion that cannot score this fold cannot be beaten on it
        return None, f"le champion (version {version.version}) n'a pas pu noter le pli de test : {str(error)[:300]}"


def _flat(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(f"{prefix}{key}.", value))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _signature() -> ModelSignature:
    """Every feature optional (missing values are information), numbers as double."""
    inputs = Schema(
        [ColSpec("string" if f in CATEGORICAL_FEATURES else "double", f, required=False) for f in FEATURE_NAMES]
    )
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec("double", "risk")]))


@dataclass
class TrackedRun:
    run_id: str
    version: str | None
    gate: GateDecision
    card: list[Path]
    tracking_uri: str
    fairness_report: Path | None = None


def log_training(
    result: TrainingResult,
    features: FeatureSet,
    config: TrainConfig,
    *,
    data_dir: Path,
    register: bool = True,
    fairness: FairnessCheck | None = None,
) -> TrackedRun:
    """Log the run, register the pyfunc model, apply the gate and write the model card."""
    uri = configure_tracking(data_dir)
    config_json = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    config_hash = hashlib.sha256(config_json.encode()).hexdigest()[:16]
    champion_p, champion_note = (
        champion_probability(config.registered_model, result.test) if register else (None, "modèle non enregistré")
    )
    champion_metrics = None
    if champion_p is not None:
        champion_metrics = evaluate(result.test, champion_p, config.capacities).metrics
    review = fairness(result.test, result.evaluations["model"].probability) if fairness is not None else None
    gate = promotion_gate(
        result.evaluations["model"].metrics,
        result.evaluations["abc_rule"].metrics,
        champion_metrics,
        config.gate,
        champion_note=champion_note,
        fairness_passed=review.passed if review is not None else None,
        fairness_detail=review.detail if review is not None else "audit d'équité non évalué (aucun audit fourni)",
    )

    with (
        mlflow.start_run(experiment_id=_experiment(config.experiment, data_dir)) as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        mlflow.set_tags(
            {
                "git_commit": code_version(),
                "config_hash": config_hash,
                "data_hash": features.metadata.get("input_hash", ""),
                "features_config_hash": features.metadata.get("config_hash", ""),
                "champion_compared": champion_note,
            }
        )
        mlflow.log_params(
            _flat(
                "",
                {
                    "model": result.params,
                    "seed": config.seed,
                    "split": result.split.describe(),
                    "horizon_days": features.metadata.get("horizon_days"),
                },
            )
        )
        for name, evaluation in result.evaluations.items():
            mlflow.log_metrics({f"test.{name}.{k}": v for k, v in evaluation.metrics.items() if np.isfinite(v)})
            mlflow.log_dict(
                {"rows": evaluation.by_grade_level.reset_index(names="grade_level").to_dict("records")},
                f"evaluation/{name}_by_grade_level.json",
            )
            mlflow.log_dict(
                {"rows": evaluation.by_track.reset_index(names="track").to_dict("records")},
                f"evaluation/{name}_by_track.json",
            )
        lead = result.evaluations["model"].lead_days
        if len(lead):
            mlflow.log_metrics(
                {
                    "test.model.lead_days_median": float(lead.median()),
                    "test.model.lead_days_p25": float(lead.quantile(0.25)),
                    "test.model.lead_days_p75": float(lead.quantile(0.75)),
                }
            )
        mlflow.log_metric("model.best_iteration", result.model.best_iteration_)
        mlflow.log_dict({"features": list(FEATURE_NAMES)}, "features.json")
        mlflow.log_dict(features.metadata, "features_metadata.json")
        mlflow.log_dict(json.loads(config_json), "train_config.json")
        mlflow.log_dict(gate.as_dict(), "gate.json")
        mlflow.log_dict({str(k): float(v) for k, v in result.importance.items()}, "importance.json")
        for figure in write_figures(result, folder / "figures"):
            mlflow.log_artifact(str(figure), "figures")
        for figure in write_shap_figures(result, folder / "shap"):
            mlflow.log_artifact(str(figure), "explanations")

        mlflow.lightgbm.log_model(result.model.lgbm_, name="lightgbm", pip_requirements=PIP_REQUIREMENTS)
        estimator_path = folder / "estimator.joblib"
        joblib.dump(result.model, estimator_path)
        example = model_input(result.test.head(5)).reset_index(drop=True)
        signature = _signature()
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=CalibratedRiskModel(),
            artifacts={ESTIMATOR_ARTIFACT: str(estimator_path)},
            signature=signature,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
            registered_model_name=config.registered_model if register else None,
        )
        version = str(info.registered_model_version) if register and info.registered_model_version else None
        card = CardContext(
            name=config.registered_model,
            version=version or "non enregistrée",
            run_id=run.info.run_id,
            created_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            code_version=code_version(),
            data_hash=str(features.metadata.get("input_hash", "")),
            config_hash=config_hash,
            gate=gate.as_dict(),
            synthetic=config.synthetic_data,
            fairness=tuple(review.summary_lines()) if review is not None else (),
        )
        card_paths = write_model_card(result, card, features.metadata, folder / "card")
        for path in card_paths:
            mlflow.log_artifact(str(path), "model_card")
        fairness_paths: list[Path] = []
        if review is not None:
            label = f"{config.registered_model} version {version}" if version else f"run {run.info.run_id}"
            fairness_paths = review.write(folder / "fairness", model=label)
            for path in fairness_paths:
                mlflow.log_artifact(str(path), "fairness")
            mlflow.set_tag("fairness_audit", "passed" if review.passed else "failed")
        if version is not None:
            client = MlflowClient()
            client.update_model_version(
                config.registered_model, version, description=card_paths[0].read_text(encoding="utf-8")[:5000]
            )
            client.set_model_version_tag(
                config.registered_model, version, "gate", "passed" if gate.promoted else "failed"
            )
            if review is not None:
                client.set_model_version_tag(
                    config.registered_model, version, "fairness_audit", "passed" if review.passed else "failed"
                )
            if gate.promoted:
                client.set_registered_model_alias(config.registered_model, CHAMPION, version)
        kept = data_dir / "model_cards" / f"{config.registered_model}-v{version or run.info.run_id}"
        kept.mkdir(parents=True, exist_ok=True)
        cards, reports = _copy_into(card_paths, kept), _copy_into(fairness_paths, kept)
    return TrackedRun(run.info.run_id, version, gate, cards, uri, reports[0] if reports else None)


def _copy_into(paths: list[Path], folder: Path) -> list[Path]:
    """Copies kept outside the temporary run folder (the data directory's model cards)."""
    copies = []
    for path in paths:
        copies.append(folder / path.name)
        copies[-1].write_bytes(path.read_bytes())
    return copies
