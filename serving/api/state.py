"""What the service serves: the champion model and its latest score batch, indexed in memory.

Loaded whole at start and on reload, then swapped in one assignment: a request sees the old
state or the new one, never half of each. A reload that fails leaves the old state serving and
says why in ``/readyz``.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import logging
import tempfile
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from mlflow.exceptions import MlflowException

from features.ingest import ContractError
from features.school import TIERS
from models.fairness_summary import FairnessSummary
from models.matrix import encoded_matrix
from models.objections import Objections
from models.reasons import LevelMeans
from models.registry import LoadedModel, ModelNotFoundError, load_registered
from models.version_record import newest_fairness_summary
from serving.api.access_log import AccessLogUnavailableError
from serving.api.rights import Suspensions
from serving.batch import (
    BatchMetadata,
    KeptBatch,
    KeptInputs,
    history_file,
    inputs_file,
    kept_batches,
    read_batch_metadata,
    references,
)

log = logging.getLogger(__name__)


class NothingToServeError(Exception):
    """No champion, or no score batch of the champion in the score history."""


@dataclass(frozen=True)
class ServedBatch:
    """One as-of date's scores, compact and by position: one array per column, the reasons as
    Arrow lists, the model inputs as one float array (explained without pandas on demand)."""

    as_of: date
    model_version: str
    index: pd.Index  # pupil_id -> position
    school: np.ndarray
    grade_level: np.ndarray
    track: np.ndarray
    tier: np.ndarray
    risk: np.ndarray
    previous_risk: np.ndarray  # NaN: not in the previous batch
    change: np.ndarray  # first, new_high, up, down, stable
    reasons: pa.ListArray  # list<struct<signal, value, contribution, text>>
    reason_texts: np.ndarray  # the reasons' sentences joined, for exports
    inputs: np.ndarray  # positions x features, models.matrix.encoded_matrix
    features: list[str]
    references: LevelMeans  # mean of each feature per grade level (the "au même niveau" figures)
    by_school: dict[str, np.ndarray]  # school -> positions, highest risk first (ties by pupil_id)
    counts: dict[str, dict[str, Any]]  # school -> counts by tier and by grade level
    history: list[tuple[date, str, np.ndarray, np.ndarray]]  # (as_of, version, risk, tier) by position
    #: The metadata written beside the batch: the operating point its tiers were cut at and the
    #: risk thresholds of each tier, which the pages and the API explain a tier with.
    metadata: BatchMetadata
    #: The previous batch's model inputs, when one is kept: why a risk changed.
    previous_inputs: KeptInputs | None = None

    @property
    def pupils(self) -> int:
        """How many pupils the batch scored."""
        return len(self.index)

    def position(self, pupil_id: str) -> int | None:
        """The pupil's row in the batch, or None if the batch does not hold them."""
        found = self.index.get_indexer(pd.Index([pupil_id]))[0]
        return None if found < 0 else int(found)

    def without(self, objections: Objections) -> ServedBatch:
        """The batch without the objected pupils (GDPR art. 21), in memory: lists, counts, pages
        and the API then know them no more than a pupil never scored. The grade-level means the
        reasons compare with are the loaded ones until the next reload (which drops them first)."""
        keep = objections.kept(self.index.to_numpy())
        if keep.all():
            return self
        kept = np.flatnonzero(keep)
        new_position = np.cumsum(keep) - 1
        by_school = {s: new_position[p[keep[p]]] for s, p in self.by_school.items() if keep[p].any()}
        school, level, tier = self.school[kept], self.grade_level[kept], self.tier[kept]
        return replace(
            self,
            index=self.index[kept],
            school=school,
            grade_level=level,
            track=self.track[kept],
            tier=tier,
            risk=self.risk[kept],
            previous_risk=self.previous_risk[kept],
            change=self.change[kept],
            reasons=self.reasons.take(pa.array(kept)),
            reason_texts=self.reason_texts[kept],
            inputs=self.inputs[kept],
            by_school=by_school,
            counts=_school_counts(school, level, tier),
            history=[(day, version, risk[kept], tiers[kept]) for day, version, risk, tiers in self.history],
            previous_inputs=None if self.previous_inputs is None else replace(
                self.previous_inputs, rows=self.previous_inputs.rows[kept]),
        )  # fmt: skip


def _batch_at(kept: list[KeptBatch], day: date, preferred_version: str) -> KeptBatch | None:
    """The batch of ``preferred_version`` at ``day``, else any batch of that day."""
    that_day = [batch for batch in kept if batch.as_of == day]
    name = history_file(Path(), day, preferred_version).name
    exact = [batch for batch in that_day if batch.path.name == name]
    return (exact or that_day)[-1] if that_day else None


