"""What followed the flags of a school year: of the pupils flagged high, how many got a plan, how
fast, of which kinds, and the dropout rate among flagged pupils with and without a plan.

Descriptive, not causal: staff choose whom to follow, so pupils with a plan differ from the
others in ways the figures cannot see. Statistical disclosure control: a count is shown only
when it and its complement both rest on ``french.MIN_CELL`` pupils or more, and a school's
figure is withheld with another when the district total would otherwise give it back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from scipy.stats import binomtest

from features import french
from features.school import school_year_end, school_year_start
from models.objections import Objections
from serving.api.plans import ACTIONS, PlanStore
from serving.batch import kept_batches, read_batch_metadata, read_history_batch


def shown(part: int, whole: int) -> bool:
    """A count may be published when it and its complement both rest on MIN_CELL pupils or more
    (:func:`features.french.publishable`, the rule every report applies)."""
    return french.publishable(part, whole)


@dataclass(frozen=True)
class Rate:
    """A share with its 95 % Wilson interval; all None when withheld."""

    pupils: int | None
    events: int | None
    value: float | None
    lower: float | None
    upper: float | None

    @classmethod
    def withheld(cls) -> Rate:
        """A rate not shown: too few pupils behind it or its complement."""
        return cls(None, None, None, None, None)

    @classmethod
    def of(cls, events: int, pupils: int) -> Rate:
        """``events`` out of ``pupils`` with its Wilson interval, withheld when either side rests on too few pupils."""
        if not shown(events, pupils):
            return cls.withheld()
        interval = binomtest(events, pupils).proportion_ci(confidence_level=0.95, method="wilson")
        return cls(pupils, events, events / pupils, float(interval.low), float(interval.high))

    def describe(self) -> str:
        """``17,0 % [15,1 % ; 19,2 %] (240 / 1 385)``, or « effectif insuffisant » when withheld."""
        if self.value is None or self.events is None or self.pupils is None:
            return french.SUPPRESSED
        return (
            f"{french.percent(self.value, 1)} [{french.percent(self.lower, 1)} ; {french.percent(self.upper, 1)}] "
            f"({french.integer(self.events)} / {french.integer(self.pupils)})"
        )


@dataclass(frozen=True)
class Tally:
    """The counts a row of the report rests on, before anything is withheld. Additive: the
    whole district's tally is the sum of its schools', which is why a figure withheld in one
    school only could be recovered by difference (see ``withheld_columns``)."""

    flagged: int
    planned: int
    dropped_planned: int
    dropped_unplanned: int
    days_to_plan: tuple[int, ...]
    kinds: dict[str, int]


@dataclass
class FollowUpFigures:
    """One school (or all of them) over one school year; None where withheld."""

    scope: str  # "ensemble" or a UAI
    flagged: int | None  # pupils flagged high at least once
    with_plan: Rate
    median_days_to_plan: float | None
    kinds: dict[str, int | None]  # action -> pupils
    dropout_with_plan: Rate
    dropout_without_plan: Rate


#: The report's additive columns: a withheld one withholds those after it that would give it back.
COLUMNS = ("flagged", "with_plan", "dropout_with_plan", "dropout_without_plan", *(f"kind:{a}" for a in ACTIONS))


def _own_withheld(t: Tally) -> set[str]:
    """Columns withheld by the row's own counts. Withholding a column withholds those that
    would give it back: the plan split is ``flagged`` minus the without-plan group's size."""
    hidden: set[str] = set()
    if t.flagged < french.MIN_CELL:
        hidden.add("flagged")
    if not shown(t.planned, t.flagged):
        hidden.add("with_plan")
    if not shown(t.dropped_planned, t.planned):
        hidden.add("dropout_with_plan")
    if not shown(t.dropped_unplanned, t.flagged - t.planned):
        hidden.add("dropout_without_plan")
    hidden |= {f"kind:{action}" for action, count in t.kinds.items() if not shown(count, t.flagged)}
    return _closed(hidden)


