"""Validate an extract against the contract: keep good rows, quarantine bad ones with reasons.

Counts always reconcile: rows read = rows kept + rows quarantined, per table. A structural
problem (missing table or column, raw identifiers in a pseudonymised extract) raises
:class:`~features.ingest.extract.ContractError` before any row is judged.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import weakref
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandera.errors import SchemaErrors

from features.ingest import contract as c
from features.ingest.backends import Backend, EngineLimits, open_backend
from features.ingest.extract import ContractError, SourceInfo, find_table, read_table
from features.ingest.parsing import arrow_schema
from features.ingest.partitions import clear_stale_partitions, find_partitions, map_in_workers
from features.ingest.rules import PARQUET_TYPES, ROW, CheckedTable, Rule, RuleContext, checked_table, kept_schema

log = logging.getLogger(__name__)

#: Order matters: later tables are checked against the kept rows of earlier ones.
VALIDATION_ORDER = ("pupils", "enrolments", "attendance", "grades", "incidents", "outcomes", "calendar")
MAX_EXAMPLES = 20


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
    """How one table fared in validation: rows read, kept and quarantined, the rows broken per rule, and a few examples
    naming file, row and column."""

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
        """Whether every row read was either kept or quarantined: nothing silently dropped."""
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
    """The validation report of a whole extract, written beside the validated tables as ``validation_report.json``."""

    extract_dir: str
    reference_date: str
    contract_version: str = c.CONTRACT_VERSION
    tables: dict[str, TableReport] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        """Rows set aside across all tables."""
        return sum(t.rows_quarantined for t in self.tables.values())

    def to_json(self) -> str:
        """The report as JSON, with each table's reconciliation spelled out for the reader."""
        payload = asdict(self)
        payload["rows_quarantined"] = self.rows_quarantined
        for name, table in self.tables.items():
            payload["tables"][name]["reconciled"] = table.reconciled
        return json.dumps(payload, indent=2, ensure_ascii=False)


@dataclass
class ValidatedExtract:
    """A validated extract in memory: the typed rows kept, the raw rows quarantined with their reasons, and the report
    that reconciles them."""

    tables: dict[str, pd.DataFrame]  # typed, kept rows only
    quarantine: dict[str, pd.DataFrame]  # raw values of bad rows, with their row and reasons
    report: ValidationReport


def shown(value: Any) -> str:
    """A cell as the report shows it: a Parquet date as ``YYYY-MM-DD``, as in the contract."""
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return str(value)


def check_structure(spec: c.TableSpec, columns: list[str], source: SourceInfo) -> list[str]:
    """Refuse a file whose columns break the contract (a raw identifier, a missing required column); return notes on the
    columns it ignores."""
    identifying = [col for col in c.IDENTIFYING_COLUMNS if col in columns]
    if identifying:
        raise ContractError(
            f"{source.file}: raw identifying column(s) {', '.join(identifying)} present; "
            "this is a raw extract: run 'vigie pseudonymise' first."
        )
    missing = [col for col in spec.required_columns if col not in columns]
    if missing:
        raise ContractError(
            f"{source.file}: required column(s) {', '.join(missing)} missing (found: {', '.join(map(str, columns))})."
        )
    notes = []
    for column in spec.columns:
        if not column.required and column.name not in columns:
            filled = "missing" if column.default is None else f"{column.default}"
            notes.append(f"optional column {column.name} absent: every row takes {filled}")
    extra = [str(col) for col in columns if col not in spec.column_names]
    return notes + ([f"extra column(s) ignored: {', '.join(extra)}"] if extra else [])


def detected_notes(spec: c.TableSpec, raw: pd.DataFrame, source: SourceInfo) -> list[str]:
    """Notes on how a table's file was read (format, encoding, separator), for the report, so that a misread file can be
    spotted."""
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


def table_to_check(extract_dir: Path, name: str, report: ValidationReport, *, require_outcomes: bool) -> Path | None:
    """The file of a contract table, or None when an optional table is absent (said in the report);
    a required table missing is a structural error naming the extract and the table."""
    path = find_table(extract_dir, name)
    if path is None:
        if c.TABLES[name].required and (name != "outcomes" or require_outcomes):
            raise ContractError(
                f"{extract_dir}: required table '{name}' missing (expected {name}.csv or {name}.parquet)."
            )
        if name == "outcomes":
            report.warnings.append("no outcomes table: the extract can be scored, not used for training")
    return path


