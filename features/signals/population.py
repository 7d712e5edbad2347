"""Who is in a snapshot, and what the label is: the population and outcome side of features.

A snapshot is one row per (pupil, as-of date D) for every pupil enrolled on D by the
contract's rule. The label is 1 when an ``outcomes.event_date`` falls in ``(D, D+H]``, 0 when
none does and the horizon has closed (``D + H <= labels_known_until``), missing otherwise.
Everything is an Ibis expression, so it runs unchanged on DuckDB and on Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from features.catalog import LEVEL_OFFSET
from features.school import LOOKBACK_YEARS, SCHOOL_YEAR_START, SNAPSHOT_KEY

KEYS = list(SNAPSHOT_KEY)


@dataclass(frozen=True)
class Tables:
    """The validated extract as Ibis tables on one backend, plus the school-day index."""

    pupils: ir.Table
    enrolments: ir.Table
    attendance: ir.Table
    grades: ir.Table
    incidents: ir.Table
    outcomes: ir.Table
    #: One row per calendar day: ``day`` and ``school_days_before`` (Mon-Fri outside holidays).
    days: ir.Table


def year_start(school_year: ir.IntegerValue) -> ir.DateValue:
    """1 September of ``school_year`` as an Ibis date: the school vocabulary's start of a school year, for the engine's
    expressions."""
    return ibis.date(school_year, *SCHOOL_YEAR_START)


def school_year_of(day: ir.DateValue) -> ir.IntegerValue:
    """The school year (by its start year) a date falls in: September to August."""
    return (day.year() - (day.month() < SCHOOL_YEAR_START[0]).ifelse(1, 0)).cast("int32")  # it starts on the 1st


def attach(base: ir.Table, part: ir.Table) -> ir.Table:
    """Left-join a per-snapshot table on the snapshot keys, keeping the base's keys."""
    joined = base.left_join(part, KEYS)
    return joined.select(*base.columns, *[c for c in part.columns if c not in KEYS])


def school_days_before(table: ir.Table, days: ir.Table, column: str, out: str) -> ir.Table:
    """Add ``out``: the number of school days before the date in ``column``."""
    lookup = days.select(**{f"_{column}": days.day, out: days.school_days_before})
    joined = table.join(lookup, table[column] == lookup[f"_{column}"])
    return joined.drop(f"_{column}")


def population(t: Tables, as_of: ir.Table) -> ir.Table:
    """Pupils enrolled on each as-of date, with the current enrolment's context and what their
    earlier enrolments tell (first entry this year, repeats, school changes)."""
    base = current_enrolments(t, as_of)
    history = t.enrolments.join(
        base.select("pupil_id", "as_of", cur_year=base.school_year, cur_school=base.school_id), "pupil_id"
    )
    # A fixed look-back (features.school.LOOKBACK_YEARS), never "since the extract starts".
    history = history.filter(
        (history.entry_date <= history.as_of) & (history.school_year >= history.cur_year - LOOKBACK_YEARS)
    )
    past = history.group_by(KEYS).aggregate(
        enrol_start=history.entry_date.min(where=history.school_year == history.cur_year),
        repeats_so_far=history.school_year.nunique(where=history.repeating),
        school_changes_so_far=history.school_id.nunique() - 1,
        current_school_since=history.entry_date.min(where=history.school_id == history.cur_school),
    )
    return attach(base, past)


def current_enrolments(t: Tables, as_of: ir.Table) -> ir.Table:
    """Pupils enrolled on each as-of date, with the current enrolment's context only: the rows of
    :func:`population` without the history join, all the audit table needs.

    Each enrolment meets only the as-of dates of its school year (validation keeps entry and
    exit dates inside it), not every date of the schedule.
    """
    dates = as_of.mutate(_year=school_year_of(as_of.as_of))
    e = t.enrolments.join(dates, t.enrolments.school_year.cast("int32") == dates._year).drop("_year")
    end = year_start(e.school_year + 1)
    enrolled = (e.entry_date <= e.as_of) & ((e.exit_date.isnull() & (e.as_of < end)) | (e.as_of < e.exit_date))
    return e.filter(enrolled).select(
        "pupil_id",
        "as_of",
        "school_id",
        "school_year",
        "grade_level",
        repeating=e.repeating.cast("int32"),
        current_entry=e.entry_date,
        year_start=year_start(e.school_year),
        scholarship=e.scholarship,
        disability_plan=e.disability_plan,
        priority_education=e.priority_education,
        allophone=e.allophone,
    )


def trajectory(base: ir.Table, pupils: ir.Table) -> ir.Table:
    """Grade level, track, repeats, age and delay, school changes: from enrolments and birth month."""
    p = pupils.select(
        "pupil_id",
        birth_day=(pupils.birth_month + "-01").cast("date"),
        birth_year=pupils.birth_month.substr(0, 4).cast("int32"),
    )
    b = base.left_join(p, "pupil_id")
    level = b.grade_level
    track = ibis.cases(
        (level.isin(["6E", "5E", "4E", "3E"]), "college"),
        (level.isin(["2NDE", "1ERE", "TLE"]), "lycee_gt"),
        else_="lycee_pro",
    )
    return b.select(
        *KEYS,
        track=track,
        age_years=b.as_of.delta(b.birth_day, unit="day").cast("float64") / 365.25,
        age_for_grade_delay_years=(b.school_year - b.birth_year - 11 - level.cases(*LEVEL_OFFSET.items())).cast(
            "int32"
        ),
        months_in_current_school=b.as_of.delta(b.current_school_since, unit="day").cast("float64") / 30.4375,
        mid_year_entry=(b.enrol_start > b.year_start + ibis.interval(days=30)).cast("int32"),
    )


def labels(base: ir.Table, outcomes: ir.Table, *, horizon_days: int, known_until: ir.DateValue) -> ir.Table:
    """Where the horizon has closed: 1 if a dropout falls in (D, D+H], else 0. Missing otherwise."""
    o = outcomes.join(base.select(*KEYS), "pupil_id")
    o = o.filter((o.event_date > o.as_of) & (o.event_date <= o.as_of + ibis.interval(days=horizon_days)))
    events = o.group_by(KEYS).aggregate(event_date=o.event_date.min())
    b = attach(base.select(*KEYS), events)
    closed = b.as_of + ibis.interval(days=horizon_days) <= known_until
    # An open horizon gives no label at all, not even a known positive: keeping only the
    # positives of recent dates would bias any training set built from them.
    label = ibis.cases((~closed, ibis.null("int32")), (b.event_date.notnull(), 1), else_=0).cast("int32")
    return b.select(*KEYS, label=label, event_date=b.event_date)
