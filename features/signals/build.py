"""The feature stage: a validated extract and as-of dates in, a snapshot table and metadata out.

Outputs (in the output folder): ``features.parquet`` (keys, context, model features, label),
``audit.parquet`` (the same keys with the sensitive attributes, for audits only) and
``metadata.json`` (feature meanings, dates, horizon, hashes, engine, code version).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.catalog import AUDIT_COLUMNS, CONTEXT_COLUMNS, FEATURES, KEY_COLUMNS, LABEL_COLUMNS
from features.ingest import (
    ARROW_TYPES,
    TABLES,
    ContractError,
    TableSpec,
    concatenate_parts,
    find_partitions,
    school_days,
)
from features.school import school_year_start
from features.signals import definitions as signals
from features.signals.config import FeatureConfig
from features.signals.engines import connect
from features.signals.metadata import METADATA, AsOfCounts, FeatureInfo, FeatureMetadata, Purpose
from features.signals.population import KEYS, Tables, attach, current_enrolments, labels, population, trajectory

FEATURE_TABLE = "features.parquet"
AUDIT_TABLE = "audit.parquet"


@dataclass
class FeatureOutput:
    """What a feature build wrote: the snapshot table, the audit table (training only), their metadata, and the row
    count and dates built."""

    features: Path
    audit: Path | None  # None when built for scoring
    metadata: FeatureMetadata
    rows: int
    as_of: list[date]
    seconds: float


def observed_span(extract_dir: Path) -> tuple[int, date]:
    """First school year and last date observed of a validated extract, plain or partitioned."""
    folders = find_partitions(extract_dir) or [extract_dir]
    con = duckdb.connect()
    year = con.execute(
        "SELECT min(school_year) FROM read_parquet($f)", {"f": [str(f / "enrolments.parquet") for f in folders]}
    ).fetchone()
    last: list[date] = []
    for table, column in (
        ("attendance", "date"),
        ("grades", "date"),
        ("outcomes", "event_date"),
        ("enrolments", "entry_date"),
    ):
        files = [str(f / f"{table}.parquet") for f in folders if (f / f"{table}.parquet").exists()]
        found = con.execute(f"SELECT max({column}) FROM read_parquet($f)", {"f": files}).fetchone() if files else None
        if found is not None and found[0] is not None:
            last.append(found[0])
    if year is None or year[0] is None or not last:
        raise ContractError(f"{extract_dir}: the extract holds no enrolment.")
    return int(year[0]), max(last)


def _require_validated(extract_dir: Path) -> None:
    if not (extract_dir / "validation_report.json").exists():
        raise ContractError(f"{extract_dir}: not a validated extract; run 'vigie validate' first and use its output.")


def load_tables(con: Any, extract_dir: Path, as_of: list[date]) -> tuple[Tables, tuple[int, date]]:
    """The validated extract on ``con``, and its span (:func:`observed_span`): its first school
    year and the last date it has observed (for label closure)."""
    _require_validated(extract_dir)
    tables: dict[str, ir.Table] = {}
    optional = {
        "incidents": pa.schema([("pupil_id", pa.string()), ("date", pa.date32()), ("kind", pa.string())]),
        "outcomes": pa.schema([("pupil_id", pa.string()), ("event_date", pa.date32())]),
    }
    for name in ("pupils", "enrolments", "attendance", "grades", "incidents", "outcomes"):
        path = extract_dir / f"{name}.parquet"
        if path.exists():
            tables[name] = _with_optional_columns(con.read_parquet(str(path), table_name=name), TABLES[name])
        elif name in optional:
            tables[name] = ibis.memtable(optional[name].empty_table())
        else:
            raise ContractError(f"{extract_dir}: table '{name}' missing.")
    span = observed_span(extract_dir)
    first_year = span[0]
    calendar_path = extract_dir / "calendar.parquet"
    holidays = pd.read_parquet(calendar_path) if calendar_path.exists() else None
    first, last = school_year_start(first_year - 1), max(as_of) + timedelta(days=2)
    calendar_days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D"))
    is_open = np.isin(calendar_days, school_days(first, last, holidays))
    days = pa.table({"day": calendar_days, "school_days_before": np.cumsum(is_open) - is_open})
    return Tables(days=ibis.memtable(days), **tables), span


def _with_optional_columns(table: ir.Table, spec: TableSpec) -> ir.Table:
    """Every optional column of the contract, at its default where the extract left it out."""
    absent = {
        column.name: ibis.literal(column.default, type=ibis.dtype(ARROW_TYPES[column.type]))
        if column.default is not None
        else ibis.null(ibis.dtype(ARROW_TYPES[column.type]))
        for column in spec.columns
        if not column.required and column.name not in table.columns
    }
    return table.mutate(**absent) if absent else table


def snapshot_expressions(
    t: Tables, as_of: list[date], *, horizon_days: int, known_until: date, purpose: Purpose = "training"
) -> tuple[ir.Table, ir.Table | None]:
    """The feature table and the audit table, as Ibis expressions.

    For scoring, the model inputs only: no label (outcomes are not read) and no audit table
    (sensitive attributes never leave the extract on the scoring path).
    """
    dates = ibis.memtable({"as_of": as_of}).mutate(as_of=ibis._.as_of.cast("date"))
    t = signals.events_read(t, as_of)
    base = population(t, dates)
    table = base.select(*KEYS, *CONTEXT_COLUMNS, "grade_level", "repeating", "repeats_so_far", "school_changes_so_far")
    parts = [
        trajectory(base, t.pupils),
        signals.attendance(base, t),
        signals.course(base, t),
        signals.behaviour(base, t),
    ]
    if purpose == "training":
        parts.append(labels(base, t.outcomes, horizon_days=horizon_days, known_until=ibis.literal(known_until)))
    for part in parts:
        table = attach(table, part)
    ordered = [*KEY_COLUMNS, *CONTEXT_COLUMNS, *(f.name for f in FEATURES)]
    table = table.select(*ordered, *(LABEL_COLUMNS if purpose == "training" else ())).order_by(KEYS)
    if purpose == "scoring":
        return table, None
    # the same rows as the features' (their keys), from the current enrolments alone: the
    # history join and the signals are not needed, and the audit query no longer pays for them
    current = current_enrolments(t, dates)
    audit = current.select(*KEYS, "school_id", "grade_level", *AUDIT_COLUMNS[1:]).left_join(
        t.pupils.select("pupil_id", "sex"), "pupil_id"
    )
    audit = audit.select(*KEYS, "school_id", "grade_level", *AUDIT_COLUMNS).order_by(KEYS)
    return table, audit


def input_hash(extract_dir: Path) -> str:
    """A digest of a validated extract's tables: what a feature table was built from. A
    partitioned extract's is the digest of its partitions' (:func:`_combined_hash`)."""
    partitions = find_partitions(extract_dir)
    if partitions:
        return _combined_hash([input_hash(part) for part in partitions])
    digest = hashlib.sha256()
    for name in sorted(TABLES):
        path = extract_dir / f"{name}.parquet"
        if path.exists():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def _combined_hash(partition_hashes: list[str]) -> str:
    return hashlib.sha256("".join(partition_hashes).encode()).hexdigest()[:16]


def code_version() -> str:
    """The short git commit of the running code, or ``unknown`` outside a checkout, so that every artefact names the
    code that made it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return commit