def _open_raw(engine: Backend, spec: c.TableSpec, path: Path) -> tuple[ir.Table, SourceInfo, list[str], list[str]]:
    """The table as the engine reads it, with ``_row``; its columns in file order and its notes.

    Parquet is read by the engine where it lies; a CSV export goes through the reader that
    detects its encoding and separator (:func:`~features.ingest.extract.read_table`) and lands in
    the engine as text, normalised as read."""
    view = f"raw_{spec.name}"
    if path.suffix == ".parquet":
        if path.stat().st_size == 0:
            raise ContractError(f"{path}: the file is empty (0 bytes); the contract expects a header row at least.")
        table = engine.read_parquet(view, path)
        source = SourceInfo(path, "parquet")
        columns = [col for col in table.columns if col != ROW and not col.startswith("__index_level_")]
        return table, source, columns, [f"read as {source.describe()}"]
    frame, source = read_table(path)
    columns = [str(col) for col in frame.columns]
    notes = detected_notes(spec, frame, source)
    arrays = {col: pa.array(frame[col].to_numpy(object), type=pa.string(), from_pandas=True) for col in columns}
    arrow = pa.table({**arrays, ROW: pa.array(np.arange(len(frame), dtype=np.int64))})
    del frame
    return engine.load_arrow(view, arrow), source, columns, notes


@dataclass
class _Checked:
    """One table checked in the engine: its report, kept rows (an engine table, with ``_row``)
    and quarantine."""

    spec: c.TableSpec
    report: TableReport
    kept: ir.Table
    quarantine: pd.DataFrame


def _check_table(engine: Backend, spec: c.TableSpec, path: Path, ctx: RuleContext) -> _Checked:
    """One pass of the rules over the table keeps only the rows that break one (few, with their
    flags); the kept rows are then the typed rows without them, streamed out in file order."""
    raw, source, columns, notes = _open_raw(engine, spec, path)
    notes = notes + check_structure(spec, columns, source)
    rules = _rules_of(engine, spec, raw, ctx)
    flags = [r.flag for r in rules.rules]
    bad = engine.materialise(f"bad_{spec.name}", rules.checked.filter(rules.broken(rules.checked)).select(ROW, *flags))
    counts = engine.fetch(bad.aggregate(_bad=bad.count(), **{f: bad[f].cast("int64").sum() for f in flags}))
    found = counts.to_pylist()[0]
    rows_read = engine.count(raw)
    rows_bad = int(found["_bad"] or 0)
    quarantine, examples = _quarantine(raw, bad, rules.rules, columns, source.file, rows_bad)
    order = {r.issue: i for i, r in enumerate(rules.rules)}
    issues = sorted(
        ((r.issue, int(found[r.flag] or 0)) for r in rules.rules if found[r.flag]),
        key=lambda issue: (-issue[1], order[issue[0]]),
    )
    report = TableReport(
        table=spec.name,
        file=source.file,
        source=source.describe(),
        rows_read=rows_read,
        rows_kept=rows_read - rows_bad,
        rows_quarantined=rows_bad,
        issues=dict(issues),
        examples=examples,
        notes=notes,
    )
    kept = _without(rules.typed, bad, rows_bad, engine.filter_rows)
    kept = kept.select(ROW, **{col.name: kept[col.name].cast(PARQUET_TYPES[col.type]) for col in spec.columns})
    try:
        kept_schema(spec).validate(kept.drop(ROW), lazy=True)
    except SchemaErrors as errors:  # a rule missed a row: a bug, never a silent bad table
        raise RuntimeError(f"{source.file}: kept rows break the contract's types: {errors}") from errors
    log.info("%s: %d read, %d kept, %d quarantined", source.file, rows_read, rows_read - rows_bad, rows_bad)
    return _Checked(spec, report, kept, quarantine)


#: The rules each engine has built, by table and context: expressions bound to that engine,
#: built once by a worker that validates partition after partition (building them was a third of
#: a partition's fixed cost; the engine then finds them compiled already).
_built_rules: weakref.WeakKeyDictionary[Backend, dict[tuple[Any, ...], CheckedTable]] = weakref.WeakKeyDictionary()


def _rules_of(engine: Backend, spec: c.TableSpec, raw: ir.Table, ctx: RuleContext) -> CheckedTable:
    """:func:`~features.ingest.rules.checked_table`, once per engine for the same table and context."""
    known = None if ctx.known_pupils is None else ctx.known_pupils.op()
    enrolled = None if ctx.enrolments is None else ctx.enrolments.op()
    key = (spec, raw.op(), ctx.reference_date, known, enrolled)
    built = _built_rules.setdefault(engine, {})
    if key not in built:
        built[key] = checked_table(spec, raw, ctx)
    return built[key]


def _without(typed: ir.Table, bad: ir.Table, rows_bad: int, filter_rows: int) -> ir.Table:
    """The typed rows not quarantined (in file order on DuckDB): up to ``filter_rows`` quarantined
    rows, a filter by a list of rows (a scan keeps the file's order); past it, an anti-join then
    a sort on the row."""
    if not rows_bad:
        return typed
    if rows_bad <= filter_rows:
        rows = bad[ROW].to_pyarrow().to_pylist()
        return typed.filter(~typed[ROW].isin(rows))
    return typed.anti_join(bad, ROW).order_by(ROW)


