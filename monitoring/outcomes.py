"""Performance once outcomes are known: a year after a batch, its risks meet what happened.

The figures are the training's own (:func:`models.metrics.classification_metrics`, lead
times) and the fairness audit's (:func:`fairness.review.review_snapshots`), computed on the
past batches of the serving version whose horizon has closed, beside the version's test-fold
figures, with bootstrap intervals drawn by pupil.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from fairness.config import FairnessConfig
from fairness.review import ReviewContext, review_snapshots
from models.base_rates import DateRate, rates_by_date, shift_from
from models.metrics import Interval, bootstrap_figures, lead_times, metric_name
from models.operating_point import OperatingPoint
from models.registry import TrainingRecord
from monitoring.config import OutcomeSettings


@dataclass
class OutcomeCheck:
    """One past batch (or all of them pooled) against the test fold."""

    as_of: list[date]
    #: The operating point the figures are measured at (the model's, or the config's override).
    operating_point: OperatingPoint
    pupils: int
    dropouts: int
    figures: dict[str, Interval]
    test_fold: dict[str, float]
    lead_days_median: float | None
    fairness_passed: bool | None
    fairness_detail: str
    fairness_breaches: list[str] = field(default_factory=list)
    #: Each past batch's observed dropout rate against its mean risk (the training's rule).
    base_rates: tuple[DateRate, ...] = ()
    #: French: the batches' rate outside the range of the dates the version learnt from, if so.
    base_rate_note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The check as the verdict's JSON holds it."""
        out = asdict(self)
        out["as_of"] = [d.isoformat() for d in self.as_of]
        out["operating_point"] = self.operating_point.model_dump(mode="json")
        out["base_rates"] = [r.model_dump(mode="json") for r in self.base_rates]
        return out

    @property
    def capacity(self) -> float:
        """The high tier's share the figures are measured at."""
        return self.operating_point.high


def metric_names(capacity: float) -> list[str]:
    """The figures followed over time, as ``classification_metrics`` names them."""
    return ["roc_auc", metric_name("precision", capacity), metric_name("recall", capacity), "ece"]


def bootstrap(
    y: np.ndarray, risk: np.ndarray, pupils: np.ndarray, settings: OutcomeSettings, capacity: float
) -> dict[str, Interval]:
    """Point figures and percentile intervals, drawing pupils (all of a pupil's snapshots together)."""
    figures = bootstrap_figures(
        y,
        risk,
        pupils=pupils,
        capacity=capacity,
        n_boot=settings.n_boot,
        seed=settings.seed,
        confidence=settings.confidence,
    )
    return {name: figures[name] for name in metric_names(capacity)}


def check_outcomes(
    labelled: pd.DataFrame,
    risk: np.ndarray,
    audit: pd.DataFrame,
    record: TrainingRecord,
    settings: OutcomeSettings,
    *,
    fairness: FairnessConfig,
    model_label: str,
    model_point: OperatingPoint,
) -> OutcomeCheck:
    """``labelled``: past snapshots (pupil_id, as_of, track, label, event_date) scored with
    ``risk``, judged at the model's operating point (``settings.capacity`` overrides its share),
    beside the version's ``record`` (its test-fold figures, its base rates by date)."""
    test_fold = record.test_metrics
    point = model_point.override(high=settings.capacity)
    y = labelled["label"].to_numpy(dtype=int)
    pupils = labelled["pupil_id"].to_numpy()
    figures = bootstrap(y, risk, pupils, settings, point.high)
    lead = lead_times(labelled, risk, point.high)
    dates = sorted(pd.to_datetime(labelled["as_of"]).dt.date.unique())
    context = ReviewContext(model_label, [d.isoformat() for d in dates], "monitoring", synthetic=False)
    fairness_passed: bool | None = None
    detail, breaches = "pas assez de décrocheurs pour juger l'équité", []
    if 0 < y.sum() < len(y):
        quick = fairness.model_copy(update={"mitigation": False})
        review = review_snapshots(labelled, risk, audit, quick, context, model_point)
        fairness_passed, detail, breaches = review.passed, review.detail, list(review.verdict.breaches)
    wanted = metric_names(point.high)
    rates = rates_by_date(labelled["as_of"].to_numpy(), y, risk)
    shift = shift_from(record.base_rates.learnt, rates) if record.base_rates is not None else None
    return OutcomeCheck(
        as_of=dates,
        operating_point=point,
        pupils=int(pd.Series(pupils).nunique()),
        dropouts=int(y.sum()),
        figures=figures,
        test_fold={k: v for k, v in test_fold.items() if k in wanted},
        lead_days_median=float(lead.median()) if len(lead) else None,
        fairness_passed=fairness_passed,
        fairness_detail=detail,
        fairness_breaches=breaches,
        base_rates=rates,
        base_rate_note=shift.sentence_fr("ces lots") if shift is not None else None,
    )
