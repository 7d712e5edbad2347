"""The contract's rules as pandera schemas on pandas frames: the former validation path, kept as
the test oracle of the engine's (:mod:`features.ingest.rules`), as
:mod:`features.signals.pandas_reference` is for the features.

It holds a whole table in pandas three times over (raw, typed, pandera's working copies), which
is why validation now runs in the engine; tests validate the same inputs both ways and compare
the reports and kept tables row for row. Two schemas per table: a *reading* schema on the
exported text (is every cell readable as its type, is every required cell present) and a
*rules* schema on the typed rows (value sets, ranges, dates in the school year and not in the
future, duplicates, referential integrity).
Every check's error text starts with the column it is about, so a failure names its column.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from pandera.errors import SchemaErrors
from pandera.pandas import Check, Column, DataFrameSchema

from features.ingest import contract as c
from features.ingest.extract import ContractError, SourceInfo, read_table
from features.ingest.parsing import EXPECTED, PARSERS, parse_table
from features.ingest.validation import (
    MAX_EXAMPLES,
    VALIDATION_ORDER,
    TableReport,
    ValidatedExtract,
    ValidationReport,
    Violation,
    check_structure,
    detected_notes,
    shown,
    table_to_check,
)

log = logging.getLogger(__name__)
_BUILTIN_REASONS = {
    "not_nullable": "missing value",
    "multiple_fields_uniqueness": "duplicate of an earlier row",
    "field_uniqueness": "duplicate of an earlier row",
}


@dataclass(frozen=True)
class RuleContext:
    """What the rules of one table need to know beyond its own rows."""

    reference_date: date
    known_pupils: frozenset[str] | None = None
    enrolments: pd.DataFrame | None = None  # validated enrolments


def reading_schema(spec: c.TableSpec, present: list[str]) -> DataFrameSchema:
    """The pandera schema that parses the ``present`` columns of a table from text to their contract types (the pandas
    oracle of the engine's parsing)."""
    columns = {}
    for col in spec.columns:
        if col.name not in present:
            continue
        parser = PARSERS[col.type]
        readable = Check(
            lambda s, p=parser: p(s).notna(),
            error=f"{col.name}: not {EXPECTED[col.type]}",
        )
        columns[col.name] = Column(nullable=col.nullable, checks=[readable])
    return DataFrameSchema(columns, strict=False)


def _year_start(years: pd.Series) -> pd.Series:
    return pd.to_datetime(years.astype("Int64").astype("str") + "-09-01", errors="coerce")


def _not_future(column: str, reference: date) -> Check:
    limit = pd.Timestamp(reference)
    return Check(lambda s: s <= limit, error=f"{column}: in the future (after {reference.isoformat()})")


def _known_pupil(ctx: RuleContext) -> list[Check]:
    if ctx.known_pupils is None:
        return []
    known = ctx.known_pupils
    return [Check(lambda s: s.isin(known), error="pupil_id: unknown pupil (not in pupils)")]


def _uai_key_ok(ids: pd.Series) -> pd.Series:
    ok = ids.str.match(c.UAI_PATTERN)
    digits = ids.str.slice(0, 7).where(ok, "0000000").astype("int64")
    letters = pd.Series(list(c.UAI_KEY_LETTERS))[(digits % 23).to_numpy()].to_numpy()
    return ok & (ids.str.slice(7, 8) == letters)


def _enrolment_covers(rows: pd.DataFrame, enrolments: pd.DataFrame, *, whole_year: bool) -> pd.Series:
    """True where a row's date falls in an enrolment of its pupil (or that enrolment's school year)."""
    con = duckdb.connect()
    con.register("r", pd.DataFrame({"pos": range(len(rows)), "pupil_id": rows["pupil_id"], "d": rows["date"]}))
    con.register("e", enrolments[["pupil_id", "school_year", "entry_date", "exit_date"]])
    start = "make_date(e.school_year, 9, 1)" if whole_year else "e.entry_date"
    end = (
        "make_date(e.school_year + 1, 9, 1)"
        if whole_year
        else ("coalesce(e.exit_date, make_date(e.school_year + 1, 9, 1))")
    )
    covered = con.execute(
        f"""SELECT DISTINCT r.pos FROM r JOIN e ON r.pupil_id = e.pupil_id
            AND r.d >= {start} AND r.d < {end}"""
    ).fetchnumpy()["pos"]
    con.close()
    mask = pd.Series(False, index=rows.index)
    mask.iloc[np.asarray(covered, dtype=np.int64)] = True
    return mask


def _overlap_ok(enrolments: pd.DataFrame) -> pd.Series:
    """False for an enrolment that starts before the pupil's previous one has ended."""
    ordered = enrolments.sort_values(["pupil_id", "entry_date"])
    end = ordered["exit_date"].fillna(_year_start(ordered["school_year"] + 1))
    previous_end = end.groupby(ordered["pupil_id"]).shift(1)
    return (previous_end.isna() | (ordered["entry_date"] >= previous_end)).reindex(enrolments.index)


def rules_schema(spec: c.TableSpec, ctx: RuleContext) -> DataFrameSchema:
    """The pandera schema of the contract rules on parsed rows, dated against ``ctx``'s reference date (the pandas
    oracle of the engine's rules)."""
    ref = ctx.reference_date
    ref_ts = pd.Timestamp(ref)
    cols: dict[str, Column] = {}
    checks: list[Check] = []
    for col in spec.columns:
        col_checks: list[Check] = []
        if col.allowed is not None:
            col_checks.append(Check.isin(col.allowed, error=f"{col.name}: not one of {', '.join(col.allowed)}"))
        if col.type == "date" and spec.name != "calendar":  # holidays are published ahead
            col_checks.append(_not_future(col.name, ref))
        cols[col.name] = Column(nullable=True, checks=col_checks, required=False)
    if spec.name in c.PUPIL_TABLES or spec.name == "pupils":
        cols["pupil_id"] = Column(
            checks=[
                Check.str_matches(c.PSEUDONYM_PATTERN, error="pupil_id: not a 20-character hex pseudonym"),
                *([] if spec.name == "pupils" else _known_pupil(ctx)),
            ]
        )

    if spec.name == "pupils":
        cols["birth_month"].checks.append(
            Check(lambda s: (s >= "1980-01") & (s <= ref.strftime("%Y-%m")), error="birth_month: implausible")
        )
    elif spec.name == "enrolments":
        cols["school_year"].checks.append(
            Check.in_range(1990, ref.year, error=f"school_year: outside 1990..{ref.year}")
        )
        cols["scholarship"].checks.append(Check.in_range(0, 6, error="scholarship: outside 0..6"))
        cols["school_id"].checks.append(Check(_uai_key_ok, error="school_id: not a UAI (7 digits and key letter)"))
        checks += [
            Check(
                lambda d: (
                    (d["entry_date"] >= _year_start(d["school_year"]))
                    & (d["entry_date"] < _year_start(d["school_year"] + 1))
                ),
                error="entry_date: outside the school year",
            ),
            Check(
                lambda d: (
                    d["exit_date"].isna()
                    | ((d["exit_date"] > d["entry_date"]) & (d["exit_date"] <= _year_start(d["school_year"] + 1)))
                ),
                error="exit_date: not after entry_date within the school year",
            ),
            Check(_overlap_ok, error="entry_date: overlaps another enrolment of the same pupil"),
        ]
    elif spec.name == "attendance" and ctx.enrolments is not None:
        enrolments = ctx.enrolments
        checks.append(
            Check(
                lambda d: _enrolment_covers(d, enrolments, whole_year=False),
                error="date: outside every enrolment period of the pupil",
            )
        )
    elif spec.name in ("grades", "incidents") and ctx.enrolments is not None:
        enrolments = ctx.enrolments
        checks.append(
            Check(
                lambda d: _enrolment_covers(d, enrolments, whole_year=True),
                error="date: not in a school year the pupil is enrolled",
            )
        )
    if spec.name == "grades":
        cols["score"].checks.append(Check.ge(0, error="score: negative"))
        cols["max_score"].checks.append(Check.gt(0, error="max_score: not positive"))
        cols["coefficient"] = Column(
            nullable=True, required=False, checks=[Check.gt(0, error="coefficient: not positive")]
        )
        cols["subject"].checks.append(Check.str_matches(r"^\S", error="subject: empty"))
        checks.append(Check(lambda d: d["score"] <= d["max_score"], error="score: above max_score"))
    elif spec.name == "outcomes" and ctx.enrolments is not None:
        first_entry = ctx.enrolments.groupby("pupil_id")["entry_date"].min()
        checks.append(
            Check(
                lambda d: d["event_date"] > d["pupil_id"].map(first_entry).fillna(ref_ts),
                error="event_date: not after the pupil's first enrolment",
            )
        )
    elif spec.name == "calendar":
        checks.append(Check(lambda d: d["start_date"] <= d["end_date"], error="end_date: before start_date"))

    return DataFrameSchema(
        cols,
        checks=checks,
        unique=list(spec.key) or None,
        report_duplicates="exclude_first",
        strict=False,
    )


def _violations(errors: SchemaErrors, raw: pd.DataFrame, file: str, key: tuple[str, ...]) -> list[Violation]:
    cases = errors.failure_cases
    cases = cases[cases["index"].notna()]
    found: dict[tuple[int, str], Violation] = {}
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if check in _BUILTIN_REASONS:
            column = ", ".join(key) if "uniqueness" in check else str(case.column)
            reason = _BUILTIN_REASONS[check]
        else:
            column, _, reason = check.partition(": ")
        position = int(case.index)
        if (position, column + reason) in found:
            continue
        first_column = column.split(", ")[0]
        value: Any = raw.at[position, first_column] if first_column in raw.columns else None
        text = shown(value)
        found[(position, column + reason)] = Violation(file, position + 1, column, text, reason)
    return list(found.values())


def _run(
    schema: DataFrameSchema, frame: pd.DataFrame, raw: pd.DataFrame, file: str, key: tuple[str, ...]
) -> list[Violation]:
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        unexplained = errors.failure_cases[errors.failure_cases["index"].isna()]
        if len(unexplained):
            raise RuntimeError(f"{file}: a rule could not be evaluated: {unexplained.to_dict('records')}") from errors
        return _violations(errors, raw, file, key)
    return []


def validate_table(
    spec: c.TableSpec, raw: pd.DataFrame, source: SourceInfo, ctx: RuleContext
) -> tuple[pd.DataFrame, pd.DataFrame, TableReport]:
    """Kept typed rows, quarantined raw rows and the report of one table."""
    notes = check_structure(spec, list(raw.columns), source)
    notes = detected_notes(spec, raw, source) + notes
    raw = raw.reset_index(drop=True)
    present = [col for col in spec.column_names if col in raw.columns]
    violations = _run(reading_schema(spec, present), raw, raw, source.file, spec.key)
    unreadable = {v.row - 1 for v in violations}
    typed = parse_table(raw.drop(index=list(unreadable)), spec)
    violations += _run(rules_schema(spec, ctx), typed, raw, source.file, spec.key)

    bad_rows = sorted({v.row - 1 for v in violations})
    kept = typed.drop(index=[r for r in bad_rows if r not in unreadable]).reset_index(drop=True)
    by_row: dict[int, list[Violation]] = {}
    for v in violations:
        by_row.setdefault(v.row - 1, []).append(v)
    quarantine = raw.loc[bad_rows].astype("str").where(raw.loc[bad_rows].notna(), "")
    quarantine.insert(0, "source_row", [r + 1 for r in bad_rows])
    quarantine["quarantine_reasons"] = ["; ".join(f"{v.column}: {v.reason}" for v in by_row[r]) for r in bad_rows]
    issues = Counter(f"{v.column}: {v.reason}" for v in violations)
    report = TableReport(
        table=spec.name,
        file=source.file,
        source=source.describe(),
        rows_read=len(raw),
        rows_kept=len(kept),
        rows_quarantined=len(bad_rows),
        issues=dict(issues.most_common()),
        examples=sorted(violations, key=lambda v: v.row)[:MAX_EXAMPLES],
        notes=notes,
    )
    return kept, quarantine.reset_index(drop=True), report


def validate_extract_pandas(
    extract_dir: Path,
    *,
    reference_date: date | None = None,
    require_outcomes: bool = True,
    on_table: Callable[[str], None] | None = None,
) -> ValidatedExtract:
    """The former :func:`features.ingest.validation.validate_extract`, every table in pandas."""
    reference = reference_date or date.today()
    report = ValidationReport(str(extract_dir), reference.isoformat())
    if not extract_dir.is_dir():
        raise ContractError(f"{extract_dir}: not a folder.")
    kept: dict[str, pd.DataFrame] = {}
    quarantine: dict[str, pd.DataFrame] = {}
    for name in VALIDATION_ORDER:
        if on_table is not None:
            on_table(name)
        spec = c.TABLES[name]
        path = table_to_check(extract_dir, name, report, require_outcomes=require_outcomes)
        if path is None:
            continue
        raw, source = read_table(path)
        ctx = RuleContext(
            reference,
            known_pupils=frozenset(kept["pupils"]["pupil_id"]) if "pupils" in kept else None,
            enrolments=kept.get("enrolments"),
        )
        kept[name], quarantine[name], report.tables[name] = validate_table(spec, raw, source, ctx)
        log.info("%s: %d read, %d kept, %d quarantined", source.file, len(raw), len(kept[name]), len(quarantine[name]))
    return ValidatedExtract(kept, quarantine, report)
