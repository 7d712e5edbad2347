"""The contract's rules as pandera schemas, one per table.

Two schemas per table: a *reading* schema on the exported text (is every cell readable as its
type, is every required cell present) and a *rules* schema on the typed rows (value sets,
ranges, dates in the school year and not in the future, duplicates, referential integrity).
Every check's error text starts with the column it is about, so a failure names its column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd
from pandera.pandas import Check, Column, DataFrameSchema

from features.ingest import contract as c
from features.ingest.parsing import EXPECTED, PARSERS


@dataclass(frozen=True)
class RuleContext:
    """What the rules of one table need to know beyond its own rows."""

    reference_date: date
    known_pupils: frozenset[str] | None = None
    enrolments: pd.DataFrame | None = None  # validated enrolments


def reading_schema(spec: c.TableSpec, present: list[str]) -> DataFrameSchema:
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