def _closed(hidden: set[str]) -> set[str]:
    if "flagged" in hidden:
        return set(COLUMNS)
    if "with_plan" in hidden:
        return hidden | {"dropout_with_plan", "dropout_without_plan"}
    return hidden


def withheld_columns(total: Tally, schools: dict[str, Tally]) -> tuple[set[str], dict[str, set[str]]]:
    """Primary then complementary suppression (the statistical offices' rule): a column the
    district row shows may not be withheld in exactly one school, or the district minus the
    other schools would give it back; the smallest school still showing it is withheld too."""
    district = _own_withheld(total)
    hidden = {school: _own_withheld(t) for school, t in schools.items()}
    changed = True
    while changed:
        changed = False
        for column in COLUMNS:
            if column in district:
                continue
            alone = [s for s in hidden if column in hidden[s]]
            others = [s for s in hidden if column not in hidden[s]]
            if len(alone) == 1 and others:
                smallest = min(others, key=lambda s: (schools[s].flagged, s))
                hidden[smallest] = _closed(hidden[smallest] | {column})
                changed = True
    return district, hidden


def _figures(scope: str, t: Tally, hidden: set[str]) -> FollowUpFigures:
    def rate(column: str, events: int, pupils: int) -> Rate:
        return Rate.withheld() if column in hidden else Rate.of(events, pupils)

    with_plan = rate("with_plan", t.planned, t.flagged)
    return FollowUpFigures(
        scope=scope,
        flagged=None if "flagged" in hidden else t.flagged,
        with_plan=with_plan,
        median_days_to_plan=float(median(t.days_to_plan)) if with_plan.value is not None else None,
        kinds={action: None if f"kind:{action}" in hidden else count for action, count in t.kinds.items()},
        dropout_with_plan=rate("dropout_with_plan", t.dropped_planned, t.planned),
        dropout_without_plan=rate("dropout_without_plan", t.dropped_unplanned, t.flagged - t.planned),
    )


@dataclass(frozen=True)
class ScoredBatch:
    """A score batch of the year: its date and the model version that scored it."""

    as_of: date
    model_version: str
    #: The horizon of the batch's operating point: dropout is counted within it of the first flag.
    horizon_days: int


@dataclass
class FollowUpReport:
    """The follow-up report of a school year for school staff: the batches it covers, whether their outcomes are all
    known, and the figures per school."""

    school_year: str
    first_day: date
    last_day: date
    batches: list[ScoredBatch]
    outcomes_complete: bool  # every flag's horizon closed within the outcomes known
    figures: list[FollowUpFigures] = field(default_factory=list)

    @property
    def horizon_fr(self) -> str:
        """``6 mois``: the batches' horizon as the text says it (each one, if they differ)."""
        horizons = sorted({b.horizon_days for b in self.batches})
        return " ou ".join(french.horizon(h) for h in horizons) if horizons else "l'horizon du modèle"

    def as_dict(self) -> dict[str, Any]:
        """The report as its JSON holds it."""
        out = asdict(self)
        out["first_day"], out["last_day"] = self.first_day.isoformat(), self.last_day.isoformat()
        out["batches"] = [
            {"as_of": b.as_of.isoformat(), "model_version": b.model_version, "horizon_days": b.horizon_days}
            for b in self.batches
        ]
        return out


def parse_school_year(text: str) -> tuple[str, date, date]:
    """``2024-2025`` -> its first and last days (1 September, 31 August)."""
    try:
        start, end = (int(part) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"--year {text!r}: expected a school year such as 2024-2025") from None
    if end != start + 1:
        raise ValueError(f"--year {text!r}: expected two consecutive years, such as 2024-2025")
    return text, school_year_start(start), school_year_end(start)