def _shared(values: Any) -> np.ndarray:
    """A text column as an object array whose rows share one string per distinct value (a
    million rows of a few hundred schools: 8 MB of references, not a million strings)."""
    return np.asarray(pd.Categorical(np.asarray(values, dtype=object)), dtype=object)


def _joined_texts(reasons: pa.ListArray) -> np.ndarray:
    texts = pc.struct_field(reasons.flatten(), "text").to_numpy(zero_copy_only=False)
    offsets = reasons.offsets.to_numpy()
    return np.array([" ; ".join(texts[a:b]) for a, b in itertools.pairwise(offsets)], dtype=object)


def _school_counts(school: np.ndarray, level: np.ndarray, tier: np.ndarray) -> dict[str, dict[str, Any]]:
    table = pd.DataFrame({"school": school, "level": level, "tier": tier})
    tiers = list(TIERS)
    out: dict[str, dict[str, Any]] = {}
    for school_id, rows in table.groupby("school", sort=False):
        by_level = rows.groupby(["level", "tier"]).size().unstack(fill_value=0).reindex(columns=tiers, fill_value=0)
        out[str(school_id)] = {
            "by_tier": {t: int((rows["tier"] == t).sum()) for t in tiers},
            "by_grade_level": {
                str(lv): dict(zip(tiers, map(int, counts), strict=True))
                for lv, counts in zip(by_level.index, by_level.to_numpy().tolist(), strict=True)
            },
        }
    return out


def load_batch(
    history: Path, model_version: str, features: list[str], change_threshold: float,
    objections: Objections | None = None,
) -> ServedBatch:  # fmt: skip
    """The newest batch scored by ``model_version``, with the earlier batches aligned to it; the
    objected pupils (GDPR art. 21) dropped as it is read, before anything is computed."""
    kept = kept_batches(history)
    dates = [batch.as_of for batch in kept if batch.path == history_file(history, batch.as_of, model_version)]
    if not dates:
        raise NothingToServeError(f"no score batch of {model_version} in {history}: run 'vigie score' first")
    current = history_file(history, dates[-1], model_version)
    if not inputs_file(current).exists():
        raise NothingToServeError(f"{current}: the batch has no model inputs (scored by an older Vigie): score again")
    scores = pq.read_table(current)
    if objections:
        scores = scores.filter(pa.array(objections.kept(scores.column("pupil_id").to_numpy(zero_copy_only=False))))
    index = pd.Index(scores.column("pupil_id").to_numpy(zero_copy_only=False), name="pupil_id")
    if not index.is_unique:
        raise NothingToServeError(f"{current}: a pupil appears twice in the batch")
    table = pd.read_parquet(inputs_file(current)).set_index("pupil_id").reindex(index)
    inputs = encoded_matrix(table, features)
    history_rows, history_batches = [], []
    for day in sorted({batch.as_of for batch in kept if batch.as_of <= dates[-1]}):
        batch = _batch_at(kept, day, model_version)
        if batch is None:
            continue
        past = pq.read_table(batch.path, columns=["pupil_id", "risk", "tier"]).to_pandas().set_index("pupil_id")
        past = past[~past.index.duplicated()].reindex(index)
        history_rows.append((day, batch.model_version, past["risk"].to_numpy(np.float64), past["tier"].to_numpy()))
        history_batches.append(batch)
    risk = scores.column("risk").to_numpy()
    tier = _shared(scores.column("tier"))
    previous_risk, previous_tier = np.full(len(index), np.nan), np.full(len(index), None, dtype=object)
    previous_inputs = None
    if len(history_rows) > 1:
        previous_risk, previous_tier = history_rows[-2][2], history_rows[-2][3]
        previous_inputs = KeptInputs.of(history_batches[-2], index)
    school = _shared(scores.column("school_id"))
    level = _shared(scores.column("grade_level"))
    order = np.lexsort((index.to_numpy(), -risk))
    schools_in_order = school[order]
    by_school = {str(s): order[schools_in_order == s] for s in pd.unique(schools_in_order)}
    reasons = scores.column("reasons").combine_chunks()
    try:
        metadata = read_batch_metadata(current)
    except ContractError as error:
        raise NothingToServeError(str(error)) from None
    return ServedBatch(
        as_of=dates[-1],
        model_version=model_version,
        index=index,
        school=school,
        grade_level=level,
        track=_shared(table["track"].astype(str)),
        tier=tier,
        risk=risk,
        previous_risk=previous_risk,
        change=_changes(risk, tier, previous_risk, previous_tier, change_threshold),
        reasons=reasons,
        reason_texts=_joined_texts(reasons),
        inputs=inputs,
        features=features,
        references=LevelMeans.of(references(table.reset_index()), features),
        by_school=by_school,
        counts=_school_counts(school, level, tier),
        history=history_rows,
        metadata=metadata,
        previous_inputs=previous_inputs,
    )


