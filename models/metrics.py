"""Evaluation metrics shared by training, monitoring and fairness audits.

Capacity metrics follow how schools act: staff can follow k% of their pupils, so a model is
judged on the pupils it ranks in the top k% (overall, or within each school).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

CapacityMetric = Literal["precision", "recall"]


def metric_name(kind: CapacityMetric, capacity: float, *, per_school: bool = False) -> str:
    """The one spelling of a capacity metric: ``precision_at_15pct``, ``recall_at_10pct_per_school``."""
    return f"{kind}_at_{round(capacity * 100)}pct" + ("_per_school" if per_school else "")


def capacity_of(name: str) -> tuple[CapacityMetric, float, bool] | None:
    """What :func:`metric_name` spelled (kind, capacity, per school), or None for another metric."""
    for kind in ("precision", "recall"):
        prefix = f"{kind}_at_"
        if name.startswith(prefix):
            tag = name.removeprefix(prefix)
            per_school = tag.endswith("_per_school")
            share = tag.removesuffix("_per_school").removesuffix("pct")
            if share.isdigit():
                return kind, int(share) / 100, per_school
    return None


def reported_metrics(capacities: Iterable[float], operating: float) -> list[str]:
    """The metrics a training run reports, in the card's and the terminal's order: ranking,
    precision at each capacity (recall and per-school precision too at the operating one), error."""
    names = ["roc_auc", "pr_auc"]
    for capacity in sorted({*capacities, operating}):
        names.append(metric_name("precision", capacity))
        if capacity == operating:
            names += [metric_name("recall", capacity), metric_name("precision", capacity, per_school=True)]
    return [*names, "brier", "ece"]


def capacity_count(size: np.ndarray | int, share: float) -> np.ndarray:
    """How many pupils a capacity flags among ``size``: ceil(share x size).

    Rounded first, so that binary float error never flags one pupil too many: the high and
    medium tiers together take 0.1 + 0.2 = 0.30000000000000004, and 100 pupils times that has
    a ceiling of 31.
    """
    return np.ceil(np.round(np.asarray(size, dtype=float) * share, 9)).astype(np.int64)


def capacity_rank(score: np.ndarray, pupils: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """1 for the highest score of each group, 2 for the next...; equal scores in ``pupil_id`` order.

    The one ordering every capacity cut uses (training metrics, tiers, audits, monitoring), so a
    pupil is in or out of the top k% for the same reason everywhere and on every engine.
    """
    score = np.asarray(score, dtype=float)
    codes = np.zeros(len(score), dtype=np.int64) if groups is None else pd.factorize(np.asarray(groups))[0]
    order = np.lexsort((np.asarray(pupils), -score, codes))
    starts = np.searchsorted(codes[order], codes[order], side="left")
    rank = np.empty(len(score), dtype=np.int64)
    rank[order] = np.arange(len(score)) - starts + 1
    return rank


def group_sizes(groups: np.ndarray | None, n: int) -> np.ndarray:
    """The size of each row's group (all rows one group when ``groups`` is None)."""
    if groups is None:
        return np.full(n, n, dtype=np.int64)
    codes = pd.factorize(np.asarray(groups))[0]
    return np.bincount(codes)[codes]


def top_k_mask(
    score: np.ndarray, capacity: float, groups: np.ndarray | None = None, *, pupils: np.ndarray
) -> np.ndarray:
    """True for the ceil(capacity x n) highest scores, overall or within each group (ties by pupil)."""
    rank = capacity_rank(score, pupils, groups)
    return rank <= capacity_count(group_sizes(groups, len(rank)), capacity)


def precision_recall_at(
    y: np.ndarray, score: np.ndarray, capacity: float, groups: np.ndarray | None = None, *, pupils: np.ndarray
) -> tuple[float, float]:
    """Precision and recall when the top ``capacity`` share is flagged."""
    y = np.asarray(y, dtype=int)
    flagged = top_k_mask(score, capacity, groups, pupils=pupils)
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
    """The observed dropout rate against the mean predicted risk in ``bins`` equal-count bins: the points of a
    reliability diagram."""
    observed, predicted = calibration_curve(y, probability, n_bins=bins, strategy="quantile")
    return pd.DataFrame({"predicted": predicted, "observed": observed})


