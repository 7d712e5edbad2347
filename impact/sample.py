"""The regression-discontinuity sample: one row per pupil and batch with its distance to each cut,
whether a plan followed the flag and whether the pupil dropped out within the horizon.

Definitions fixed here, once, so that other tools can rely on them (docs/design/impact.md):

- a pupil *had a plan* for batch D when a plan's ``start_date`` lies in [D, D + plan window],
  whatever its status;
- *dropout* is an ``event_date`` in (D, D + horizon], the horizon of the batch's operating point;
- the running variable is the distance to the cut in rank within the batch and its scope (every
  school, or each school when tiers are per school), with k = ceil(share x n):
  x = (k + 0.5 - rank) / n, positive = above the cut (flagged); in risk, the risk minus the
  midpoint of the k-th and (k+1)-th risks (for the density test: a rank is uniform by design);
- the default sample is each pupil's first batch in each school year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

import numpy as np
import pandas as pd

from features.school import school_year_of
from models.metrics import capacity_count, capacity_rank, group_sizes
from models.objections import Objections
from models.operating_point import OperatingPoint

Cut = Literal["high", "medium"]
CUTS: Final[tuple[Cut, ...]] = ("high", "medium")
#: The plan window unless the command says otherwise: days after a batch a plan counts for it.
DEFAULT_PLAN_WINDOW_DAYS: Final = 60
#: Columns of a batch's scores this module reads.
SCORE_COLUMNS: Final = ("pupil_id", "school_id", "as_of", "risk", "tier")


@dataclass(frozen=True)
class Batch:
    """One scored batch of the champion: its scores, its operating point, and the signals measured
    before it (the model inputs kept beside it) that placebo RDs test."""

    as_of: date
    model_version: str
    point: OperatingPoint
    scores: pd.DataFrame  # SCORE_COLUMNS
    signals: pd.DataFrame | None = None  # pupil_id + pre-batch signals


def share_above(point: OperatingPoint, cut: Cut) -> float:
    """The share of a batch's scope above a cut: the high tier, or the high and medium tiers."""
    return point.high if cut == "high" else point.high + point.medium


def running_variables(scores: pd.DataFrame, point: OperatingPoint) -> pd.DataFrame:
    """For each pupil of one batch, the rank and risk distances to the high and medium cuts.

    The rank is the capacity rule's own (:func:`models.metrics.capacity_rank`), so the tiers the
    batch recorded are exactly the signs of the rank distances.
    """
    risk = scores["risk"].to_numpy(dtype=float)
    pupils = scores["pupil_id"].to_numpy()
    groups = scores["school_id"].to_numpy() if point.scope == "school" else None
    rank = capacity_rank(risk, pupils, groups)
    size = group_sizes(groups, len(rank))
    codes = np.zeros(len(rank), dtype=np.int64) if groups is None else pd.factorize(groups)[0]
    # Risks sorted within each group, highest first: the k-th risk of a group is at start + k - 1.
    order = np.lexsort((pupils, -risk, codes))
    sorted_risk = risk[order]
    starts = np.searchsorted(codes[order], codes, side="left")
    out: dict[str, np.ndarray] = {}
    for cut in CUTS:
        k = capacity_count(size, share_above(point, cut))
        out[f"x_{cut}"] = (k + 0.5 - rank) / size
        kth = sorted_risk[np.clip(starts + k - 1, 0, len(risk) - 1)]
        next_ = sorted_risk[np.clip(starts + np.minimum(k, size - 1), 0, len(risk) - 1)]
        out[f"r_{cut}"] = risk - (kth + next_) / 2
    return pd.DataFrame(out, index=scores.index)


