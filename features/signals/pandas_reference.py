"""Seven representative signals in plain pandas, written independently of the Ibis definitions.

Kept for two reasons: tests use it as an oracle for the engine-agnostic definitions, and
``benchmarks/features.py`` measures it beside DuckDB and Spark. It is not used to build
features: it reads everything into memory and would not scale.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from features.ingest import school_days
from features.school import LOOKBACK_YEARS

SIGNALS = (
    "unjustified_absence_rate_4w",
    "months_with_4_unjustified_halfdays",
    "grade_mean_year",
    "incidents_12w",
    "repeats_so_far",
    "unjustified_absences_previous_year",
    "grade_mean_previous_year",
)


def _read(extract_dir: Path, name: str) -> pd.DataFrame:
    frame = pd.read_parquet(extract_dir / f"{name}.parquet")
    for column in frame.columns:
        if "date" in column:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def reference_signals(extract_dir: Path, as_of: list[date]) -> pd.DataFrame:
    """The signals of every pupil at each of ``as_of``, computed in plain pandas: the oracle the engine's build is
    checked against in the tests."""
    enrolments = _read(extract_dir, "enrolments")
    attendance = _read(extract_dir, "attendance")
    grades = _read(extract_dir, "grades")
    incidents = _read(extract_dir, "incidents")
    calendar = _read(extract_dir, "calendar")
    open_days = school_days(date(1990, 9, 1), max(as_of) + timedelta(days=1), calendar).astype("datetime64[ns]")
    out = []
    for d in as_of:
        day = pd.Timestamp(d)
        year_end = pd.to_datetime((enrolments["school_year"] + 1).astype(str) + "-09-01")
        on = enrolments[(enrolments["entry_date"] <= day) & (enrolments["exit_date"].fillna(year_end) > day)]
        snap = on[["pupil_id", "school_year"]].copy()
        snap["as_of"] = day
        same_year = enrolments.merge(snap[["pupil_id", "school_year"]], on=["pupil_id", "school_year"])
        same_year = same_year[same_year["entry_date"] <= day]
        start = same_year.groupby("pupil_id")["entry_date"].min()
        entered, window_start = snap["pupil_id"].map(start), day - pd.Timedelta(days=27)
        snap["start_4w"] = entered.where(entered > window_start, window_start)
        first = np.searchsorted(open_days, snap["start_4w"].to_numpy())
        last = np.searchsorted(open_days, (day + pd.Timedelta(days=1)).to_datetime64())
        halfdays = 2 * (last - first)
        year_start = pd.to_datetime(snap["school_year"].astype(str) + "-09-01")
        years = snap[["pupil_id"]].assign(
            year_start=year_start.to_numpy(),
            previous_start=pd.to_datetime((snap["school_year"] - 1).astype(str) + "-09-01").to_numpy(),
        )

        a = attendance[(attendance["kind"] == "absence") & ~attendance["justified"] & (attendance["date"] <= day)]
        a = a.merge(years, on="pupil_id")
        previous = a[(a["date"] >= a["previous_start"]) & (a["date"] < a["year_start"])].groupby("pupil_id").size()
        snap["unjustified_absences_previous_year"] = snap["pupil_id"].map(previous).fillna(0).astype(int)
        recent = a[a["date"] > day - pd.Timedelta(days=28)].groupby("pupil_id").size()
        snap["unjustified_absence_rate_4w"] = snap["pupil_id"].map(recent).fillna(0) / np.where(
            halfdays > 0, halfdays, np.nan
        )
        year = a[a["date"] >= a["year_start"]]
        per_month = year.groupby(["pupil_id", year["date"].dt.to_period("M")]).size()
        snap["months_with_4_unjustified_halfdays"] = (
            snap["pupil_id"].map((per_month >= 4).groupby(level=0).sum()).fillna(0).astype(int)
        )

        g = grades[grades["date"] <= day].merge(years)
        for name, rows in (
            ("grade_mean_year", g[g["date"] >= g["year_start"]]),
            ("grade_mean_previous_year", g[(g["date"] >= g["previous_start"]) & (g["date"] < g["year_start"])]),
        ):
            weighted = (rows["score"] / rows["max_score"] * 20 * rows["coefficient"]).groupby(rows["pupil_id"]).sum()
            snap[name] = snap["pupil_id"].map(weighted / rows.groupby("pupil_id")["coefficient"].sum())

        i = incidents[(incidents["date"] <= day) & (incidents["date"] > day - pd.Timedelta(days=84))]
        snap["incidents_12w"] = snap["pupil_id"].map(i.groupby("pupil_id").size()).fillna(0).astype(int)

        past = enrolments[(enrolments["entry_date"] <= day) & enrolments["repeating"]]
        past = past.merge(snap[["pupil_id", "school_year"]].rename(columns={"school_year": "current"}), on="pupil_id")
        past = past[past["school_year"] >= past["current"] - LOOKBACK_YEARS]
        snap["repeats_so_far"] = snap["pupil_id"].map(past.groupby("pupil_id")["school_year"].nunique())
        snap["repeats_so_far"] = snap["repeats_so_far"].fillna(0).astype(int)
        out.append(snap[["pupil_id", "as_of", *SIGNALS]])
    return pd.concat(out).sort_values(["as_of", "pupil_id"]).reset_index(drop=True)
