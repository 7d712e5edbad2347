"""What followed the flags of a school year: of the pupils flagged high, how many got a plan, how
fast, of which kinds, and the dropout rate among flagged pupils with and without a plan.

Descriptive, not causal: staff choose whom to follow, so pupils with a plan differ from the
others in ways the figures cannot see. Cells under ``french.MIN_CELL`` pupils are withheld.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from scipy.stats import binomtest

from features import french
from serving.api.plans import ACTIONS, PlanStore
from serving.batch import read_history_batch

HORIZON = timedelta(days=365)


@dataclass(frozen=True)
class Rate:
    """A share with its 95 % Wilson interval; None when withheld (fewer than MIN_CELL pupils)."""

    pupils: int | None
    events: int | None
    value: float | None
    lower: float | None
    upper: float | None

    @classmethod
    def of(cls, events: int, pupils: int) -> Rate:
        if pupils < french.MIN_CELL:
            return cls(None, None, None, None, None)
        interval = binomtest(events, pupils).proportion_ci(confidence_level=0.95, method="wilson")
        return cls(pupils, events, events / pupils, float(interval.low), float(interval.high))


@dataclass
class FollowUpFigures:
    """One school (or all of them) over one school year."""

    scope: str  # "ensemble" or a UAI
    flagged: int | None  # pupils flagged high at least once (None: withheld)
    with_plan: Rate
    median_days_to_plan: float | None
    kinds: dict[str, int | None]  # action -> pupils, withheld under MIN_CELL
    dropout_with_plan: Rate
    dropout_without_plan: Rate


@dataclass(frozen=True)
class ScoredBatch:
    """A score batch of the year: its date and the model version that scored it."""

    as_of: date
    model_version: str


@dataclass
class FollowUpReport:
    school_year: str
    first_day: date
    last_day: date
    batches: list[ScoredBatch]
    outcomes_complete: bool  # every flag's horizon closed within the outcomes known
    figures: list[FollowUpFigures] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["first_day"], out["last_day"] = self.first_day.isoformat(), self.last_day.isoformat()
        out["batches"] = [{"as_of": b.as_of.isoformat(), "model_version": b.model_version} for b in self.batches]
        return out


def parse_school_year(text: str) -> tuple[str, date, date]:
    """``2024-2025`` -> its first and last days (1 September, 31 August)."""
    try:
        start, end = (int(part) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"--year {text!r}: expected a school year such as 2024-2025") from None
    if end != start + 1:
        raise ValueError(f"--year {text!r}: expected two consecutive years, such as 2024-2025")
    return text, date(start, 9, 1), date(end, 8, 31)


def flagged_pupils(history: Path, first: date, last: date) -> tuple[pd.DataFrame, list[ScoredBatch]]:
    """Pupils in the high tier of any batch of the year: (pupil_id, school_id, first_flag)."""
    frames: list[pd.DataFrame] = []
    batches: list[ScoredBatch] = []
    for folder in sorted(history.glob("as_of=*")):
        day = date.fromisoformat(folder.name.removeprefix("as_of="))
        if not first <= day <= last:
            continue
        for path in sorted(folder.glob("model_version=*.parquet")):
            version = path.stem.removeprefix("model_version=").replace("_", "/", 1)
            scores, _ = read_history_batch(history, day, version)
            high = scores.loc[scores["tier"] == "high", ["pupil_id", "school_id"]].assign(first_flag=day)
            frames.append(high)
            batches.append(ScoredBatch(day, version))
    if not frames:
        return pd.DataFrame(columns=["pupil_id", "school_id", "first_flag"]), batches
    flags = pd.concat(frames, ignore_index=True).sort_values("first_flag")
    return flags.drop_duplicates("pupil_id").reset_index(drop=True), batches


def _figures(scope: str, pupils: pd.DataFrame) -> FollowUpFigures:
    n = len(pupils)
    planned = pupils[pupils["plan_start"].notna()]
    delays = (pd.to_datetime(planned["plan_start"]) - pd.to_datetime(planned["first_flag"])).dt.days.clip(lower=0)
    kinds: dict[str, int | None] = {}
    for action in ACTIONS:
        count = int(pupils["actions"].apply(lambda a, action=action: action in a).sum())
        kinds[action] = count if count >= french.MIN_CELL else None
    with_plan, without = pupils[pupils["plan_start"].notna()], pupils[pupils["plan_start"].isna()]
    return FollowUpFigures(
        scope=scope,
        flagged=n if n >= french.MIN_CELL else None,
        with_plan=Rate.of(len(with_plan), n),
        median_days_to_plan=float(delays.median()) if len(planned) >= french.MIN_CELL else None,
        kinds=kinds,
        dropout_with_plan=Rate.of(int(with_plan["dropped_out"].sum()), len(with_plan)),
        dropout_without_plan=Rate.of(int(without["dropped_out"].sum()), len(without)),
    )


def followup_report(school_year: str, history: Path, plans: PlanStore, outcomes: pd.DataFrame) -> FollowUpReport:
    """``outcomes``: the extract's table (pupil_id, event_date)."""
    label, first, last = parse_school_year(school_year)
    flags, batches = flagged_pupils(history, first, last)
    rows = pd.DataFrame(
        [(r.pupil_id, r.start_date, r.action) for r in plans.all_plans() if first <= r.start_date <= last],
        columns=["pupil_id", "start_date", "action"],
    )
    starts = rows.groupby("pupil_id")["start_date"].min().rename("plan_start")
    actions = rows.groupby("pupil_id")["action"].apply(set).rename("actions")
    dated = outcomes.assign(event_date=pd.to_datetime(outcomes["event_date"]).dt.date)
    events = dated.groupby("pupil_id")["event_date"].min().rename("event_date")
    pupils = flags.join(starts, on="pupil_id").join(actions, on="pupil_id").join(events, on="pupil_id")
    pupils["actions"] = pupils["actions"].apply(lambda a: a if isinstance(a, set) else set())
    window_end = pupils["first_flag"].map(lambda d: d + HORIZON)
    pupils["dropped_out"] = (
        pupils["event_date"].notna()
        & (pupils["event_date"] > pupils["first_flag"])
        & (pupils["event_date"] <= window_end)
    )
    known_until = events.max() if len(events) else None
    complete = bool(len(pupils)) and known_until is not None and bool((window_end <= known_until).all())
    report = FollowUpReport(label, first, last, batches, complete)
    report.figures.append(_figures("ensemble", pupils))
    for school, group in pupils.groupby("school_id", sort=True):
        report.figures.append(_figures(str(school), group))
    return report


def write_followup_report(report: FollowUpReport, folder: Path) -> list[Path]:
    """French HTML (self-contained) and JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"suivi_{report.school_year}"
    (folder / f"{stem}.json").write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    env = Environment(loader=PackageLoader("serving", "templates"), autoescape=True, undefined=StrictUndefined)
    env.filters.update(french.JINJA_FILTERS)
    html = env.get_template("followup_report.html.j2").render(
        r=report, actions=ACTIONS, suppressed=french.SUPPRESSED, min_cell=french.MIN_CELL
    )
    (folder / f"{stem}.html").write_text(html, encoding="utf-8")
    return [folder / f"{stem}.html", folder / f"{stem}.json"]