def flagged_pupils(history: Path, first: date, last: date) -> tuple[pd.DataFrame, list[ScoredBatch]]:
    """Pupils in the high tier of any batch of the year: (pupil_id, school_id, first_flag, and the
    horizon_days of that batch's operating point)."""
    frames: list[pd.DataFrame] = []
    batches: list[ScoredBatch] = []
    for kept in kept_batches(history):
        if not first <= kept.as_of <= last:
            continue
        scores, _ = read_history_batch(history, kept.as_of, kept.model_version)
        horizon = read_batch_metadata(kept.path).operating_point.horizon_days
        high = scores.loc[scores["tier"] == "high", ["pupil_id", "school_id"]]
        frames.append(high.assign(first_flag=kept.as_of, horizon_days=horizon))
        batches.append(ScoredBatch(kept.as_of, kept.model_version, horizon))
    if not frames:
        return pd.DataFrame(columns=["pupil_id", "school_id", "first_flag", "horizon_days"]), batches
    flags = pd.concat(frames, ignore_index=True).sort_values("first_flag")
    return flags.drop_duplicates("pupil_id").reset_index(drop=True), batches


def _tally(pupils: pd.DataFrame) -> Tally:
    planned = pupils[pupils["plan_start"].notna()]
    delays = (pd.to_datetime(planned["plan_start"]) - pd.to_datetime(planned["first_flag"])).dt.days.clip(lower=0)
    return Tally(
        flagged=len(pupils),
        planned=len(planned),
        dropped_planned=int(planned["dropped_out"].sum()),
        dropped_unplanned=int(pupils.loc[pupils["plan_start"].isna(), "dropped_out"].sum()),
        days_to_plan=tuple(int(d) for d in delays),
        kinds={action: int(pupils["actions"].apply(lambda a, action=action: action in a).sum()) for action in ACTIONS},
    )


def followup_report(
    school_year: str, history: Path, plans: PlanStore, outcomes: pd.DataFrame, objections: Objections | None = None
) -> FollowUpReport:
    """``outcomes``: the extract's table (pupil_id, event_date); the objected pupils are left out."""
    label, first, last = parse_school_year(school_year)
    flags, batches = flagged_pupils(history, first, last)
    flags = (objections or Objections()).drop(flags)
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
    window_end = pd.Series(
        [d + timedelta(days=int(h)) for d, h in zip(pupils["first_flag"], pupils["horizon_days"], strict=True)],
        index=pupils.index,
        dtype=object,
    )
    pupils["dropped_out"] = (
        pupils["event_date"].notna()
        & (pupils["event_date"] > pupils["first_flag"])
        & (pupils["event_date"] <= window_end)
    )
    known_until = events.max() if len(events) else None
    complete = bool(len(pupils)) and known_until is not None and bool((window_end <= known_until).all())
    report = FollowUpReport(label, first, last, batches, complete)
    total = _tally(pupils)
    schools = {str(school): _tally(group) for school, group in pupils.groupby("school_id", sort=True)}
    district, hidden = withheld_columns(total, schools)
    report.figures.append(_figures("ensemble", total, district))
    report.figures.extend(_figures(school, tally, hidden[school]) for school, tally in schools.items())
    return report


def summary_lines(report: FollowUpReport) -> list[str]:
    """The district's figures in a few French sentences (the command prints them), withheld
    cells said as in the report."""
    overall = report.figures[0]
    flagged = french.SUPPRESSED if overall.flagged is None else french.integer(overall.flagged)
    delay = overall.median_days_to_plan
    lines = [
        f"Année scolaire {report.school_year} : {len(report.batches)} "
        f"{french.plural(len(report.batches), 'lot', 'lots')} de scores ; élèves signalés en risque élevé : {flagged}.",
        f"Avec un plan de suivi : {overall.with_plan.describe()} ; délai médian avant le plan : "
        + (french.SUPPRESSED if delay is None else f"{french.number(delay, 0)} {french.plural(delay, 'jour', 'jours')}")
        + ".",
        f"Décrochage dans les {report.horizon_fr} parmi les signalés : "
        f"avec un plan {overall.dropout_with_plan.describe()}, "
        f"sans plan {overall.dropout_without_plan.describe()} (descriptif, pas causal).",
    ]
    if not report.outcomes_complete:
        lines.append(
            f"Résultats partiels : l'horizon de {report.horizon_fr} n'est pas clos pour tous les signalements."
        )
    return lines


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
