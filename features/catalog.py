"""The feature catalogue: every model input as one entry, everything known about it in one place.

Each :class:`Feature` carries its family, meaning, French label, monotone direction and how it
reads as a reason (or that it never is one). Training (monotone constraints), reasons, the
feature table's metadata, monitoring, audits and the generated reference read them from here,
never from column positions nor from side tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from features import french
from features.school import LOOKBACK_YEARS, SNAPSHOT_KEY

#: The trajectory histories' fixed look-back, as the texts say it (features.school.LOOKBACK_YEARS).
LOOK_BACK_EN: Final = "this school year" + (f" and the {LOOKBACK_YEARS} before" if LOOKBACK_YEARS else "")
LOOK_BACK_FR: Final = "cette année scolaire" + (
    f" ou {'la précédente' if LOOKBACK_YEARS == 1 else f'les {LOOKBACK_YEARS} précédentes'}" if LOOKBACK_YEARS else ""
)

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
    #: The sentence when the value is missing, where a missing value is a fact staff can check
    #: (« Aucune note en sciences cette année »). None: a missing value is never worded, and its
    #: contribution is left out of the reasons (it still counts in the score).
    missing: str | None = None


#: A feature that weighs in the score but is never offered as a reason (context, not a lever).
CONTEXT_ONLY: Final = "context"

#: Direction the field is sure of, kept as a LightGBM monotone constraint.
Direction = Literal[-1, 0, 1]
RAISES: Final = 1  # never lowers the risk as it grows
LOWERS: Final = -1  # never raises the risk as it grows
FREE: Final = 0  # the field is not sure: the model learns it


@dataclass(frozen=True)
class Feature:
    """One model input: what it means, how staff read it, the direction the model must keep,
    and how it reads as a reason (required: a feature says how, or that it is context only)."""

    name: str
    family: Family
    meaning: str
    label_fr: str
    categorical: bool = False
    monotone: Direction = FREE
    reason: Reason | Literal["context"] = field(kw_only=True)


#: The three tracks of secondary school, as staff and reviewers name them.
TRACK_LABELS_FR = {
    "college": "collège",
    "lycee_gt": "lycée général et technologique",
    "lycee_pro": "lycée professionnel",
}
#: The families of signals as reviewers and staff name them.
FAMILY_LABELS_FR: dict[str, str] = {
    "attendance": "assiduité",
    "course": "résultats scolaires",
    "behaviour": "comportement",
    "trajectory": "parcours",
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

_UNJ, _JUS, _LATE = "Absences non justifiées", "Absences justifiées", "Retards"
_RES = "Résultats scolaires"
_NO_GRADE_YEAR = "Aucune note depuis la rentrée"
_WINDOWS_FR = {
    "4w": ("4 dernières semaines", "sur les 4 dernières semaines"),
    "12w": ("12 dernières semaines", "sur les 12 dernières semaines"),
    "year": ("année", "depuis la rentrée"),
}
_SUBJECT_GROUPS_FR = {
    "maths": "mathématiques",
    "french": "français",
    "sciences": "sciences",
    "languages": "langues vivantes",
}


def _rate(kind: str, window: str, *, fr: str, signal: str, sentence: str, monotone: Direction) -> Feature:
    """One of the nine attendance rates: ``sentence`` holds ``{window}`` (« sur les 4 dernières semaines »)."""
    label_window, sentence_window = _WINDOWS_FR[window]
    return Feature(
        f"{kind}_rate_{window}",
        "attendance",
        f"{kind.replace('_', ' ')} half-days / school half-days enrolled, {window}",
        f"Taux {french.of(fr)} ({label_window})",
        monotone=monotone,
        reason=Reason(signal, "pct", sentence.format(window=sentence_window), compare=True),
    )


_ATTENDANCE = (
    *(
        _rate(
            "unjustified_absence",
            w,
            fr="absences non justifiées",
            signal=_UNJ,
            sentence="{{value}} des demi-journées manquées sans justification {window}",
            monotone=RAISES,
        )
        for w in _WINDOWS_FR
    ),
    *(
        _rate(
            "justified_absence",
            w,
            fr="absences justifiées",
            signal=_JUS,
            sentence="{{value}} des demi-journées manquées avec justification {window}",
            monotone=FREE,
        )
        for w in _WINDOWS_FR
    ),
    *(
        _rate(
            "late",
            w,
            fr="retards",
            signal=_LATE,
            sentence="En retard à {{value}} des demi-journées {window}",
            monotone=FREE,
        )
        for w in _WINDOWS_FR
    ),
    Feature(
        "exclusion_rate_year",
        "attendance",
        "class exclusions / school half-days enrolled, school year",
        "Taux d'exclusions de cours (année)",
        monotone=RAISES,
        reason=Reason(
            "Exclusions de cours",
            "pct",
            "{value} des demi-journées avec une exclusion de cours depuis la rentrée",
            compare=True,
        ),
    ),
    Feature(
        "unjustified_absence_trend",
        "attendance",
        "unjustified absence rate of the last 4 weeks minus that of the 8 weeks before",
        "Évolution des absences non justifiées",
        reason=Reason(
            _UNJ,
            "pct",
            "Sur les 4 dernières semaines, {value} des demi-journées manquées sans justification de plus"
            " que sur les 8 précédentes",
        ),
    ),
    Feature(
        "months_with_4_unjustified_halfdays",
        "attendance",
        "months of the school year with 4 or more unjustified half-days (legal absentéisme threshold)",
        "Mois d'absentéisme (4 demi-journées non justifiées ou plus)",
        monotone=RAISES,
        reason=Reason(
            _UNJ,
            "count",
            "{value} mois avec au moins 4 demi-journées d'absence non justifiée cette année",
            compare=True,
        ),
    ),
    Feature(
        "longest_unjustified_run_halfdays",
        "attendance",
        "longest run of consecutive school half-days of unjustified absence, school year",
        "Plus longue absence non justifiée (demi-journées consécutives)",
        monotone=RAISES,
        reason=Reason(
            _UNJ,
            "count",
            "{value} demi-journée d'absence non justifiée au plus long cette année",
            "{value} demi-journées consécutives d'absence non justifiée au plus long cette année",
            compare=True,
        ),
    ),
    Feature(
        "days_since_last_unjustified_absence",
        "attendance",
        "days since the last unjustified absence (missing if none this school year or the last)",
        "Jours depuis la dernière absence non justifiée",
        reason=Reason(
            _UNJ,
            "days",
            "Dernière absence non justifiée il y a {value} jour",
            "Dernière absence non justifiée il y a {value} jours",
        ),
    ),
    Feature(
        "unjustified_absences_previous_year",
        "attendance",
        "unjustified absence half-days in the previous school year",
        "Absences non justifiées l'année précédente",
        monotone=RAISES,
        reason=Reason(
            _UNJ,
            "count",
            "{value} demi-journée d'absence non justifiée l'an dernier",
            "{value} demi-journées d'absence non justifiée l'an dernier",
            compare=True,
        ),
    ),
)
_COURSE = (
    Feature(
        "grade_mean_year",
        "course",
        "coefficient-weighted mean grade /20, school year so far",
        "Moyenne générale (année)",
        monotone=LOWERS,
        reason=Reason(
            _RES, "grade", "Moyenne générale de {value}/20 cette année", compare=True, missing=_NO_GRADE_YEAR
        ),
    ),
    Feature(
        "grade_mean_6w",
        "course",
        "coefficient-weighted mean grade /20, last 6 weeks",
        "Moyenne récente",
        reason=Reason(
            _RES,
            "grade",
            "Moyenne de {value}/20 sur les 6 dernières semaines",
            compare=True,
            missing="Aucune note sur les 6 dernières semaines",
        ),
    ),
    Feature(
        "grade_mean_change",
        "course",
        "mean of the last 6 weeks minus mean of the year before them",
        "Évolution des résultats",
        reason=Reason(
            _RES,
            "grade",
            "Moyenne récente en baisse de {value} point",
            "Moyenne récente en baisse de {value} points",
            negate=True,
        ),
    ),
    *(
        Feature(
            f"grade_mean_{group}_year",
            "course",
            f"mean grade /20 in {group}, school year",
            f"Résultats en {fr}",
            reason=Reason(
                f"Résultats en {fr}",
                "grade",
                f"Moyenne de {{value}}/20 en {fr} cette année",
                compare=True,
                missing=f"Aucune note en {fr} cette année",
            ),
        )
        for group, fr in _SUBJECT_GROUPS_FR.items()
    ),
    Feature(
        "subjects_below_10_year",
        "course",
        "subjects whose school-year mean is under 10/20",
        "Matières sous la moyenne",
        monotone=RAISES,
        reason=Reason(
            _RES,
            "count",
            "{value} matière sous 10/20 cette année",
            "{value} matières sous 10/20 cette année",
            compare=True,
        ),
    ),
    Feature(
        "grade_percentile_in_level",
        "course",
        "percentile of grade_mean_year among pupils of the same grade level and school, as of the date",
        "Rang dans le niveau",
        # missing exactly when grade_mean_year is: no grade this school year, hence no rank
        reason=Reason(
            _RES,
            "share",
            "Résultats au niveau des {value} les plus faibles du niveau dans l'établissement",
            missing=_NO_GRADE_YEAR,
        ),
    ),
    Feature(
        "grades_count_6w",
        "course",
        "grades recorded in the last 6 weeks (few = missing work)",
        "Notes récentes",
        reason=Reason(
            _RES,
            "count",
            "{value} note sur les 6 dernières semaines",
            "{value} notes sur les 6 dernières semaines",
            compare=True,
        ),
    ),
    Feature(
        "grade_mean_previous_year",
        "course",
        "mean grade /20 of the previous school year",
        "Moyenne de l'année précédente",
        monotone=LOWERS,
        reason=Reason(_RES, "grade", "Moyenne de {value}/20 l'an dernier", compare=True),
    ),
)
_BEHAVIOUR = (
    Feature(
        "incidents_12w",
        "behaviour",
        "incidents in the last 12 weeks",
        "Incidents (12 dernières semaines)",
        reason=Reason(
            "Incidents",
            "count",
            "{value} incident sur les 12 dernières semaines",
            "{value} incidents sur les 12 dernières semaines",
            compare=True,
        ),
    ),
    Feature(
        "incidents_year",
        "behaviour",
        "incidents in the school year",
        "Incidents (année)",
        reason=Reason(
            "Incidents",
            "count",
            "{value} incident depuis la rentrée",
            "{value} incidents depuis la rentrée",
            compare=True,
        ),
    ),
    Feature(
        "serious_incidents_year",
        "behaviour",
        "temporary exclusions and disciplinary councils, school year",
        "Exclusions temporaires et conseils de discipline",
        monotone=RAISES,
        reason=Reason(
            "Incidents",
            "count",
            "{value} exclusion temporaire ou conseil de discipline cette année",
            "{value} exclusions temporaires ou conseils de discipline cette année",
            compare=True,
        ),
    ),
    Feature(
        "days_since_last_incident",
        "behaviour",
        "days since the last incident (missing if none this school year or the last)",
        "Jours depuis le dernier incident",
        reason=Reason(
            "Incidents", "days", "Dernier incident il y a {value} jour", "Dernier incident il y a {value} jours"
        ),
    ),
)
_TRAJECTORY = (
    Feature("grade_level", "trajectory", "grade level on the date", "Niveau", categorical=True, reason=CONTEXT_ONLY),
    Feature(
        "track",
        "trajectory",
        "collège, lycée GT or lycée professionnel",
        "Voie",
        categorical=True,
        reason=CONTEXT_ONLY,
    ),
    Feature(
        "repeating",
        "trajectory",
        "repeating the current grade (0/1)",
        "Redoublement en cours",
        reason=Reason("Redoublement", "flag", "Redouble son année"),
    ),
    Feature(
        "repeats_so_far",
        "trajectory",
        f"school years repeated within the fixed look-back ({LOOK_BACK_EN}, features.school.LOOKBACK_YEARS)",
        "Redoublements",
        monotone=RAISES,
        reason=Reason(
            "Redoublement",
            "count",
            f"{{value}} redoublement {LOOK_BACK_FR}",
            f"{{value}} redoublements {LOOK_BACK_FR}",
        ),
    ),
    Feature("age_years", "trajectory", "age on the date, from the birth month", "Âge", reason=CONTEXT_ONLY),
    Feature(
        "age_for_grade_delay_years",
        "trajectory",
        "years older than the usual age for the grade level",
        "Retard scolaire (années)",
        monotone=RAISES,
        reason=Reason(
            "Retard scolaire",
            "years",
            "{value} an de plus que l'âge habituel du niveau",
            "{value} ans de plus que l'âge habituel du niveau",
        ),
    ),
    Feature(
        "school_changes_so_far",
        "trajectory",
        f"schools attended before the current one within the fixed look-back ({LOOK_BACK_EN})",
        "Changements d'établissement",
        reason=Reason(
            "Changements d'établissement",
            "count",
            f"{{value}} changement d'établissement {LOOK_BACK_FR}",
            f"{{value}} changements d'établissement {LOOK_BACK_FR}",
        ),
    ),
    Feature(
        "months_in_current_school",
        "trajectory",
        f"months since entry in the current school, within the fixed look-back ({LOOK_BACK_EN})",
        "Ancienneté dans l'établissement (mois)",
        reason=Reason("Changements d'établissement", "months", f"{{value}} mois dans l'établissement {LOOK_BACK_FR}"),
    ),
    Feature(
        "mid_year_entry",
        "trajectory",
        "entered the current school year after September (0/1)",
        "Arrivée en cours d'année",
        reason=Reason("Changements d'établissement", "flag", "Arrivée dans l'établissement en cours d'année"),
    ),
)
#: The catalogue: one entry per model input, in the feature table's column order.
FEATURES: tuple[Feature, ...] = (*_ATTENDANCE, *_COURSE, *_BEHAVIOUR, *_TRAJECTORY)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.categorical)
#: Columns that key a snapshot row; never model inputs.
KEY_COLUMNS = SNAPSHOT_KEY
CONTEXT_COLUMNS = ("school_id", "school_year")
LABEL_COLUMNS = ("label", "event_date")
AUDIT_COLUMNS = ("sex", "scholarship", "disability_plan", "priority_education", "allophone")


@dataclass(frozen=True)
class SourceTable:
    """A table of the data contract the model inputs are computed from, and the system it comes
    from, in French: what the explanation a family may ask for names (CRPA R311-3-1-2, 2°)."""

    name: str
    content_fr: str
    source_fr: str


#: The contract's tables the model inputs read (``outcomes`` serves training only), with only the
#: columns the inputs use: the audit columns of ``pupils`` and ``enrolments`` are never read by them.
SOURCE_TABLES: Final = (
    SourceTable("pupils", "Élève : mois de naissance (pour l'âge)", "SIECLE (base élèves de l'établissement)"),
    SourceTable(
        "enrolments",
        "Inscriptions : établissement, niveau, voie, redoublement, dates d'entrée et de sortie",
        "SIECLE (base élèves de l'établissement)",
    ),
    SourceTable(
        "attendance",
        "Absences, retards et exclusions de cours, par demi-journée, avec leur justification",
        "Logiciel de vie scolaire de l'établissement (Pronote ou équivalent)",
    ),
    SourceTable(
        "grades",
        "Notes et moyennes de période, par matière",
        "Logiciel de notes (Pronote ou équivalent) et Livret scolaire unique (LSU)",
    ),
    SourceTable(
        "incidents",
        "Incidents et sanctions (punitions, avertissements, exclusions, conseils de discipline)",
        "Logiciel de vie scolaire de l'établissement (Pronote ou équivalent)",
    ),
    SourceTable("calendar", "Calendrier des vacances (s'il est fourni) : les jours d'école", "Calendrier scolaire"),
)
#: The tables each family of inputs is computed from (rates count school half-days of enrolment).
FAMILY_TABLES: Final[dict[Family, tuple[str, ...]]] = {
    "attendance": ("attendance", "enrolments", "calendar"),
    "course": ("grades", "enrolments"),
    "behaviour": ("incidents",),
    "trajectory": ("enrolments", "pupils"),
}


def tables_of(feature: str) -> tuple[str, ...]:
    """The contract tables one model input is computed from."""
    return FAMILY_TABLES[next(f.family for f in FEATURES if f.name == feature)]