def classification_metrics(
    y: np.ndarray,
    probability: np.ndarray,
    *,
    pupils: np.ndarray,
    capacities: tuple[float, ...],
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
        overall = precision_recall_at(y, probability, capacity, pupils=pupils)
        out[metric_name("precision", capacity)], out[metric_name("recall", capacity)] = overall
        if schools is not None:
            per_school = precision_recall_at(y, probability, capacity, schools, pupils=pupils)
            out[metric_name("precision", capacity, per_school=True)] = per_school[0]
            out[metric_name("recall", capacity, per_school=True)] = per_school[1]
    return out


def metrics_by_group(
    frame: pd.DataFrame, probability: np.ndarray, by: str, *, capacities: tuple[float, ...]
) -> pd.DataFrame:
    """classification_metrics within each value of column ``by`` (grade level, track...)."""
    rows = {}
    for value, index in frame.groupby(by, observed=True).indices.items():
        rows[value] = classification_metrics(
            frame["label"].to_numpy()[index],
            probability[index],
            pupils=frame["pupil_id"].to_numpy()[index],
            capacities=capacities,
        )
    return pd.DataFrame(rows).T


def lead_times(frame: pd.DataFrame, probability: np.ndarray, capacity: float) -> pd.Series:
    """Days between a dropout pupil's first entry in the top ``capacity`` and the dropout.

    ``frame`` holds snapshots (pupil_id, as_of, event_date) over several as-of dates; each
    date is ranked on its own. Pupils never flagged before their event are left out.
    """
    flagged = top_k_mask(probability, capacity, frame["as_of"].to_numpy(), pupils=frame["pupil_id"].to_numpy())
    events = frame.assign(flagged=flagged)
    events = events[events["event_date"].notna() & events["flagged"]]
    events = events[pd.to_datetime(events["event_date"]) > pd.to_datetime(events["as_of"])]
    first = events.groupby("pupil_id").agg(first_flag=("as_of", "min"), event_date=("event_date", "first"))
    return (pd.to_datetime(first["event_date"]) - pd.to_datetime(first["first_flag"])).dt.days.rename("lead_days")


@dataclass(frozen=True)
class Interval:
    """A figure and its bootstrap percentile interval."""

    value: float
    lower: float
    upper: float


def pupil_weights(pupils: np.ndarray, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap draws of pupils, not rows (a pupil's snapshots are not independent): each
    draw gives every row the number of times its pupil was drawn. Weighted figures equal those
    of the rows repeated that many times, without building the repeated rows."""
    codes, unique = pd.factorize(np.asarray(pupils))
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        drawn = np.bincount(rng.integers(0, len(unique), len(unique)), minlength=len(unique))
        yield drawn[codes].astype(float)


def percentile_interval(point: float, draws: list[float], confidence: float) -> Interval:
    """``point`` with the central ``confidence`` share of the finite ``draws``."""
    values = np.asarray(draws, dtype=float)
    values = values[np.isfinite(values)]
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha]) if len(values) else (np.nan, np.nan)
    return Interval(float(point), float(low), float(high))


class WeightedFigures:
    """A score's figures under bootstrap weights, its sorts done once: each draw then costs a
    few passes over the rows. With every weight 1 they are :func:`classification_metrics`'
    figures: the Mann-Whitney ROC AUC (ties count half), precision and recall at a capacity
    (ties cut in pupil order, as :func:`capacity_rank`), and the equal-count-bins ECE."""

    def __init__(self, y: np.ndarray, score: np.ndarray, pupils: np.ndarray) -> None:
        y, score = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
        ascending = np.argsort(score, kind="stable")
        ordered = score[ascending]
        self.ascending, self.y_ascending, self.score_ascending = ascending, y[ascending], ordered
        self.tie_group = np.concatenate([[0], np.cumsum(ordered[1:] != ordered[:-1])])
        self.ranked = np.lexsort((np.asarray(pupils), -score))
        self.y_ranked = y[self.ranked]

    def roc_auc(self, weight: np.ndarray) -> float:
        """The Mann-Whitney ROC AUC of the score under ``weight`` (ties count half)."""
        w = weight[self.ascending]
        positives = np.bincount(self.tie_group, weights=w * self.y_ascending)
        negatives = np.bincount(self.tie_group, weights=w * (1 - self.y_ascending))
        below = np.cumsum(negatives) - negatives
        pairs = positives.sum() * negatives.sum()
        return float((positives * (below + 0.5 * negatives)).sum() / pairs) if pairs else float("nan")

    def precision_recall_at(self, weight: np.ndarray, capacity: float) -> tuple[float, float]:
        """Precision and recall of the top ``capacity`` share under ``weight``, the row at the cut counted in part."""
        w = weight[self.ranked]
        k = int(capacity_count(int(w.sum()), capacity))
        before = np.cumsum(w) - w
        taken = np.clip(np.minimum(w, k - before), 0, None)  # the row at the cut counts in part
        hits, positives = float((taken * self.y_ranked).sum()), float((w * self.y_ranked).sum())
        return (hits / k if k else float("nan")), (hits / positives if positives else float("nan"))

    def ece(self, weight: np.ndarray, bins: int = 10) -> float:
        """The expected calibration error under ``weight``, over ``bins`` equal-count bins as the unweighted ECE."""
        w = weight[self.ascending]
        total = int(w.sum())
        end = np.cumsum(w)
        start = end - w
        sizes = np.full(bins, total // bins) + (np.arange(bins) < total % bins)  # as np.array_split
        edges = np.concatenate([[0], np.cumsum(sizes)])
        gap = 0.0
        for low, high in itertools.pairwise(edges):
            share = np.clip(np.minimum(end, high) - np.maximum(start, low), 0, None)
            gap += abs(float((share * self.y_ascending).sum() - (share * self.score_ascending).sum()))
        return gap / total if total else float("nan")

    def figures(self, weight: np.ndarray, capacity: float) -> dict[str, float]:
        """ROC AUC, precision and recall at ``capacity``, and ECE under ``weight``, named as the metrics of the test
        fold are."""
        precision, recall = self.precision_recall_at(weight, capacity)
        return {
            "roc_auc": self.roc_auc(weight),
            metric_name("precision", capacity): precision,
            metric_name("recall", capacity): recall,
            "ece": self.ece(weight),
        }


def bootstrap_figures(
    y: np.ndarray,
    score: np.ndarray,
    *,
    pupils: np.ndarray,
    capacity: float,
    n_boot: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Interval]:
    """ROC AUC, precision and recall at ``capacity`` and ECE, each with its interval from
    ``n_boot`` draws of pupils (:func:`pupil_weights`)."""
    weighted = WeightedFigures(y, score, pupils)
    return _bootstrap(lambda weight: weighted.figures(weight, capacity), pupils, n_boot, seed, confidence)


def compare_rankings(
    y: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    *,
    pupils: np.ndarray,
    capacity: float,
    n_boot: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Interval]:
    """``first`` minus ``second`` on the same rows — ROC AUC and precision at ``capacity`` —
    with paired bootstrap intervals (the same pupils drawn for both): is one model really better?"""
    tag = metric_name("precision", capacity)
    a, b = (WeightedFigures(y, score, pupils) for score in (first, second))

    def gaps(weight: np.ndarray) -> dict[str, float]:
        return {
            "roc_auc": a.roc_auc(weight) - b.roc_auc(weight),
            tag: a.precision_recall_at(weight, capacity)[0] - b.precision_recall_at(weight, capacity)[0],
        }

    return _bootstrap(gaps, pupils, n_boot, seed, confidence)


def _bootstrap(
    figures: Callable[[np.ndarray], dict[str, float]], pupils: np.ndarray, n_boot: int, seed: int, confidence: float
) -> dict[str, Interval]:
    """``figures`` at weight 1 (the point) and under each draw of pupils (the interval)."""
    point = figures(np.ones(len(pupils)))
    draws: dict[str, list[float]] = {name: [] for name in point}
    for weight in pupil_weights(pupils, n_boot, seed):
        for name, value in figures(weight).items():
            draws[name].append(value)
    return {name: percentile_interval(point[name], draws[name], confidence) for name in point}
