"""The full explanation's wording and arithmetic, without a model: every input worded truly for
its value, contributions that add up, a change that adds up to the change of the score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.catalog import FEATURE_NAMES, FEATURES, SOURCE_TABLES, tables_of
from models.explanation import CONTEXT_SIGNAL, input_text, pupil_contributions, score_change, signal_of
from models.matrix import CATEGORIES
from models.reasons import LevelMeans

NAN = float("nan")


@pytest.mark.parametrize(
    ("feature", "value", "expected"),
    [
        ("grade_mean_change", -2.14, "Moyenne récente en baisse de 2,1 points"),
        ("grade_mean_change", 1.5, "Évolution des résultats : +1,5 point"),  # a rise is not « en baisse de -1,5 »
        ("unjustified_absence_trend", -0.03, "Évolution des absences non justifiées : -3 points"),
        ("repeating", 1.0, "Redouble son année"),
        ("repeating", 0.0, "Redoublement en cours : non"),  # the catalogue's sentence is only true at 1
        ("mid_year_entry", 0.0, "Arrivée en cours d'année : non"),
        ("grade_mean_year", NAN, "Aucune note depuis la rentrée"),  # the catalogue's missing sentence
        ("days_since_last_incident", NAN, "Jours depuis le dernier incident : aucune valeur à cette date"),
        ("grade_level", float(CATEGORIES["grade_level"].index("2PRO")), "Niveau : 2de pro"),
        ("track", float(CATEGORIES["track"].index("lycee_gt")), "Voie : lycée général et technologique"),
        ("age_years", 14.25, "Âge : 14,2 ans"),
        ("track", NAN, "Voie : aucune valeur à cette date"),
    ],
)
def test_every_input_is_worded_truly_for_its_value(feature: str, value: float, expected: str) -> None:
    assert input_text(feature, value) == expected


def test_a_worded_input_keeps_the_same_level_comparison() -> None:
    text = input_text("subjects_below_10_year", 3.0, 1.2)
    assert text == "3 matières sous 10/20 cette année (1,2 en moyenne au même niveau)"


def _row(seed: int, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, len(features))
    for name in CATEGORIES:
        values[features.index(name)] = 1.0
    return np.append(rng.normal(0, 0.3, len(features)), -2.0), values


def test_contributions_are_ranked_and_add_up_to_the_score() -> None:
    features = list(FEATURE_NAMES)
    contributions, values = _row(1, features)
    means = LevelMeans.of(pd.DataFrame([np.full(len(features), 0.5)], index=["3E"], columns=features), features)
    explained = pupil_contributions(contributions, values, features, "3E", means)
    assert [i.feature for i in sorted(explained.inputs, key=lambda i: i.feature)] == sorted(features)
    assert explained.base_value == -2.0
    assert explained.base_value + sum(i.contribution for i in explained.inputs) == pytest.approx(explained.score)
    weights = [abs(i.contribution) for i in explained.inputs]
    assert weights == sorted(weights, reverse=True)
    with pytest.raises(ValueError, match="contributions plus the bias"):
        pupil_contributions(contributions[:-1], values, features, "3E", means)


def test_a_change_adds_up_and_refuses_two_models() -> None:
    features = list(FEATURE_NAMES)
    before, old = _row(2, features)
    after, new = _row(3, features)
    change = score_change(before, after, old, new, features)
    assert change.score_change == pytest.approx(after.sum() - before.sum())
    assert sum(s.contribution_change for s in change.signals) == pytest.approx(change.score_change)
    assert {i.feature for s in change.signals for i in s.inputs} == set(features)
    assert any(s.signal == CONTEXT_SIGNAL for s in change.signals)
    sizes = [abs(s.contribution_change) for s in change.signals]
    assert sizes == sorted(sizes, reverse=True)
    other_model = after.copy()
    other_model[-1] += 0.5
    with pytest.raises(ValueError, match="different models"):
        score_change(before, other_model, old, new, features)


def test_every_input_comes_from_named_tables_with_their_source() -> None:
    known = {t.name for t in SOURCE_TABLES}
    for feature in FEATURES:
        assert tables_of(feature.name) and set(tables_of(feature.name)) <= known
        assert signal_of(feature.name)
