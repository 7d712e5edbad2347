"""Per-pupil signals at an as-of date D, written once as Ibis expressions (DuckDB and Spark).

Every event is joined to the snapshots of its pupil that read its school year, and kept only
when dated on or before D (the single filter that prevents leakage, applied in
:func:`_events_up_to`). Rates divide by the school half-days of the enrolment inside the
window, counted from the calendar.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import ibis
import ibis.expr.types as ir

from features import school
from features.catalog import SERIOUS_INCIDENTS, SUBJECT_GROUPS
from features.signals.population import KEYS, Tables, attach, school_days_before, school_year_of

_PAST = 2  # school years of history read: the current one and the one before


def events_read(t: Tables, as_of: list[date]) -> Tables:
    """The dated events narrowed to the days some snapshot can read: from 1 September of the
    earliest school year read to the last as-of date. A plain date range, known before the
    query runs, that the engine applies as it scans, so a score at one date on a seven-year
    extract reads two years of events, not seven. (:func:`_events_up_to` still keeps, for each
    snapshot, only what is dated on or before its own date.)"""
    first_year = min(school.school_year_of(d) for d in as_of) - (_PAST - 1)
    first, last = school.school_year_start(first_year), max(as_of)

    def window(events: ir.Table) -> ir.Table:
        return events.filter(events.date.between(first, last))

    return replace(t, attendance=window(t.attendance), grades=window(t.grades), incidents=window(t.incidents))


def _events_up_to(base: ir.Table, events: ir.Table) -> ir.Table:
    """Events of each snapshot's pupil dated on or before its as-of date, from its school year
    and the one before.

    The join is on (pupil, school year): each snapshot is repeated once per school year it
    reads, and each event meets only the snapshots of its own and of the next school year. So
    the intermediate grows with the events times the as-of dates of one school year, never with
    every snapshot of the pupil (a pupil followed over seven years at three dates a year would
    otherwise meet each event 21 times).
    """
    b = base.select(*KEYS, "year_start", "school_year")
    reads = ibis.union(*(b.mutate(_year=(b.school_year - back).cast("int32")) for back in range(_PAST)))
    dated = events.mutate(_year=school_year_of(events.date).cast("int32"))
    joined = dated.join(reads, ["pupil_id", "_year"])
    return joined.filter(joined.date <= joined.as_of)


def _count(condition: ir.BooleanValue) -> ir.IntegerScalar:
    return condition.ifelse(1, 0).sum()


def _ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    return (denominator > 0).ifelse(numerator / denominator, ibis.null("float64"))


def _days_ago(table: ir.Table, last: ir.DateValue) -> ir.FloatingValue:
    return table.as_of.delta(last, unit="day").cast("float64")


def school_day_denominators(base: ir.Table, days: ir.Table) -> ir.Table:
    """School half-days enrolled in each window: last 4 and 12 weeks, the 8 weeks before the last 4, the year."""
    d = base.select(
        *KEYS,
        _end=base.as_of + ibis.interval(days=1),
        _s4=ibis.greatest(base.as_of - ibis.interval(days=27), base.enrol_start),
        _s12=ibis.greatest(base.as_of - ibis.interval(days=83), base.enrol_start),
        _p_end=base.as_of - ibis.interval(days=27),
        _sy=base.enrol_start,
    )
    for column in ("_end", "_s4", "_s12", "_p_end", "_sy"):
        d = school_days_before(d, days, column, f"n{column}")
    return d.select(
        *KEYS,
        halfdays_4w=2 * (d.n_end - d.n_s4),
        halfdays_12w=2 * (d.n_end - d.n_s12),
        halfdays_prior_8w=2 * ibis.greatest(d.n_p_end - d.n_s12, 0),
        halfdays_year=2 * (d.n_end - d.n_sy),
    )


def attendance(base: ir.Table, t: Tables) -> ir.Table:
    """Attendance signals per snapshot: absences and lates in recent windows and this school year, from events dated on
    or before the as-of date only."""
    a = _events_up_to(base, t.attendance)
    age = a.as_of.delta(a.date, unit="day")  # days before D: 0 on D itself
    this_year = a.date >= a.year_start
    unjustified = (a.kind == "absence") & ~a.justified
    counts = a.group_by(KEYS).aggregate(
        u_4w=_count(unjustified & (age < 28)),
        u_12w=_count(unjustified & (age < 84)),
        u_prior=_count(unjustified & (age >= 28) & (age < 84)),
        u_year=_count(unjustified & this_year),
        j_4w=_count((a.kind == "absence") & a.justified & (age < 28)),
        j_12w=_count((a.kind == "absence") & a.justified & (age < 84)),
        j_year=_count((a.kind == "absence") & a.justified & this_year),
        l_4w=_count((a.kind == "late") & (age < 28)),
        l_12w=_count((a.kind == "late") & (age < 84)),
        l_year=_count((a.kind == "late") & this_year),
        x_year=_count((a.kind == "exclusion") & this_year),
        unjustified_absences_previous_year=_count(unjustified & ~this_year),
        _last_u=a.date.max(where=unjustified),
    )
    months = (
        a.filter(unjustified & this_year)
        .group_by([*KEYS, a.date.truncate("M").name("month")])
        .aggregate(n=ibis._.count())
    )
    months = months.group_by(KEYS).aggregate(months_with_4_unjustified_halfdays=_count(months.n >= 4))
    runs = _longest_runs(a.filter(unjustified & this_year), t.days)
    b = attach(attach(attach(school_day_denominators(base, t.days), counts), months), runs)
    zero = {c: 0 for c in b.columns if c not in (*KEYS, "_last_u") and not c.startswith("halfdays")}
    b = b.fill_null(zero)
    rate_4w = _ratio(b.u_4w, b.halfdays_4w)
    return b.select(
        *KEYS,
        unjustified_absence_rate_4w=rate_4w,
        unjustified_absence_rate_12w=_ratio(b.u_12w, b.halfdays_12w),
        unjustified_absence_rate_year=_ratio(b.u_year, b.halfdays_year),
        justified_absence_rate_4w=_ratio(b.j_4w, b.halfdays_4w),
        justified_absence_rate_12w=_ratio(b.j_12w, b.halfdays_12w),
        justified_absence_rate_year=_ratio(b.j_year, b.halfdays_year),
        late_rate_4w=_ratio(b.l_4w, b.halfdays_4w),
        late_rate_12w=_ratio(b.l_12w, b.halfdays_12w),
        late_rate_year=_ratio(b.l_year, b.halfdays_year),
        exclusion_rate_year=_ratio(b.x_year, b.halfdays_year),
        unjustified_absence_trend=rate_4w - _ratio(b.u_prior, b.halfdays_prior_8w),
        months_with_4_unjustified_halfdays=b.months_with_4_unjustified_halfdays.cast("int32"),
        longest_unjustified_run_halfdays=b.longest_unjustified_run_halfdays.cast("int32"),
        days_since_last_unjustified_absence=_days_ago(b, b._last_u),
        unjustified_absences_previous_year=b.unjustified_absences_previous_year.cast("int32"),
    )


def _longest_runs(absences: ir.Table, days: ir.Table) -> ir.Table:
    """Longest run of consecutive school half-days (gaps and islands over half-day slots)."""
    a = school_days_before(absences.select(*KEYS, "date", "half_day"), days, "date", "n_before")
    a = a.mutate(slot=2 * a.n_before + (a.half_day == "PM").ifelse(1, 0))
    a = a.mutate(island=a.slot - ibis.row_number().over(group_by=KEYS, order_by=a.slot))
    lengths = a.group_by([*KEYS, "island"]).aggregate(length=ibis._.count())
    return lengths.group_by(KEYS).aggregate(longest_unjustified_run_halfdays=lengths.length.max())


def course(base: ir.Table, t: Tables) -> ir.Table:
    """Grade signals, in two steps: the grades read by each snapshot summed into cells (subject,
    this school year or the one before, the last six weeks or not), then every mean from those
    few cells. One pass over the grades with three sums, instead of a dozen filtered sums over
    every grade and a second pass per subject."""
    g = _events_up_to(base, t.grades)
    age = g.as_of.delta(g.date, unit="day")
    g = g.mutate(
        xw=g.score / g.max_score * 20 * g.coefficient,
        w=g.coefficient,
        this_year=g.date >= g.year_start,
        recent=age < 42,
    )
    c = g.group_by([*KEYS, "subject", "this_year", "recent"]).aggregate(xw=g.xw.sum(), w=g.w.sum(), n=g.count())

    def mean(where: ir.BooleanValue) -> ir.FloatingScalar:
        return _ratio(c.xw.sum(where=where), c.w.sum(where=where))

    by_group = {
        f"grade_mean_{name}_year": mean(c.this_year & c.subject.isin(list(subjects)))
        for name, subjects in SUBJECT_GROUPS.items()
    }
    means = c.group_by(KEYS).aggregate(
        grade_mean_year=mean(c.this_year),
        grade_mean_6w=mean(c.recent),
        _mean_before_6w=mean(c.this_year & ~c.recent),
        grades_count_6w=c.n.sum(where=c.recent),
        grade_mean_previous_year=mean(~c.this_year),
        **by_group,
    )
    year = c.filter(c.this_year)
    per_subject = year.group_by([*KEYS, "subject"]).aggregate(m=year.xw.sum() / year.w.sum())
    below = per_subject.group_by(KEYS).aggregate(subjects_below_10_year=_count(per_subject.m < 10))
    b = attach(attach(base.select(*KEYS, "school_id", "grade_level"), means), below)
    b = b.fill_null({"grades_count_6w": 0, "subjects_below_10_year": 0})
    ranked = b.filter(b.grade_mean_year.notnull())
    ranked = ranked.select(
        *KEYS,
        grade_percentile_in_level=ibis.percent_rank().over(
            group_by=[ranked.as_of, ranked.school_id, ranked.grade_level], order_by=ranked.grade_mean_year
        ),
    )
    b = attach(b, ranked)
    return b.select(
        *KEYS,
        "grade_mean_year",
        "grade_mean_6w",
        grade_mean_change=b.grade_mean_6w - b._mean_before_6w,
        **{name: b[name] for name in by_group},
        subjects_below_10_year=b.subjects_below_10_year.cast("int32"),
        grade_percentile_in_level=b.grade_percentile_in_level.cast("float64"),
        grades_count_6w=b.grades_count_6w.cast("int32"),
        grade_mean_previous_year=b.grade_mean_previous_year,
    )


def behaviour(base: ir.Table, t: Tables) -> ir.Table:
    """Behaviour signals per snapshot: incidents and exclusions in recent windows and this school year, from events
    dated on or before the as-of date only."""
    i = _events_up_to(base, t.incidents)
    age = i.as_of.delta(i.date, unit="day")
    this_year = i.date >= i.year_start
    counts = i.group_by(KEYS).aggregate(
        incidents_12w=_count(age < 84),
        incidents_year=_count(this_year),
        serious_incidents_year=_count(this_year & i.kind.isin(list(SERIOUS_INCIDENTS))),
        _last=i.date.max(),
    )
    b = attach(base.select(*KEYS), counts)
    b = b.fill_null({"incidents_12w": 0, "incidents_year": 0, "serious_incidents_year": 0})
    return b.select(
        *KEYS,
        incidents_12w=b.incidents_12w.cast("int32"),
        incidents_year=b.incidents_year.cast("int32"),
        serious_incidents_year=b.serious_incidents_year.cast("int32"),
        days_since_last_incident=_days_ago(b, b._last),
    )
