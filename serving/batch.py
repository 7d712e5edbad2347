"""Batch scoring: the contract's score output for every pupil enrolled on D, with tiers and reasons.

Risk for everyone (fast), tiers by capacity (top ``high`` share overall or per school, then
the next ``medium`` share), and reasons in batch for the high and medium tiers only: exact
TreeSHAP is the costly part, so the low tier's reasons are computed on demand.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, model_validator

from features.catalog import FEATURE_NAMES
from features.ingest import ContractError
from features.school import retained_until
from models.estimator import DropoutRiskModel
from models.matrix import encoded_matrix, feature_matrix
from models.metrics import capacity_count, capacity_rank, group_sizes
from models.objections import Objections
from models.operating_point import OperatingPoint
from models.paths import Paths
from models.reasons import LevelMeans, ReasonColumns, ReasonItem, reason_columns
from models.reasons import reasons as build_reasons
from models.registry import LoadedModel

REASON_TYPE = pa.list_(
    pa.struct([("signal", pa.string()), ("value", pa.float64()), ("contribution", pa.float64()), ("text", pa.string())])
)
SCORE_SCHEMA = pa.schema(
    [
        ("pupil_id", pa.string()),
        ("school_id", pa.string()),
        ("grade_level", pa.string()),
        ("as_of", pa.date32()),
        ("risk", pa.float64()),
        ("tier", pa.string()),
        ("reasons", REASON_TYPE),
        ("model_version", pa.string()),
    ]
)


class TierConfig(OperatingPoint):
    """How a batch is cut: the model's operating point (:meth:`of`), read in chunks of ``chunk_rows``."""

    chunk_rows: int = Field(default=50_000, ge=1000)

    @classmethod
    def of(cls, point: OperatingPoint, **settings: Any) -> TierConfig:
        """The tier config of ``point`` with ``settings`` (chunk size) for this run."""
        return cls(**point.model_dump(), **settings)

    def point(self) -> OperatingPoint:
        """The operating point alone, as the batch records it."""
        return OperatingPoint(**self.model_dump(exclude={"chunk_rows"}))


@dataclass(frozen=True)
class Thresholds:
    """Risk cut-offs of a batch: one pair overall, or one per school."""

    scope: str
    high: dict[str, float]
    medium: dict[str, float]


def tiers(
    risk: np.ndarray, schools: np.ndarray, pupils: np.ndarray, config: TierConfig
) -> tuple[np.ndarray, Thresholds]:
    """high = top ``config.high`` share, medium = the next ``config.medium``, within the scope.

    The capacity rule is :func:`models.metrics.capacity_rank` and ``capacity_count``: equal
    risks in ``pupil_id`` order, so a batch gets the same tiers on any engine.
    """
    groups = schools if config.scope == "school" else None
    rank = capacity_rank(risk, pupils, groups)
    size = group_sizes(groups, len(rank))
    high = rank <= capacity_count(size, config.high)
    medium = ~high & (rank <= capacity_count(size, config.high + config.medium))
    tier = np.where(high, "high", np.where(medium, "medium", "low"))
    frame = pd.DataFrame({"risk": risk, "group": schools if groups is not None else "all", "tier": tier})
    lowest = frame.groupby(["group", "tier"])["risk"].min().unstack()
    return tier, Thresholds(
        config.scope,
        {str(g): float(v) for g, v in lowest.get("high", pd.Series(dtype=float)).items()},
        {str(g): float(v) for g, v in lowest.get("medium", pd.Series(dtype=float)).items()},
    )


#: The version of the metadata written beside every batch; a reader refuses another.
BATCH_METADATA_VERSION: Final = 1


class BatchMetadata(BaseModel):
    """What is written beside every batch (and read by the service to explain a tier, and by the
    follow-up report for the horizon): written and read here only, version-checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    metadata_version: Literal[1] = BATCH_METADATA_VERSION
    as_of: date
    model_version: str
    rows: int
    tiers: dict[str, int]
    thresholds: Thresholds
    #: The operating point the tiers were cut at: the model's, with any override recorded.
    operating_point: OperatingPoint

    @computed_field  # type: ignore[prop-decorator]
    @property
    def capacity(self) -> dict[str, Any]:
        """The shares and scope of the tiers, as the service's API shows them."""
        return {"high": self.operating_point.high, "medium": self.operating_point.medium,
                "scope": self.operating_point.scope}  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _derived_dropped(cls, values: Any) -> Any:
        if isinstance(values, dict):
            values = {k: v for k, v in values.items() if k != "capacity"}  # derived, written for readers
        return values

    def write(self, batch_file: Path) -> None:
        """Beside ``batch_file``, same name, ``.json``."""
        text = json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False)
        batch_file.with_suffix(".json").write_text(text, encoding="utf-8")