def rd_sample(
    batches: list[Batch],
    plans: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    plan_window_days: int = DEFAULT_PLAN_WINDOW_DAYS,
    all_batches: bool = False,
    objections: Objections | None = None,
) -> pd.DataFrame:
    """The rows every estimate of ``vigie impact`` reads.

    ``plans``: (pupil_id, start_date); ``outcomes``: (pupil_id, event_date). Columns out:
    pupil_id, school_id, cluster, as_of, school_year, tier, risk, x_high, r_high, x_medium,
    r_medium, had_plan, dropout, and the batches' pre-batch signals. ``cluster`` is the school;
    with ``all_batches`` (a pupil in several rows) it is the pupil's first school in the sample,
    so that the school clusters nest the pupil's rows. The pupils of ``objections`` (GDPR art. 21)
    are left out of the sample; the cuts stay those each batch was actually cut at.
    """
    frames = []
    for batch in batches:
        rows = batch.scores.loc[:, ["pupil_id", "school_id", "risk", "tier"]].reset_index(drop=True)
        rows = pd.concat([rows, running_variables(rows, batch.point)], axis=1)
        rows["as_of"] = batch.as_of
        rows["school_year"] = school_year_of(batch.as_of)
        rows["horizon_days"] = batch.point.horizon_days
        if batch.signals is not None:
            rows = rows.merge(batch.signals, on="pupil_id", how="left", validate="one_to_one")
        frames.append(rows)
    if not frames:
        raise ValueError("no scored batch to evaluate")
    sample = (objections or Objections()).drop(pd.concat(frames, ignore_index=True))
    if not all_batches:
        sample = sample.sort_values(["as_of", "pupil_id"]).drop_duplicates(["pupil_id", "school_year"])
    sample = sample.reset_index(drop=True)
    as_of = pd.to_datetime(sample["as_of"])
    sample["had_plan"] = _any_within(sample, as_of, _dated(plans, "start_date"), start=0, end=plan_window_days)
    horizon = sample["horizon_days"].to_numpy()
    sample["dropout"] = _any_within(sample, as_of, _dated(outcomes, "event_date"), start=1, end=horizon)
    first_school = sample.groupby("pupil_id")["school_id"].transform("first")
    sample["cluster"] = first_school if all_batches else sample["school_id"]
    return sample


def _dated(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return pd.DataFrame({"pupil_id": frame["pupil_id"].astype(str), "day": pd.to_datetime(frame[column])})


def _any_within(
    sample: pd.DataFrame, as_of: pd.Series, events: pd.DataFrame, *, start: int, end: int | np.ndarray
) -> np.ndarray:
    """1 where the pupil has an event dated in [as_of + start, as_of + end] days, else 0."""
    rows = pd.DataFrame({"row": np.arange(len(sample)), "pupil_id": sample["pupil_id"].astype(str),
                         "as_of": as_of.to_numpy(), "end": np.broadcast_to(end, len(sample))})  # fmt: skip
    joined = rows.merge(events, on="pupil_id", how="inner")
    offset = (joined["day"] - joined["as_of"]).dt.days
    hit = joined.loc[(offset >= start) & (offset <= joined["end"]), "row"].unique()
    flags = np.zeros(len(sample), dtype=np.int8)
    flags[hit] = 1
    return flags


def horizon_closed(batch_day: date, point: OperatingPoint, known_until: date) -> bool:
    """Whether a batch's outcomes are all known: D + horizon on or before the extract's last day."""
    return batch_day + timedelta(days=point.horizon_days) <= known_until


#: Below a cut, rows as far as the tier below reaches, but at most this many times the tier above's width.
WINDOW_BELOW_CAP: Final = 2.0


def cut_window(sample: pd.DataFrame, cut: Cut, point: OperatingPoint) -> pd.DataFrame:
    """The rows an RD at ``cut`` reads: the tier just above and the tier just below (capped at
    ``WINDOW_BELOW_CAP`` times the width above). Beyond them lies another cut — the medium cut is a
    discontinuity of its own, 20 % below the high one — which a local fit at this cut must not see."""
    above = point.high if cut == "high" else point.medium
    below_tier = point.medium if cut == "high" else 1 - point.high - point.medium
    below = min(below_tier, WINDOW_BELOW_CAP * above)
    x = sample[f"x_{cut}"]
    return sample[(x >= -below) & (x <= above)]
