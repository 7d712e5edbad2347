"""The audit's figures: suppression of small cells, intervals that cover the truth, the gate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from fairness.audit import SUPPRESSED, AuditResult, Estimate, audit_predictions
from fairness.config import FairnessConfig, GateThresholds
from fairness.gate import fairness_gate

FAST = FairnessConfig(n_boot=60, mitigation=False)


def _population(n: int, rng: np.random.Generator, inflate_b: float = 0.0) -> pd.DataFrame:
    """Calibrated risks for two groups with different dropout rates; ``inflate_b`` adds a
    recording bias: group B's announced risk exceeds its true risk by that much."""
    group = np.where(rng.random(n) < 0.3, "B", "A")
    true_risk = rng.beta(1.2, 40, n) * np.where(group == "B", 2.0, 1.0)
    y = (rng.random(n) < true_risk).astype(int)
    risk = np.clip(true_risk + np.where(group == "B", inflate_b, 0.0), 0, 1)
    return pd.DataFrame({"y": y, "risk": risk, "group": group, "pupil": np.arange(n), "as_of": "2024-03-31"})


def _cell(cells: dict[str, dict[str, Estimate | None]], group: str, metric: str) -> Estimate:
    estimate = cells[group][metric]
    assert estimate is not None, (group, metric)
    return estimate


def _audit(frame: pd.DataFrame, config: FairnessConfig = FAST) -> AuditResult:
    return audit_predictions(
        frame["y"].to_numpy(),
        frame["risk"].to_numpy(),
        frame["as_of"].to_numpy(),
        frame["pupil"].to_numpy(),
        frame[["group"]].rename(columns={"group": "scholarship"}),
        config,
    )


def test_small_cells_are_suppressed_in_figures_and_json() -> None:
    rng = np.random.default_rng(1)
    frame = _population(3000, rng)
    frame.loc[:6, "group"] = "tiny"  # 7 pupils
    frame.loc[7:206, "group"] = "few_dropouts"  # 200 pupils, 3 dropouts
    frame.loc[7:206, "y"] = 0
    frame.loc[7:9, "y"] = 1
    result = _audit(frame)
    attribute = result.attributes[0]
    assert all(cell is None for cell in attribute.cells["tiny"].values())
    few = attribute.cells["few_dropouts"]
    assert few["tpr"] is None and few["fnr"] is None and few["auc"] is None
    assert (
        few["selection_rate"] is not None
        and few["fpr"] is not None
        and _cell(attribute.cells, "few_dropouts", "n").value == 200
    )
    assert "tiny" not in attribute.compared["demographic_parity_difference"]
    assert "few_dropouts" not in attribute.compared["equal_opportunity_difference"]
    assert "few_dropouts" in attribute.compared["demographic_parity_difference"]
    published = json.loads(json.dumps(result.as_dict()))
    groups = published["attributes"][0]["groups"]
    assert set(groups["tiny"].values()) == {SUPPRESSED}
    assert groups["few_dropouts"]["tpr"] == SUPPRESSED and isinstance(groups["few_dropouts"]["fpr"], dict)


def test_point_figures_are_the_metricframe_ones() -> None:
    frame = _population(4000, np.random.default_rng(2))
    result = _audit(frame)
    cells = result.attributes[0].cells
    b = frame[frame["group"] == "B"]
    assert _cell(cells, "B", "base_rate").value == pytest.approx(b["y"].mean())
    assert _cell(cells, "B", "calibration_gap").value == pytest.approx(b["risk"].mean() - b["y"].mean())
    assert _cell(cells, "B", "auc").value == pytest.approx(roc_auc_score(b["y"], b["risk"]))
    tied = b.assign(risk=b["risk"].round(3))  # ties averaged as scikit-learn does
    tied_auc = _audit(tied).attributes[0].cells["B"]["auc"]
    assert tied_auc is not None and tied_auc.value == pytest.approx(roc_auc_score(tied["y"], tied["risk"]))
    threshold = np.sort(frame["risk"].to_numpy())[::-1][399]
    assert _cell(cells, "B", "selection_rate").value == pytest.approx((b["risk"] >= threshold).mean(), abs=2e-3)


