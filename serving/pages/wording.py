"""What the pages say about tiers, changes and capacity: one place for each phrase."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from pydantic import ValidationError

from features import french
from features.catalog import GRADE_LEVEL_LABELS_FR, TRACK_LABELS_FR
from serving.api.csv_cells import neutralise_table
from serving.api.service import ImplausibleDatesError, PlanRuleError, ReviewBeforeStartError
from serving.batch import BatchMetadata

GRADE_LEVELS = tuple(GRADE_LEVEL_LABELS_FR)
TRACKS = tuple(TRACK_LABELS_FR)
TIER_LABELS = {"high": "Risque élevé", "medium": "Risque moyen", "low": "Risque faible"}
#: DSFR badge modifiers of each tier (system colours with AA contrast).
TIER_BADGES = {"high": "fr-badge--error", "medium": "fr-badge--warning", "low": "fr-badge--info"}
#: What changed since the previous batch, as a badge; "first" and "stable" show nothing.
CHANGE_LABELS = {"new_high": "nouveau", "up": "en hausse", "down": "en baisse"}
CHANGE_BADGES = {"new_high": "fr-badge--new", "up": "fr-badge--warning", "down": "fr-badge--success"}
CHANGE_TITLES = {
    "new_high": "Entré dans le groupe à risque élevé depuis le lot précédent",
    "up": "Risque en hausse depuis le lot précédent",
    "down": "Risque en baisse depuis le lot précédent",
}


def grade_level(code: str) -> str:
    """The French label of a grade level code (the code itself if unknown)."""
    return GRADE_LEVEL_LABELS_FR.get(code, code)


def track(code: str) -> str:
    """The French label of a track code (the code itself if unknown)."""
    return TRACK_LABELS_FR.get(code, code)


def _cut(cuts: dict[str, float], school_id: str) -> float | None:
    """The lowest risk of a tier in the pupil's school, or overall when the tiers are cut overall."""
    value = cuts.get(school_id, cuts.get("all"))
    return None if value is None else float(value)


def tier_meaning(tier: str, metadata: BatchMetadata, school_id: str) -> str:
    """What a tier means at the capacity the batch was cut at, in one plain sentence."""
    point = metadata.operating_point
    where = point.scope_fr()
    if tier == "high":
        cut = _cut(metadata.thresholds.high, school_id)
        at = f" (risque estimé d'au moins {french.percent(cut, 1)})" if cut is not None else ""
        return (
            f"Cet élève fait partie des {point.high_share_fr()} d'élèves au risque estimé le plus haut {where}{at} : "
            "c'est le groupe que l'établissement peut accompagner en priorité."
        )
    if tier == "medium":
        return (
            f"Cet élève fait partie des {point.medium_share_fr()} d'élèves suivants, juste après le groupe "
            f"prioritaire {where} : une attention à porter si la capacité le permet."
        )
    return (
        f"Le risque estimé de cet élève est plus bas que celui des groupes prioritaires {where} : "
        "aucun signal fort, ce qui ne dispense pas de l'avis des équipes."
    )


def risk_meaning(risk: float, horizon_days: int) -> str:
    """The risk as a frequency, which reads better than a probability."""
    return (
        f"Sur 100 élèves au profil semblable, environ {french.integer(round(100 * risk))} avaient quitté "
        f"l'école sans diplôme dans les {french.horizon(horizon_days)} suivants, dans les données d'apprentissage."
    )


#: The staff's export: column -> its heading, in the order a staff meeting reads them.
SPREADSHEET_COLUMNS = {
    "pupil_id": "Élève (pseudonyme)",
    "grade_level": "Niveau",
    "track": "Voie",
    "risk": "Risque estimé (%)",
    "tier": "Groupe",
    "change": "Depuis le lot précédent",
    "reasons": "Raisons",
}


def spreadsheet_csv(rows: pa.Table) -> bytes:
    """The export as a spreadsheet in French opens it by a double click: semicolons, a decimal
    comma, a byte-order mark so that accents read right, and the pages' words for codes."""
    frame = neutralise_table(rows.select(list(SPREADSHEET_COLUMNS))).to_pandas()
    shown = pd.DataFrame(
        {
            "pupil_id": frame["pupil_id"],
            "grade_level": frame["grade_level"].map(grade_level),
            "track": frame["track"].map(track),
            "risk": french.numbers((100 * frame["risk"]).tolist(), 1),
            "tier": frame["tier"].map(TIER_LABELS),
            "change": frame["change"].map(CHANGE_LABELS).fillna(""),
            "reasons": frame["reasons"],
        }
    ).rename(columns=SPREADSHEET_COLUMNS)
    return shown.to_csv(sep=";", index=False, lineterminator="\r\n").encode("utf-8-sig")


#: What a plan form says when a plan rule refuses it (:mod:`serving.api.service.errors`).
PLAN_RULE_MESSAGES: dict[type[PlanRuleError], str] = {
    ImplausibleDatesError: "Les dates d'un plan doivent être à moins de deux ans d'aujourd'hui.",
    ReviewBeforeStartError: "La date de revue doit être une date valide, après le début du plan.",
}
#: What the judgement form says when the rules refuse it (AI Act art. 14: fixed lists only).
JUDGEMENT_FORM_ERROR = (
    "Choisissez un avis proposé pour ce groupe de risque et, sauf si vous êtes d'accord, sa raison dans la liste."
)
CLOSING_NEEDS_OUTCOME = "Pour clore un plan, choisissez son issue (et seulement à la clôture)."
FROM_THE_LISTS = "Choisissez une action et un responsable dans les listes, et des dates valides."


def plan_form_error(error: ValidationError | PlanRuleError) -> str:
    """The French message of a plan form the rules refuse: a field out of its list, a closing
    without its outcome, a review date before the start or implausible."""
    if isinstance(error, PlanRuleError):
        return PLAN_RULE_MESSAGES.get(type(error), FROM_THE_LISTS)
    problems = error.errors()
    fields = {str(e["loc"][0]) if e.get("loc") else "" for e in problems}
    if "outcome" in fields or any("outcome" in str(e.get("msg")) for e in problems):
        return CLOSING_NEEDS_OUTCOME
    if "review_date" in fields or any("review_date" in str(e.get("msg")) for e in problems):
        return PLAN_RULE_MESSAGES[ReviewBeforeStartError]
    return FROM_THE_LISTS
