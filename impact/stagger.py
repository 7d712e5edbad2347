"""``vigie impact --design stagger``: under a staggered start (stepped wedge, :mod:`models.stagger`),
dropout in schools that had started against schools not yet started, in the same school year.

The draw randomised whole schools to waves, so within a school year the two sides differ only by
chance and by having Vigie's pages. The estimate is the coefficient of ``started`` in a linear
probability model ``dropout ~ started + C(school_year)`` (statsmodels OLS, cluster-robust standard
errors by school: the unit the draw randomised); only school years with schools on both sides
compare anything. Beside it, a randomisation-inference p-value (the draw's own randomness: waves
re-drawn among the same schools, Fisher's sharp null of no effect for any school) and balance checks
on the signals measured before each batch. Rows are the RD sample's (each pupil's first batch in each
school year; dropout within the model's horizon), so the definitions are the fixed ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from features import french
from impact.estimate import ALPHA, PLACEBO_SIGNALS, minimum_detectable_effect, too_small
from impact.evaluate import TOO_SMALL_FR, Run
from models.impact_result import Check, Estimate, ImpactResult, StaggerInfo, Verdict
from models.stagger import StaggerDraw

#: Waves re-drawn for the randomisation-inference p-value.
PERMUTATIONS: Final = 999
NAME: Final = "stagger_dropout"


@dataclass(frozen=True)
class Arms:
    """The stagger sample: the rows compared, and how many rows of schools outside the draw were left out."""

    rows: pd.DataFrame  # the RD sample's columns + started (0/1)
    outside_draw: int
    school_years: list[int]


def stagger_sample(sample: pd.DataFrame, draw: StaggerDraw) -> Arms:
    """The RD sample's rows with ``started`` by the draw's one rule at each batch's date; schools outside
    the draw are left out (counted), and so are school years where every school, or none, had started."""
    known = sample["school_id"].astype(str).isin(draw.schools)
    rows = sample[known].copy()
    rows["started"] = [
        int(draw.started(school, day)) for school, day in zip(rows["school_id"].astype(str), rows["as_of"], strict=True)
    ]
    sides = rows.groupby("school_year")["started"].agg(["min", "max"])
    years = sorted(int(y) for y in sides.index[(sides["min"] == 0) & (sides["max"] == 1)])
    rows = rows[rows["school_year"].isin(years)].reset_index(drop=True)
    return Arms(rows, int((~known).sum()), years)


def _fit(rows: pd.DataFrame, outcome: str) -> tuple[float, float, float, float, float] | None:
    """(coefficient, ci_low, ci_high, se, p) of ``started`` in OLS with school-year effects, clustered by school."""
    data = rows.dropna(subset=[outcome])
    if data["started"].nunique() < 2 or data["school_id"].nunique() < 3:  # too few schools to cluster
        return None
    formula = f"{outcome} ~ started" + (" + C(school_year)" if data["school_year"].nunique() > 1 else "")
    groups = pd.factorize(data["school_id"])[0]
    fitted = smf.ols(formula, data=data).fit(cov_type="cluster", cov_kwds={"groups": groups})
    low, high = fitted.conf_int(alpha=ALPHA).loc["started"]
    values = (fitted.params["started"], low, high, fitted.bse["started"], fitted.pvalues["started"])
    return tuple(float(v) for v in values) if np.all(np.isfinite(values)) else None  # type: ignore[return-value]


def _within_year_coefficient(cells: pd.DataFrame, started: np.ndarray) -> float:
    """The OLS coefficient of ``started`` with school-year effects, from (school, year) cells (Frisch-Waugh)."""
    n, total, year = cells["n"].to_numpy(), cells["y"].to_numpy(), cells["year_code"].to_numpy()
    per_year = np.bincount(year, weights=n)
    mean_started = np.bincount(year, weights=n * started) / per_year
    mean_y = np.bincount(year, weights=total) / per_year
    centred = started - mean_started[year]
    denominator = float(np.sum(n * centred**2))
    return float(np.sum(centred * (total - n * mean_y[year])) / denominator) if denominator > 0 else 0.0


def randomisation_p_value(arms: Arms, draw: StaggerDraw, *, permutations: int = PERMUTATIONS, seed: int = 0) -> float:
    """Share of re-draws (the same schools, the same wave sizes, a new permutation) whose coefficient is at
    least as far from zero as the one found: exact under the sharp null, whatever the number of schools."""
    rows = arms.rows
    cells = (
        rows.assign(school_id=rows["school_id"].astype(str))
        .groupby(["school_id", "school_year"], as_index=False)
        .agg(n=("dropout", "size"), y=("dropout", "sum"), started=("started", "first"))
    )
    cells["year_code"] = pd.factorize(cells["school_year"])[0]
    observed = _within_year_coefficient(cells, cells["started"].to_numpy(dtype=float))
    schools = sorted(draw.schools)
    starts = np.array([draw.schools[s] for s in schools])
    where = pd.Index(schools).get_indexer(pd.Index(cells["school_id"]))
    years = cells["school_year"].to_numpy()
    rng = np.random.default_rng(seed)
    extreme = 0
    for _ in range(permutations):
        shuffled = rng.permutation(starts)[where]
        extreme += abs(_within_year_coefficient(cells, (years >= shuffled).astype(float))) >= abs(observed) - 1e-12
    return (extreme + 1) / (permutations + 1)


def balance_check(arms: Arms, signal: str) -> Check:
    """A signal measured before the batch should not differ between the sides beyond chance (the draw
    was random); the difference, its cluster-robust interval, passed when it holds zero."""
    fit = _fit(arms.rows, signal) if signal in arms.rows else None
    if fit is None:
        return Check(name="balance", subject=signal, passed=None)
    estimate, low, high, _, p_value = fit
    return Check(name="balance", subject=signal, estimate=estimate, ci_low=low, ci_high=high, p_value=p_value,
                 passed=low <= 0 <= high)  # fmt: skip


def stagger_estimate(arms: Arms) -> Estimate:
    """``stagger_dropout``: started minus not started, within school years; withheld under the disclosure
    threshold (each side's dropouts and non-dropouts) or when no fit is possible."""
    rows = arms.rows
    sides = [rows.loc[rows["started"] == side, "dropout"] for side in (0, 1)]
    n_left, n_right = len(sides[0]), len(sides[1])
    fit = _fit(rows, "dropout")
    shown = all(french.publishable(int(side.sum()), len(side)) for side in sides)
    if fit is None or not shown:
        return Estimate.not_shown(NAME, None, n_left, n_right)
    estimate, low, high, se, p_value = fit
    return Estimate(
        name=NAME, cut=None, estimate=estimate, ci_low=low, ci_high=high, n_left=n_left, n_right=n_right,
        bandwidth=None, clusters=int(rows["school_id"].nunique()), mde=minimum_detectable_effect(se),
        p_value=p_value, rate_below=float(sides[0].mean()),
    )  # fmt: skip


def stagger_verdict(found: Estimate, run: Run) -> Verdict:
    """The same rule as at the cuts: too small when the effect that could have been seen exceeds half the
    dropout rate of the schools not yet started; otherwise whether the interval excludes zero, descriptively."""
    horizon = run.point.within_fr()
    if found.withheld or found.mde is None or found.rate_below is None or found.estimate is None:
        return Verdict(code="too_small", text=(
            f"{TOO_SMALL_FR.capitalize()} : trop peu d'élèves ou d'établissements de part et d'autre pour comparer "
            f"les établissements ouverts et ceux pas encore ouverts (cellules sous {french.MIN_CELL} élèves retenues)."
        ))  # fmt: skip
    mde = f"{french.number(100 * found.mde, 1)} points"
    if too_small(found.mde, found.rate_below):
        return Verdict(code="too_small", text=(
            f"{TOO_SMALL_FR.capitalize()} : seul un écart d'au moins {mde} sur le décrochage {horizon} entre "
            f"établissements ouverts et pas encore ouverts aurait été vu 8 fois sur 10, plus de la moitié du taux de "
            f"décrochage des établissements pas encore ouverts ({french.percent(found.rate_below, 1)}). L'absence "
            "d'écart observée ne montre pas que Vigie est sans effet."
        ))  # fmt: skip
    interval = f"[{french.signed(100 * (found.ci_low or 0), 1)} ; {french.signed(100 * (found.ci_high or 0), 1)}]"
    if found.excludes_zero:
        direction = "plus bas" if found.estimate < 0 else "plus élevé"
        return Verdict(code="effect", text=(
            f"La même année scolaire, le décrochage {horizon} des élèves des établissements où Vigie était ouvert est "
            f"{direction} que dans les établissements pas encore ouverts, tirés au sort : "
            f"{french.signed(100 * found.estimate, 1)} points, intervalle à 95 % {interval} points. C'est l'écart "
            "entre ouvrir Vigie dans un établissement et ne pas l'ouvrir encore, pas l'effet d'une action."
        ))  # fmt: skip
    return Verdict(code="no_effect_detected", text=(
        f"Aucun écart de décrochage détecté entre établissements ouverts et pas encore ouverts : "
        f"{french.signed(100 * found.estimate, 1)} points, intervalle à 95 % {interval} points ; un écart de {mde} "
        "ou plus aurait été vu 8 fois sur 10."
    ))  # fmt: skip


def evaluate_stagger(sample: pd.DataFrame, draw: StaggerDraw, run: Run) -> ImpactResult:
    """The stagger design's ``impact.json``: one estimate, balance checks, a randomisation p-value, a verdict."""
    arms = stagger_sample(sample, draw)
    if arms.rows.empty:
        raise ValueError(
            "no school year with both started and not-yet-started schools among the batches evaluated: the "
            f"draw of {draw.first_year} opens schools from {draw.first_year} to {draw.last_year}"
        )
    found = stagger_estimate(arms)
    checks = [balance_check(arms, signal) for signal in PLACEBO_SIGNALS]
    if not found.withheld:
        p_value = randomisation_p_value(arms, draw)
        # Passed when randomisation inference and the cluster-robust interval say the same thing.
        agrees = (p_value < ALPHA) == found.excludes_zero
        checks.append(Check(name="randomisation", subject="dropout, waves re-drawn", estimate=found.estimate,
                            p_value=p_value, passed=agrees))  # fmt: skip
    rows = arms.rows
    by_school = rows.groupby("school_id")["started"].agg(["min", "max"])
    info = StaggerInfo(
        first_year=draw.first_year, waves=draw.waves, seed=draw.seed, drawn_at=draw.drawn_at, drawn_by=draw.drawn_by,
        school_years=arms.school_years, schools_started=int((by_school["max"] == 1).sum()),
        schools_not_started=int((by_school["min"] == 0).sum()), outside_draw=arms.outside_draw,
    )  # fmt: skip
    return ImpactResult(
        model_version=run.model_version, operating_point=run.point, from_=run.first, to=run.last,
        batches=run.batches, plan_window_days=run.plan_window_days, all_batches=run.all_batches, design="stagger",
        rows=len(rows), clusters=int(rows["school_id"].nunique()), estimates=[found], checks=checks,
        verdict=stagger_verdict(found, run), verdict_by_cut={}, stagger=info,
    )  # fmt: skip
