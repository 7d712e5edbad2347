"""``vigie impact``'s stage: from the RD sample to :class:`~models.impact_result.ImpactResult` (estimates,
checks and a verdict that never claims more than the design supports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from features import french
from impact.estimate import (
    PLACEBO_SIGNALS,
    Design,
    bandwidth_check,
    density_check,
    estimate,
    placebo_cut,
    placebo_cut_points,
    placebo_signal,
    too_small,
)
from impact.sample import CUTS, Cut, cut_window
from models.impact_result import Check, Estimate, ImpactResult, Verdict
from models.operating_point import OperatingPoint

TOO_SMALL_FR = "échantillon trop petit pour conclure"


@dataclass(frozen=True)
class Run:
    """What the evaluation is of: the model version, its operating point, the dates and options."""

    model_version: str
    point: OperatingPoint
    first: date
    last: date
    batches: list[date]
    plan_window_days: int
    all_batches: bool = False


def evaluate(sample: pd.DataFrame, run: Run) -> ImpactResult:
    """Every estimate at both cuts, the checks, the verdict per cut (the high cut's is the verdict)."""
    estimates: list[Estimate] = []
    checks: list[Check] = []
    verdicts: dict[Cut, Verdict] = {}
    for cut in CUTS:
        window = cut_window(sample, cut, run.point)
        design = Design(window)
        found = {
            name: estimate(design, name, cut)[0] for name in ("flag_to_plan", "flag_to_dropout", "plan_to_dropout")
        }
        estimates += found.values()
        checks.append(density_check(window, cut))
        checks += [placebo_signal(design, signal, cut) for signal in PLACEBO_SIGNALS if signal in window]
        points = placebo_cut_points(cut, run.point.high, run.point.medium)
        checks += [placebo_cut(design, cut, side, at) for side, at in points.items()]
        checks += [bandwidth_check(design, cut, found["flag_to_dropout"], factor) for factor in (0.5, 2.0)]
        verdicts[cut] = verdict(found["flag_to_dropout"], cut, run.point)
    return ImpactResult(
        model_version=run.model_version, operating_point=run.point, from_=run.first, to=run.last,
        batches=run.batches, plan_window_days=run.plan_window_days, all_batches=run.all_batches,
        rows=len(sample), clusters=int(sample["cluster"].nunique()), estimates=estimates, checks=checks,
        verdict=verdicts["high"], verdict_by_cut=verdicts,
    )  # fmt: skip


def verdict(itt: Estimate, cut: Cut, point: OperatingPoint) -> Verdict:
    """« échantillon trop petit pour conclure » when the effect that could have been seen (the MDE at
    80 % power) is larger than half the dropout rate at the cut; otherwise whether the interval on
    dropout excludes zero, worded descriptively."""
    where = "au seuil du niveau « élevé »" if cut == "high" else "au seuil du niveau « moyen »"
    horizon = point.within_fr()
    if itt.withheld or itt.mde is None or itt.rate_below is None or itt.estimate is None:
        return Verdict(code="too_small", text=(
            f"{TOO_SMALL_FR.capitalize()} : trop peu d'élèves près du seuil pour estimer quoi que ce soit {where} "
            f"(cellules sous {french.MIN_CELL} élèves retenues)."
        ))  # fmt: skip
    rate = max(itt.rate_below, 0.0)
    mde = f"{french.number(100 * itt.mde, 1)} points"
    if too_small(itt.mde, rate):
        return Verdict(code="too_small", text=(
            f"{TOO_SMALL_FR.capitalize()} : {where}, seul un écart d'au moins {mde} sur le décrochage {horizon} "
            f"aurait été vu 8 fois sur 10, plus de la moitié du taux de décrochage au seuil "
            f"({french.percent(rate, 1)}). L'absence d'écart observée ne montre pas que les signalements sont "
            "sans effet."
        ))  # fmt: skip
    interval = f"[{french.signed(100 * itt.ci_low, 1)} ; {french.signed(100 * itt.ci_high, 1)}] points"  # type: ignore[operator]
    if itt.excludes_zero:
        direction = "plus bas" if itt.estimate < 0 else "plus élevé"
        return Verdict(code="effect", text=(
            f"{where.capitalize()}, le décrochage {horizon} des élèves juste au-dessus du seuil est {direction} que "
            f"celui des élèves juste en dessous : {french.signed(100 * itt.estimate, 1)} points, intervalle à 95 % "
            f"{interval}. C'est l'écart entre être signalé et ne pas l'être pour les élèves proches du seuil, "
            f"pas l'effet d'une action ni celui de Vigie dans son ensemble."
        ))  # fmt: skip
    return Verdict(code="no_effect_detected", text=(
        f"Aucun écart de décrochage détecté {where} : {french.signed(100 * itt.estimate, 1)} points, intervalle "
        f"à 95 % {interval} ; un écart de {mde} ou plus aurait été vu 8 fois sur 10."
    ))  # fmt: skip
