"""How often school staff overrule the model (AI Act art. 14 and 72): the disagreement rate of
the staff's judgements on a batch's flags, overall, by tier, by school and by audit group.

A judgement disagrees when it is anything but agreement (:func:`models.judgements.disagrees`):
a flag found not a concern, or a concern at a low score. A model the staff keep overruling is a
finding: an alert fires past ``alerts.max_staff_disagreement``. Groups with fewer judgements
than ``alerts.min_judgements`` show their counts but no rate (too few to read, and a small cell
of an audit group says too much about too few pupils).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fairness.groups import attribute_label
from features import french
from models.judgements import disagrees
from monitoring.alerts import Alert
from monitoring.config import MonitoringConfig


@dataclass(frozen=True)
class DisagreementRate:
    """Judgements and disagreements in one slice; ``rate`` None when too few to read."""

    slice: str  # "overall", "tier", "school" or an audit attribute
    group: str
    judged: int
    disagreed: int
    rate: float | None


@dataclass(frozen=True)
class Disagreement:
    """The disagreement rates of one batch (empty when nobody judged it)."""

    overall: DisagreementRate
    slices: list[DisagreementRate] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """For the verdict's JSON."""
        return {"overall": self.overall.__dict__, "slices": [s.__dict__ for s in self.slices]}


def _rate(name: str, group: str, verdicts: pd.Series, min_judged: int) -> DisagreementRate:
    judged = len(verdicts)
    disagreed = int(verdicts.map(disagrees).sum()) if judged else 0
    return DisagreementRate(name, group, judged, disagreed, disagreed / judged if judged >= min_judged else None)


def disagreement(
    judgements: pd.DataFrame, pupils: pd.DataFrame, groups: pd.DataFrame, config: MonitoringConfig
) -> Disagreement:
    """The rates of the batch's ``judgements`` (pupil_id, tier, verdict; the latest of each
    pupil), with the school of each pupil from ``pupils`` (pupil_id, school_id) and their audit
    groups from ``groups`` (aligned with ``pupils``). Judgements of pupils not in the batch (an
    objection recorded since) are left out."""
    minimum = config.alerts.min_judgements
    known = pupils[["pupil_id", "school_id"]].reset_index(drop=True).join(groups.reset_index(drop=True))
    frame = judgements[["pupil_id", "tier", "verdict"]].merge(known, on="pupil_id", how="inner")
    rates = []
    for name in ["tier", "school_id", *[a for a in config.slices.attributes if a in frame.columns]]:
        for group, rows in frame.groupby(name, sort=True):
            rates.append(_rate("school" if name == "school_id" else name, str(group), rows["verdict"], minimum))
    return Disagreement(_rate("overall", "all", frame["verdict"], minimum), rates)


def disagreement_alerts(result: Disagreement, config: MonitoringConfig) -> list[Alert]:
    """One alert when staff overrule the flags at or past the threshold (overall, enough judgements)."""
    rate, limit = result.overall.rate, config.alerts.max_staff_disagreement
    if rate is None or rate < limit:
        return []
    message = (
        f"Modèle à réexaminer avec les équipes : les personnels ont contredit {french.percent(rate)} des "
        f"signalements qu'ils ont jugés ({result.overall.disagreed} sur {result.overall.judged} ; seuil "
        f"{french.percent(limit)})."
    )
    return [Alert("staff_disagreement", "review_with_staff", rate, limit, message)]


def slice_label(rate: DisagreementRate) -> str:
    """The French name of a slice, for the reviewers' page."""
    if rate.slice == "overall":
        return "Ensemble"
    if rate.slice == "tier":
        return {"high": "Risque élevé", "medium": "Risque moyen", "low": "Risque faible"}.get(rate.group, rate.group)
    if rate.slice == "school":
        return f"Établissement {rate.group}"
    return f"{attribute_label(rate.slice)} : {rate.group}"