def read_batch_metadata(batch_file: Path) -> BatchMetadata:
    """The metadata beside a batch file, checked; a clear error naming the file otherwise."""
    path = batch_file.with_suffix(".json")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ContractError(f"{path}: no readable batch metadata ({error})") from None
    found = values.get("metadata_version") if isinstance(values, dict) else None
    if found != BATCH_METADATA_VERSION:
        raise ContractError(
            f"{path}: batch metadata version {found!r}, this Vigie reads version {BATCH_METADATA_VERSION}: "
            "score the batch again with this Vigie."
        )
    try:
        return BatchMetadata.model_validate(values)
    except ValidationError as error:
        raise ContractError(f"{path}: not valid batch metadata: {error}") from None


@dataclass
class ScoreBatch:
    """One as-of date's scores with their thresholds, model version, model inputs and operating point: what batch
    scoring hands to the score history."""

    scores: pa.Table
    thresholds: Thresholds
    model_version: str
    as_of: date
    #: The model inputs each pupil was scored on (keys and features, never a sensitive
    #: attribute), kept with the batch so that reasons on demand need no recomputation.
    inputs: pd.DataFrame | None = None
    #: The operating point the tiers were cut at, for pages that explain a tier.
    operating_point: OperatingPoint = field(default_factory=OperatingPoint)

    def metadata(self) -> BatchMetadata:
        """The typed metadata written beside the batch file."""
        counts = {str(k): int(v) for k, v in pd.Series(self.scores.column("tier").to_pylist()).value_counts().items()}
        return BatchMetadata(
            as_of=self.as_of, model_version=self.model_version, rows=self.scores.num_rows, tiers=counts,
            thresholds=self.thresholds, operating_point=self.operating_point,
        )  # fmt: skip


@dataclass(frozen=True)
class BatchSummary:
    """A batch scored in a stream (:func:`score_chunks`): everything but its rows."""

    as_of: date
    model_version: str
    rows: int
    tier_counts: dict[str, int]
    thresholds: Thresholds
    operating_point: OperatingPoint
    #: Pupils whose features were built but who were left out on objection (GDPR art. 21): the
    #: feature rows are ``rows + left_out``.
    left_out: int = 0

    def metadata(self) -> BatchMetadata:
        """The typed metadata written beside the streamed batch's file."""
        return BatchMetadata(
            as_of=self.as_of, model_version=self.model_version, rows=self.rows, tiers=self.tier_counts,
            thresholds=self.thresholds, operating_point=self.operating_point,
        )  # fmt: skip


_NUMERIC = [f for f in FEATURE_NAMES if f not in ("grade_level", "track")]


