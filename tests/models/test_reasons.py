"""Reason wording: one catalogue, French plurals, a comparison only where it helps the reader."""

from __future__ import annotations

import pytest

from features.catalog import CONTEXT_ONLY, FEATURES, Reason
from models.reasons import CONTEXT, SIGNALS, WORDING, sentence


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
