"""MLflow: the run, the registered version, the promotion gate and the ``champion`` alias.

The store itself is set up by :mod:`models.registry` (shared with scoring and the service).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import joblib
import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, Schema

from features.catalog import CATEGORICAL_FEATURES, FEATURE_NAMES
from features.signals import FeatureMetadata, code_version
from models.base_rates import BASE_RATES_ARTIFACT
from models.matrix import feature_matrix, model_input
from models.metrics import metric_name, reported_metrics
from models.operating_point import OPERATING_POINT_ARTIFACT, OperatingPoint
from models.paths import Paths
from models.pyfunc import ESTIMATOR_ARTIFACT, CalibratedRiskModel
from models.registry import (
    CHAMPION,
    FEATURE_METADATA_ARTIFACT,
    TRAINING_SPLIT_ARTIFACT,
    experiment_id,
    use_tracking_store,
)
from training.config import TrainConfig
from training.gate import (
    GATE_ARTIFACT,
    ChampionComparison,
    FairnessOutcome,
    GateCheck,
    GateDecision,
    promotion_gate,
    with_base_rate_cause,
)
from training.learning_conditions import (
    accountability_checks,
    card_lines,
    high_tier_overlap,
    last_pre_deployment_date,
    learning_conditions,
    pre_deployment_check,
)
from training.model_card import CardContext, write_model_card
from training.plots import write_figures, write_shap_figures
from training.train import FeatureSet, TrainingResult, evaluate

log = logging.getLogger(__name__)

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


#: The test fold (pupil_id, as_of, label, track...), the candidate's risk and the operating
#: point training decided -> an audit at that point.
FairnessCheck = Callable[[pd.DataFrame, np.ndarray, OperatingPoint], FairnessOutcome]


def compare_with_champion(
    name: str,
    test: pd.DataFrame,
    capacities: tuple[float, ...],
    operating: float,
    candidate: np.ndarray | None = None,
) -> ChampionComparison:
    """The current champion's figures on the candidate's test fold, or why there are none; with the
    ``candidate``'s risks, how much of its high tier the champion's holds too."""
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return ChampionComparison("none", "aucun champion jusqu'ici")
    try:
        model = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
        risk = model.predict(model_input(test))["risk"].to_numpy()
    except Exception as error:  # a champion that cannot score this fold cannot be beaten on it
        detail = f"le champion (version {version.version}) n'a pas pu noter le pli de test : {str(error)[:300]}"
        return ChampionComparison("unscorable", detail)
    metrics = evaluate(test, risk, capacities, operating).metrics
    overlap = (
        None
        if candidate is None
        else high_tier_overlap(candidate, risk, test["pupil_id"].to_numpy(), OperatingPoint(high=operating))
    )
    return ChampionComparison("compared", f"champion : version {version.version}", metrics, overlap)


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
    """What ``vigie train`` logged: the run, the registered version (if any), the gate's decision, the card and fairness
    report kept under the data folder."""

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
    scored: Sequence[date] = (),
) -> TrackedRun:
    """Log the run, register the pyfunc model, apply the gate and write the model card."""
    uri = use_tracking_store(data_dir)
    config_json = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    config_hash = hashlib.sha256(config_json.encode()).hexdigest()[:16]
    champion = (
        compare_with_champion(
            config.registered_model,
            result.test,
            config.reported_capacities,
            result.operating_point.high,
            result.evaluations["model"].probability,
        )
        if register
        else ChampionComparison("not_registered", "modèle non enregistré")
    )
    review = (
        fairness(result.test, result.evaluations["model"].probability, result.operating_point)
        if fairness is not None
        else None
    )
    gate = promotion_gate(
        result.evaluations["model"].metrics,
        result.evaluations["abc_rule"].metrics,
        champion,
        config.gate,
        review,
        result.versus_logistic,
    )
    gate = with_base_rate_cause(gate, result.base_rates.test_shift())
    for line in result.base_rates.log_lines():
        log.info("gate, base rate: %s", line)
    conditions = learning_conditions(result.split, scored, data_dir)
    informational = [
        *accountability_checks(result, champion, conditions),
        _pre_deployment(result, features, config, scored),
    ]
    gate = gate.model_copy(update={"checks": [*gate.checks, *informational]})
    with (
        mlflow.start_run(experiment_id=experiment_id(config.experiment, data_dir)) as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        _log_provenance(features.metadata, result.operating_point, config_hash, champion)
        _log_evaluation(result, features.metadata, config_json, gate, folder)
        version = _log_model(result, config, folder, register=register)
        label = f"{config.registered_model} version {version}" if version else f"run {run.info.run_id}"
        card = CardContext(
            name=config.registered_model,
            version=version or "non enregistrée",
            run_id=run.info.run_id,
            created_at=datetime.now(UTC),
            code_version=code_version(),
            data_hash=features.metadata.input_hash,
            config_hash=config_hash,
            gate=gate,
            synthetic=config.synthetic_data,
            fairness=tuple(review.summary_lines()) if review is not None else (),
            learning=card_lines(result, champion, conditions),
        )
        card_paths = _log_model_card(result, features, config, card, folder)
        fairness_paths = _log_fairness(review, label, folder)
        if version is not None:
            _update_registry(config.registered_model, version, gate, review, card_paths[0])
        kept = Paths(data_dir).model_cards(config.registered_model, version or run.info.run_id)
        cards, reports = _copy_into(card_paths, kept), _copy_into(fairness_paths, kept)
    return TrackedRun(run.info.run_id, version, gate, cards, uri, reports[0] if reports else None)


def _pre_deployment(
    result: TrainingResult, features: FeatureSet, config: TrainConfig, scored: Sequence[date]
) -> GateCheck:
    """Challenger and champion on the last cohort whose outcomes no flag could have changed (issue 28)."""
    labelled = features.frame[features.frame["label"].notna()]
    days = sorted(pd.to_datetime(labelled["as_of"]).dt.date.unique())
    cohort = last_pre_deployment_date(days, scored, features.metadata.horizon_days)
    if cohort is None:
        return pre_deployment_check(None, None, None)
    rows = labelled[pd.to_datetime(labelled["as_of"]).dt.date == cohort].assign(as_of=cohort)
    rows = rows.assign(track=feature_matrix(rows)["track"].astype(str))
    ours = result.model.predict_proba(feature_matrix(rows))[:, 1]
    point = result.operating_point.high
    comparison = compare_with_champion(config.registered_model, rows, config.reported_capacities, point)
    figures = evaluate(rows, ours, config.reported_capacities, point).metrics
    return pre_deployment_check(cohort, comparison, figures[metric_name("precision", point)])


def _log_provenance(
    metadata: FeatureMetadata, point: OperatingPoint, config_hash: str, champion: ChampionComparison
) -> None:
    """Tags that trace the run to its code, data and configs; the feature metadata and the
    operating point every later stage reuses."""
    mlflow.set_tags(
        {
            "git_commit": code_version(),
            "config_hash": config_hash,
            "data_hash": metadata.input_hash,
            "features_config_hash": metadata.config_hash,
            "champion_compared": champion.detail,
        }
    )
    mlflow.log_dict(metadata.as_dict(), FEATURE_METADATA_ARTIFACT)
    mlflow.log_dict(point.model_dump(mode="json"), OPERATING_POINT_ARTIFACT)


def _log_evaluation(
    result: TrainingResult, metadata: FeatureMetadata, config_json: str, gate: GateDecision, folder: Path
) -> None:
    """Parameters, test-fold metrics of the model and its baselines, per-group tables, figures."""
    mlflow.log_params(
        _flat(
            "",
            {
                "model": result.params,
                "seed": json.loads(config_json)["seed"],
                "split": result.split.describe(),
                "horizon_days": metadata.horizon_days,
            },
        )
    )
    for name, evaluation in result.evaluations.items():
        mlflow.log_metrics({f"test.{name}.{k}": v for k, v in evaluation.metrics.items() if np.isfinite(v)})
        for by, table in (("grade_level", evaluation.by_grade_level), ("track", evaluation.by_track)):
            mlflow.log_dict({"rows": table.reset_index(names=by).to_dict("records")}, f"evaluation/{name}_by_{by}.json")
    lead = result.evaluations["model"].lead_days
    if len(lead):
        mlflow.log_metrics(
            {
                "test.model.lead_days_median": float(lead.median()),
                "test.model.lead_days_p25": float(lead.quantile(0.25)),
                "test.model.lead_days_p75": float(lead.quantile(0.75)),
            }
        )
    for baseline, gaps in (("logistic", result.versus_logistic), ("environment", result.versus_environment)):
        for metric, gap in gaps.items():  # the model minus a baseline, with its paired interval
            bounds = {"": gap.value, "_lower": gap.lower, "_upper": gap.upper}
            mlflow.log_metrics(
                {f"test.model_minus_{baseline}.{metric}{k}": v for k, v in bounds.items() if np.isfinite(v)}
            )
    mlflow.log_metric("model.best_iteration", result.model.best_iteration_)
    mlflow.log_dict(result.split.model_dump(mode="json"), TRAINING_SPLIT_ARTIFACT)  # read back by monitoring
    mlflow.log_dict(result.base_rates.model_dump(mode="json"), BASE_RATES_ARTIFACT)  # read back by monitoring
    mlflow.log_dict({"features": list(FEATURE_NAMES)}, "features.json")
    mlflow.log_dict(json.loads(config_json), "train_config.json")
    mlflow.log_dict(gate.model_dump(mode="json"), GATE_ARTIFACT)
    mlflow.log_dict({str(k): float(v) for k, v in result.importance.items()}, "importance.json")
    for figure in write_figures(result, folder / "figures"):
        mlflow.log_artifact(str(figure), "figures")
    for figure in write_shap_figures(result, folder / "shap"):
        mlflow.log_artifact(str(figure), "explanations")


def _log_model(result: TrainingResult, config: TrainConfig, folder: Path, *, register: bool) -> str | None:
    """The LightGBM flavour (for inspection) and the calibrated pyfunc (what is served), registered."""
    mlflow.lightgbm.log_model(result.model.lgbm_, name="lightgbm", pip_requirements=PIP_REQUIREMENTS)
    estimator_path = folder / "estimator.joblib"
    joblib.dump(result.model, estimator_path)
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=CalibratedRiskModel(),
        artifacts={ESTIMATOR_ARTIFACT: str(estimator_path)},
        signature=_signature(),
        input_example=model_input(result.test.head(5)).reset_index(drop=True),
        pip_requirements=PIP_REQUIREMENTS,
        registered_model_name=config.registered_model if register else None,
    )
    return str(info.registered_model_version) if register and info.registered_model_version else None


def _log_model_card(
    result: TrainingResult, features: FeatureSet, config: TrainConfig, card: CardContext, folder: Path
) -> list[Path]:
    """Write the model card for ``card``'s run and log it as the run's artifact."""
    shown = reported_metrics(config.capacities, result.operating_point.high)
    paths = write_model_card(result, card, features.metadata, shown, folder / "card")
    for path in paths:
        mlflow.log_artifact(str(path), "model_card")
    return paths


def _log_fairness(review: FairnessOutcome | None, label: str, folder: Path) -> list[Path]:
    if review is None:
        return []
    paths = review.write(folder / "fairness", model=label)
    for path in paths:
        mlflow.log_artifact(str(path), "fairness")
    mlflow.set_tag("fairness_audit", "passed" if review.passed else "failed")
    return paths


def _update_registry(name: str, version: str, gate: GateDecision, review: FairnessOutcome | None, card: Path) -> None:
    """The card as the version's description, the verdicts as tags; the alias moves only if the gate passed."""
    client = MlflowClient()
    client.update_model_version(name, version, description=card.read_text(encoding="utf-8")[:5000])
    client.set_model_version_tag(name, version, "gate", "passed" if gate.promoted else "failed")
    if review is not None:
        client.set_model_version_tag(name, version, "fairness_audit", "passed" if review.passed else "failed")
    if gate.promoted:
        client.set_registered_model_alias(name, CHAMPION, version)


def _copy_into(paths: list[Path], folder: Path) -> list[Path]:
    """Copies kept outside the temporary run folder (the data directory's model cards)."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in paths:
        copies.append(folder / path.name)
        copies[-1].write_bytes(path.read_bytes())
    return copies
