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
from models.metrics import Interval, bootstrap_figures, lead_times
from monitoring.config import OutcomeSettings

#: The figures followed over time, as ``classification_metrics`` names them (capacity filled in).
FOLLOWED = ("roc_auc", "precision_at_{cap}", "recall_at_{cap}", "ece")


@dataclass
class OutcomeCheck:
    """One past batch (or all of them pooled) against the test fold."""

    as_of: list[date]
    pupils: int
    dropouts: int
    figures: dict[str, Interval]
    test_fold: dict[str, float]
    lead_days_median: float | None
    fairness_passed: bool | None
    fairness_detail: str
    fairness_breaches: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["as_of"] = [d.isoformat() for d in self.as_of]
        return out


def metric_names(capacity: float) -> list[str]:
    tag = f"{round(capacity * 100)}pct"
    return [name.format(cap=tag) for name in FOLLOWED]


def bootstrap(y: np.ndarray, risk: np.ndarray, pupils: np.ndarray, settings: OutcomeSettings) -> dict[str, Interval]:
    """Point figures and percentile intervals, drawing pupils (all of a pupil's snapshots together)."""
    figures = bootstrap_figures(
        y,
        risk,
        pupils=pupils,
        capacity=settings.capacity,
        n_boot=settings.n_boot,
        seed=settings.seed,
        confidence=settings.confidence,
    )
    return {name: figures[name] for name in metric_names(settings.capacity)}


def check_outcomes(
    labelled: pd.DataFrame,
    risk: np.ndarray,
    audit: pd.DataFrame,
    test_fold: dict[str, float],
    settings: OutcomeSettings,
    fairness: FairnessConfig,
    model_label: str,
) -> OutcomeCheck:
    """``labelled``: past snapshots (pupil_id, as_of, track, label, event_date) scored with ``risk``."""
    y = labelled["label"].to_numpy(dtype=int)
    pupils = labelled["pupil_id"].to_numpy()
    figures = bootstrap(y, risk, pupils, settings)
    lead = lead_times(labelled, risk, settings.capacity)
    dates = sorted(pd.to_datetime(labelled["as_of"]).dt.date.unique())
    context = ReviewContext(model_label, [d.isoformat() for d in dates], "monitoring", synthetic=False)
    fairness_passed: bool | None = None
    detail, breaches = "pas assez de décrocheurs pour juger l'équité", []
    if 0 < y.sum() < len(y):
        review = review_snapshots(labelled, risk, audit, fairness.model_copy(update={"mitigation": False}), context)
        fairness_passed, detail, breaches = review.passed, review.detail, list(review.verdict.breaches)
    wanted = metric_names(settings.capacity)
    return OutcomeCheck(
        as_of=dates,
        pupils=int(pd.Series(pupils).nunique()),
        dropouts=int(y.sum()),
        figures=figures,
        test_fold={k: v for k, v in test_fold.items() if k in wanted},
        lead_days_median=float(lead.median()) if len(lead) else None,
        fairness_passed=fairness_passed,
        fairness_detail=detail,
        fairness_breaches=breaches,
    )