def build_features(
    extract_dir: Path, out_dir: Path, config: FeatureConfig, *, purpose: Purpose = "training"
) -> FeatureOutput:
    """Build the snapshots of ``config`` from a validated extract and write them with their metadata.

    ``purpose="scoring"`` writes the model inputs only (see :func:`snapshot_expressions`). A
    partitioned extract is built one partition at a time (:func:`_build_partitioned`).
    """
    partitions = find_partitions(extract_dir)
    if partitions:
        return _build_partitioned(extract_dir, partitions, out_dir, config, purpose)
    began = datetime.now(UTC)
    con = connect(config.engine, spark_master=config.spark_master, memory_limit=config.memory_limit)
    schedule = config.schedule
    provisional = config.as_of or schedule.dates(date.min, date.today())  # type: ignore[union-attr]
    t, (first_year, observed_until) = load_tables(con, extract_dir, provisional)
    known_until = config.labels_known_until or observed_until
    as_of = sorted(set(config.as_of or schedule.dates(school_year_start(first_year), observed_until)))  # type: ignore[union-attr]
    if not as_of:
        raise ContractError(f"{extract_dir}: no as-of date of the schedule falls inside the extract.")
    table, audit = snapshot_expressions(
        t, as_of, horizon_days=config.horizon_days, known_until=known_until, purpose=purpose
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (out_dir / FEATURE_TABLE, out_dir / AUDIT_TABLE, out_dir / METADATA):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    outputs = [(table, FEATURE_TABLE)] + ([(audit, AUDIT_TABLE)] if audit is not None else [])
    for expr, name in outputs:
        if config.engine == "duckdb":
            con.to_parquet(expr, out_dir / name)  # streamed, out of core
        else:  # Spark writes a folder of sorted parts; stream them into one file, never through the driver
            parts = out_dir / f".{name}.parts"
            con.to_parquet(expr, parts)
            concatenate_parts(sorted(parts.glob("part-*.parquet")), out_dir / name)
            shutil.rmtree(parts)
    rows = pq.read_metadata(out_dir / FEATURE_TABLE).num_rows
    metadata = FeatureMetadata(
        purpose=purpose,
        created_at=began,
        engine=config.engine,
        code_version=code_version(),
        config=config,
        config_hash=config.digest(),
        input_dir=str(extract_dir),
        input_hash=input_hash(extract_dir),
        as_of_dates=as_of,
        horizon_days=config.horizon_days,
        labels_known_until=known_until if purpose == "training" else None,
        rows=rows,
        per_as_of=_counts_per_date(out_dir / FEATURE_TABLE, purpose),
        keys=list(KEY_COLUMNS),
        context_columns=list(CONTEXT_COLUMNS),
        label_columns=list(LABEL_COLUMNS) if purpose == "training" else [],
        features=[FeatureInfo.model_validate({k: v for k, v in asdict(f).items() if k != "reason"}) for f in FEATURES],
        audit_table=AUDIT_TABLE if audit is not None else None,
        audit_columns=list(AUDIT_COLUMNS) if audit is not None else [],
        seconds=round((datetime.now(UTC) - began).total_seconds(), 2),
        first_school_year=first_year,
    )
    metadata.write(out_dir)
    audit_path = out_dir / AUDIT_TABLE if audit is not None else None
    return FeatureOutput(out_dir / FEATURE_TABLE, audit_path, metadata, rows, as_of, metadata.seconds)


def _build_partitioned(
    extract_dir: Path, partitions: list[Path], out_dir: Path, config: FeatureConfig, purpose: Purpose
) -> FeatureOutput:
    """Each partition's snapshots, appended into one feature table (and audit table).

    Every row of a pupil lives in one partition, so a partition's features are exact; each
    keeps its own calendar (school holidays differ by zone). The dates and the label closure
    are fixed once for the whole extract, so every partition is built at the same dates.
    """
    began = datetime.now(UTC)
    _require_validated(extract_dir)
    first_year, observed_until = observed_span(extract_dir)
    known_until = config.labels_known_until or observed_until
    schedule = config.schedule
    as_of = sorted(set(config.as_of or schedule.dates(school_year_start(first_year), observed_until)))  # type: ignore[union-attr]
    fixed = config.model_copy(update={"as_of": as_of, "schedule": None, "labels_known_until": known_until})
    work = out_dir / ".partitions"
    shutil.rmtree(work, ignore_errors=True)
    built = []
    for part in partitions:
        try:
            built.append(build_features(part, work / part.name, fixed, purpose=purpose))
        except ContractError as error:
            raise ContractError(f"partition {part.name}: {error}") from None
    for stale in (out_dir / FEATURE_TABLE, out_dir / AUDIT_TABLE, out_dir / METADATA):
        stale.unlink(missing_ok=True)
    concatenate_parts([b.features for b in built], out_dir / FEATURE_TABLE)
    audit = None
    if purpose == "training":
        audit = out_dir / AUDIT_TABLE
        concatenate_parts([b.audit for b in built if b.audit is not None], audit)
    shutil.rmtree(work)
    per_as_of: dict[date, AsOfCounts] = {}
    for b in built:
        for day, counts in b.metadata.per_as_of.items():
            total = per_as_of.get(day, AsOfCounts(rows=0, labelled=0, positives=0))
            per_as_of[day] = AsOfCounts(
                rows=total.rows + counts.rows,
                labelled=(total.labelled or 0) + (counts.labelled or 0) if purpose == "training" else None,
                positives=(total.positives or 0) + (counts.positives or 0) if purpose == "training" else None,
            )
    rows = sum(b.rows for b in built)
    seconds = round((datetime.now(UTC) - began).total_seconds(), 2)
    metadata = built[0].metadata.model_copy(
        update={
            "created_at": began,
            "config": config,
            "config_hash": config.digest(),
            "input_dir": str(extract_dir),
            "input_hash": _combined_hash([b.metadata.input_hash for b in built]),  # each partition read once
            "as_of_dates": as_of,
            "labels_known_until": known_until if purpose == "training" else None,
            "rows": rows,
            "per_as_of": per_as_of,
            "seconds": seconds,
            "first_school_year": first_year,
        }
    )
    metadata.write(out_dir)
    return FeatureOutput(out_dir / FEATURE_TABLE, audit, metadata, rows, as_of, seconds)


def _counts_per_date(path: Path, purpose: Purpose) -> dict[date, AsOfCounts]:
    if purpose == "scoring":
        dates = pd.read_parquet(path, columns=["as_of"])["as_of"].value_counts()
        return {pd.Timestamp(str(d)).date(): AsOfCounts(rows=int(n)) for d, n in dates.items()}
    counts = (
        pd.read_parquet(path, columns=["as_of", "label"])
        .groupby("as_of")["label"]
        .agg(rows="size", positives="sum", labelled="count")
    )
    return {
        pd.Timestamp(d).date(): AsOfCounts(rows=int(r.rows), labelled=int(r.labelled), positives=int(r.positives))
        for d, r in counts.iterrows()
    }
