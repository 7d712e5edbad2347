"""The alert rules of ``configs/monitoring.yaml``, each with a French message a scheduler can
relay: what to do, the rule, the figure and its threshold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fairness.groups import attribute_label
from features import french
from features.catalog import FAMILY_LABELS_FR
from models.metrics import metric_name
from monitoring.config import MonitoringConfig
from monitoring.drift import OverallDrift, SliceDrift
from monitoring.outcomes import OutcomeCheck

Action = Literal["retrain", "check_school", "check_group", "check_data", "review_fairness", "review_with_staff"]
FAMILY_LABELS = FAMILY_LABELS_FR
RETRAIN = "Réentraînement recommandé"


@dataclass(frozen=True)
class Alert:
    """One alert raised by monitoring: the rule that fired, the action it recommends, the figure against its threshold,
    and a French message naming both."""

    rule: str  # e.g. "drifted_share", "school:0750001A"
    action: Action
    figure: float
    threshold: float
    message: str  # French, names the rule and the figure


def _psi(value: float) -> str:
    return french.number(value, 2)


def drift_alerts(drift: OverallDrift, config: MonitoringConfig) -> list[Alert]:
    """Alerts on the population as a whole: too many features drifted, a family drifted (a change of export or
    practice), or the risk's distribution moved."""
    alerts = []
    rules = config.alerts
    if drift.drifted_share >= rules.max_drifted_share:
        alerts.append(Alert(
            "drifted_share", "retrain", drift.drifted_share, rules.max_drifted_share,
            f"{RETRAIN} : {french.percent(drift.drifted_share)} des variables du modèle ont dérivé "
            f"({len(drift.drifted)} sur {len(drift.columns)} ; seuil {french.percent(rules.max_drifted_share)}).",
        ))  # fmt: skip
    for family, (drifted, total) in sorted(drift.family_shares().items()):
        share = drifted / total
        if drifted and share >= rules.max_family_drifted_share:
            names = ", ".join(c.label for c in drift.drifted if c.family == family)
            alerts.append(Alert(
                f"family:{family}", "check_data", share, rules.max_family_drifted_share,
                f"Vérifier l'export des données ({FAMILY_LABELS.get(family, family)}) : {drifted} variables sur "
                f"{total} ont dérivé ({names}) ; un changement de logiciel, d'échelle ou de pratique de saisie ?",
            ))  # fmt: skip
    risk = drift.risk
    if risk.score is not None and risk.drifted:
        alerts.append(Alert(
            "risk_drift", "retrain", risk.score, config.drift.risk_psi_threshold,
            f"{RETRAIN} : la distribution des risques a dérivé depuis l'entraînement (PSI {_psi(risk.score)} ; "
            f"seuil {_psi(config.drift.risk_psi_threshold)}).",
        ))  # fmt: skip
    return alerts


def _strongest(item: SliceDrift) -> tuple[str, float]:
    column = max(item.drifted_columns, key=lambda c: item.columns[c]["distance"])
    return column, item.columns[column]["distance"]


def slice_alerts(alerting: list[SliceDrift], config: MonitoringConfig) -> list[Alert]:
    """Alerts on schools and audit groups whose features drifted against their own reference, each naming its most
    drifted feature."""
    alerts = []
    need = config.slices.min_drifted_features
    for item in alerting:
        column, distance = _strongest(item)
        count = len(item.drifted_columns)
        what = (
            f"{count} indicateurs d'assiduité ont dérivé (jusqu'à {french.number(distance, 1)} écarts-types "
            f"sur {column})"
        )
        if item.kind == "school":
            alerts.append(Alert(
                f"school:{item.name}", "check_school", distance, config.slices.distance_threshold,
                f"Vérifier la saisie dans l'établissement {item.name} : {what} ; seuil : {need} indicateurs "
                f"déplacés d'au moins {french.number(config.slices.distance_threshold, 1)} écart-type, significatifs.",
            ))  # fmt: skip
        else:
            alerts.append(Alert(
                f"group:{item.kind}:{item.name}", "check_group", distance, config.slices.distance_threshold,
                f"Vérifier la saisie pour le groupe « {item.name} » ({attribute_label(item.kind)}) : {what}. "
                "Un changement de saisie qui touche un groupe peut rendre le score inéquitable.",
            ))  # fmt: skip
    return alerts


def outcome_alerts(check: OutcomeCheck, config: MonitoringConfig) -> list[Alert]:
    """Alerts on past batches whose outcomes are known: precision at the capacity well under the test fold's,
    calibration off, or fairness breached."""
    alerts = []
    settings = config.outcomes
    precision = check.figures.get(metric_name("precision", check.capacity))
    reference = check.test_fold.get(metric_name("precision", check.capacity))
    if precision is not None and reference is not None:
        floor = reference * (1 - settings.max_precision_drop)
        if precision.upper < floor:
            alerts.append(Alert(
                "precision_drop", "retrain", precision.value, floor,
                f"{RETRAIN} : précision à {check.operating_point.high_share_fr()} "
                f"de {french.number(precision.value, 3)} "
                f"[{french.number(precision.lower, 3)} ; {french.number(precision.upper, 3)}] contre "
                f"{french.number(reference, 3)} au pli de test (plancher {french.number(floor, 3)}).",
            ))  # fmt: skip
    ece = check.figures.get("ece")
    if ece is not None and ece.lower > settings.max_ece:
        alerts.append(Alert(
            "calibration", "retrain", ece.value, settings.max_ece,
            f"{RETRAIN} : erreur de calibration {french.number(ece.value, 3)} [{french.number(ece.lower, 3)} ; "
            f"{french.number(ece.upper, 3)}] (seuil {french.number(settings.max_ece, 3)})."
            + (f" Cause probable : {check.base_rate_note}" if check.base_rate_note else ""),
        ))  # fmt: skip
    if check.fairness_passed is False:
        alerts.append(Alert(
            "fairness", "review_fairness", float(len(check.fairness_breaches)), 0.0,
            f"Audit d'équité à revoir sur les résultats connus : {check.fairness_detail}",
        ))  # fmt: skip
    return alerts
