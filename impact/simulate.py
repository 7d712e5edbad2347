"""Synthetic worlds with a KNOWN effect of the flags, for the tests and the benchmark: pupils scored
with a calibrated risk, plans opened with known probabilities by tier, and a plan preventing a known
share of the dropouts that would have followed it. The true local effects at each cut follow.

With ``p`` the risk at a cut (the dropout rate there without plans), ``a`` and ``b`` the plan
probabilities of the tiers above and below it and ``s`` the prevented share:
first stage ``a - b``; intention to treat ``-s p (a - b)``; effect of a plan ``-s p``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from features.school import school_year_of
from impact.sample import Batch, Cut, running_variables
from models.impact_result import EstimateName
from models.metrics import capacity_count, capacity_rank
from models.operating_point import OperatingPoint
from models.stagger import StaggerDraw, draw_stagger

TIER_PLAN_PROBABILITY = {"high": 0.6, "medium": 0.1, "low": 0.02}


@dataclass(frozen=True)
class WorldSpec:
    """A world: how many pupils each batch scores, in how many schools, and how plans act."""

    pupils_per_batch: int = 20_000
    schools: int = 100
    batch_dates: tuple[date, ...] = (date(2023, 1, 16), date(2024, 1, 15))
    plan_probability: dict[str, float] = field(default_factory=lambda: dict(TIER_PLAN_PROBABILITY))
    prevented_share: float = 0.5
    point: OperatingPoint = field(default_factory=OperatingPoint)
    seed: int = 0


@dataclass(frozen=True)
class World:
    """What ``vigie impact`` reads (batches, plans, outcomes) and the true local effects."""

    batches: list[Batch]
    plans: pd.DataFrame
    outcomes: pd.DataFrame
    truth: dict[tuple[EstimateName, Cut], float]


def _risk(rng: np.random.Generator, n: int, schools: int) -> tuple[np.ndarray, np.ndarray]:
    school = rng.integers(0, schools, n)
    school_shift = rng.normal(0, 0.4, schools)[school]
    logit = rng.normal(-2.3, 1.1, n) + school_shift
    return 1 / (1 + np.exp(-logit)), school


def simulate_world(spec: WorldSpec) -> World:
    """One batch per date (distinct pupils each: first batches of distinct school years)."""
    rng = np.random.default_rng(spec.seed)
    point, n = spec.point, spec.pupils_per_batch
    batches, plans, outcomes = [], [], []
    at_cut: dict[Cut, list[np.ndarray]] = {"high": [], "medium": []}
    for index, day in enumerate(spec.batch_dates):
        risk, school = _risk(rng, n, spec.schools)
        pupils = np.char.add(f"p{index}-", np.arange(n).astype(str))
        groups = school if point.scope == "school" else None
        rank = capacity_rank(risk, pupils, groups)
        size = np.bincount(school)[school] if groups is not None else n
        high = rank <= capacity_count(size, point.high)
        medium = ~high & (rank <= capacity_count(size, point.high + point.medium))
        tier = np.where(high, "high", np.where(medium, "medium", "low"))
        schools = np.char.add("S", school.astype(str))
        scores = pd.DataFrame({"pupil_id": pupils, "school_id": schools, "as_of": day, "risk": risk, "tier": tier})
        distance = running_variables(scores, point)
        for cut, near in at_cut.items():
            near.append(risk[np.abs(distance[f"x_{cut}"].to_numpy()) < 0.01])
        chance = np.vectorize(spec.plan_probability.get)(tier)
        planned = rng.uniform(size=n) < chance
        start = [day + timedelta(days=int(d)) for d in rng.integers(0, 45, planned.sum())]
        plans.append(pd.DataFrame({"pupil_id": pupils[planned], "start_date": start}))
        dropout_probability = risk * np.where(planned, 1 - spec.prevented_share, 1.0)
        dropped = rng.uniform(size=n) < dropout_probability
        days = rng.integers(1, point.horizon_days + 1, dropped.sum())
        outcomes.append(
            pd.DataFrame({"pupil_id": pupils[dropped], "event_date": [day + timedelta(days=int(d)) for d in days]})
        )
        signals = pd.DataFrame({
            "pupil_id": pupils,
            "unjustified_absence_rate_12w": np.clip(0.3 * risk + rng.normal(0, 0.03, n), 0, 1),
            "grade_mean_year": np.clip(14 - 12 * risk + rng.normal(0, 2, n), 0, 20),
        })  # fmt: skip
        batches.append(Batch(day, "vigie-dropout/1", point, scores, signals))
    truth: dict[tuple[EstimateName, Cut], float] = {}
    p = spec.plan_probability
    neighbours: dict[Cut, tuple[str, str]] = {"high": ("high", "medium"), "medium": ("medium", "low")}
    for cut, (above, below) in neighbours.items():
        rate = float(np.mean(np.concatenate(at_cut[cut])))
        jump = p[above] - p[below]
        truth[("flag_to_plan", cut)] = jump
        truth[("flag_to_dropout", cut)] = -spec.prevented_share * rate * jump
        truth[("plan_to_dropout", cut)] = -spec.prevented_share * rate
    return World(batches, pd.concat(plans, ignore_index=True), pd.concat(outcomes, ignore_index=True), truth)


@dataclass(frozen=True)
class StaggerWorld:
    """A staggered start with a KNOWN school-level effect: the world's batches, the draw, the outcomes
    and the true difference in dropout between started and not-yet-started schools."""

    batches: list[Batch]
    draw: StaggerDraw
    outcomes: pd.DataFrame
    truth: float


def simulate_stagger_world(spec: WorldSpec, *, prevented_share: float, draw_seed: int = 0) -> StaggerWorld:
    """One batch per school year of ``spec`` (its scores and signals); schools drawn to ``len(batch_dates)``
    waves from the first batch's school year; a pupil of a started school drops out with probability
    ``risk x (1 - prevented_share)``, elsewhere ``risk``. The true effect, in the school years with both
    sides, is ``-prevented_share x`` the mean risk of the started schools' pupils there (a randomised
    comparison: that is also what the not-yet-started schools' pupils would have had)."""
    scored = simulate_world(spec).batches
    schools = sorted({str(s) for b in scored for s in b.scores["school_id"]})
    first = school_year_of(spec.batch_dates[0])
    draw = draw_stagger(schools, first_year=first, waves=len(spec.batch_dates), seed=draw_seed, drawn_by="test",
                        drawn_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
    rng = np.random.default_rng(spec.seed + 1)
    outcomes, prevented = [], []
    for batch in scored:
        scores = batch.scores
        started = np.array([draw.started(str(s), batch.as_of) for s in scores["school_id"]])
        risk = scores["risk"].to_numpy()
        dropped = rng.uniform(size=len(risk)) < risk * np.where(started, 1 - prevented_share, 1.0)
        days = rng.integers(1, batch.point.horizon_days + 1, dropped.sum())
        outcomes.append(pd.DataFrame({"pupil_id": scores["pupil_id"].to_numpy()[dropped],
                                      "event_date": [batch.as_of + timedelta(days=int(d)) for d in days]}))  # fmt: skip
        if 0 < started.mean() < 1:
            prevented.append(prevented_share * risk[started])
    truth = -float(np.mean(np.concatenate(prevented))) if prevented else 0.0
    return StaggerWorld(scored, draw, pd.concat(outcomes, ignore_index=True), truth)