def _changes(
    risk: np.ndarray, tier: np.ndarray, previous_risk: np.ndarray, previous_tier: np.ndarray, threshold: float
) -> np.ndarray:
    """first (no earlier batch), new_high (entered the high tier), up, down or stable."""
    delta = risk - previous_risk
    return np.select(
        [
            np.isnan(previous_risk),
            (tier == "high") & (previous_tier != "high"),
            delta >= threshold,
            delta <= -threshold,
        ],
        ["first", "new_high", "up", "down"],
        default="stable",
    )


@dataclass(frozen=True)
class Serving:
    """What the service answers from: the model version, its batch, model card and fairness summary, and when they were
    loaded."""

    model: LoadedModel
    batch: ServedBatch
    model_card: str  # Markdown, French
    fairness: FairnessSummary | None  # the newest fairness audit of the version
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The standing suspensions when the request was served (the stop switch, AI Act art. 14(4)(e)).
    suspensions: Suspensions = field(default_factory=Suspensions)
    #: The standing objections (GDPR art. 21): their pupils are out of ``batch`` already; records
    #: kept elsewhere (follow-up plans) are hidden by them too.
    objections: Objections = field(default_factory=Objections)


def _run_artifacts(run_id: str) -> tuple[str, FairnessSummary | None]:
    """The version's model card (Markdown) and its newest fairness report (JSON), from MLflow."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            card_dir = Path(
                mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="model_card", dst_path=tmp)
            )
            card = (card_dir / "model_card.md").read_text(encoding="utf-8")
        except (MlflowException, OSError):
            card = ""
    # an audit this code cannot read (older schema) is not shown; the model is still served
    return card, newest_fairness_summary(run_id)


def load_serving(
    model_name: str, reference: str, history: Path, change_threshold: float, objections: Objections | None = None
) -> Serving:
    """The model ``model_name@reference`` (an alias or version) and its newest batch from the score
    history (without the objected pupils), ready to serve; NothingToServeError when either cannot be read."""
    try:
        model = load_registered(model_name, reference)
    except ModelNotFoundError as error:
        raise NothingToServeError(str(error)) from error
    except MlflowException as error:
        raise NothingToServeError(f"model {model_name}@{reference} cannot be read from the registry") from error
    except ContractError as error:
        raise NothingToServeError(str(error)) from error
    batch = load_batch(history, model.label, list(model.estimator.feature_names_in_), change_threshold, objections)
    card, fairness = _run_artifacts(model.run_id)
    return Serving(model, batch, card, fairness)


def _return_freed_memory() -> None:
    """Give the heap freed by loading (the batch's transient tables) back to the system (glibc)."""
    with suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class ServiceState:
    """The current :class:`Serving`, swapped atomically; the last reload's failure, if any.

    It honours the objection register (GDPR art. 21): ``register`` reads the standing objections
    at each load, and :meth:`honour` applies the register read by each request, so that an
    objection takes effect at once, in every process serving the same database."""

    def __init__(
        self, model_name: str, reference: str, history: Path, change_threshold: float,
        register: Callable[[], Objections] | None = None,
    ) -> None:  # fmt: skip
        self._args = (model_name, reference, history, change_threshold)
        self._register = register or Objections
        self.objections = Objections()
        self.current: Serving | None = None
        self.last_error: str | None = None
        self._lock = threading.Lock()

    def honour(self, objections: Objections) -> None:
        """Serve without the pupils of ``objections``: new objections are dropped in memory at
        once; a withdrawn one needs the batch read again (the pupil comes back after it)."""
        if objections.pupils == self.objections.pupils:
            return
        with self._lock:
            if objections.pupils == self.objections.pupils:  # another request did it meanwhile
                return
            if objections.pupils >= self.objections.pupils:
                current = self.current
                if current is not None:
                    self.current = replace(current, batch=current.batch.without(objections))
                self.objections = objections
                return
            self._load()

    def reload(self) -> bool:
        """Load anew and swap; on failure keep serving what was there. True when swapped."""
        with self._lock:  # one reload at a time; readers never wait
            return self._load()

    def _load(self) -> bool:
        """The reload itself, under the lock; the register is read first (never served unread)."""
        try:
            objections = self._register()
            fresh = load_serving(*self._args, objections)
        except (NothingToServeError, OSError, ValueError, KeyError, AccessLogUnavailableError) as error:
            self.last_error = f"{type(error).__name__}: {error}"
            log.warning("reload failed, still serving the previous state: %s", self.last_error)
            return False
        self.current, self.last_error, self.objections = fresh, None, objections
        # A batch holds millions of objects that live until the next reload: leave them out
        # of the garbage collector's full passes, which would otherwise pause requests.
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _return_freed_memory()
        log.info("serving %s, batch of %s", fresh.model.label, fresh.batch.as_of)
        return True
