"""The fairness gate that training's promotion gate checks: thresholds judged on the intervals."""

from __future__ import annotations

from dataclasses import dataclass, field

from fairness.audit import AuditResult
from fairness.config import GateThresholds
from fairness.groups import attribute_label
from features import french

LABELS_FR = {
    "equalized_odds_difference": "différence d'égalité des taux d'erreur (equalized odds)",
    "calibration_gap_difference": "différence d'écart de calibration",
}


@dataclass
class FairnessVerdict:
    """Whether the audit passes its tolerances, with each breach and what was checked, in French."""

    passed: bool
    breaches: list[str] = field(default_factory=list)
    judged: list[str] = field(default_factory=list)  # what was checked, in words

    @property
    def detail(self) -> str:
        """The verdict in one French sentence: the thresholds checked if it passed, the breaches if not."""
        if self.passed:
            return "seuils respectés : " + " ; ".join(self.judged)
        return "seuils dépassés : " + " | ".join(self.breaches)


def _num(value: float | None) -> str:
    return french.number(value, 3)


def fairness_gate(result: AuditResult, thresholds: GateThresholds) -> FairnessVerdict:
    """Pass unless a judged disparity's ``judge`` bound exceeds its threshold, or a judged
    attribute has a group whose risk is mis-estimated (when ``block_on_group_alerts``)."""
    limits = {
        "equalized_odds_difference": thresholds.max_equalized_odds_difference,
        "calibration_gap_difference": thresholds.max_calibration_gap_difference,
    }
    bound_fr = "borne basse" if thresholds.judge == "lower" else "borne haute"
    judged = [f"{LABELS_FR[k]} ≤ {_num(v)} ({bound_fr} de l'intervalle)" for k, v in limits.items() if v is not None]
    if thresholds.block_on_group_alerts:
        judged.append("aucun groupe au risque mal estimé")
    breaches = []
    for audit in result.attributes:
        if audit.attribute not in thresholds.attributes:
            continue
        for key, limit in limits.items():
            estimate = audit.disparities.get(key)
            if limit is None or estimate is None:
                continue
            bound = estimate.lower if thresholds.judge == "lower" else estimate.upper
            if bound is not None and bound > limit:
                breaches.append(
                    f"{attribute_label(audit.attribute)} : {LABELS_FR[key]} {_num(estimate.value)} "
                    f"(intervalle {_num(estimate.lower)} à {_num(estimate.upper)}) au-delà de {_num(limit)}"
                )
        if thresholds.block_on_group_alerts:
            breaches.extend(audit.alerts)
    return FairnessVerdict(passed=not breaches, breaches=breaches, judged=judged)
