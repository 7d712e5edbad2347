"""The feature stage: a validated extract and as-of dates in, a snapshot table and metadata out.

Outputs (in the output folder): ``features.parquet`` (keys, context, model features, label),
``audit.parquet`` (the same keys with the sensitive attributes, for audits only) and
``metadata.json`` (feature meanings, dates, horizon, hashes, engine, code version).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.catalog import AUDIT_COLUMNS, CONTEXT_COLUMNS, FEATURES, KEY_COLUMNS, LABEL_COLUMNS
from features.configfile import load_config_file
from features.ingest import TABLES, ContractError, TableSpec, school_days
from features.signals import definitions as signals
from features.signals.engines import Engine, connect
from features.signals.population import KEYS, Tables, attach, labels, population, trajectory

FEATURE_TABLE = "features.parquet"
AUDIT_TABLE = "audit.parquet"
METADATA = "metadata.json"


class AsOfSchedule(BaseModel):
    """Recurring as-of dates, e.g. every 15 Dec, 31 Mar and 15 Jun from 2019."""

    model_config = ConfigDict(extra="forbid")
    days: list[str] = Field(default=["12-15", "03-31", "06-15"], description="MM-DD")
    from_year: int
    to_year: int | None = None

    def dates(self, start: date, until: date) -> list[date]:
        """The schedule's dates inside ``[start, until]``."""
        last = self.to_year or until.year
        out = [date.fromisoformat(f"{y}-{d}") for y in range(self.from_year, last + 1) for d in self.days]
        return sorted(d for d in out if start <= d <= until)


class FeatureConfig(BaseModel):
    """What to build; hashed into the metadata so outputs can be traced to it."""

    model_config = ConfigDict(extra="forbid")
    as_of: list[date] = Field(default_factory=list)
    schedule: AsOfSchedule | None = None
    horizon_days: int = Field(default=365, gt=0)
    labels_known_until: date | None = None
    engine: Engine = "duckdb"
    spark_master: str = "local[*]"
    memory_limit: str | None = "8GB"

    @model_validator(mode="after")
    def _some_dates(self) -> FeatureConfig:
        if not self.as_of and self.schedule is None:
            raise ValueError("give as-of dates ('as_of') or a 'schedule'")
        return self

    def digest(self) -> str:
        fields = self.model_dump(mode="json", exclude={"engine", "spark_master", "memory_limit"})
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def load_feature_config(path: Path | None, overrides: dict[str, Any] | None = None) -> FeatureConfig:
    """Read and validate a YAML feature config, then apply overrides (CLI flags) on top."""
    return load_config_file(FeatureConfig, path, overrides, "feature")


@dataclass
class FeatureOutput:
    features: Path
    audit: Path
    metadata: Path
    rows: int
    as_of: list[date]
    seconds: float


def load_tables(con: Any, extract_dir: Path, as_of: list[date]) -> tuple[Tables, date]:
    """The validated extract on ``con``, and the last date it has observed (for label closure)."""
    if not (extract_dir / "validation_report.json").exists():
        raise ContractError(f"{extract_dir}: not a validated extract; run 'vigie validate' first and use its output.")
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
    observed = [
        tables[t][c].max().execute()
        for t, c in (
            ("attendance", "date"),
            ("grades", "date"),
            ("outcomes", "event_date"),
            ("enrolments", "entry_date"),
        )
    ]
    known_until = max(pd.Timestamp(d).date() for d in observed if d is not None and not pd.isna(d))
    calendar_path = extract_dir / "calendar.parquet"
    holidays = pd.read_parquet(calendar_path) if calendar_path.exists() else None
    first_year = int(tables["enrolments"].school_year.min().execute())
    first, last = date(first_year - 1, 9, 1), max(as_of) + timedelta(days=2)
    calendar_days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D"))
    is_open = np.isin(calendar_days, school_days(first, last, holidays))
    days = pa.table({"day": calendar_days, "school_days_before": np.cumsum(is_open) - is_open})
    return Tables(days=ibis.memtable(days), **tables), known_until


_IBIS_TYPES = {
    "str": "string",
    "date": "date",
    "month": "string",
    "int": "int32",
    "float": "float64",
    "bool": "boolean",
}


def _with_optional_columns(table: ir.Table, spec: TableSpec) -> ir.Table:
    """Every optional column of the contract, at its default where the extract left it out."""
    absent = {
        column.name: ibis.literal(column.default, type=_IBIS_TYPES[column.type])
        if column.default is not None
        else ibis.null(_IBIS_TYPES[column.type])
        for column in spec.columns
        if not column.required and column.name not in table.columns
    }
    return table.mutate(**absent) if absent else table