def _quarantine(
    raw: ir.Table, bad: ir.Table, rules: list[Rule], columns: list[str], file: str, rows_bad: int
) -> tuple[pd.DataFrame, list[Violation]]:
    """The raw values of the quarantined rows, with their row and reasons, and the first examples."""
    if not rows_bad:
        empty = pd.DataFrame(
            {"source_row": pd.Series(dtype="int64"), **{col: pd.Series(dtype="str") for col in columns}}
        )
        empty["quarantine_reasons"] = pd.Series(dtype="str")
        return empty, []
    flags = [r.flag for r in rules]
    rows = raw.select(ROW, *columns).inner_join(bad, ROW).order_by(ROW)
    frame = rows.to_pyarrow().to_pandas(date_as_object=False)
    broken = frame[flags].to_numpy(dtype=bool)
    positions = frame[ROW].to_numpy()
    values = frame[columns]
    reasons = ["; ".join(rules[j].issue for j in np.flatnonzero(row)) for row in broken]
    examples: list[Violation] = []
    for i, row in enumerate(broken):
        for j in np.flatnonzero(row):
            rule = rules[j]
            value = values.iloc[i][rule.value_column] if rule.value_column in values.columns else None
            examples.append(Violation(file, int(positions[i]) + 1, rule.column, shown(value), rule.reason))
        if len(examples) >= MAX_EXAMPLES:
            break
    quarantine = values.astype("str").where(values.notna(), "")
    quarantine.insert(0, "source_row", positions + 1)
    quarantine["quarantine_reasons"] = reasons
    return quarantine.reset_index(drop=True), examples[:MAX_EXAMPLES]


def _check_extract(
    extract_dir: Path,
    reference: date,
    require_outcomes: bool,
    engine: Backend,
    deliver: Callable[[Backend, _Checked], None],
    on_table: Callable[[str], None] | None = None,
) -> ValidationReport:
    """Check every table in the engine, in order; ``deliver`` takes each table while the engine
    still holds it (to write it or fetch it), before the next is checked. The engine forgets the
    extract's rows after, so that it can check the next one."""
    if not extract_dir.is_dir():
        raise ContractError(f"{extract_dir}: not a folder.")
    report = ValidationReport(str(extract_dir), reference.isoformat())
    try:
        ctx = RuleContext(reference)
        for name in VALIDATION_ORDER:
            if on_table is not None:
                on_table(name)
            spec = c.TABLES[name]
            path = table_to_check(extract_dir, name, report, require_outcomes=require_outcomes)
            if path is None:
                continue
            done = _check_table(engine, spec, path, ctx)
            if name == "pupils":
                ctx = RuleContext(reference, engine.materialise("kept_pupils", done.kept), ctx.enrolments)
                done.kept = ctx.known_pupils
            elif name == "enrolments":
                ctx = RuleContext(reference, ctx.known_pupils, engine.materialise("kept_enrolments", done.kept))
                done.kept = ctx.enrolments
            report.tables[name] = done.report
            deliver(engine, done)
            engine.drop(f"bad_{name}")
    finally:
        engine.forget_all()
    return report


@contextlib.contextmanager
def _engine(limits: EngineLimits) -> Iterator[Backend]:
    """The engine for one extract: in a validating worker process, the worker's own (kept open for
    its next partition); elsewhere a new one, closed after the extract."""
    if _worker_engine is not None:
        yield _worker_engine
        return
    engine = open_backend(limits)
    try:
        yield engine
    finally:
        engine.close()


#: A validating worker process's engine, kept across the partitions it is given: the rules of
#: same-named tables compile once per process, not once per partition.
_worker_engine: Backend | None = None


def _start_worker(limits: EngineLimits) -> None:
    """Open this worker process's engine (closed, its spill folder removed, when the worker exits)."""
    global _worker_engine  # noqa: PLW0603 - one engine per worker process, by design
    _worker_engine = open_backend(limits)
    atexit.register(_worker_engine.close)


