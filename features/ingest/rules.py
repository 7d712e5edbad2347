"""The contract's rules as Ibis expressions: one definition, run where the data sits.

Each table becomes one Ibis expression: the raw rows with their position in the file (``_row``),
every column parsed to its contract type, and one boolean *flag* per rule, true where the row
breaks it. The expression compiles to SQL, so DuckDB checks a table out of core within its
memory limit, and the same definitions run on Spark through Ibis's PySpark backend.

Two kinds of rule, in the order the report lists them:

* *reading* rules on the exported text: is every required cell present, is every cell readable
  as its type (French spreadsheet forms included: decimal comma, ``DD/MM/YYYY``);
* *contract* rules on the rows every cell of which was readable: value sets, ranges, dates in the
  school year and not in the future, duplicates on the table's key, and the rules that link
  tables, as joins in the engine (unknown pupil, dates inside an enrolment or one of the pupil's
  school years, overlapping enrolments, outcomes before the first enrolment). Rows of a pupil
  quarantined in ``pupils`` are then unknown in every later table: the quarantine cascades.

Every rule names the column the report names and its reason, so a failure names its column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import reduce
from operator import or_
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandera.ibis as pa

from features.ingest import contract as c
from features.ingest.parsing import EXPECTED, FALSE_WORDS, MONTH_PATTERN, TRUE_WORDS
from features.school import SCHOOL_YEAR_START

#: The column holding a row's position in its file, from 0 (the report's row is this + 1).
ROW = "_row"
_ISO_DATE = r"^\d{4}-\d{1,2}-\d{1,2}$"
_FRENCH_DATE = r"^(\d{1,2})/(\d{1,2})/(\d{4})$"
#: The ASCII spaces a regular expression's ``\s`` matches (RE2's five, and Java's ``\v``): a
#: text starting with one of these does not match ``^\S``.
_REGEX_SPACES = (" ", "\t", "\n", "\v", "\f", "\r")
#: The Ibis type of each logical type, as the validated Parquet holds it (int widened here, cast
#: to int32 on writing).
IBIS_TYPES: dict[c.LogicalType, str] = {
    "str": "string",
    "date": "date",
    "month": "string",
    "int": "int64",
    "float": "float64",
    "bool": "boolean",
}


#: The Ibis type each logical type is written as (that of :data:`features.ingest.ARROW_TYPES`).
PARQUET_TYPES: dict[c.LogicalType, dt.DataType] = {
    "str": dt.String(),
    "date": dt.Date(),
    "month": dt.String(),
    "int": dt.Int32(),
    "float": dt.Float64(),
    "bool": dt.Boolean(),
}


def kept_schema(spec: c.TableSpec) -> pa.DataFrameSchema:
    """What a validated table holds, as a pandera schema on Ibis tables: every contract column,
    in order, at its written type. Checked on the kept rows' expression before they are written
    (from the expression's schema: no scan). Required cells need no second look: the reading
    rules quarantine a row that misses one (checking nullability here cost 15% of the time)."""
    return pa.DataFrameSchema(
        {col.name: pa.Column(PARQUET_TYPES[col.type], nullable=True) for col in spec.columns},
        strict=True,
        ordered=True,
    )


@dataclass(frozen=True)
class Rule:
    """One rule: the column the report names, why a row breaks it, and its flag's name."""

    column: str
    reason: str
    flag: str

    @property
    def issue(self) -> str:
        """The rule as the validation report counts it: ``column: reason``."""
        return f"{self.column}: {self.reason}"

    @property
    def value_column(self) -> str:
        """The column whose raw value the report shows (the first of a key)."""
        return self.column.split(", ")[0]


@dataclass(frozen=True)
class RuleContext:
    """What the rules of one table need beyond its own rows: kept rows of earlier tables."""

    reference_date: date
    known_pupils: ir.Table | None = None  # kept pupils
    enrolments: ir.Table | None = None  # kept enrolments


def _text(raw: ir.Value) -> ir.StringValue:
    return (raw if raw.type().is_string() else raw.cast("string")).strip()


def given(raw: ir.Value) -> ir.BooleanValue:
    """True where the export gives a value (a float column's NaN is a missing cell, as in pandas)."""
    present = raw.notnull()
    return present & ~raw.isnan().fill_null(False) if raw.type().is_floating() else present


def _null(type_: str) -> ir.Value:
    return ibis.null(type_)


def _parse_str(raw: ir.Value) -> ir.Value:
    return _text(raw).nullif("")


def _parse_month(raw: ir.Value) -> ir.Value:
    text = _text(raw)
    return text.re_search(MONTH_PATTERN).ifelse(text, _null("string"))


def _parse_date(raw: ir.Value) -> ir.Value:
    """ISO ``YYYY-MM-DD``; ``DD/MM/YYYY`` (French spreadsheets) is accepted too."""
    if raw.type().is_date():
        return raw
    if raw.type().is_timestamp():
        return raw.cast("date")
    text = _text(raw)
    # from the groups, not a replacement: back-references are written \1 in DuckDB, $1 in Spark
    day, month, year = (text.re_extract(_FRENCH_DATE, group) for group in (1, 2, 3))
    iso = text.re_search(_FRENCH_DATE).ifelse(year + "-" + month + "-" + day, text)
    return iso.re_search(_ISO_DATE).ifelse(iso.try_cast("date"), _null("date"))


def _parse_float(raw: ir.Value) -> ir.Value:
    """Decimal point or decimal comma; NaN and infinities are not numbers."""
    if raw.type().is_numeric() and not raw.type().is_boolean():
        number = raw.cast("float64")
    else:
        number = _text(raw).replace(",", ".").try_cast("float64")
    return (number.isnan() | number.isinf()).ifelse(_null("float64"), number)


def _parse_int(raw: ir.Value) -> ir.Value:
    number = _parse_float(raw)
    return (number == number.round()).ifelse(number, _null("float64")).cast("int64")


def _parse_bool(raw: ir.Value) -> ir.Value:
    if raw.type().is_boolean():
        return raw
    word = _text(raw).lower()
    return word.isin(TRUE_WORDS).ifelse(True, word.isin(FALSE_WORDS).ifelse(False, _null("boolean")))


#: Each logical type's reader, as :data:`features.ingest.parsing.PARSERS` for pandas.
PARSERS: dict[c.LogicalType, Callable[[ir.Value], ir.Value]] = {
    "str": _parse_str,
    "date": _parse_date,
    "month": _parse_month,
    "int": _parse_int,
    "float": _parse_float,
    "bool": _parse_bool,
}


def parse(raw: ir.Value, type_: c.LogicalType) -> ir.Value:
    """A raw column read as its logical type; missing where it cannot be read."""
    return PARSERS[type_](raw)


def _year_start(year: ir.IntegerValue) -> ir.DateValue:
    return ibis.date(year, *SCHOOL_YEAR_START)


def school_year_of(day: ir.DateValue) -> ir.IntegerValue:
    """The school year (its first calendar year) a date falls in: years run 1 September to 31 August."""
    return day.year() - (day.month() < SCHOOL_YEAR_START[0]).ifelse(1, 0)  # the start's day is the 1st


def _uai_key_ok(ids: ir.StringValue) -> ir.BooleanValue:
    digits = ids.substr(0, 7).try_cast("int64")
    letter = ibis.literal(c.UAI_KEY_LETTERS).substr((digits % 23).cast("int32"), 1)
    return ids.re_search(c.UAI_PATTERN) & (ids.substr(7, 1) == letter)


class _Rules:
    """Collects rules in report order, each with its flag expression."""

    def __init__(self, first_flag: int = 0) -> None:
        self.first_flag = first_flag
        self.rules: list[Rule] = []
        self.flags: dict[str, ir.BooleanValue] = {}

    def add(self, column: str, reason: str, broken: ir.BooleanValue) -> None:
        flag = f"_f{self.first_flag + len(self.rules)}"
        self.rules.append(Rule(column, reason, flag))
        self.flags[flag] = broken


@dataclass(frozen=True)
class CheckedTable:
    """One table's rules in the engine: ``checked`` holds every row typed with one flag per rule
    (true where broken), ``typed`` the same rows typed only (cheap: no join, no window), and
    ``rules`` lists the rules in the order the report lists them."""

    checked: ir.Table
    typed: ir.Table
    rules: list[Rule]

    def broken(self, table: ir.Table) -> ir.BooleanValue:
        """True where a row of ``table`` (``checked`` or a selection of it) breaks any rule."""
        return reduce(or_, [table[r.flag] for r in self.rules])


def checked_table(spec: c.TableSpec, raw: ir.Table, ctx: RuleContext) -> CheckedTable:
    """The rules of one table on its raw rows (the export's columns and ``_row``)."""
    present = [col.name for col in spec.columns if col.name in raw.columns]
    reading = _Rules()
    typed: dict[str, ir.Value] = {}
    for col in spec.columns:
        if col.name not in present:
            value: ir.Value = _null(IBIS_TYPES[col.type])
        else:
            value = parse(raw[col.name], col.type)
            is_given = given(raw[col.name])
            if not col.nullable:
                reading.add(col.name, "missing value", ~is_given)
            reading.add(col.name, f"not {EXPECTED[col.type]}", is_given & value.isnull())
        if col.default is not None:
            value = value.fill_null(col.default)
        typed[col.name] = value.cast(IBIS_TYPES[col.type])
    readable = ~reduce(or_, reading.flags.values()) if reading.flags else ibis.literal(True)
    rows = raw.select(ROW, **typed, **reading.flags, _readable=readable)
    rows = _join_other_tables(spec, rows, ctx)
    contract = _contract_rules(spec, rows, ctx, first_flag=len(reading.rules))
    flags = {name: (broken.fill_null(False) & rows._readable) for name, broken in contract.flags.items()}
    checked = rows.select(ROW, *spec.column_names, *reading.flags, **flags)
    return CheckedTable(checked, raw.select(ROW, **typed), reading.rules + contract.rules)


def _join_other_tables(spec: c.TableSpec, rows: ir.Table, ctx: RuleContext) -> ir.Table:
    """Add what the linking rules need: ``_known`` (the pupil is kept in ``pupils``), ``_covered``
    (the date falls in an enrolment of the pupil, or one of their school years) and
    ``_first_entry`` (the pupil's first enrolment)."""
    if spec.name in c.PUPIL_TABLES and ctx.known_pupils is not None:
        rows = rows.mutate(_known=rows.pupil_id.isin(ctx.known_pupils.pupil_id))
    enrolments = ctx.enrolments
    if enrolments is None:
        return rows
    if spec.name in ("attendance", "grades", "incidents"):
        # Kept enrolments lie inside their school year and never overlap, so a date falls in at
        # most one enrolment of its pupil, of the school year it belongs to: a left join on
        # (pupil, school year) that finds one row or none.
        if spec.name == "attendance":
            periods = enrolments.select(
                _pupil=enrolments.pupil_id,
                _year=enrolments.school_year,
                _from=enrolments.entry_date,
                _until=enrolments.exit_date.fill_null(_year_start(enrolments.school_year + 1)),
                _covered=ibis.literal(True),
            )
            on = [rows.date >= periods._from, rows.date < periods._until]
        else:
            periods = enrolments.select(
                _pupil=enrolments.pupil_id, _year=enrolments.school_year, _covered=ibis.literal(True)
            ).distinct()
            on = []
        on = [rows.pupil_id == periods._pupil, school_year_of(rows.date) == periods._year, *on]
        return rows.left_join(periods, on).select(*rows.columns, "_covered")
    if spec.name == "outcomes":
        first = enrolments.group_by(_pupil=enrolments.pupil_id).aggregate(_first_entry=enrolments.entry_date.min())
        return rows.left_join(first, rows.pupil_id == first._pupil).drop("_pupil")
    return rows


def _contract_rules(spec: c.TableSpec, t: ir.Table, ctx: RuleContext, *, first_flag: int) -> _Rules:
    ref = ctx.reference_date
    # Three groups, in the order the report has always listed them (pandera's): duplicates, then
    # the rules across columns and tables, then each column's own.
    found, across, duplicates = _Rules(), _Rules(), _Rules()
    links_pupils = spec.name in c.PUPIL_TABLES or spec.name == "pupils"
    for col in spec.columns:
        value: Any = t[col.name]
        if col.name == "pupil_id" and links_pupils:
            pseudonym = value.re_search(c.PSEUDONYM_PATTERN)
            if "_known" in t.columns:
                # A kept pupil's id passed the same rule on the same reading: the pattern is
                # matched only where the pupil is unknown (a regex on every mark was a third of
                # the table's check; the flags are the same).
                found.add("pupil_id", "not a 20-character hex pseudonym", t._known.ifelse(False, ~pseudonym))
                found.add("pupil_id", "unknown pupil (not in pupils)", ~t._known)
            else:
                found.add("pupil_id", "not a 20-character hex pseudonym", ~pseudonym)
            continue
        if col.allowed is not None:
            found.add(col.name, f"not one of {', '.join(col.allowed)}", ~value.isin(col.allowed))
        if col.type == "date" and spec.name != "calendar":  # holidays are published ahead
            found.add(col.name, f"in the future (after {ref.isoformat()})", value > ref)
        if spec.name == "pupils" and col.name == "birth_month":
            found.add(col.name, "implausible", ~((value >= "1980-01") & (value <= ref.strftime("%Y-%m"))))
        elif spec.name == "enrolments" and col.name == "school_year":
            found.add(col.name, f"outside 1990..{ref.year}", ~value.between(1990, ref.year))
        elif spec.name == "enrolments" and col.name == "school_id":
            found.add(col.name, "not a UAI (7 digits and key letter)", ~_uai_key_ok(value))
        elif spec.name == "enrolments" and col.name == "scholarship":
            found.add(col.name, "outside 0..6", ~value.between(0, 6))
        elif spec.name == "grades" and col.name == "score":
            found.add(col.name, "negative", value < 0)
        elif spec.name == "grades" and col.name in ("max_score", "coefficient"):
            found.add(col.name, "not positive", value <= 0)
        elif spec.name == "grades" and col.name == "subject":
            # ``^\S`` read off the first character: no regular expression on every mark
            found.add(col.name, "empty", value.substr(0, 1).isin(_REGEX_SPACES))

    if spec.name == "enrolments":
        year_end = _year_start(t.school_year + 1)
        across.add(
            "entry_date",
            "outside the school year",
            ~((t.entry_date >= _year_start(t.school_year)) & (t.entry_date < year_end)),
        )
        across.add(
            "exit_date",
            "not after entry_date within the school year",
            ~(t.exit_date.isnull() | ((t.exit_date > t.entry_date) & (t.exit_date <= year_end))),
        )
        by_pupil = ibis.window(group_by=[t._readable, t.pupil_id], order_by=[t.entry_date, t[ROW]])
        previous_end = t.exit_date.fill_null(year_end).lag().over(by_pupil)
        across.add(
            "entry_date",
            "overlaps another enrolment of the same pupil",
            previous_end.notnull() & (t.entry_date < previous_end),
        )
    elif spec.name == "attendance" and ctx.enrolments is not None:
        across.add("date", "outside every enrolment period of the pupil", t._covered.isnull())
    elif spec.name in ("grades", "incidents") and ctx.enrolments is not None:
        across.add("date", "not in a school year the pupil is enrolled", t._covered.isnull())
    if spec.name == "grades":
        across.add("score", "above max_score", t.score > t.max_score)
    elif spec.name == "outcomes" and ctx.enrolments is not None:
        across.add(
            "event_date",
            "not after the pupil's first enrolment",
            ~(t.event_date > t._first_entry.fill_null(ref)),
        )
    elif spec.name == "calendar":
        across.add("end_date", "before start_date", t.start_date > t.end_date)

    if spec.key:
        earlier = ibis.row_number().over(group_by=[t._readable, *(t[k] for k in spec.key)], order_by=t[ROW])
        duplicates.add(", ".join(spec.key), "duplicate of an earlier row", earlier > 0)
    ordered = _Rules(first_flag)  # flag names continue after the reading rules'
    for group in (duplicates, across, found):
        for rule in group.rules:
            ordered.add(rule.column, rule.reason, group.flags[rule.flag])
    return ordered
