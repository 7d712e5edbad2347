"""Metrics and baselines on tiny hand-typed data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.baselines import ABCRule
from models.matrix import feature_matrix
from models.metrics import (
    WeightedFigures,
    bootstrap_figures,
    capacity_count,
    capacity_rank,
    classification_metrics,
    compare_rankings,
    expected_calibration_error,
    lead_times,
    precision_recall_at,
    pupil_weights,
    top_k_mask,
)


def test_precision_and_recall_at_capacity() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    pupils = np.arange(10)
    assert precision_recall_at(y, score, 0.2, pupils=pupils) == (0.5, pytest.approx(1 / 3))
    assert precision_recall_at(y, score, 0.3, pupils=pupils) == (pytest.approx(2 / 3), pytest.approx(2 / 3))


def test_capacity_per_group_takes_the_top_of_each_group() -> None:
    score = np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.05])
    groups = np.array(["a", "a", "a", "b", "b", "b"])
    pupils = np.array(list("uvwxyz"))
    assert top_k_mask(score, 0.34, groups, pupils=pupils).tolist() == [True, True, False, True, True, False]
    assert top_k_mask(score, 0.2, groups, pupils=pupils).tolist() == [True, False, False, False, True, False]


def test_capacity_count_is_not_fooled_by_float_error() -> None:
    # high + medium = 0.1 + 0.2 is 0.30000000000000004: a plain ceiling flags 31 of 100
    assert (0.1 + 0.2) * 100 > 30 and 0.07 * 100 > 7
    assert capacity_count(100, 0.1 + 0.2).item() == 30 and capacity_count(100, 0.07).item() == 7
    assert capacity_count(np.array([30, 31, 9, 1]), 0.1).tolist() == [3, 4, 1, 1]


def test_equal_risks_are_cut_in_pupil_id_order_whatever_the_row_order() -> None:
    rng = np.random.default_rng(0)
    pupils = np.array([f"p{i:03d}" for i in range(40)])
    score = np.full(40, 0.2)
    for _ in range(5):
        order = rng.permutation(40)
        flagged = top_k_mask(score[order], 0.1, pupils=pupils[order])
        assert sorted(pupils[order][flagged]) == ["p000", "p001", "p002", "p003"]
    ranks = capacity_rank(np.array([0.5, 0.9, 0.5, 0.5]), np.array(["c", "z", "a", "b"]))
    assert ranks.tolist() == [4, 1, 2, 3]


def test_calibration_error_is_zero_when_rates_match_and_large_when_not() -> None:
    y = np.array([0] * 90 + [1] * 10)
    assert expected_calibration_error(y, np.full(100, 0.1), bins=1) == pytest.approx(0)
    assert expected_calibration_error(y, np.full(100, 0.5), bins=1) == pytest.approx(0.4)


def test_lead_time_counts_from_the_first_flag_before_the_event() -> None:
    frame = pd.DataFrame(
        {
            "pupil_id": ["a", "a", "b", "b", "c", "c"] + [f"x{i}" for i in range(14)] * 2,
            "as_of": [date(2023, 1, 1), date(2023, 3, 1)] * 3 + [date(2023, 1, 1)] * 14 + [date(2023, 3, 1)] * 14,
            "event_date": [date(2023, 6, 1)] * 4 + [None, None] + [None] * 28,
        }
    )
    frame = frame.sort_values("as_of", kind="stable").reset_index(drop=True)
    score = np.where(frame["pupil_id"].isin(["a"]), 0.9, 0.1)
    score[(frame["pupil_id"] == "b") & (frame["as_of"] == date(2023, 3, 1))] = 0.95
    lead = lead_times(frame, score, capacity=0.05)  # one pupil of 17 per date
    assert lead.to_dict() == {"a": 151, "b": 92}


def test_abc_rule_flags_absence_grades_or_repeating() -> None:
    X = pd.DataFrame(
        {"months_with_4_unjustified_halfdays": [0, 2, 0, 0], "grade_mean_year": [12, 12, 7.5, np.nan],
         "repeating": [0, 0, 0, 1]}
    )  # fmt: skip
    rule = ABCRule().fit(X)
    assert rule.predict(X).tolist() == [0, 1, 1, 1]
    assert rule.predict_proba(X)[:, 1].argmin() == 0


def test_feature_matrix_refuses_missing_columns_and_fixes_categories() -> None:
    with pytest.raises(ValueError, match="lacks model input"):
        feature_matrix(pd.DataFrame({"grade_level": ["6E"]}), ["grade_level", "track"])
    matrix = feature_matrix(pd.DataFrame({"grade_level": ["TLE", "6E"]}), ["grade_level"])
    assert matrix["grade_level"].cat.codes.tolist() == [6, 0]


def _resampled_rows(pupils: np.ndarray, n_boot: int, seed: int) -> list[np.ndarray]:
    """The bootstrap by its definition: draw pupils with replacement, take all their rows."""
    codes, unique = pd.factorize(pupils)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        chosen = rng.integers(0, len(unique), len(unique))
        draws.append(np.concatenate([np.flatnonzero(codes == c) for c in chosen]))
    return draws


def test_bootstrap_weights_count_the_times_each_pupil_is_drawn() -> None:
    pupils = np.array(["a", "b", "a", "c", "b", "a"])
    for weight, rows in zip(pupil_weights(pupils, 20, 3), _resampled_rows(pupils, 20, 3), strict=True):
        assert weight.tolist() == np.bincount(rows, minlength=len(pupils)).tolist()
        assert weight.sum() == len(rows) and len({w for p, w in zip(pupils, weight, strict=True) if p == "a"}) == 1


def test_weighted_figures_at_weight_one_are_the_classification_metrics() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(500) < 0.15).astype(int)
    score = np.round((y * 0.3 + rng.random(500)) / 1.3, 1)  # probabilities, many ties
    pupils = rng.integers(0, 200, 500)
    exact = classification_metrics(y, score, pupils=pupils, capacities=(0.1,))
    weighted = WeightedFigures(y, score, pupils).figures(np.ones(500), 0.1)
    assert weighted == pytest.approx({k: exact[k] for k in weighted}, abs=1e-12)


def test_a_better_ranking_is_told_apart_from_noise_and_an_equal_one_is_not() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    y = (rng.random(n) < 0.1).astype(int)
    pupils = np.repeat(np.arange(n // 2), 2)  # two snapshots a pupil
    informed = y * 0.6 + rng.random(n)
    noise = rng.random(n)
    better = compare_rankings(y, informed, noise, pupils=pupils, capacity=0.1, n_boot=100)
    assert set(better) == {"roc_auc", "precision_at_10pct"}
    assert all(gap.lower > 0 and gap.lower <= gap.value <= gap.upper for gap in better.values())
    worse = compare_rankings(y, noise, informed, pupils=pupils, capacity=0.1, n_boot=100)
    assert all(gap.upper < 0 for gap in worse.values())
    same = compare_rankings(y, informed, informed, pupils=pupils, capacity=0.1, n_boot=50)
    assert all((gap.value, gap.lower, gap.upper) == (0, 0, 0) for gap in same.values())


@pytest.mark.parametrize("ties", [False, True])
def test_the_bootstrap_matches_resampling_the_rows(ties: bool) -> None:
    """Weights give the figures of the repeated rows, draw for draw (ECE and the capacity cut
    may order equal scores differently: compared without ties)."""
    rng = np.random.default_rng(5)
    n = 600
    y = (rng.random(n) < 0.2).astype(int)
    pupils = rng.integers(0, 250, n)
    first, second = (y * 0.4 + rng.random(n)) / 1.4, (y * 0.2 + rng.random(n)) / 1.2
    if ties:
        first, second = np.round(first, 1), np.round(second, 1)
    fast = bootstrap_figures(y, first, pupils=pupils, capacity=0.1, n_boot=40, seed=9)
    gaps = compare_rankings(y, first, second, pupils=pupils, capacity=0.1, n_boot=40, seed=9)
    slow: dict[str, list[float]] = {}
    for rows in _resampled_rows(pupils, 40, 9):
        figures = classification_metrics(y[rows], first[rows], pupils=pupils[rows], capacities=(0.1,))
        other = classification_metrics(y[rows], second[rows], pupils=pupils[rows], capacities=(0.1,))
        for name in fast:
            slow.setdefault(name, []).append(figures[name])
        slow.setdefault("auc_gap", []).append(figures["roc_auc"] - other["roc_auc"])
        slow.setdefault("precision_gap", []).append(figures["precision_at_10pct"] - other["precision_at_10pct"])
    checked = {"roc_auc": fast["roc_auc"], "auc_gap": gaps["roc_auc"]}
    if not ties:
        checked |= {name: fast[name] for name in ("precision_at_10pct", "recall_at_10pct", "ece")}
        checked["precision_gap"] = gaps["precision_at_10pct"]
    for name, interval in checked.items():
        low, high = np.quantile(slow[name], [0.025, 0.975])
        assert (interval.lower, interval.upper) == pytest.approx((low, high), abs=1e-12), name
