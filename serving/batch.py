"""Batch scoring: the contract's score output for every pupil enrolled on D, with tiers and reasons.

Risk for everyone (fast), tiers by capacity (top ``high`` share overall or per school, then
the next ``medium`` share), and reasons in batch for the high and medium tiers only: exact
TreeSHAP is the costly part, so the low tier's reasons are computed on demand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from features.catalog import FEATURE_NAMES
from features.ingest import ContractError
from features.signals import build_features
from models.estimator import DropoutRiskModel
from models.matrix import encoded_matrix, feature_matrix
from models.metrics import capacity_count, capacity_rank, group_sizes
from models.reasons import LevelMeans, ReasonColumns, reason_columns
from models.reasons import reasons as build_reasons
from models.registry import LoadedModel

TIERS = ("high", "medium", "low")
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


class TierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    high: float = Field(default=0.10, gt=0, lt=1, description="share of pupils in the high tier")
    medium: float = Field(default=0.20, ge=0, lt=1, description="share in the next band")
    scope: Literal["overall", "school"] = "overall"
    reasons: int = Field(default=3, ge=1, le=10)
    chunk_rows: int = Field(default=50_000, ge=1000)


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


@dataclass
class ScoreBatch:
    scores: pa.Table
    thresholds: Thresholds
    model_version: str
    as_of: date
    #: The model inputs each pupil was scored on (keys and features, never a sensitive
    #: attribute), kept with the batch so that reasons on demand need no recomputation.
    inputs: pd.DataFrame | None = None
    #: The capacity the tiers were cut at (shares of pupils, scope), for pages that explain a tier.
    capacity: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        counts = pd.Series(self.scores.column("tier").to_pylist()).value_counts().to_dict()
        return {
            "as_of": self.as_of.isoformat(),
            "model_version": self.model_version,
            "rows": self.scores.num_rows,
            "tiers": counts,
            "thresholds": asdict(self.thresholds),
            "capacity": self.capacity,
        }


def references(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean of each numeric feature per grade level in the batch: the "au même niveau" figures."""
    numeric = [f for f in FEATURE_NAMES if f not in ("grade_level", "track")]
    return frame.groupby("grade_level")[numeric].mean()


def score_frame(frame: pd.DataFrame, model: DropoutRiskModel, model_version: str, config: TierConfig) -> ScoreBatch:
    """Score one as-of date's feature rows (pupil_id, as_of, school_id, grade_level and features)."""
    dates = pd.to_datetime(frame["as_of"]).dt.date.unique()
    if len(dates) != 1:
        raise ValueError(f"The frame parameter of score_frame must hold one as-of date. Got {len(dates)} instead.")
    features = list(model.feature_names_in_)
    risk = np.empty(len(frame))
    for start in range(0, len(frame), config.chunk_rows):
        chunk = frame.iloc[start : start + config.chunk_rows]
        risk[start : start + len(chunk)] = model.predict_proba(feature_matrix(chunk, features))[:, 1]
    tier, thresholds = tiers(risk, frame["school_id"].to_numpy(), frame["pupil_id"].to_numpy(), config)
    refs = LevelMeans.of(references(frame), features)
    explained = np.flatnonzero(tier != "low")
    parts = []
    for start in range(0, len(explained), config.chunk_rows):
        chunk = frame.iloc[explained[start : start + config.chunk_rows]]
        values = encoded_matrix(chunk, features)
        levels = chunk["grade_level"].to_numpy()
        parts.append(reason_columns(model.contributions(values), values, levels, features, refs, config.reasons))
    table = pa.table(
        {
            "pupil_id": frame["pupil_id"].astype(str).to_numpy(),
            "school_id": frame["school_id"].astype(str).to_numpy(),
            "grade_level": frame["grade_level"].astype(str).to_numpy(),
            "as_of": pa.array(pd.to_datetime(frame["as_of"]).dt.date, pa.date32()),
            "risk": risk,
            "tier": tier,
            "reasons": _reason_list(len(frame), explained, parts),
            "model_version": np.full(len(frame), model_version),
        },
        schema=SCORE_SCHEMA,
    )
    inputs = frame[["pupil_id", "school_id", *[f for f in features if f != "school_id"]]].reset_index(drop=True)
    capacity = {"high": config.high, "medium": config.medium, "scope": config.scope}
    return ScoreBatch(table, thresholds, model_version, dates[0], inputs, capacity)


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
) -> list[list[dict[str, object]]]:
    """Reasons on demand (a low-tier pupil, say), against the batch's grade-level references."""
    features = list(model.feature_names_in_)
    values = encoded_matrix(rows, features)
    means = refs if isinstance(refs, LevelMeans) else LevelMeans.of(refs, features)
    return build_reasons(model.contributions(values), values, rows["grade_level"].to_numpy(), features, means, k)


