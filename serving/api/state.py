"""What the service serves: the champion model and its latest score batch, indexed in memory.

Loaded whole at start and on reload, then swapped in one assignment: a request sees the old
state or the new one, never half of each. A reload that fails leaves the old state serving and
says why in ``/readyz``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from mlflow.exceptions import MlflowException

from features.ingest import ContractError
from models.registry import LoadedModel, load_registered
from serving.batch import history_file, inputs_file, references

log = logging.getLogger(__name__)
TIER_ORDER = {"high": 0, "medium": 1, "low": 2}


class NothingToServeError(Exception):
    """No champion, or no score batch of the champion in the score history."""


@dataclass(frozen=True)
class ServedBatch:
    """One as-of date's scores with the model inputs, the previous batch and the history, by pupil."""

    as_of: date
    model_version: str
    frame: pd.DataFrame  # index pupil_id: school_id, grade_level, track, risk, tier, reasons, change, previous_risk
    inputs: pd.DataFrame  # index pupil_id: the model inputs the pupil was scored on
    references: pd.DataFrame  # mean of each feature per grade level (the "au même niveau" figures)
    by_school: dict[str, np.ndarray]  # school -> row positions, highest risk first (ties by pupil_id)
    history: list[tuple[date, str, np.ndarray, np.ndarray]]  # (as_of, version, risk, tier) aligned to frame
    thresholds: dict[str, Any]

    @property
    def pupils(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class Serving:
    model: LoadedModel
    batch: ServedBatch
    model_card: str  # Markdown, French
    fairness: dict[str, Any] | None  # the newest fairness report of the version (JSON)
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _batch_dates(history: Path) -> list[date]:
    return sorted(date.fromisoformat(p.name.removeprefix("as_of=")) for p in history.glob("as_of=*") if p.is_dir())


def _batch_at(history: Path, day: date, preferred_version: str) -> Path | None:
    """The batch of ``preferred_version`` at ``day``, else any batch of that day."""
    exact = history_file(history, day, preferred_version)
    if exact.exists():
        return exact
    others = sorted(exact.parent.glob("model_version=*.parquet"))
    return others[-1] if others else None


def _version_of(path: Path) -> str:
    return path.stem.removeprefix("model_version=").replace("_", "/", 1)


def load_batch(history: Path, model_version: str, change_threshold: float) -> ServedBatch:
    """The newest batch scored by ``model_version``, with the earlier batches aligned to it."""
    dates = [d for d in _batch_dates(history) if history_file(history, d, model_version).exists()]
    if not dates:
        raise NothingToServeError(f"no score batch of {model_version} in {history}: run 'vigie score' first")
    current = history_file(history, dates[-1], model_version)
    if not inputs_file(current).exists():
        raise NothingToServeError(f"{current}: the batch has no model inputs (scored by an older Vigie): score again")
    scores = pq.read_table(current).to_pandas().set_index("pupil_id")
    inputs = pd.read_parquet(inputs_file(current)).set_index("pupil_id").reindex(scores.index)
    frame = scores[["school_id", "grade_level", "risk", "tier", "reasons"]].copy()
    frame["track"] = inputs["track"].astype(str)
    frame["reasons"] = frame["reasons"].map(list)
    history_rows = []
    for day in _batch_dates(history):
        if day > dates[-1]:
            continue
        path = current if day == dates[-1] else _batch_at(history, day, model_version)
        if path is None:
            continue
        past = pq.read_table(path, columns=["pupil_id", "risk", "tier"]).to_pandas().set_index("pupil_id")
        past = past.reindex(frame.index)
        history_rows.append((day, _version_of(path), past["risk"].to_numpy(np.float32), past["tier"].to_numpy()))
    frame["previous_risk"], frame["previous_tier"] = np.nan, None
    if len(history_rows) > 1:
        frame["previous_risk"] = history_rows[-2][2].astype(float)
        frame["previous_tier"] = history_rows[-2][3]
    frame["change"] = _changes(frame, change_threshold)
    order = np.lexsort((frame.index.to_numpy(), -frame["risk"].to_numpy()))
    schools = frame["school_id"].to_numpy()[order]
    by_school = {str(s): order[schools == s] for s in pd.unique(schools)}
    metadata_file = current.with_suffix(".json")
    thresholds = json.loads(metadata_file.read_text(encoding="utf-8")) if metadata_file.exists() else {}
    return ServedBatch(
        dates[-1], model_version, frame, inputs, references(inputs.reset_index()), by_school, history_rows, thresholds
    )


def _changes(frame: pd.DataFrame, threshold: float) -> np.ndarray:
    """first (no earlier batch), new_high (entered the high tier), up, down or stable."""
    delta = frame["risk"] - frame["previous_risk"]
    return np.select(
        [
            frame["previous_risk"].isna(),
            (frame["tier"] == "high") & (frame["previous_tier"] != "high"),
            delta >= threshold,
            delta <= -threshold,
        ],
        ["first", "new_high", "up", "down"],
        default="stable",
    )


def _run_artifacts(run_id: str) -> tuple[str, dict[str, Any] | None]:
    """The version's model card (Markdown) and its newest fairness report (JSON), from MLflow."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            card_dir = Path(
                mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="model_card", dst_path=tmp)
            )
            card = (card_dir / "model_card.md").read_text(encoding="utf-8")
        except (MlflowException, OSError):
            card = ""
        reports = []
        try:
            folder = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="fairness", dst_path=tmp))
            reports = [json.loads(p.read_text(encoding="utf-8")) for p in folder.rglob("fairness_report.json")]
        except (MlflowException, OSError):
            pass
    newest = max(reports, key=lambda r: str(r.get("generated_at", ""))) if reports else None
    return card, newest


def load_serving(model_name: str, reference: str, history: Path, change_threshold: float) -> Serving:
    try:
        model = load_registered(model_name, reference)
    except MlflowException as error:
        raise NothingToServeError(f"model {model_name}@{reference} not found in the registry") from error
    except ContractError as error:
        raise NothingToServeError(str(error)) from error
    batch = load_batch(history, model.label, change_threshold)
    card, fairness = _run_artifacts(model.run_id)
    return Serving(model, batch, card, fairness)


class ServiceState:
    """The current :class:`Serving`, swapped atomically; the last reload's failure, if any."""

    def __init__(self, model_name: str, reference: str, history: Path, change_threshold: float) -> None:
        self._args = (model_name, reference, history, change_threshold)
        self.current: Serving | None = None
        self.last_error: str | None = None
        self._lock = threading.Lock()

    def reload(self) -> bool:
        """Load anew and swap; on failure keep serving what was there. True when swapped."""
        with self._lock:  # one reload at a time; readers never wait
            try:
                fresh = load_serving(*self._args)
            except (NothingToServeError, OSError, ValueError, KeyError) as error:
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("reload failed, still serving the previous state: %s", self.last_error)
                return False
            self.current, self.last_error = fresh, None
            log.info("serving %s, batch of %s", fresh.model.label, fresh.batch.as_of)
            return True
