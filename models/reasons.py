"""Reasons: per-pupil TreeSHAP contributions grouped into signals staff recognise, in French.

Contributions are LightGBM's exact TreeSHAP (``pred_contrib``) in log-odds. Related features
add up into one signal ("Absences non justifiées", "Résultats en mathématiques"...); the
risk-raising signals come first, each with the value of its most contributing feature and a
sentence comparing it with the pupils of the same grade level. Grade level, track and age
are context, not reasons: they count in the score but are offered only when nothing else
raises the risk (then as "Situation scolaire", said plainly). Sensitive attributes cannot
appear: they are not features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Unit = Literal["pct", "count", "grade", "days", "years", "months", "flag", "share"]


@dataclass(frozen=True)
class Phrase:
    unit: Unit
    text: str  # "{value}" and "{reference}" are filled in


SIGNALS: dict[str, dict[str, Phrase]] = {
    "Absences non justifiées": {
        "unjustified_absence_rate_4w": Phrase(
            "pct", "{value} des demi-journées manquées sans justification sur les 4 dernières semaines"
        ),
        "unjustified_absence_rate_12w": Phrase(
            "pct", "{value} des demi-journées manquées sans justification sur les 12 dernières semaines"
        ),
        "unjustified_absence_rate_year": Phrase(
            "pct", "{value} des demi-journées manquées sans justification depuis la rentrée"
        ),
        "unjustified_absence_trend": Phrase(
            "pct", "Absences non justifiées en hausse de {value} des demi-journées sur les 4 dernières semaines"
        ),
        "months_with_4_unjustified_halfdays": Phrase(
            "count", "{value} mois avec au moins 4 demi-journées d'absence non justifiée cette année"
        ),
        "longest_unjustified_run_halfdays": Phrase(
            "count", "{value} demi-journées consécutives d'absence non justifiée au plus long cette année"
        ),
        "days_since_last_unjustified_absence": Phrase("days", "Dernière absence non justifiée il y a {value} jours"),
        "unjustified_absences_previous_year": Phrase(
            "count", "{value} demi-journées d'absence non justifiée l'an dernier"
        ),
    },
    "Absences justifiées": {
        "justified_absence_rate_4w": Phrase(
            "pct", "{value} des demi-journées manquées avec justification sur les 4 dernières semaines"
        ),
        "justified_absence_rate_12w": Phrase(
            "pct", "{value} des demi-journées manquées avec justification sur les 12 dernières semaines"
        ),
        "justified_absence_rate_year": Phrase(
            "pct", "{value} des demi-journées manquées avec justification depuis la rentrée"
        ),
    },
    "Retards": {
        "late_rate_4w": Phrase("pct", "Retards sur {value} des demi-journées des 4 dernières semaines"),
        "late_rate_12w": Phrase("pct", "Retards sur {value} des demi-journées des 12 dernières semaines"),
        "late_rate_year": Phrase("pct", "Retards sur {value} des demi-journées depuis la rentrée"),
    },
    "Exclusions de cours": {
        "exclusion_rate_year": Phrase("pct", "Exclu de cours sur {value} des demi-journées depuis la rentrée"),
    },
    "Résultats scolaires": {
        "grade_mean_year": Phrase("grade", "Moyenne générale de {value}/20 cette année"),
        "grade_mean_6w": Phrase("grade", "Moyenne de {value}/20 sur les 6 dernières semaines"),
        "grade_mean_change": Phrase("grade", "Moyenne récente en baisse de {value} points"),
        "subjects_below_10_year": Phrase("count", "{value} matières sous 10/20 cette année"),
        "grade_percentile_in_level": Phrase(
            "share", "Résultats au niveau des {value} les plus faibles du niveau dans l'établissement"
        ),
        "grades_count_6w": Phrase("count", "{value} notes sur les 6 dernières semaines"),
        "grade_mean_previous_year": Phrase("grade", "Moyenne de {value}/20 l'an dernier"),
    },
    "Résultats en mathématiques": {
        "grade_mean_maths_year": Phrase("grade", "Moyenne de {value}/20 en mathématiques cette année")
    },
    "Résultats en français": {
        "grade_mean_french_year": Phrase("grade", "Moyenne de {value}/20 en français cette année")
    },
    "Résultats en sciences": {
        "grade_mean_sciences_year": Phrase("grade", "Moyenne de {value}/20 en sciences cette année")
    },
    "Résultats en langues vivantes": {
        "grade_mean_languages_year": Phrase("grade", "Moyenne de {value}/20 en langues vivantes cette année")
    },
    "Incidents": {
        "incidents_12w": Phrase("count", "{value} incidents sur les 12 dernières semaines"),
        "incidents_year": Phrase("count", "{value} incidents depuis la rentrée"),
        "serious_incidents_year": Phrase(
            "count", "{value} exclusions temporaires ou conseils de discipline cette année"
        ),
        "days_since_last_incident": Phrase("days", "Dernier incident il y a {value} jours"),
    },
    "Redoublement": {
        "repeating": Phrase("flag", "Redouble son année"),
        "repeats_so_far": Phrase("count", "{value} redoublements dans sa scolarité"),
    },
    "Retard scolaire": {
        "age_for_grade_delay_years": Phrase("years", "{value} an(s) de plus que l'âge habituel du niveau")
    },
    "Changements d'établissement": {
        "school_changes_so_far": Phrase("count", "{value} changements d'établissement"),
        "months_in_current_school": Phrase("months", "Dans l'établissement depuis {value} mois"),
        "mid_year_entry": Phrase("flag", "Arrivé(e) en cours d'année"),
    },
}
#: Features that weigh in the score but are never offered as a reason.
CONTEXT = ("grade_level", "track", "age_years")
SIGNAL_OF = {feature: signal for signal, phrases in SIGNALS.items() for feature in phrases}
PHRASE_OF = {feature: phrase for phrases in SIGNALS.values() for feature, phrase in phrases.items()}


def _format(value: float, unit: Unit) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if unit == "pct":
        return f"{100 * value:.0f} %"
    if unit == "share":
        return f"{max(1, round(100 * value))} %"
    if unit == "grade":
        return f"{abs(value):.1f}".replace(".", ",")
    return f"{value:.0f}"


def sentence(feature: str, value: float, reference: float | None) -> str:
    phrase = PHRASE_OF[feature]
    shown = -value if feature == "grade_mean_change" else value
    text = phrase.text.format(value=_format(shown, phrase.unit))
    if reference is not None and phrase.unit not in ("flag",) and not np.isnan(reference):
        ref = -reference if feature == "grade_mean_change" else reference
        suffix = "/20" if phrase.unit == "grade" else ""
        text += f" ({_format(ref, phrase.unit)}{suffix} en moyenne au même niveau)"
    return text


def signal_matrix(features: list[str]) -> tuple[list[str], np.ndarray]:
    """Signals and the 0/1 matrix (features x signals) that sums feature contributions into them."""
    signals = list(SIGNALS)
    matrix = np.zeros((len(features), len(signals)))
    for i, feature in enumerate(features):
        if feature in SIGNAL_OF:
            matrix[i, signals.index(SIGNAL_OF[feature])] = 1.0
    return signals, matrix


def top_signals(contributions: np.ndarray, features: list[str], k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rows x k) of the k most risk-raising signals, and their summed contributions."""
    _, matrix = signal_matrix(features)
    per_signal = contributions[:, : len(features)] @ matrix
    order = np.argsort(-per_signal, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(per_signal, order, axis=1)


def reasons(
    contributions: np.ndarray, frame: pd.DataFrame, features: list[str], references: pd.DataFrame, k: int = 3
) -> list[list[dict[str, object]]]:
    """The contract's ``reasons`` per row: most risk-raising signals first, positive ones only.

    ``references`` holds, per grade level (index), the mean of each feature in the batch.
    """
    signals, _ = signal_matrix(features)
    order, totals = top_signals(contributions, features, k)
    column = {f: i for i, f in enumerate(features)}
    out: list[list[dict[str, object]]] = []
    levels = frame["grade_level"].to_numpy()
    for row in range(len(frame)):
        items: list[dict[str, object]] = []
        for j in range(order.shape[1]):
            if totals[row, j] <= 0:
                break
            signal = signals[order[row, j]]
            members = [f for f in SIGNALS[signal] if f in column]
            lead = max(members, key=lambda f: contributions[row, column[f]])
            value = float(frame[lead].iloc[row]) if pd.notna(frame[lead].iloc[row]) else float("nan")
            reference: Any = references.at[levels[row], lead] if levels[row] in references.index else None
            items.append(
                {
                    "signal": signal,
                    "value": value,
                    "contribution": float(totals[row, j]),
                    "text": sentence(lead, value, None if reference is None else float(reference)),
                }
            )
        if not items:
            items.append(_context_reason(contributions[row], column, frame.iloc[row]))
        out.append(items)
    return out


def _context_reason(contributions: np.ndarray, column: dict[str, int], row: pd.Series) -> dict[str, object]:
    """When no signal raises the risk, say plainly that it comes from the pupil's situation."""
    total = float(sum(contributions[column[f]] for f in CONTEXT if f in column))
    age = float(row["age_years"]) if "age_years" in row and pd.notna(row["age_years"]) else float("nan")
    text = (
        f"Le risque tient au niveau ({row.get('grade_level', '—')}) et à l'âge ({age:.0f} ans) ; "
        "aucun signal d'assiduité, de résultats ou de comportement ne l'augmente"
    )
    return {"signal": "Situation scolaire", "value": age, "contribution": total, "text": text}