def snapshot_expressions(
    t: Tables, as_of: list[date], *, horizon_days: int, known_until: date
) -> tuple[ir.Table, ir.Table]:
    """The feature table and the audit table, as Ibis expressions."""
    dates = ibis.memtable({"as_of": as_of}).mutate(as_of=ibis._.as_of.cast("date"))
    base = population(t, dates)
    table = base.select(*KEYS, *CONTEXT_COLUMNS, "grade_level", "repeating", "repeats_so_far", "school_changes_so_far")
    for part in (
        trajectory(base, t.pupils),
        signals.attendance(base, t),
        signals.course(base, t),
        signals.behaviour(base, t),
        labels(base, t.outcomes, horizon_days=horizon_days, known_until=ibis.literal(known_until)),
    ):
        table = attach(table, part)
    ordered = [*KEY_COLUMNS, *CONTEXT_COLUMNS, *(f.name for f in FEATURES), *LABEL_COLUMNS]
    table = table.select(*ordered).order_by(KEYS)
    audit = attach(
        base.select(*KEYS, "school_id", "grade_level", *AUDIT_COLUMNS[1:]),
        t.pupils.select("pupil_id", "sex").join(base.select(*KEYS), "pupil_id"),
    )
    audit = audit.select(*KEYS, "school_id", "grade_level", *AUDIT_COLUMNS).order_by(KEYS)
    return table, audit


def _concatenate_parts(parts: list[Path], target: Path) -> None:
    """One Parquet file from Spark's ordered part files, a row group at a time."""
    schema = pq.read_schema(parts[0])
    with pq.ParquetWriter(target, schema) as writer:
        for part in parts:
            table = pq.ParquetFile(part)
            for group in range(table.num_row_groups):
                writer.write_table(table.read_row_group(group).cast(schema))


def _hash_inputs(extract_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in sorted(TABLES):
        path = extract_dir / f"{name}.parquet"
        if path.exists():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def code_version() -> str:
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


def build_features(extract_dir: Path, out_dir: Path, config: FeatureConfig) -> FeatureOutput:
    """Build the snapshots of ``config`` from a validated extract and write them with their metadata."""
    began = datetime.now(UTC)
    con = connect(config.engine, spark_master=config.spark_master, memory_limit=config.memory_limit)
    schedule = config.schedule
    provisional = config.as_of or schedule.dates(date.min, date.today())  # type: ignore[union-attr]
    t, observed_until = load_tables(con, extract_dir, provisional)
    known_until = config.labels_known_until or observed_until
    first_year = int(t.enrolments.school_year.min().execute())
    as_of = sorted(set(config.as_of or schedule.dates(date(first_year, 9, 1), observed_until)))  # type: ignore[union-attr]
    if not as_of:
        raise ValueError("no as-of date falls inside the extract")
    table, audit = snapshot_expressions(t, as_of, horizon_days=config.horizon_days, known_until=known_until)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (out_dir / FEATURE_TABLE, out_dir / AUDIT_TABLE, out_dir / METADATA):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    for expr, name in ((table, FEATURE_TABLE), (audit, AUDIT_TABLE)):
        if config.engine == "duckdb":
            con.to_parquet(expr, out_dir / name)  # streamed, out of core
        else:  # Spark writes a folder of sorted parts; stream them into one file, never through the driver
            parts = out_dir / f".{name}.parts"
            con.to_parquet(expr, parts)
            _concatenate_parts(sorted(parts.glob("part-*.parquet")), out_dir / name)
            shutil.rmtree(parts)
    rows = pq.read_metadata(out_dir / FEATURE_TABLE).num_rows
    label_counts = (
        pd.read_parquet(out_dir / FEATURE_TABLE, columns=["as_of", "label"])
        .groupby("as_of")["label"]
        .agg(rows="size", positives="sum", labelled="count")
    )
    seconds = (datetime.now(UTC) - began).total_seconds()
    metadata = {
        "stage": "features",
        "created_at": began.isoformat(),
        "engine": config.engine,
        "code_version": code_version(),
        "config": config.model_dump(mode="json"),
        "config_hash": config.digest(),
        "input_dir": str(extract_dir),
        "input_hash": _hash_inputs(extract_dir),
        "as_of_dates": [d.isoformat() for d in as_of],
        "horizon_days": config.horizon_days,
        "labels_known_until": known_until.isoformat(),
        "rows": rows,
        "per_as_of": {
            pd.Timestamp(k).date().isoformat(): {c: int(v) for c, v in r.items()} for k, r in label_counts.iterrows()
        },
        "keys": list(KEY_COLUMNS),
        "context_columns": list(CONTEXT_COLUMNS),
        "label_columns": list(LABEL_COLUMNS),
        "features": [asdict(f) for f in FEATURES],
        "audit_table": AUDIT_TABLE,
        "audit_columns": list(AUDIT_COLUMNS),
        "seconds": round(seconds, 2),
    }
    (out_dir / METADATA).write_text(json.dumps(metadata, indent=2, ensure_ascii=False), encoding="utf-8")
    return FeatureOutput(out_dir / FEATURE_TABLE, out_dir / AUDIT_TABLE, out_dir / METADATA, rows, as_of, seconds)
