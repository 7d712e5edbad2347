"""Local polynomial RD at the capacity cuts, with robust bias-corrected intervals clustered by
school and a data-driven bandwidth: the ``rdrobust`` family (Calonico, Cattaneo, Farrell and
Titiunik; GPL-3.0, accepted through the EUPL-1.2's compatibility clause, docs/licence.md).

Three estimates at each cut, in probability units, above the cut minus below:
``flag_to_plan`` (first stage), ``flag_to_dropout`` (intention to treat) and ``plan_to_dropout``
(fuzzy RD: the effect of a recorded plan for pupils at the cut, assuming the flag acts only
through a recorded plan). Beside them, the checks a reader needs before believing any of it.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from rddensity import rddensity
from rdpower.rdpower_fun import rdpower_powerNR_mde
from rdrobust import rdrobust
from scipy.stats import norm

from features import french
from impact.sample import CUTS, Cut
from models.impact_result import Check, Estimate, EstimateName

#: Power and level of the minimum detectable effect (a two-sided 5 % test seen 8 times in 10).
POWER: Final = 0.8
ALPHA: Final = 0.05
#: Signals measured before the batch that a flag cannot have moved: placebo outcomes.
PLACEBO_SIGNALS: Final = ("unjustified_absence_rate_12w", "grade_mean_year")
#: The density test runs on at most this many rows (a seeded draw), which keeps it under a second.
DENSITY_ROWS: Final = 200_000
#: The verdict calls a sample too small when the MDE exceeds this share of the dropout rate at the cut.
TOO_SMALL_SHARE: Final = 0.5


def too_small(mde: float, rate: float) -> bool:
    """The verdict's rule, one truth for every design: a sample is too small to conclude when the effect
    it could have seen (the MDE at 80 % power) exceeds half the dropout rate without the flag."""
    return mde > TOO_SMALL_SHARE * max(rate, 0.0)


@dataclass(frozen=True)
class Design:
    """What every RD of one run shares: the running variable's column per cut, the cluster."""

    sample: pd.DataFrame
    cluster: str = "cluster"


@dataclass(frozen=True)
class Fit:
    """One rdrobust fit, robust bias-corrected, with what disclosure control needs."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    bandwidth: float
    n_left: int
    n_right: int
    clusters: int
    below: float  # the outcome's limit just below the cut (conventional fit)
    events_left: int
    events_right: int


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """rdrobust and rddensity print and warn as they go; the command prints its own lines."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def rd_fit(
    y: np.ndarray, x: np.ndarray, cluster: np.ndarray, *, fuzzy: np.ndarray | None = None, h: float | None = None
) -> Fit | None:
    """rdrobust at 0 (x >= 0 is above the cut), triangular kernel, local linear, CR1 clustered,
    MSE-optimal common bandwidth unless ``h`` is given; None when the data cannot carry a fit."""
    codes = pd.factorize(cluster)[0].astype(float)
    try:
        with _quiet():
            result = rdrobust(y, x, c=0, fuzzy=fuzzy, h=h, cluster=codes, vce="cr1", masspoints="adjust")
    except Exception:
        return None
    bandwidth = float(result.bws.iloc[0, 0])
    inside = np.abs(x) <= bandwidth
    left, right = inside & (x < 0), inside & (x >= 0)
    values = [float(result.coef.iloc[2, 0]), float(result.ci.iloc[2, 0]), float(result.ci.iloc[2, 1])]
    if not np.all(np.isfinite(values)):
        return None
    return Fit(
        estimate=values[0],
        ci_low=values[1],
        ci_high=values[2],
        se=float(result.se.iloc[2, 0]),
        p_value=float(result.pv.iloc[2, 0]),
        bandwidth=bandwidth,
        n_left=int(left.sum()),
        n_right=int(right.sum()),
        clusters=len(np.unique(codes[inside])),
        below=float(np.asarray(result.beta_p_l).ravel()[0]) if fuzzy is None else float("nan"),
        events_left=int(np.asarray(y)[left].sum()),
        events_right=int(np.asarray(y)[right].sum()),
    )


def check_of_fit(name: str, cut: Cut, subject: str, fit: Fit, *, passed: bool | None = None) -> Check:
    """A placebo or robustness fit as a reported check: passed when its interval holds zero, unless said."""
    holds_zero = fit.ci_low <= 0 <= fit.ci_high
    return Check.model_validate({
        "name": name, "cut": cut, "subject": subject, "estimate": fit.estimate, "ci_low": fit.ci_low,
        "ci_high": fit.ci_high, "p_value": fit.p_value, "passed": holds_zero if passed is None else passed,
    })  # fmt: skip


def minimum_detectable_effect(se: float) -> float:
    """The smallest effect a two-sided test at ALPHA detects with probability POWER, given the robust
    standard error: rdpower's Newton-Raphson (``rdmde``'s own step, on the fit already made)."""
    z = float(norm.ppf(1 - ALPHA / 2))
    return float(rdpower_powerNR_mde(1, 2.8 * se, se, z, POWER)["mde"])