def references(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean of each numeric feature per grade level in the batch: the "au même niveau" figures."""
    return frame.groupby("grade_level")[_NUMERIC].mean()


#: Feature rows of one as-of date, chunk by chunk; called once per pass over the batch.
Chunks = Callable[[], Iterator[pd.DataFrame]]
#: Receives each chunk's score rows (``SCORE_SCHEMA``) and model inputs, in order.
ChunkSink = Callable[[pa.Table, pd.DataFrame], None]


def score_chunks(
    chunks: Chunks, model: DropoutRiskModel, model_version: str, config: TierConfig, sink: ChunkSink
) -> BatchSummary:
    """Score a batch in two passes, so that memory holds one chunk of features at a time.

    First pass: the risk of every pupil and the grade-level means (sums and counts). Then the
    capacity tiers over the whole batch. Second pass: the reasons of the high and medium
    tiers, and each chunk's rows to ``sink``.
    """
    features = list(model.feature_names_in_)
    risks, pupils, schools = [], [], []
    days: set[date] = set()
    sums: pd.DataFrame | None = None
    counts: pd.DataFrame | None = None
    for chunk in chunks():
        risks.append(model.predict_proba(feature_matrix(chunk, features))[:, 1])
        pupils.append(chunk["pupil_id"].astype(str).to_numpy())
        schools.append(chunk["school_id"].astype(str).to_numpy())
        days.update(pd.to_datetime(chunk["as_of"]).dt.date.unique())
        by_level = chunk.groupby("grade_level")[[f for f in _NUMERIC if f in chunk.columns]]
        sums = by_level.sum() if sums is None else sums.add(by_level.sum(), fill_value=0)
        counts = by_level.count() if counts is None else counts.add(by_level.count(), fill_value=0)
    if len(days) != 1 or sums is None or counts is None:
        raise ValueError(f"A batch to score must hold one as-of date. Got {len(days)} instead.")
    risk = np.concatenate(risks)
    tier, thresholds = tiers(risk, np.concatenate(schools), np.concatenate(pupils), config)
    refs = LevelMeans.of(sums / counts, features)
    as_of = days.pop()
    done = 0
    for chunk in chunks():
        rows = slice(done, done + len(chunk))
        explained = np.flatnonzero(tier[rows] != "low")
        parts = []
        if explained.size:
            picked = chunk.iloc[explained]
            values = encoded_matrix(picked, features)
            levels = picked["grade_level"].to_numpy()
            parts.append(reason_columns(model.contributions(values), values, levels, features, refs, config.reasons))
        table = pa.table(
            {
                "pupil_id": chunk["pupil_id"].astype(str).to_numpy(),
                "school_id": chunk["school_id"].astype(str).to_numpy(),
                "grade_level": chunk["grade_level"].astype(str).to_numpy(),
                "as_of": pa.array(np.full(len(chunk), as_of), pa.date32()),
                "risk": risk[rows],
                "tier": tier[rows],
                "reasons": _reason_list(len(chunk), explained, parts),
                "model_version": np.full(len(chunk), model_version),
            },
            schema=SCORE_SCHEMA,
        )
        sink(table, chunk[_input_columns(features)].reset_index(drop=True))
        done += len(chunk)
    tier_counts = {str(k): int(v) for k, v in pd.Series(tier).value_counts().items()}
    return BatchSummary(as_of, model_version, len(risk), tier_counts, thresholds, config.point())


def _input_columns(features: list[str]) -> list[str]:
    return ["pupil_id", "school_id", *[f for f in features if f != "school_id"]]


def score_frame(frame: pd.DataFrame, model: DropoutRiskModel, model_version: str, config: TierConfig) -> ScoreBatch:
    """Score one as-of date's feature rows (pupil_id, as_of, school_id, grade_level and features)
    in memory: :func:`score_chunks` over slices of the frame."""
    if frame.empty:
        raise ValueError("The frame parameter of score_frame must hold one as-of date. Got 0 instead.")
    tables: list[pa.Table] = []
    inputs: list[pd.DataFrame] = []

    def keep(table: pa.Table, chunk_inputs: pd.DataFrame) -> None:
        tables.append(table)
        inputs.append(chunk_inputs)

    def chunks() -> Iterator[pd.DataFrame]:
        return (frame.iloc[s : s + config.chunk_rows] for s in range(0, len(frame), config.chunk_rows))

    try:
        summary = score_chunks(chunks, model, model_version, config, keep)
    except ValueError as error:
        raise ValueError(f"The frame parameter of score_frame: {error}") from None
    return ScoreBatch(
        pa.concat_tables(tables),
        summary.thresholds,
        model_version,
        summary.as_of,
        pd.concat(inputs, ignore_index=True),
        summary.operating_point,
    )


def _reason_list(rows: int, explained: np.ndarray, parts: list[ReasonColumns]) -> pa.Array:
    """The batch's reasons as one Arrow list column, built from the columns: empty for the low tier."""
    counts = np.zeros(rows, dtype=np.int32)
    counts[explained] = np.concatenate([np.diff(p.offsets) for p in parts]) if parts else []
    items = pa.StructArray.from_arrays(
        [
            pa.array([s for p in parts for s in p.signal], pa.string()),
            pa.array(np.concatenate([p.value for p in parts]) if parts else [], pa.float64()),
            pa.array(np.concatenate([p.contribution for p in parts]) if parts else [], pa.float64()),
            pa.array([t for p in parts for t in p.text], pa.string()),
        ],
        names=["signal", "value", "contribution", "text"],
    )
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    return pa.ListArray.from_arrays(offsets, items).cast(REASON_TYPE)


def explain_rows(
    rows: pd.DataFrame, model: DropoutRiskModel, refs: pd.DataFrame | LevelMeans, k: int = 3
) -> list[list[ReasonItem]]:
    """Reasons on demand (a low-tier pupil, say), against the batch's grade-level references."""
    features = list(model.feature_names_in_)
    values = encoded_matrix(rows, features)
    means = refs if isinstance(refs, LevelMeans) else LevelMeans.of(refs, features)
    return build_reasons(model.contributions(values), values, rows["grade_level"].to_numpy(), features, means, k)


def write_scores(batch: ScoreBatch, out: Path, *, fmt: Literal["parquet", "csv"] = "parquet") -> Path:
    """The contract's score file (reasons as a JSON string in CSV) and its metadata beside it."""
    out.mkdir(parents=True, exist_ok=True)
    path = _score_path(out, batch.as_of, fmt)
    if fmt == "parquet":
        pq.write_table(batch.scores, path)
    else:
        _csv_rows(batch.scores).to_csv(path, index=False)
    batch.metadata().write(path)
    return path


def export_scores(batch_file: Path, summary: BatchSummary, out: Path, *, fmt: Literal["parquet", "csv"]) -> Path:
    """The score file of a batch kept in the history (:func:`score_to_history`), a row group
    at a time: the contract's output for the tools that read it."""
    out.mkdir(parents=True, exist_ok=True)
    path = _score_path(out, summary.as_of, fmt)
    if fmt == "parquet":
        shutil.copyfile(batch_file, path)
    else:
        source = pq.ParquetFile(batch_file)
        with path.open("w", encoding="utf-8", newline="") as handle:
            for group in range(source.num_row_groups):
                _csv_rows(source.read_row_group(group)).to_csv(handle, index=False, header=group == 0)
    summary.metadata().write(path)
    return path


def _score_path(out: Path, as_of: date, fmt: str) -> Path:
    return out / f"scores_{as_of.isoformat()}.{fmt}"


def _csv_rows(scores: pa.Table) -> pd.DataFrame:
    frame = scores.to_pandas()
    frame["reasons"] = [json.dumps(list(r), ensure_ascii=False) for r in frame["reasons"]]
    return frame


#: Inside each ``as_of=D`` folder of the score history, the batches' model inputs.
INPUTS_FOLDER = "inputs"


_AS_OF, _VERSION = "as_of=", "model_version="


def history_file(history: Path, as_of: date, model_version: str) -> Path:
    """Where the score history keeps the batch of ``model_version`` at ``as_of``."""
    return history / f"{_AS_OF}{as_of.isoformat()}" / f"{_VERSION}{model_version.replace('/', '_')}.parquet"


@dataclass(frozen=True)
class KeptBatch:
    """One batch file of the score history: its as-of date, the model version that scored it, its path."""

    as_of: date
    model_version: str
    path: Path


def kept_batches(history: Path) -> list[KeptBatch]:
    """Every batch the score history keeps, by as-of date then file name: with :func:`history_file`,
    the one place that knows the history's ``as_of=D/model_version=V.parquet`` layout."""
    found = [
        KeptBatch(
            date.fromisoformat(path.parent.name.removeprefix(_AS_OF)),
            path.stem.removeprefix(_VERSION).replace("_", "/", 1),
            path,
        )
        for path in history.glob(f"{_AS_OF}*/{_VERSION}*.parquet")
    ]
    return sorted(found, key=lambda kept: (kept.as_of, kept.path.name))


def inputs_file(batch_file: Path) -> Path:
    """The model inputs kept beside a batch file of the score history."""
    return batch_file.parent / INPUTS_FOLDER / batch_file.name


def append_history(batch: ScoreBatch, history: Path) -> Path:
    """Keep every batch (one file per as-of date and model version) with its model inputs, to
    follow a pupil over time and explain any pupil of it later."""
    path = history_file(history, batch.as_of, batch.model_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(batch.scores, path)
    batch.metadata().write(path)  # thresholds and operating point: the service explains tiers with them
    if batch.inputs is not None:
        inputs_file(path).parent.mkdir(exist_ok=True)
        batch.inputs.to_parquet(inputs_file(path), index=False)
    return path


def batch_files(batch: KeptBatch) -> tuple[Path, ...]:
    """What a kept batch is made of: its scores, the metadata beside them, its model inputs."""
    return tuple(p for p in (batch.path, batch.path.with_suffix(".json"), inputs_file(batch.path)) if p.exists())


def batches_due(history: Path, retention_school_years: int, today: date) -> list[KeptBatch]:
    """The kept batches whose retention ended before ``today``: kept until the end of the
    ``retention_school_years``-th school year after their as-of date's (GDPR art. 5(1)(e);
    :func:`features.school.retained_until`, the plans' rule too)."""
    return [b for b in kept_batches(history) if retained_until(b.as_of, retention_school_years) < today]


def purge_history(history: Path, retention_school_years: int, today: date) -> list[KeptBatch]:
    """Delete the batches past retention, each with its metadata and model inputs, and the
    folders left empty; what went. The service stops serving a purged batch at its next reload."""
    due = batches_due(history, retention_school_years, today)
    for batch in due:
        for path in batch_files(batch):
            path.unlink()
        for empty in (batch.path.parent / INPUTS_FOLDER, batch.path.parent):
            if empty.is_dir() and not any(empty.iterdir()):
                empty.rmdir()
    return due


def history_dates(history: Path, model_version: str) -> list[date]:
    """The as-of dates of the batches ``model_version`` scored, oldest first."""
    name = history_file(history, date.min, model_version).name
    return [kept.as_of for kept in kept_batches(history) if kept.path.name == name]


def read_history_batch(history: Path, as_of: date, model_version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A kept batch: its scores (pupil_id, school_id, grade_level, risk, tier) and its model inputs
    (as kept: a reader drops the objected pupils with :meth:`models.objections.Objections.drop`)."""
    path = history_file(history, as_of, model_version)
    if not path.exists() or not inputs_file(path).exists():
        raise ContractError(f"{path}: no batch of {model_version} at {as_of} with its inputs; run 'vigie score' first.")
    scores = pq.read_table(path, columns=["pupil_id", "school_id", "grade_level", "risk", "tier"]).to_pandas()
    return scores, pd.read_parquet(inputs_file(path))


@dataclass(frozen=True)
class KeptInputs:
    """Where each pupil of a served batch sits in the model inputs of a kept batch (the previous
    one): a row number per pupil (-1: absent), so that one pupil's inputs are read back with one
    row group, not the whole file. Contributions are recomputed from them, exactly, rather than
    stored: the history keeps the inputs already (see benchmarks/change_storage.py)."""

    as_of: date
    model_version: str
    path: Path
    rows: np.ndarray  # int32, by position in the served batch
    group_starts: np.ndarray  # the first row of each row group, and the total at the end

    @classmethod
    def of(cls, batch: KeptBatch, pupils: pd.Index) -> KeptInputs | None:
        """The inputs kept with ``batch``, aligned to ``pupils``; None when it kept none."""
        path = inputs_file(batch.path)
        if not path.exists():
            return None
        source = pq.ParquetFile(path)
        kept = pd.Index(source.read(columns=["pupil_id"]).column("pupil_id").to_numpy(zero_copy_only=False))
        sizes = [source.metadata.row_group(g).num_rows for g in range(source.num_row_groups)]
        rows = kept.get_indexer(pupils) if kept.is_unique else np.full(len(pupils), -1)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        return cls(batch.as_of, batch.model_version, path, rows.astype(np.int32), starts)

    def row(self, position: int, features: list[str]) -> np.ndarray | None:
        """The encoded inputs (1 x features) of the pupil at ``position``; None if not in that batch."""
        row = int(self.rows[position])
        if row < 0:
            return None
        group = int(np.searchsorted(self.group_starts, row, side="right") - 1)
        table = pq.ParquetFile(self.path).read_row_group(group).slice(row - int(self.group_starts[group]), 1)
        return encoded_matrix(table.to_pandas(), features)


def pupil_history(history: Path, pupil_id: str) -> pd.DataFrame:
    """One pupil's risk and tier over successive batches, oldest first."""
    files = [kept.path for kept in kept_batches(history)]
    frames = [
        pq.read_table(
            f, columns=["pupil_id", "as_of", "risk", "tier", "model_version"], filters=[("pupil_id", "=", pupil_id)]
        ).to_pandas()
        for f in files
    ]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames).sort_values("as_of").reset_index(drop=True) if frames else pd.DataFrame()


def score_extract(
    extract: Path, as_of: date, model: LoadedModel, config: TierConfig, *, work_dir: Path,
    objections: Objections | None = None,
) -> ScoreBatch:  # fmt: skip
    """Features of a validated extract at ``as_of``, built as the model's own were (its feature
    config, DuckDB), model inputs only, the objected pupils left out; then :func:`score_frame`."""
    folder = Paths(work_dir).scoring_features(as_of)
    built = model.build_features(extract, folder, [as_of], purpose="scoring")
    frame = (objections or Objections()).drop(pd.read_parquet(built.features))
    return score_frame(frame, model.estimator, model.label, config)


def score_to_history(
    extract: Path, as_of: date, model: LoadedModel, config: TierConfig, *, work_dir: Path, history: Path,
    objections: Objections | None = None,
) -> tuple[Path, BatchSummary]:  # fmt: skip
    """Score a validated extract (plain or partitioned) at ``as_of`` straight into the score
    history: batch file, model inputs and metadata, written chunk by chunk
    (:func:`score_chunks`), so memory holds one chunk of features, not the batch (national
    scale). The features are built as the model's own were (its feature config, DuckDB); the
    pupils of ``objections`` (GDPR art. 21) are left out of the batch, and counted."""
    objections = objections or Objections()
    folder = Paths(work_dir).scoring_features(as_of)
    built = model.build_features(extract, folder, [as_of], purpose="scoring")
    path = history_file(history, as_of, model.label)
    inputs_file(path).parent.mkdir(parents=True, exist_ok=True)
    feature_schema = pq.read_schema(built.features)
    input_schema = pa.schema([feature_schema.field(c) for c in _input_columns(list(model.estimator.feature_names_in_))])
    with pq.ParquetWriter(path, SCORE_SCHEMA) as scores, pq.ParquetWriter(inputs_file(path), input_schema) as inputs:

        def sink(table: pa.Table, chunk_inputs: pd.DataFrame) -> None:
            scores.write_table(table)
            inputs.write_table(pa.Table.from_pandas(chunk_inputs, preserve_index=False).cast(input_schema))

        summary = score_chunks(
            file_chunks(built.features, config.chunk_rows, objections), model.estimator, model.label, config, sink
        )
    summary.metadata().write(path)
    left_out = objections.dropped(pq.read_table(built.features, columns=["pupil_id"]).to_pandas())
    return path, replace(summary, left_out=left_out)


def file_chunks(path: Path, rows: int, objections: Objections | None = None) -> Chunks:
    """A Parquet feature table read ``rows`` at a time, once per pass, without the objected pupils."""
    left_out = objections or Objections()

    def chunks() -> Iterator[pd.DataFrame]:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            chunk = left_out.drop(batch.to_pandas())
            if len(chunk):
                yield chunk

    return chunks


def top_of_batch(scores: pa.Table, n: int = 5) -> list[dict[str, Any]]:
    """The highest risks of the high tier, most at risk first, with their reasons' sentences."""
    frame = scores.filter(pa.compute.equal(scores["tier"], "high")).to_pandas()
    top = frame.sort_values("risk", ascending=False).head(n)
    return [
        {
            "pupil_id": r.pupil_id,
            "grade_level": r.grade_level,
            "risk": float(r.risk),
            "texts": [str(item["text"]) for item in r.reasons],
        }
        for r in top.itertuples()
    ]


@dataclass(frozen=True)
class HistoryBatch:
    """A batch of the score history read back whole: scores, model inputs and operating point."""

    as_of: date
    model_version: str
    point: OperatingPoint
    scores: pd.DataFrame  # pupil_id, school_id, grade_level, risk, tier, as_of
    inputs: pd.DataFrame  # pupil_id and the model inputs measured at as_of


def read_history_batches(
    history: Path, model_version: str, first: date, last: date, *, keep: Callable[[date, OperatingPoint], bool]
) -> tuple[list[HistoryBatch], list[date]]:
    """The batches ``model_version`` scored between ``first`` and ``last`` inclusive that ``keep``
    accepts (read), and the dates it refused (not read)."""
    kept: list[HistoryBatch] = []
    refused: list[date] = []
    for day in history_dates(history, model_version):
        if not first <= day <= last:
            continue
        point = read_batch_metadata(history_file(history, day, model_version)).operating_point
        if not keep(day, point):
            refused.append(day)
            continue
        scores, inputs = read_history_batch(history, day, model_version)
        kept.append(HistoryBatch(day, model_version, point, scores.assign(as_of=day), inputs.drop(columns="school_id")))
    return kept, refused
