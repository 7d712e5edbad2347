"""What the card and the gate's log say about the world a model learned from (issue 28): the target,
the training years in which Vigie was deployed, the last impact evaluation, the overlap of the high
tiers, and the gain over the environment-only baseline said plainly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from impact import Run, evaluate, rd_sample
from impact.report import write_report
from impact.simulate import WorldSpec, simulate_world
from models.metrics import Interval
from models.operating_point import OperatingPoint
from models.paths import Paths
from models.registry import TrainingSplit
from training.gate import ChampionComparison
from training.learning_conditions import (
    TARGET_FR,
    environment_sentence,
    high_tier_overlap,
    last_pre_deployment_date,
    learning_conditions,
    pre_deployment_check,
)

SPLIT = TrainingSplit(
    train=(date(2020, 12, 15), date(2021, 12, 15), date(2022, 12, 15)),
    valid=(date(2023, 6, 15),),
    test=(date(2024, 6, 15),),
)


def test_the_card_names_the_target_and_the_years_vigie_was_deployed(tmp_path: Path) -> None:
    alone = learning_conditions(SPLIT, [], tmp_path)
    assert alone.deployed_years == () and TARGET_FR in alone.lines_fr()[0]
    assert "2020-2021, 2021-2022, 2022-2023" in alone.lines_fr()[0]
    assert "aucune des années d'apprentissage" in alone.lines_fr()[1]
    deployed = learning_conditions(SPLIT, [date(2022, 3, 31), date(2025, 3, 31)], tmp_path)  # scored batches
    assert deployed.training_years == (2020, 2021, 2022) and deployed.deployed_years == (2021,)
    assert deployed.lines_fr()[1].startswith("Vigie était déployé pendant 2021-2022")
    assert deployed.gate_check().passed is None  # informational: never blocks promotion


def _impact(tmp_path: Path, prevented: float) -> None:
    spec = WorldSpec(pupils_per_batch=15_000, prevented_share=prevented, seed=2,
                     plan_probability={"high": 0.9, "medium": 0.05, "low": 0.02})  # fmt: skip
    world = simulate_world(spec)
    sample = rd_sample(world.batches, world.plans, world.outcomes)
    run = Run("vigie-dropout/1", spec.point, spec.batch_dates[0], spec.batch_dates[-1], list(spec.batch_dates), 60)
    write_report(evaluate(sample, run), sample, Paths(tmp_path).impact)


def test_training_says_when_the_last_impact_evaluation_found_an_effect(tmp_path: Path) -> None:
    _impact(tmp_path, prevented=0.8)
    found = learning_conditions(SPLIT, [], tmp_path)
    assert found.effect_found
    said = " ".join(found.lines_fr())
    assert "a trouvé un écart de décrochage au seuil du niveau « élevé »" in said
    assert "ce modèle apprend en partie l'effet des suivis" in said and said in " ".join(found.lines_fr())
    assert "apprend en partie l'effet des suivis" in found.gate_check().detail
    (Paths(tmp_path).impact / "impact.json").write_text('{"version": 9}', encoding="utf-8")
    assert learning_conditions(SPLIT, [], tmp_path).impact is None  # another Vigie's file: not claimed


def test_high_tier_overlap() -> None:
    pupils = np.array([f"p{i}" for i in range(100)])
    risk = np.linspace(1, 0, 100)
    point = OperatingPoint(high=0.1)
    assert high_tier_overlap(risk, risk, pupils, point) == 1.0
    shuffled = risk.copy()
    shuffled[:5] = 0.0  # five of the ten leave the champion's top
    assert high_tier_overlap(risk, shuffled, pupils, point) == 0.5


def test_the_card_says_plainly_when_individual_signals_add_little() -> None:
    point = OperatingPoint(high=0.1)
    little = {"roc_auc": Interval(0.01, -0.01, 0.03), "precision_at_10pct": Interval(0.005, -0.02, 0.03)}
    clear = {"roc_auc": Interval(0.08, 0.06, 0.10), "precision_at_10pct": Interval(0.09, 0.06, 0.12)}
    assert "les signaux individuels apportent peu" in (environment_sentence(little, point) or "")
    assert "apportent nettement plus" in (environment_sentence(clear, point) or "")
    assert "au seuil de 10 %" in (environment_sentence(clear, point) or "")
    assert environment_sentence({}, point) is None


def test_the_last_pre_deployment_cohort() -> None:
    labelled = [date(2021, 12, 15), date(2022, 3, 31), date(2022, 12, 15), date(2023, 12, 15)]
    # Vigie's first batch on 2023-03-31: the 2022-03-31 cohort's 12 months ended before it.
    assert last_pre_deployment_date(labelled, [date(2024, 3, 31), date(2023, 3, 31)], 365) == date(2022, 3, 31)
    assert last_pre_deployment_date(labelled, [], 365) is None  # never deployed: no such cohort
    assert last_pre_deployment_date(labelled, [date(2021, 1, 1)], 365) is None
    none = pre_deployment_check(None, None, None)
    assert none.passed is None and "aucune cohorte" in none.detail
    compared = ChampionComparison("compared", "champion : version 1", {"precision_at_10pct": 0.2, "roc_auc": 0.8})
    line = pre_deployment_check(date(2022, 3, 31), compared, 0.25)
    assert line.passed is None and "cohorte du 31/03/2022 : précision 0,250 contre 0,200" in line.detail