def publishable(fit: Fit, *, binary: bool) -> bool:
    """Disclosure control: every side of the bandwidth holds MIN_CELL pupils or more, and for a yes/no
    outcome its events and non-events each too (the follow-up report's rule)."""
    sides = ((fit.events_left, fit.n_left), (fit.events_right, fit.n_right))
    if binary:
        return all(french.publishable(events, n) for events, n in sides)
    return min(fit.n_left, fit.n_right) >= french.MIN_CELL


OUTCOMES: Final[dict[EstimateName, tuple[str, str | None]]] = {
    "flag_to_plan": ("had_plan", None),
    "flag_to_dropout": ("dropout", None),
    "plan_to_dropout": ("dropout", "had_plan"),
}


def estimate(design: Design, name: EstimateName, cut: Cut, *, h: float | None = None) -> tuple[Estimate, Fit | None]:
    """One named estimate at one cut, withheld (values None) when not estimable or not publishable."""
    s = design.sample
    outcome, treatment = OUTCOMES[name]
    fit = rd_fit(
        s[outcome].to_numpy(dtype=float),
        s[f"x_{cut}"].to_numpy(dtype=float),
        s[design.cluster].to_numpy(),
        fuzzy=None if treatment is None else s[treatment].to_numpy(dtype=float),
        h=h,
    )
    if fit is None or not publishable(fit, binary=True):
        return Estimate.not_shown(name, cut, fit.n_left if fit else 0, fit.n_right if fit else 0), None
    return (
        Estimate(
            name=name,
            cut=cut,
            estimate=fit.estimate,
            ci_low=fit.ci_low,
            ci_high=fit.ci_high,
            n_left=fit.n_left,
            n_right=fit.n_right,
            bandwidth=fit.bandwidth,
            clusters=fit.clusters,
            mde=minimum_detectable_effect(fit.se) if name != "flag_to_plan" else None,
            p_value=fit.p_value,
            rate_below=None if np.isnan(fit.below) else fit.below,
        ),
        fit,
    )


def density_check(sample: pd.DataFrame, cut: Cut, *, seed: int = 0) -> Check:
    """Manipulation test (Cattaneo, Jansson and Ma) on the risk distance: a rank is uniform by design."""
    r = sample[f"r_{cut}"].to_numpy(dtype=float)
    if len(r) > DENSITY_ROWS:
        r = np.random.default_rng(seed).choice(r, DENSITY_ROWS, replace=False)
    try:
        with _quiet():
            test = rddensity(X=r, c=0.0).test
        p_value = float(test["p_jk"])
    except Exception:
        p_value = float("nan")
    passed = None if np.isnan(p_value) else p_value >= ALPHA
    return Check(name="density", cut=cut, subject="risk_distance", p_value=None if np.isnan(p_value) else p_value,
                 passed=passed)  # fmt: skip


def placebo_signal(design: Design, signal: str, cut: Cut) -> Check:
    """A signal measured before the batch must not jump at the cut: its RD interval should hold zero."""
    s = design.sample.dropna(subset=[signal])
    fit = rd_fit(s[signal].to_numpy(dtype=float), s[f"x_{cut}"].to_numpy(dtype=float), s[design.cluster].to_numpy())
    if fit is None or not publishable(fit, binary=False):
        return Check(name="placebo_signal", cut=cut, subject=signal, passed=None)
    return check_of_fit("placebo_signal", cut, signal, fit)


def placebo_cut(design: Design, cut: Cut, side: Literal["below", "above"], at: float) -> Check:
    """A false cut inside one tier (``at``, in rank distance) must show no jump in dropout."""
    s = design.sample
    x = s[f"x_{cut}"].to_numpy(dtype=float)
    keep = (x < 0) if side == "below" else (x >= 0)
    fit = rd_fit(s.loc[keep, "dropout"].to_numpy(dtype=float), x[keep] - at, s.loc[keep, design.cluster].to_numpy())
    subject = f"dropout at {at:+.3f}"
    if fit is None or not publishable(fit, binary=True):
        return Check(name="placebo_cut", cut=cut, subject=subject, passed=None)
    return check_of_fit("placebo_cut", cut, subject, fit)


def bandwidth_check(design: Design, cut: Cut, base: Estimate, factor: float) -> Check:
    """The intention-to-treat estimate at half and double the chosen bandwidth: it should not swing."""
    subject = f"flag_to_dropout at {factor:g} x bandwidth"
    if base.bandwidth is None:
        return Check(name="bandwidth", cut=cut, subject=subject, passed=None)
    found, fit = estimate(design, "flag_to_dropout", cut, h=base.bandwidth * factor)
    if fit is None:
        return Check(name="bandwidth", cut=cut, subject=subject, passed=None)
    # Robust: the estimate at another bandwidth agrees when its interval holds the main estimate.
    agrees = (
        found.ci_low is not None and found.ci_high is not None and found.ci_low <= (base.estimate or 0) <= found.ci_high
    )
    return check_of_fit("bandwidth", cut, subject, fit, passed=agrees)


def placebo_cut_points(cut: Cut, high: float, medium: float) -> dict[Literal["below", "above"], float]:
    """False cuts halfway into the tier on each side of a cut, in rank distance."""
    if cut == "high":
        return {"below": -medium / 2, "above": high / 2}
    return {"below": -medium / 2, "above": medium / 2}


__all__ = ["CUTS", "PLACEBO_SIGNALS", "Design", "Fit", "estimate", "minimum_detectable_effect"]