def _as_pandas(kept: ir.Table, spec: c.TableSpec) -> pd.DataFrame:
    """Kept rows as the typed frame the pandas path made (nullable integers and booleans, dates
    as ``datetime64[s]``)."""
    frame = kept.to_pyarrow().to_pandas(date_as_object=False, types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    for col in spec.columns:
        if col.type == "int":
            frame[col.name] = frame[col.name].astype("Int64")
        elif col.type == "date":
            frame[col.name] = frame[col.name].astype("datetime64[s]")
        elif col.type in ("str", "month"):
            frame[col.name] = frame[col.name].astype(pd.StringDtype(na_value=np.nan))
        elif col.type == "float":
            frame[col.name] = frame[col.name].astype("float64")
    return frame


def validate_extract(
    extract_dir: Path,
    *,
    reference_date: date | None = None,
    require_outcomes: bool = True,
    on_table: Callable[[str], None] | None = None,
    limits: EngineLimits | None = None,
) -> ValidatedExtract:
    """Check every table of a pseudonymised extract in the engine and return the kept tables as
    pandas frames (for a small extract; :func:`validate_to_folder` streams to Parquet instead)."""
    tables: dict[str, pd.DataFrame] = {}
    quarantine: dict[str, pd.DataFrame] = {}

    def fetch(engine: Backend, done: _Checked) -> None:
        tables[done.spec.name] = _as_pandas(engine.in_file_order(done.kept), done.spec)
        quarantine[done.spec.name] = done.quarantine

    with _engine(limits or EngineLimits()) as engine:
        report = _check_extract(extract_dir, reference_date or date.today(), require_outcomes, engine, fetch, on_table)
    return ValidatedExtract(tables, quarantine, report)


def _write_checked(out_dir: Path) -> Callable[[Backend, _Checked], None]:
    """Write each checked table as it comes: kept rows streamed to typed Parquet, quarantine CSV."""
    out_dir.mkdir(parents=True, exist_ok=True)

    def write(engine: Backend, done: _Checked) -> None:
        spec = done.spec
        engine.write_parquet(engine.in_file_order(done.kept), out_dir / f"{spec.name}.parquet")  # streamed
        stale = out_dir / "quarantine" / f"{spec.name}.csv"
        if len(done.quarantine):
            stale.parent.mkdir(exist_ok=True)
            done.quarantine.to_csv(stale, index=False)
        elif stale.exists():
            stale.unlink()

    return write


def _write_report(report: ValidationReport, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "validation_report.json").write_text(report.to_json(), encoding="utf-8")
    (out_dir / "validation_report.txt").write_text(render_report(report), encoding="utf-8")


def validate_to_folder(
    extract_dir: Path,
    out_dir: Path,
    *,
    reference_date: date | None = None,
    require_outcomes: bool = True,
    jobs: int = 1,
    on_part: Callable[[str], None] | None = None,
    limits: EngineLimits | None = None,
) -> ValidationReport:
    """Validate an extract in the engine and write the result (as :func:`write_validated` does),
    a table at a time, kept rows streamed from the engine to Parquet.

    Memory is bounded by ``limits`` (DuckDB's memory limit; it spills past it), whatever the size
    of the extract; ``limits.engine="spark"`` runs the same rules on Spark. A partitioned extract
    (:mod:`features.ingest.partitions`) is validated partition by partition, in ``jobs``
    processes on DuckDB (one after the other on Spark), into the same partitions of ``out_dir``; the
    report at the top sums them (rows read = kept + quarantined still holds per table) and its
    examples name the partition. ``on_part`` is told each table (plain extract) or partition done.
    """
    reference = reference_date or date.today()
    limits = limits or EngineLimits()
    partitions = find_partitions(extract_dir)
    if not partitions:
        with _engine(limits) as engine:
            report = _check_extract(extract_dir, reference, require_outcomes, engine, _write_checked(out_dir), on_part)
        _write_report(report, out_dir)
        return report
    report = ValidationReport(str(extract_dir), reference.isoformat())
    clear_stale_partitions(out_dir, partitions, "validation_report.json")
    work = [(part, out_dir / part.name, reference, require_outcomes, limits) for part in partitions]
    jobs = 1 if limits.engine == "spark" else jobs  # Spark spreads each partition over its executors
    validated = map_in_workers(_validate_partition, work, jobs, start_worker=(_start_worker, (limits,)))
    for part, done in zip(partitions, validated, strict=True):
        for name, table in done.tables.items():
            if name not in report.tables:
                report.tables[name] = TableReport(name, table.file, table.source, 0, 0, 0)
            report.tables[name].add(table, part.name)
        report.warnings += [f"{part.name}: {w}" for w in done.warnings]
        if on_part is not None:
            on_part(part.name)
    _check_pupils_in_one_partition(out_dir, [p.name for p in partitions])
    _write_report(report, out_dir)
    return report


def _validate_partition(args: tuple[Path, Path, date, bool, EngineLimits]) -> ValidationReport:
    part, out, reference, require_outcomes, limits = args
    try:
        return validate_to_folder(part, out, reference_date=reference, require_outcomes=require_outcomes, limits=limits)
    except ContractError as error:
        raise ContractError(f"partition {part.name}: {error}") from None


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
