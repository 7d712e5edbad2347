"""vigie impact on synthetic worlds with a KNOWN effect of the flags (impact.simulate): the
intervals hold the true local effects, a world where plans do nothing claims nothing, a world too
small says so; and the fixed definitions of the sample, the schema and the report."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impact import Batch, Run, evaluate, rd_sample, read_impact
from impact.report import write_report
from impact.simulate import World, WorldSpec, simulate_world
from models.impact_result import ImpactResult
from models.operating_point import OperatingPoint


def _evaluate(world: World, spec: WorldSpec) -> ImpactResult:
    sample = rd_sample(world.batches, world.plans, world.outcomes)
    run = Run("vigie-dropout/1", spec.point, spec.batch_dates[0], spec.batch_dates[-1], list(spec.batch_dates), 60)
    return evaluate(sample, run)


@pytest.fixture(scope="module")
def strong() -> tuple[World, ImpactResult]:
    """Plans opened for 90 % of the high tier, 5 % of the medium one; a plan prevents 80 % of dropouts."""
    spec = WorldSpec(pupils_per_batch=15_000, prevented_share=0.8, seed=2,
                     plan_probability={"high": 0.9, "medium": 0.05, "low": 0.02})  # fmt: skip
    world = simulate_world(spec)
    return world, _evaluate(world, spec)


def test_intervals_hold_the_true_local_effects(strong: tuple[World, ImpactResult]) -> None:
    world, result = strong
    for name in ("flag_to_plan", "flag_to_dropout", "plan_to_dropout"):
        found = result.get(name, "high")
        truth = world.truth[(name, "high")]
        assert found.ci_low is not None and found.ci_high is not None
        assert found.ci_low <= truth <= found.ci_high, (name, found, truth)
    medium_plans = result.get("flag_to_plan", "medium")
    assert medium_plans.ci_low <= world.truth[("flag_to_plan", "medium")] <= medium_plans.ci_high  # type: ignore[operator]
    # A real effect of this size is seen, and said descriptively (no claim beyond the cut).
    assert result.verdict.code == "effect"
    assert "plus bas" in result.verdict.text and "pas l'effet d'une action" in result.verdict.text
    itt = result.get("flag_to_dropout", "high")
    assert itt.mde is not None and 0 < itt.mde < 0.2 and itt.clusters > 50 and itt.n_left >= 10
    placebos = [c for c in result.checks if c.name == "placebo_signal" and c.cut == "high"]
    assert len(placebos) == 2 and all(c.passed for c in placebos)  # signals measured before the batch: no jump


def test_a_world_where_plans_do_nothing_claims_nothing() -> None:
    spec = WorldSpec(pupils_per_batch=15_000, prevented_share=0.0, seed=3)
    world = simulate_world(spec)
    result = _evaluate(world, spec)
    for cut in ("high", "medium"):
        itt = result.get("flag_to_dropout", cut)
        assert itt.ci_low is not None and itt.ci_high is not None and itt.ci_low <= 0 <= itt.ci_high
        assert result.verdict_by_cut[cut].code != "effect"
    # Staff still open plans above the cut: the first stage is there, the dropout effect is not.
    plans = result.get("flag_to_plan", "high")
    assert plans.ci_low is not None and plans.ci_low > 0.3
    assert result.verdict.code == "no_effect_detected" and "Aucun écart de décrochage détecté" in result.verdict.text


def test_a_world_too_small_says_so() -> None:
    spec = WorldSpec(pupils_per_batch=500, schools=10, seed=4)
    result = _evaluate(simulate_world(spec), spec)
    assert result.verdict.code == "too_small"
    assert result.verdict.text.startswith("Échantillon trop petit pour conclure")
    # Disclosure: an estimate resting on fewer than 10 events on a side is withheld, not shown.
    withheld = [e for e in result.estimates if e.withheld]
    assert withheld and all(e.estimate is None and e.ci_low is None for e in withheld)


def _one_batch(day: date, risks: list[float], point: OperatingPoint | None = None) -> Batch:
    n = len(risks)
    scores = pd.DataFrame({"pupil_id": [f"p{i}" for i in range(n)], "school_id": ["S1"] * n, "as_of": day,
                           "risk": risks, "tier": "low"})  # fmt: skip
    return Batch(day, "m/1", point or OperatingPoint(high=0.1, medium=0.2, horizon_days=100), scores)


def test_the_fixed_definitions() -> None:
    day = date(2024, 1, 10)
    risks = list(np.linspace(0.9, 0.0, 20))  # p0 highest
    starts = [day, day + timedelta(days=60), day - timedelta(days=1), day + timedelta(days=61)]
    plans = pd.DataFrame({"pupil_id": ["p0", "p1", "p2", "p3"], "start_date": starts})
    outcomes = pd.DataFrame({"pupil_id": ["p0", "p1", "p2"],
                             "event_date": [day, day + timedelta(days=100), day + timedelta(days=101)]})  # fmt: skip
    later = _one_batch(date(2024, 3, 1), risks)  # same school year: not in the default sample
    next_year = _one_batch(date(2024, 10, 1), risks)
    sample = rd_sample([_one_batch(day, risks), later, next_year], plans, outcomes, plan_window_days=60)
    first = sample[sample["as_of"] == day].set_index("pupil_id")
    assert sorted(sample["as_of"].unique()) == [day, date(2024, 10, 1)]  # first batch of each school year
    assert first.loc[["p0", "p1", "p2", "p3"], "had_plan"].tolist() == [1, 1, 0, 0]  # [D, D + 60], any status
    assert first.loc[["p0", "p1", "p2"], "dropout"].tolist() == [0, 1, 0]  # (D, D + horizon]
    # k = ceil(0.1 x 20) = 2: x = (2 + 0.5 - rank) / 20, positive for the two highest risks only.
    assert first.loc["p0", "x_high"] == pytest.approx(1.5 / 20) and first.loc["p2", "x_high"] == pytest.approx(
        -0.5 / 20
    )
    assert (first["x_high"] > 0).sum() == 2 and (first["x_medium"] > 0).sum() == 6
    # In risk: the distance to the midpoint of the 2nd and 3rd risks.
    assert first.loc["p1", "r_high"] == pytest.approx(risks[1] - (risks[1] + risks[2]) / 2)
    every = rd_sample([_one_batch(day, risks), later], plans, outcomes, all_batches=True)
    assert len(every) == 40 and set(every["cluster"]) == {"S1"}


def test_impact_json_and_the_french_report(strong: tuple[World, ImpactResult], tmp_path: Path) -> None:
    world, result = strong
    sample = rd_sample(world.batches, world.plans, world.outcomes)
    html, stored = write_report(result, sample, tmp_path)
    values = json.loads(stored.read_text(encoding="utf-8"))
    assert {"operating_point", "from", "to", "estimates", "checks", "verdict"} <= set(values)
    first = values["estimates"][0]
    assert set(first) >= {"name", "cut", "estimate", "ci_low", "ci_high", "n_left", "n_right", "bandwidth",
                          "clusters", "mde"} and "as_of" in first and first["as_of"] is None  # fmt: skip
    assert 0 < first["estimate"] < 1  # probability units: 0.83, not 83
    assert read_impact(stored) == result
    page = html.read_text(encoding="utf-8")
    assert "Ce que ce résultat ne montre pas" in page and "« priorité élevée contre priorité" in page
    assert result.verdict.text.split(" : ")[0] in page and "data:image/png;base64," in page
    assert "p0-" not in page  # no pupil identifier in the report
