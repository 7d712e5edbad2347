"""Base rates by as-of date: the observed dropout rate against the mean predicted risk.

A calibrator fitted on the past cannot foresee a dropout rate that moves: when the rate of
the dates judged lies outside the range of the dates learnt from, a calibration error is
expected, and whoever reads the figures must be told. One rule, used by the model card, the
promotion gate's log and monitoring's delayed-label check.
"""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy.stats import binomtest

from features import french

#: The run artifact holding a version's base rates by fold and date (read back by monitoring).
BASE_RATES_ARTIFACT: Final = "base_rates.json"


class DateRate(BaseModel):
    """One as-of date: its snapshots, the share that dropped out, the mean calibrated risk."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    as_of: date
    snapshots: int
    observed: float
    predicted: float


def rates_by_date(as_of: np.ndarray, y: np.ndarray, risk: np.ndarray) -> tuple[DateRate, ...]:
    """Observed rate and mean risk of every as-of date present, in date order."""
    frame = pd.DataFrame({"as_of": pd.to_datetime(as_of).date, "y": np.asarray(y, float), "risk": risk})
    grouped = frame.groupby("as_of").agg(snapshots=("y", "size"), observed=("y", "mean"), predicted=("risk", "mean"))
    return tuple(
        DateRate(as_of=d, snapshots=int(r.snapshots), observed=float(r.observed), predicted=float(r.predicted))
        for d, r in grouped.sort_index().iterrows()
    )


def pooled_rate(rates: tuple[DateRate, ...]) -> float:
    """The observed rate over several dates, each weighted by its snapshots."""
    total = sum(r.snapshots for r in rates)
    return sum(r.observed * r.snapshots for r in rates) / total if total else float("nan")


class BaseRateShift(BaseModel):
    """The judged dates' rate outside the learnt dates' range: by how much, which way."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rate: float
    low: float
    high: float
    direction: Literal["up", "down"]
    #: Compared on the same days of the year only (the dates the two sides share).
    same_days: bool = False

    def sentence_fr(self, judged: str) -> str:
        """``judged``: what the rate is of (« le pli de test », « ce lot »)."""
        moved = "au-dessus" if self.direction == "up" else "au-dessous"
        days = " aux mêmes jours de l'année" if self.same_days else ""
        return (
            f"Le taux de décrochage observé sur {judged} ({french.percent(self.rate, 1)}) est {moved} de la plage "
            f"des dates d'apprentissage{days} "
            f"({french.percent(self.low, 1)} à {french.percent(self.high, 1)}) : "
            "un calibrateur ajusté sur le passé ne peut pas prévoir ce déplacement du taux de base ; une erreur "
            "de calibration en découle probablement, sans que le classement des élèves soit en cause."
        )


def _season(rate: DateRate) -> tuple[int, int]:
    return rate.as_of.month, rate.as_of.day


def shift_from(learnt: tuple[DateRate, ...], judged: tuple[DateRate, ...]) -> BaseRateShift | None:
    """The shift of ``judged`` (pooled) out of the range of ``learnt``'s dates, beyond the
    sampling noise of the judged rate (its 95 % interval wholly outside); None otherwise.

    Dropout rates follow the calendar (fewer pupils leave after March than after December), so
    the judged dates are compared with the learnt dates of the same day of the year when there
    are some; with none in common, with all of them."""
    if not learnt or not judged:
        return None
    seasons = {_season(r) for r in learnt} & {_season(r) for r in judged}
    if seasons:
        learnt = tuple(r for r in learnt if _season(r) in seasons)
        judged = tuple(r for r in judged if _season(r) in seasons)
    low, high = min(r.observed for r in learnt), max(r.observed for r in learnt)
    rate = pooled_rate(judged)
    snapshots = sum(r.snapshots for r in judged)
    dropouts = round(rate * snapshots)
    # Outside the range beyond sampling noise: the judged rate's whole 95 % (Wilson) interval.
    interval = binomtest(dropouts, snapshots).proportion_ci(confidence_level=0.95, method="wilson")
    if interval.low <= high and interval.high >= low:
        return None
    return BaseRateShift(
        rate=rate, low=low, high=high, direction="up" if rate > high else "down", same_days=bool(seasons)
    )


class BaseRates(BaseModel):
    """A version's rates by fold and date (typed, versioned; logged as :data:`BASE_RATES_ARTIFACT`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    version: Literal[1] = 1
    train: tuple[DateRate, ...]
    valid: tuple[DateRate, ...]
    test: tuple[DateRate, ...]

    @property
    def learnt(self) -> tuple[DateRate, ...]:
        """The dates the model and its calibrator learnt from: training and validation."""
        return self.train + self.valid

    def test_shift(self) -> BaseRateShift | None:
        """Whether the test fold's rate lies outside the training folds' range."""
        return shift_from(self.learnt, self.test)

    def log_lines(self) -> list[str]:
        """One line per fold and date, for the run's log and the gate's."""
        return [
            f"{fold} {r.as_of}: {r.snapshots} snapshots, observed dropout {r.observed:.2%}, "
            f"mean predicted risk {r.predicted:.2%}"
            for fold in ("train", "valid", "test")
            for r in getattr(self, fold)
        ]
