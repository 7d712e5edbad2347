"""Reason wording: one catalogue, French plurals, a comparison only where it helps the reader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.catalog import CONTEXT_ONLY, FEATURE_NAMES, FEATURES, Reason
from models.reasons import CONTEXT, SIGNALS, WORDING, LevelMeans, ReasonItem, reasons, sentence


def test_every_feature_says_how_it_reads_as_a_reason_or_that_it_never_is_one() -> None:
    silent = [f.name for f in FEATURES if not (isinstance(f.reason, Reason) or f.reason == CONTEXT_ONLY)]
    assert not silent, f"features without a reason wording nor CONTEXT_ONLY: {silent}"
    assert set(WORDING) | set(CONTEXT) == {f.name for f in FEATURES}
    assert {f for members in SIGNALS.values() for f in members} == set(WORDING)


@pytest.mark.parametrize(
    ("feature", "value", "reference", "expected"),
    [
        ("age_for_grade_delay_years", 2, 0.1, "2 ans de plus que l'âge habituel du niveau"),
        ("age_for_grade_delay_years", 1, 0.1, "1 an de plus que l'âge habituel du niveau"),
        ("subjects_below_10_year", 1, 0.4, "1 matière sous 10/20 cette année (0,4 en moyenne au même niveau)"),
        ("subjects_below_10_year", 3, 1.2, "3 matières sous 10/20 cette année (1,2 en moyenne au même niveau)"),
        ("incidents_year", 0, 0.3, "0 incident depuis la rentrée (0,3 en moyenne au même niveau)"),
        ("days_since_last_unjustified_absence", 1, 30.0, "Dernière absence non justifiée il y a 1 jour"),
        ("days_since_last_unjustified_absence", 12, 30.0, "Dernière absence non justifiée il y a 12 jours"),
        ("grade_mean_change", -2.14, 0.1, "Moyenne récente en baisse de 2,1 points"),
        ("grade_mean_year", 8.25, 12.3, "Moyenne générale de 8,2/20 cette année (12,3/20 en moyenne au même niveau)"),
        (
            "unjustified_absence_rate_4w",
            0.12,
            0.03,
            "12 % des demi-journées manquées sans justification sur les 4 dernières semaines "
            "(3 % en moyenne au même niveau)",
        ),
        # the same figure twice tells nothing: no comparison
        (
            "unjustified_absence_rate_4w",
            0.03,
            0.031,
            "3 % des demi-journées manquées sans justification sur les 4 dernières semaines",
        ),
        ("mid_year_entry", 1, 0.1, "Arrivée dans l'établissement en cours d'année"),
        (
            "late_rate_12w",
            0.05,
            0.03,
            "En retard à 5 % des demi-journées sur les 12 dernières semaines (3 % en moyenne au même niveau)",
        ),
        (
            "unjustified_absence_trend",
            0.06,
            0.0,
            "Sur les 4 dernières semaines, 6 % des demi-journées manquées sans justification de plus"
            " que sur les 8 précédentes",
        ),
    ],
)
def test_sentences_read_as_french(feature: str, value: float, reference: float, expected: str) -> None:
    assert sentence(feature, value, reference) == expected


def test_no_sentence_repeats_its_signal_which_the_pupil_page_shows_before_it() -> None:
    """The page reads « Retards : En retard à 5 % … », never « Retards : Retards sur 5 % … »."""
    repeated = [
        f.name
        for f in FEATURES
        if isinstance(f.reason, Reason)
        and any(s.lower().startswith(f.reason.signal.lower()) for s in (f.reason.one, f.reason.many or ""))
    ]
    assert not repeated, repeated


def _one_pupil_reasons(values: dict[str, float], contributions: dict[str, float]) -> list[ReasonItem]:
    """The reasons of one 3E pupil whose other inputs are 0 and contribute nothing."""
    features = list(FEATURE_NAMES)
    row = np.array([[values.get(f, 0.0) for f in features]])
    shap = np.array([[contributions.get(f, 0.0) for f in features] + [-2.0]])  # last column: the bias
    means = LevelMeans.of(pd.DataFrame(index=["3E"]), features)
    return reasons(shap, row, np.array(["3E"]), features, means)[0]


def test_a_missing_value_is_never_shown_as_a_figure_in_a_reason() -> None:
    """A missing value's contribution is real, but « Moyenne de —/20 en sciences » tells staff
    nothing true: it reads as what missing means (no grade in sciences this year) where the
    catalogue says so, and is otherwise left out of the reasons (it still counts in the score)."""
    items = _one_pupil_reasons(
        {
            "grade_mean_sciences_year": np.nan,
            "grade_mean_previous_year": np.nan,
            "unjustified_absence_rate_4w": 0.2,
        },
        {"grade_mean_sciences_year": 1.0, "grade_mean_previous_year": 2.0, "unjustified_absence_rate_4w": 0.5},
    )
    texts = [item.text for item in items]
    assert not any("—" in text for text in texts), texts
    assert [item.signal for item in items] == ["Résultats en sciences", "Absences non justifiées"]
    assert texts[0] == "Aucune note en sciences cette année"
    assert items[0].contribution == 1.0
    assert texts[1].startswith("20 % des demi-journées manquées sans justification")


def test_a_missing_value_reads_as_the_catalogue_says_or_not_at_all() -> None:
    assert sentence("grade_mean_sciences_year", np.nan, 11.0) == "Aucune note en sciences cette année"
    assert sentence("grade_percentile_in_level", np.nan, None) == "Aucune note depuis la rentrée"
    with pytest.raises(ValueError, match="grade_mean_previous_year"):
        sentence("grade_mean_previous_year", np.nan, 11.0)
