"""Validate an extract against the contract: keep good rows, quarantine bad ones with reasons.

Counts always reconcile: rows read = rows kept + rows quarantined, per table. A structural
problem (missing table or column, raw identifiers in a pseudonymised extract) raises
:class:`~features.ingest.extract.ContractError` before any row is judged.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandera.errors import SchemaErrors
from pandera.pandas import DataFrameSchema

from features.ingest import contract as c
from features.ingest.extract import ContractError, SourceInfo, find_table, read_table
from features.ingest.parsing import arrow_schema, parse_table
from features.ingest.partitions import clear_stale_partitions, find_partitions, map_in_workers
from features.ingest.rules import RuleContext, reading_schema, rules_schema

log = logging.getLogger(__name__)

#: Order matters: later tables are checked against the kept rows of earlier ones.
VALIDATION_ORDER = ("pupils", "enrolments", "attendance", "grades", "incidents", "outcomes", "calendar")
MAX_EXAMPLES = 20
_BUILTIN_REASONS = {
    "not_nullable": "missing value",
    "multiple_fields_uniqueness": "duplicate of an earlier row",
    "field_uniqueness": "duplicate of an earlier row",
}


@dataclass(frozen=True)
class Violation:
    """One broken rule on one row; ``row`` counts data rows from 1 (CSV line = row + 1)."""

    file: str
    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, row {self.row}, column {self.column}: {self.reason} (value {self.value!r})"


@dataclass
class TableReport:
    table: str
    file: str
    source: str
    rows_read: int
    rows_kept: int
    rows_quarantined: int
    issues: dict[str, int] = field(default_factory=dict)  # "column: reason" -> rows
    examples: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return self.rows_read == self.rows_kept + self.rows_quarantined

    def add(self, other: TableReport, partition: str) -> None:
        """Count a partition's report of the same table into this one; its examples and notes
        name the partition."""
        self.rows_read += other.rows_read
        self.rows_kept += other.rows_kept
        self.rows_quarantined += other.rows_quarantined
        for issue, rows in other.issues.items():
            self.issues[issue] = self.issues.get(issue, 0) + rows
        room = MAX_EXAMPLES - len(self.examples)
        self.examples += [
            Violation(f"{partition}/{v.file}", v.row, v.column, v.value, v.reason) for v in other.examples[:room]
        ]
        self.notes += [n for n in other.notes if n not in self.notes]


@dataclass
class ValidationReport:
    extract_dir: str
    reference_date: str
    contract_version: str = c.CONTRACT_VERSION
    tables: dict[str, TableReport] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables.values())

    def to_json(self) -> str:
        payload = asdict(self)
        payload["rows_quarantined"] = self.rows_quarantined
        for name, table in self.tables.items():
            payload["tables"][name]["reconciled"] = table.reconciled
        return json.dumps(payload, indent=2, ensure_ascii=False)


@dataclass
class ValidatedExtract:
    tables: dict[str, pd.DataFrame]  # typed, kept rows only
    quarantine: dict[str, pd.DataFrame]  # raw values of bad rows, with their row and reasons
    report: ValidationReport


def _shown(value: Any) -> str:
    """A cell as the report shows it: a Parquet date as ``YYYY-MM-DD``, as in the contract."""
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return str(value)


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
        text = _shown(value)
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


def _check_structure(spec: c.TableSpec, raw: pd.DataFrame, source: SourceInfo) -> list[str]:
    identifying = [col for col in c.IDENTIFYING_COLUMNS if col in raw.columns]
    if identifying:
        raise ContractError(
            f"{source.file}: raw identifying column(s) {', '.join(identifying)} present; "
            "this is a raw extract: run 'vigie pseudonymise' first."
        )
    missing = [col for col in spec.required_columns if col not in raw.columns]
    if missing:
        raise ContractError(
            f"{source.file}: required column(s) {', '.join(missing)} missing "
            f"(found: {', '.join(map(str, raw.columns))})."
        )
    notes = []
    for column in spec.columns:
        if not column.required and column.name not in raw.columns:
            filled = "missing" if column.default is None else f"{column.default}"
            notes.append(f"optional column {column.name} absent: every row takes {filled}")
    extra = [str(col) for col in raw.columns if col not in spec.column_names]
    return notes + ([f"extra column(s) ignored: {', '.join(extra)}"] if extra else [])


def _detected_notes(spec: c.TableSpec, raw: pd.DataFrame, source: SourceInfo) -> list[str]:
    notes = [f"read as {source.describe()}"]
    if source.format != "csv":
        return notes
    for col in spec.columns:
        if col.name not in raw.columns:
            continue
        values = raw[col.name].dropna()
        if col.type == "float" and values.str.contains(",", regex=False).any():
            notes.append(f"decimal comma in {col.name}")
        if col.type == "date" and values.str.match(r"^\d{2}/\d{2}/\d{4}$").any():
            notes.append(f"dates as DD/MM/YYYY in {col.name}")
    return notes


def validate_table(
    spec: c.TableSpec, raw: pd.DataFrame, source: SourceInfo, ctx: RuleContext
) -> tuple[pd.DataFrame, pd.DataFrame, TableReport]:
    """Kept typed rows, quarantined raw rows and the report of one table."""
    notes = _check_structure(spec, raw, source)
    notes = _detected_notes(spec, raw, source) + notes
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


def validate_extract(
    extract_dir: Path,
    *,
    reference_date: date | None = None,
    require_outcomes: bool = True,
    on_table: Callable[[str], None] | None = None,
) -> ValidatedExtract:
    """Check every table of a pseudonymised extract; see the module docstring."""
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
        path = find_table(extract_dir, name)
        if path is None:
            if spec.required and (name != "outcomes" or require_outcomes):
                raise ContractError(
                    f"{extract_dir}: required table '{name}' missing (expected {name}.csv or {name}.parquet)."
                )
            if name == "outcomes":
                report.warnings.append("no outcomes table: the extract can be scored, not used for training")
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


def validate_to_folder(
    extract_dir: Path,
    out_dir: Path,
    *,
    reference_date: date | None = None,
    require_outcomes: bool = True,
    jobs: int = 1,
    on_part: Callable[[str], None] | None = None,
) -> ValidationReport:
    """Validate an extract and write the result (:func:`write_validated`), a table at a time.

    A partitioned extract (:mod:`features.ingest.partitions`) is validated partition by
    partition, in ``jobs`` processes, into the same partitions of ``out_dir``, so memory is
    bounded by one partition; the report at the top sums them (rows read = kept + quarantined
    still holds per table) and its examples name the partition. ``on_part`` is told each table
    (plain extract) or partition done.
    """
    reference = reference_date or date.today()
    partitions = find_partitions(extract_dir)
    if not partitions:
        validated = validate_extract(
            extract_dir, reference_date=reference, require_outcomes=require_outcomes, on_table=on_part
        )
        write_validated(validated, out_dir)
        return validated.report
    report = ValidationReport(str(extract_dir), reference.isoformat())
    clear_stale_partitions(out_dir, partitions, "validation_report.json")
    work = [(part, out_dir / part.name, reference, require_outcomes) for part in partitions]
    for part, done in zip(partitions, map_in_workers(_validate_partition, work, jobs), strict=True):
        for name, table in done.tables.items():
            if name not in report.tables:
                report.tables[name] = TableReport(name, table.file, table.source, 0, 0, 0)
            report.tables[name].add(table, part.name)
        report.warnings += [f"{part.name}: {w}" for w in done.warnings]
        if on_part is not None:
            on_part(part.name)
    _check_pupils_in_one_partition(out_dir, [p.name for p in partitions])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "validation_report.json").write_text(report.to_json(), encoding="utf-8")
    (out_dir / "validation_report.txt").write_text(render_report(report), encoding="utf-8")
    return report


def _validate_partition(args: tuple[Path, Path, date, bool]) -> ValidationReport:
    part, out, reference, require_outcomes = args
    try:
        validated = validate_extract(part, reference_date=reference, require_outcomes=require_outcomes)
    except ContractError as error:
        raise ContractError(f"partition {part.name}: {error}") from None
    write_validated(validated, out)
    return validated.report


def _check_pupils_in_one_partition(out_dir: Path, names: list[str]) -> None:
    """Stop when a pupil is kept in two partitions: their features would be split."""
    files = [str(out_dir / name / "pupils.parquet") for name in names]
    shared = (
        duckdb.connect()
        .execute(
            "SELECT pupil_id, list(DISTINCT string_split(filename, '/')[-2] ORDER BY string_split(filename, '/')[-2]) "
            "FROM read_parquet($files, filename = true) GROUP BY pupil_id HAVING count(*) > 1 ORDER BY pupil_id",
            {"files": files},
        )
        .fetchall()
    )
    if shared:
        examples = "; ".join(f"{pupil} in {', '.join(parts)}" for pupil, parts in shared[:5])
        raise ContractError(
            f"{out_dir}: {len(shared):,} pupil(s) kept in more than one partition ({examples}); every row of a "
            "pupil belongs to one partition (that of their latest enrolment)."
        )


def write_validated(validated: ValidatedExtract, out_dir: Path) -> dict[str, Path]:
    """Kept tables as typed Parquet, quarantined rows as CSV, and the report (JSON and text)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in validated.tables.items():
        spec = c.TABLES[name]
        table = pa.Table.from_pandas(frame, preserve_index=False).cast(arrow_schema(spec, list(frame.columns)))
        pq.write_table(table, out_dir / f"{name}.parquet")
        written[name] = out_dir / f"{name}.parquet"
    for name, frame in validated.quarantine.items():
        if len(frame):
            path = out_dir / "quarantine" / f"{name}.csv"
            path.parent.mkdir(exist_ok=True)
            frame.to_csv(path, index=False)
            written[f"quarantine/{name}"] = path
    (out_dir / "validation_report.json").write_text(validated.report.to_json(), encoding="utf-8")
    (out_dir / "validation_report.txt").write_text(render_report(validated.report), encoding="utf-8")
    written["report"] = out_dir / "validation_report.json"
    return written


def render_report(report: ValidationReport) -> str:
    """The human form of the report (plain text, also printed by the CLI)."""
    lines = [
        f"Validation of {report.extract_dir} "
        f"(contract v{report.contract_version}, reference date {report.reference_date})"
    ]
    lines += [f"warning: {w}" for w in report.warnings]
    for t in report.tables.values():
        status = "ok" if t.reconciled else "COUNTS DO NOT RECONCILE"
        lines.append(f"{t.file}: {t.rows_read} read = {t.rows_kept} kept + {t.rows_quarantined} quarantined [{status}]")
        lines += [f"  note: {n}" for n in t.notes]
        lines += [f"  {rows} row(s): {issue}" for issue, rows in t.issues.items()]
        lines += [f"    e.g. {v}" for v in t.examples[:5]]
    return "\n".join(lines) + "\n"