def test_intervals_cover_the_truth_on_simulated_data() -> None:
    """95% intervals from samples of 2,000 pupils contain the population value about 95% of the time."""
    rng = np.random.default_rng(3)
    population = _population(400_000, rng)
    cut = np.quantile(population["risk"], 0.9)
    flagged = population["risk"] >= cut
    truth = {}
    for g, rows in population.groupby("group").groups.items():
        part, f = population.loc[rows], flagged.loc[rows]
        truth[g] = {
            "base_rate": part["y"].mean(),
            "selection_rate": f.mean(),
            "tpr": f[part["y"] == 1].mean(),
            "calibration_gap": part["risk"].mean() - part["y"].mean(),
        }
    covered = {(g, m): 0 for g in truth for m in truth[g]}
    repeats = 40
    for _ in range(repeats):
        sample = population.sample(2000, random_state=int(rng.integers(1 << 31)))
        cells = _audit(sample, FairnessConfig(n_boot=100, mitigation=False)).attributes[0].cells
        for g, m in covered:
            e = _cell(cells, str(g), m)
            covered[g, m] += int(e.lower <= truth[g][m] <= e.upper)
    rates = {k: v / repeats for k, v in covered.items()}
    assert min(rates.values()) >= 0.8, rates
    assert np.mean(list(rates.values())) >= 0.88, rates


def test_gate_blocks_a_mis_estimated_group_and_a_broken_threshold() -> None:
    rng = np.random.default_rng(4)
    fair = _audit(_population(6000, rng))
    assert fairness_gate(fair, GateThresholds(attributes=["scholarship"])).passed

    biased = _audit(_population(6000, rng, inflate_b=0.03))
    verdict = fairness_gate(biased, GateThresholds(attributes=["scholarship"]))
    assert not verdict.passed
    assert any(b.startswith("bourse — B : risque surestimé") for b in verdict.breaches), verdict.breaches
    assert fairness_gate(biased, GateThresholds(attributes=["sex"])).passed

    strict = GateThresholds(attributes=["scholarship"], max_equalized_odds_difference=0.01, block_on_group_alerts=False)
    blocked = fairness_gate(fair, strict)
    assert not blocked.passed and "equalized odds" in blocked.breaches[0]


def test_attributes_with_one_group_or_no_pupil_are_reported_not_crashed() -> None:
    """Real extracts (OULAD in the contract's form) have attributes with one value for everyone,
    or none that applies (priority education without a collège): reported as such."""
    frame = _population(2000, np.random.default_rng(4))
    groups = pd.DataFrame(
        {
            "scholarship": frame["group"],
            "allophone": pd.Series("tous", index=frame.index, dtype="string"),
            "priority_education": pd.Series(pd.NA, index=frame.index, dtype="string"),
            "disability_plan": pd.Series(np.where(frame.index < 5, "rare", "courant"), dtype="string"),
        }
    )
    result = audit_predictions(
        frame["y"].to_numpy(),
        frame["risk"].to_numpy(),
        frame["as_of"].to_numpy(),
        frame["pupil"].to_numpy(),
        groups,
        FAST,
    )
    by_name = {a.attribute: a for a in result.attributes}
    assert by_name["scholarship"].status is None
    assert by_name["allophone"].groups == ["tous"] and by_name["allophone"].status == "un seul groupe (tous)"
    assert by_name["priority_education"].groups == []
    assert by_name["priority_education"].status == "aucun élève concerné"
    assert by_name["disability_plan"].status == "moins de deux groupes assez grands pour être comparés"
    for name in ("allophone", "priority_education", "disability_plan"):
        assert all(d is None for d in by_name[name].disparities.values())
        assert not by_name[name].alerts
    verdict = fairness_gate(result, GateThresholds(attributes=["allophone", "priority_education", "disability_plan"]))
    assert verdict.passed and not verdict.breaches
    assert json.loads(json.dumps(result.as_dict()))["attributes"][2]["status"] == "aucun élève concerné"


def test_a_group_misjudged_by_half_its_rate_is_flagged_even_within_the_point_tolerance() -> None:
    """At 2-5 % dropout, a few points of error can be most of a group's risk: judged on its own rate."""
    frame = _population(20_000, np.random.default_rng(5))
    b = (frame["group"] == "B").to_numpy()
    frame.loc[b, "risk"] = np.clip(frame.loc[b, "risk"] * 2.5, 0, 1)  # announces 2.5 dropouts for each observed one
    lenient_points = FairnessConfig(n_boot=60, mitigation=False, calibration_tolerance=0.5)
    result = _audit(frame, lenient_points)
    alerts = result.attributes[0].alerts
    assert len(alerts) == 1 and alerts[0].startswith("bourse — B : risque surestimé au regard du taux du groupe")
    ratio = _cell(result.attributes[0].cells, "B", "observed_expected")
    assert ratio.upper is not None and ratio.upper < 1 / 1.5
    assert not fairness_gate(result, lenient_points.gate).passed
    calibrated = _audit(_population(20_000, np.random.default_rng(5)), lenient_points)
    assert not calibrated.alerts


def test_an_unknown_attribute_in_the_config_is_an_error_naming_the_key(tmp_path: Path) -> None:
    from fairness.config import load_fairness_config

    config = tmp_path / "fairness.yaml"
    config.write_text("gate:\n  attributes: [sex, bourse]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"gate\.attributes\.1: Input should be 'sex', 'scholarship'"):
        load_fairness_config(config)
