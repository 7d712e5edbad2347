"""The feature catalogue: every model input with its family, meaning and French label.

Training, reasons, monitoring and audits read names and meanings from here (and from the
metadata file written beside each feature table), never from column positions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

from features.school import SNAPSHOT_KEY

Family = Literal["attendance", "course", "behaviour", "trajectory"]
#: How a reason's value is shown: a share of half-days, a count, a grade /20, a duration, a yes/no.
Unit = Literal["pct", "count", "grade", "days", "years", "months", "flag", "share"]


@dataclass(frozen=True)
class Reason:
    """How a feature reads as a reason for school staff, in French.

    ``one`` and ``many`` are the singular and plural sentences (``{value}`` is filled in);
    ``compare`` adds the mean of the pupils of the same grade level where that helps the
    reader (a rate, a count, a grade), not where the sentence already compares (a delay, a
    rank) or where a mean means nothing (days since the last absence).
    """

    signal: str  # the group staff recognise: contributions of its features add up
    unit: Unit
    one: str
    many: str | None = None
    compare: bool = False
    #: Shown with the sign turned (a fall of the mean reads "en baisse de 2 points").
    negate: bool = False


#: A feature that weighs in the score but is never offered as a reason (context, not a lever).
CONTEXT_ONLY: Final = "context"


@dataclass(frozen=True)
class Feature:
    name: str
    family: Family
    meaning: str
    label_fr: str
    categorical: bool = False
    #: Direction the field is sure of: +1 never lowers risk as it grows, -1 never raises it, 0 unsure.
    monotone: int = 0
    #: How it reads as a reason, or :data:`CONTEXT_ONLY`; None only for a feature nobody has
    #: worded yet (a test fails on it: a feature must say one or the other).
    reason: Reason | Literal["context"] | None = None


#: The three tracks of secondary school, as staff and reviewers name them.
TRACK_LABELS_FR = {
    "college": "collège",
    "lycee_gt": "lycée général et technologique",
    "lycee_pro": "lycée professionnel",
}
#: Grade levels as French staff write them.
GRADE_LEVEL_LABELS_FR = {
    "6E": "6e",
    "5E": "5e",
    "4E": "4e",
    "3E": "3e",
    "2NDE": "2de",
    "1ERE": "1re",
    "TLE": "Terminale",
    "CAP1": "CAP 1re année",
    "CAP2": "CAP 2e année",
    "2PRO": "2de pro",
    "1PRO": "1re pro",
    "TPRO": "Terminale pro",
}
#: Rolling windows in days, and the school year so far.
WINDOWS = {"4w": 28, "12w": 84}
SERIOUS_INCIDENTS = ("exclusion_temporaire", "conseil_discipline")
SUBJECT_GROUPS: dict[str, tuple[str, ...]] = {
    "maths": ("MATHS",),
    "french": ("FRANCAIS", "PHILO"),
    "sciences": ("PHYS-CHIM", "SVT", "SES"),
    "languages": ("LV1", "LV2"),
}
#: Years after 6E at which a pupil without delay reaches each grade level.
LEVEL_OFFSET = {
    "6E": 0,
    "5E": 1,
    "4E": 2,
    "3E": 3,
    "2NDE": 4,
    "1ERE": 5,
    "TLE": 6,
    "CAP1": 4,
    "CAP2": 5,
    "2PRO": 4,
    "1PRO": 5,
    "TPRO": 6,
}

_A: list[Feature] = []
for kind, fr in (
    ("unjustified_absence", "absences non justifiées"),
    ("justified_absence", "absences justifiées"),
    ("late", "retards"),
):
    for window, fr_window in (("4w", "4 dernières semaines"), ("12w", "12 dernières semaines"), ("year", "année")):
        _A.append(
            Feature(
                f"{kind}_rate_{window}",
                "attendance",
                f"{kind.replace('_', ' ')} half-days / school half-days enrolled, {window}",
                f"Taux de {fr} ({fr_window})",
            )
        )
_A += [
    Feature(
        "exclusion_rate_year",
        "attendance",
        "class exclusions / school half-days enrolled, school year",
        "Taux d'exclusions de cours (année)",
    ),
    Feature(
        "unjustified_absence_trend",
        "attendance",
        "unjustified absence rate of the last 4 weeks minus that of the 8 weeks before",
        "Évolution des absences non justifiées",
    ),
    Feature(
        "months_with_4_unjustified_halfdays",
        "attendance",
        "months of the school year with 4 or more unjustified half-days (legal absentéisme threshold)",
        "Mois d'absentéisme (4 demi-journées non justifiées ou plus)",
    ),
    Feature(
        "longest_unjustified_run_halfdays",
        "attendance",
        "longest run of consecutive school half-days of unjustified absence, school year",
        "Plus longue absence non justifiée (demi-journées consécutives)",
    ),
    Feature(
        "days_since_last_unjustified_absence",
        "attendance",
        "days since the last unjustified absence (missing if none this school year or the last)",
        "Jours depuis la dernière absence non justifiée",
    ),
    Feature(
        "unjustified_absences_previous_year",
        "attendance",
        "unjustified absence half-days in the previous school year",
        "Absences non justifiées l'année précédente",
    ),
]
_C = [
    Feature(
        "grade_mean_year",
        "course",
        "coefficient-weighted mean grade /20, school year so far",
        "Moyenne générale (année)",
    ),
    Feature("grade_mean_6w", "course", "coefficient-weighted mean grade /20, last 6 weeks", "Moyenne récente"),
    Feature(
        "grade_mean_change",
        "course",
        "mean of the last 6 weeks minus mean of the year before them",
        "Évolution des résultats",
    ),
    *[
        Feature(f"grade_mean_{group}_year", "course", f"mean grade /20 in {group}, school year", f"Résultats en {fr}")
        for group, fr in (
            ("maths", "mathématiques"),
            ("french", "français"),
            ("sciences", "sciences"),
            ("languages", "langues vivantes"),
        )
    ],
    Feature(
        "subjects_below_10_year", "course", "subjects whose school-year mean is under 10/20", "Matières sous la moyenne"
    ),
    Feature(
        "grade_percentile_in_level",
        "course",
        "percentile of grade_mean_year among pupils of the same grade level and school, as of the date",
        "Rang dans le niveau",
    ),
    Feature("grades_count_6w", "course", "grades recorded in the last 6 weeks (few = missing work)", "Notes récentes"),
    Feature(
        "grade_mean_previous_year",
        "course",
        "mean grade /20 of the previous school year",
        "Moyenne de l'année précédente",
    ),
]
_B = [
    Feature("incidents_12w", "behaviour", "incidents in the last 12 weeks", "Incidents (12 dernières semaines)"),
    Feature("incidents_year", "behaviour", "incidents in the school year", "Incidents (année)"),
    Feature(
        "serious_incidents_year",
        "behaviour",
        "temporary exclusions and disciplinary councils, school year",
        "Exclusions temporaires et conseils de discipline",
    ),
    Feature(
        "days_since_last_incident",
        "behaviour",
        "days since the last incident (missing if none this school year or the last)",
        "Jours depuis le dernier incident",
    ),
]
_T = [
    Feature("grade_level", "trajectory", "grade level on the date", "Niveau", categorical=True),
    Feature("track", "trajectory", "collège, lycée GT or lycée professionnel", "Voie", categorical=True),
    Feature("repeating", "trajectory", "repeating the current grade (0/1)", "Redoublement en cours"),
    Feature("repeats_so_far", "trajectory", "school years repeated so far", "Redoublements"),
    Feature("age_years", "trajectory", "age on the date, from the birth month", "Âge"),
    Feature(
        "age_for_grade_delay_years",
        "trajectory",
        "years older than the usual age for the grade level",
        "Retard scolaire (années)",
    ),
    Feature(
        "school_changes_so_far", "trajectory", "schools attended before the current one", "Changements d'établissement"
    ),
    Feature(
        "months_in_current_school",
        "trajectory",
        "months since first entry in the current school",
        "Ancienneté dans l'établissement (mois)",
    ),
    Feature(
        "mid_year_entry",
        "trajectory",
        "entered the current school year after September (0/1)",
        "Arrivée en cours d'année",
    ),
]

_RAISING = {
    "unjustified_absence_rate_4w",
    "unjustified_absence_rate_12w",
    "unjustified_absence_rate_year",
    "exclusion_rate_year",
    "months_with_4_unjustified_halfdays",
    "longest_unjustified_run_halfdays",
    "unjustified_absences_previous_year",
    "subjects_below_10_year",
    "serious_incidents_year",
    "repeats_so_far",
    "age_for_grade_delay_years",
}
_LOWERING = {"grade_mean_year", "grade_mean_previous_year"}

_UNJ, _JUS, _LATE = "Absences non justifiées", "Absences justifiées", "Retards"
_RES = "Résultats scolaires"
_WINDOW_FR = {"4w": "sur les 4 dernières semaines", "12w": "sur les 12 dernières semaines", "year": "depuis la rentrée"}
REASONS: dict[str, Reason | Literal["context"]] = {
    **{
        f"unjustified_absence_rate_{w}": Reason(
            _UNJ, "pct", f"{{value}} des demi-journées manquées sans justification {fr}", compare=True
        )
        for w, fr in _WINDOW_FR.items()
    },
    **{
        f"justified_absence_rate_{w}": Reason(
            _JUS, "pct", f"{{value}} des demi-journées manquées avec justification {fr}", compare=True
        )
        for w, fr in _WINDOW_FR.items()
    },
    **{
        f"late_rate_{w}": Reason(_LATE, "pct", f"En retard à {{value}} des demi-journées {fr}", compare=True)
        for w, fr in _WINDOW_FR.items()
    },
    "exclusion_rate_year": Reason(
        "Exclusions de cours",
        "pct",
        "{value} des demi-journées avec une exclusion de cours depuis la rentrée",
        compare=True,
    ),
    "unjustified_absence_trend": Reason(
        _UNJ,
        "pct",
        "Sur les 4 dernières semaines, {value} des demi-journées manquées sans justification de plus"
        " que sur les 8 précédentes",
    ),
    "months_with_4_unjustified_halfdays": Reason(
        _UNJ,
        "count",
        "{value} mois avec au moins 4 demi-journées d'absence non justifiée cette année",
        compare=True,
    ),
    "longest_unjustified_run_halfdays": Reason(
        _UNJ,
        "count",
        "{value} demi-journée d'absence non justifiée au plus long cette année",
        "{value} demi-journées consécutives d'absence non justifiée au plus long cette année",
        compare=True,
    ),
    "days_since_last_unjustified_absence": Reason(
        _UNJ,
        "days",
        "Dernière absence non justifiée il y a {value} jour",
        "Dernière absence non justifiée il y a {value} jours",
    ),
    "unjustified_absences_previous_year": Reason(
        _UNJ,
        "count",
        "{value} demi-journée d'absence non justifiée l'an dernier",
        "{value} demi-journées d'absence non justifiée l'an dernier",
        compare=True,
    ),
    "grade_mean_year": Reason(_RES, "grade", "Moyenne générale de {value}/20 cette année", compare=True),
    "grade_mean_6w": Reason(_RES, "grade", "Moyenne de {value}/20 sur les 6 dernières semaines", compare=True),
    "grade_mean_change": Reason(
        _RES,
        "grade",
        "Moyenne récente en baisse de {value} point",
        "Moyenne récente en baisse de {value} points",
        negate=True,
    ),
    "subjects_below_10_year": Reason(
        _RES, "count", "{value} matière sous 10/20 cette année", "{value} matières sous 10/20 cette année", compare=True
    ),
    "grade_percentile_in_level": Reason(
        _RES, "share", "Résultats au niveau des {value} les plus faibles du niveau dans l'établissement"
    ),
    "grades_count_6w": Reason(
        _RES,
        "count",
        "{value} note sur les 6 dernières semaines",
        "{value} notes sur les 6 dernières semaines",
        compare=True,
    ),
    "grade_mean_previous_year": Reason(_RES, "grade", "Moyenne de {value}/20 l'an dernier", compare=True),
    **{
        f"grade_mean_{group}_year": Reason(
            f"Résultats en {fr}", "grade", f"Moyenne de {{value}}/20 en {fr} cette année", compare=True
        )
        for group, fr in (
            ("maths", "mathématiques"),
            ("french", "français"),
            ("sciences", "sciences"),
            ("languages", "langues vivantes"),
        )
    },
    "incidents_12w": Reason(
        "Incidents",
        "count",
        "{value} incident sur les 12 dernières semaines",
        "{value} incidents sur les 12 dernières semaines",
        compare=True,
    ),
    "incidents_year": Reason(
        "Incidents", "count", "{value} incident depuis la rentrée", "{value} incidents depuis la rentrée", compare=True
    ),
    "serious_incidents_year": Reason(
        "Incidents",
        "count",
        "{value} exclusion temporaire ou conseil de discipline cette année",
        "{value} exclusions temporaires ou conseils de discipline cette année",
        compare=True,
    ),
    "days_since_last_incident": Reason(
        "Incidents", "days", "Dernier incident il y a {value} jour", "Dernier incident il y a {value} jours"
    ),
    "repeating": Reason("Redoublement", "flag", "Redouble son année"),
    "repeats_so_far": Reason(
        "Redoublement", "count", "{value} redoublement dans sa scolarité", "{value} redoublements dans sa scolarité"
    ),
    "age_for_grade_delay_years": Reason(
        "Retard scolaire",
        "years",
        "{value} an de plus que l'âge habituel du niveau",
        "{value} ans de plus que l'âge habituel du niveau",
    ),
    "school_changes_so_far": Reason(
        "Changements d'établissement",
        "count",
        "{value} changement d'établissement",
        "{value} changements d'établissement",
    ),
    "months_in_current_school": Reason(
        "Changements d'établissement", "months", "Dans l'établissement depuis {value} mois"
    ),
    "mid_year_entry": Reason("Changements d'établissement", "flag", "Arrivée dans l'établissement en cours d'année"),
    "grade_level": CONTEXT_ONLY,
    "track": CONTEXT_ONLY,
    "age_years": CONTEXT_ONLY,
}
FEATURES: tuple[Feature, ...] = tuple(
    replace(
        f,
        monotone=1 if f.name in _RAISING else -1 if f.name in _LOWERING else 0,
        reason=REASONS.get(f.name),
    )
    for f in (*_A, *_C, *_B, *_T)
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.categorical)
#: Columns that key a snapshot row; never model inputs.
KEY_COLUMNS = SNAPSHOT_KEY
CONTEXT_COLUMNS = ("school_id", "school_year")
LABEL_COLUMNS = ("label", "event_date")
AUDIT_COLUMNS = ("sex", "scholarship", "disability_plan", "priority_education", "allophone")
