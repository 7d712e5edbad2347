"""Evaluation metrics shared by training, monitoring and fairness audits.

Capacity metrics follow how schools act: staff can follow k% of their pupils, so a model is
judged on the pupils it ranks in the top k% (overall, or within each school).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def top_k_mask(score: np.ndarray, capacity: float, groups: np.ndarray | None = None) -> np.ndarray:
    """True for the ceil(capacity x n) highest scores, overall or within each group."""
    score = np.asarray(score, dtype=float)
    if groups is None:
        groups = np.zeros(len(score), dtype=int)
    frame = pd.DataFrame({"score": score, "group": groups})
    rank = frame.groupby("group")["score"].rank(method="first", ascending=False)
    size = frame.groupby("group")["score"].transform("size")
    return (rank <= np.ceil(capacity * size)).to_numpy()


def precision_recall_at(
    y: np.ndarray, score: np.ndarray, capacity: float, groups: np.ndarray | None = None
) -> tuple[float, float]:
    """Precision and recall when the top ``capacity`` share is flagged."""
    y = np.asarray(y, dtype=int)
    flagged = top_k_mask(score, capacity, groups)
    precision = float(y[flagged].mean()) if flagged.any() else float("nan")
    recall = float(y[flagged].sum() / y.sum()) if y.sum() else float("nan")
    return precision, recall


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean probability| over equal-count bins, weighted by bin size."""
    y, probability = np.asarray(y, dtype=float), np.asarray(probability, dtype=float)
    order = np.argsort(probability, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, bins):
        if len(chunk):
            total += len(chunk) * abs(y[chunk].mean() - probability[chunk].mean())
    return total / len(y)


def reliability_curve(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> pd.DataFrame:
    observed, predicted = calibration_curve(y, probability, n_bins=bins, strategy="quantile")
    return pd.DataFrame({"predicted": predicted, "observed": observed})


def classification_metrics(
    y: np.ndarray,
    probability: np.ndarray,
    *,
    capacities: tuple[float, ...] = (0.05, 0.1, 0.2),
    schools: np.ndarray | None = None,
) -> dict[str, float]:
    """ROC AUC, PR AUC, Brier, ECE, and precision/recall at each capacity (overall, per school)."""
    y = np.asarray(y, dtype=int)
    both = 0 < y.sum() < len(y)
    out = {
        "n": float(len(y)),
        "positives": float(y.sum()),
        "roc_auc": float(roc_auc_score(y, probability)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, probability)) if both else float("nan"),
        "brier": float(brier_score_loss(y, probability)),
        "ece": expected_calibration_error(y, probability),
    }
    for capacity in capacities:
        tag = f"{round(capacity * 100)}pct"
        out[f"precision_at_{tag}"], out[f"recall_at_{tag}"] = precision_recall_at(y, probability, capacity)
        if schools is not None:
            per_school = precision_recall_at(y, probability, capacity, schools)
            out[f"precision_at_{tag}_per_school"], out[f"recall_at_{tag}_per_school"] = per_school
    return out


def metrics_by_group(
    frame: pd.DataFrame, probability: np.ndarray, by: str, *, capacities: tuple[float, ...] = (0.1,)
) -> pd.DataFrame:
    """classification_metrics within each value of column ``by`` (grade level, track...)."""
    rows = {}
    for value, index in frame.groupby(by, observed=True).indices.items():
        rows[value] = classification_metrics(
            frame["label"].to_numpy()[index], probability[index], capacities=capacities
        )
    return pd.DataFrame(rows).T


def lead_times(frame: pd.DataFrame, probability: np.ndarray, capacity: float = 0.1) -> pd.Series:
    """Days between a dropout pupil's first entry in the top ``capacity`` and the dropout.

    ``frame`` holds snapshots (pupil_id, as_of, event_date) over several as-of dates; each
    date is ranked on its own. Pupils never flagged before their event are left out.
    """
    flagged = np.zeros(len(frame), dtype=bool)
    for _, index in frame.groupby("as_of").indices.items():
        flagged[index] = top_k_mask(probability[index], capacity)
    events = frame.assign(flagged=flagged)
    events = events[events["event_date"].notna() & events["flagged"]]
    events = events[pd.to_datetime(events["event_date"]) > pd.to_datetime(events["as_of"])]
    first = events.groupby("pupil_id").agg(first_flag=("as_of", "min"), event_date=("event_date", "first"))
    return (pd.to_datetime(first["event_date"]) - pd.to_datetime(first["first_flag"])).dt.days.rename("lead_days")