def write_scores(batch: ScoreBatch, out: Path, *, fmt: Literal["parquet", "csv"] = "parquet") -> Path:
    """The contract's score file (reasons as a JSON string in CSV) and its metadata beside it."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"scores_{batch.as_of.isoformat()}"
    if fmt == "parquet":
        path = out / f"{stem}.parquet"
        pq.write_table(batch.scores, path)
    else:
        path = out / f"{stem}.csv"
        frame = batch.scores.to_pandas()
        frame["reasons"] = [json.dumps(list(r), ensure_ascii=False) for r in frame["reasons"]]
        frame.to_csv(path, index=False)
    (out / f"{stem}.json").write_text(json.dumps(batch.metadata(), indent=2, ensure_ascii=False), encoding="utf-8")
    return path


#: Inside each ``as_of=D`` folder of the score history, the batches' model inputs.
INPUTS_FOLDER = "inputs"


def history_file(history: Path, as_of: date, model_version: str) -> Path:
    """Where the score history keeps the batch of ``model_version`` at ``as_of``."""
    return history / f"as_of={as_of.isoformat()}" / f"model_version={model_version.replace('/', '_')}.parquet"


def inputs_file(batch_file: Path) -> Path:
    """The model inputs kept beside a batch file of the score history."""
    return batch_file.parent / INPUTS_FOLDER / batch_file.name


def append_history(batch: ScoreBatch, history: Path) -> Path:
    """Keep every batch (one file per as-of date and model version) with its model inputs, to
    follow a pupil over time and explain any pupil of it later."""
    path = history_file(history, batch.as_of, batch.model_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(batch.scores, path)
    # Thresholds and capacity beside it: the service explains tiers with them.
    path.with_suffix(".json").write_text(json.dumps(batch.metadata(), indent=2, ensure_ascii=False), encoding="utf-8")
    if batch.inputs is not None:
        inputs_file(path).parent.mkdir(exist_ok=True)
        batch.inputs.to_parquet(inputs_file(path), index=False)
    return path


def history_dates(history: Path, model_version: str) -> list[date]:
    """The as-of dates of the batches ``model_version`` scored, oldest first."""
    found = history.glob(f"as_of=*/{history_file(history, date.min, model_version).name}")
    return sorted(date.fromisoformat(p.parent.name.removeprefix("as_of=")) for p in found)


def read_history_batch(history: Path, as_of: date, model_version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A kept batch: its scores (pupil_id, school_id, grade_level, risk, tier) and its model inputs."""
    path = history_file(history, as_of, model_version)
    if not path.exists() or not inputs_file(path).exists():
        raise ContractError(f"{path}: no batch of {model_version} at {as_of} with its inputs; run 'vigie score' first.")
    scores = pq.read_table(path, columns=["pupil_id", "school_id", "grade_level", "risk", "tier"]).to_pandas()
    return scores, pd.read_parquet(inputs_file(path))


def pupil_history(history: Path, pupil_id: str) -> pd.DataFrame:
    """One pupil's risk and tier over successive batches, oldest first."""
    files = sorted(history.glob("as_of=*/*.parquet"))
    frames = [
        pq.read_table(
            f, columns=["pupil_id", "as_of", "risk", "tier", "model_version"], filters=[("pupil_id", "=", pupil_id)]
        ).to_pandas()
        for f in files
    ]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames).sort_values("as_of").reset_index(drop=True) if frames else pd.DataFrame()


def score_extract(extract: Path, as_of: date, model: LoadedModel, config: TierConfig, *, work_dir: Path) -> ScoreBatch:
    """Features of a validated extract at ``as_of``, built as the model's own were (its feature
    config, DuckDB), model inputs only; then :func:`score_frame`."""
    folder = work_dir / "scoring" / f"features-{as_of.isoformat()}"
    features = model.features.config.at([as_of]).model_copy(update={"engine": "duckdb"})
    built = build_features(extract, folder, features, purpose="scoring")
    return score_frame(pd.read_parquet(built.features), model.estimator, model.label, config)


def top_of_batch(batch: ScoreBatch, n: int = 5) -> list[dict[str, Any]]:
    """The highest risks of the high tier, most at risk first, with their reasons' sentences."""
    frame = batch.scores.to_pandas()
    top = frame[frame["tier"] == "high"].sort_values("risk", ascending=False).head(n)
    return [
        {
            "pupil_id": r.pupil_id,
            "grade_level": r.grade_level,
            "risk": float(r.risk),
            "texts": [str(item["text"]) for item in r.reasons],
        }
        for r in top.itertuples()
    ]
