"""Per-group metrics at the capacity operating point, with bootstrap intervals and suppression.

Point figures come from Fairlearn's ``MetricFrame``. Intervals come from a bootstrap over
*pupils* rather than rows: a pupil appears at several as-of dates of a test fold, and
resampling rows would treat those snapshots as independent (intervals too narrow). It is also
what keeps the audit fast: ``MetricFrame(n_boot=...)`` costs about a microsecond per row, metric
and sample in Fairlearn 0.15 (545 s for one fold of 11,500 pupils), the loop below a few seconds.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from scipy.stats import rankdata

from fairness.config import FairnessConfig
from fairness.groups import attribute_label
from features import french
from models.metrics import expected_calibration_error, reliability_curve, top_k_mask
from models.operating_point import DEFAULT_HIGH_SHARE

SUPPRESSED = french.SUPPRESSED
MetricFn = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def _share(numerator: np.ndarray, denominator: np.ndarray) -> float:
    count = int(denominator.sum())
    return float((numerator & denominator).sum() / count) if count else float("nan")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def _auc(y: np.ndarray, risk: np.ndarray, flagged: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties averaged, as ``roc_auc_score``), without
    scikit-learn's input checks, which cost more than the sum on a bootstrap's thousands of calls."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return float("nan")
    ranks = rankdata(risk)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


#: name -> (function of y, risk, flagged; the count a value rests on, for suppression)
METRICS: dict[str, tuple[MetricFn, str]] = {
    "n": (lambda y, risk, flagged: float(len(y)), "n"),
    "base_rate": (lambda y, risk, flagged: float(np.mean(y)), "n"),
    "selection_rate": (lambda y, risk, flagged: float(np.mean(flagged)), "n"),
    "tpr": (lambda y, risk, flagged: _share(flagged, y == 1), "positives"),
    "fpr": (lambda y, risk, flagged: _share(flagged, y == 0), "negatives"),
    "precision": (lambda y, risk, flagged: _share(y == 1, flagged), "flagged"),
    "fnr": (lambda y, risk, flagged: _share(~flagged, y == 1), "positives"),
    "auc": (_auc, "positives_and_negatives"),
    # Calibration rests on the dropouts observed: with fewer than ``min_cell`` of them, every
    # bootstrap sample of a group sees (nearly) none and the interval is falsely narrow.
    "ece": (lambda y, risk, flagged: expected_calibration_error(y, risk, bins=5), "positives"),
    "calibration_gap": (lambda y, risk, flagged: float(np.mean(risk) - np.mean(y)), "positives"),
    # The same judged against the group's own rate: 0.5 = half the dropouts the risk announced.
    "observed_expected": (lambda y, risk, flagged: _ratio(float(np.mean(y)), float(np.mean(risk))), "positives"),
}


def group_metrics(y_true: np.ndarray, y_pred: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """Every metric of one group, in the order of :data:`METRICS`.

    One function for ``MetricFrame`` rather than ten: Fairlearn re-stacks each input array
    for every metric and group (about a microsecond a row), ten times the work for one answer.
    """
    return np.array([fn(y_true, y_pred, flagged) for fn, _ in METRICS.values()])


#: name -> (metric compared between groups, how)
DISPARITIES: dict[str, tuple[tuple[str, ...], str]] = {
    "demographic_parity_difference": (("selection_rate",), "difference"),
    "demographic_parity_ratio": (("selection_rate",), "ratio"),
    "equal_opportunity_difference": (("tpr",), "difference"),
    "false_positive_rate_difference": (("fpr",), "difference"),
    "equalized_odds_difference": (("tpr", "fpr"), "difference"),
    "calibration_gap_difference": (("calibration_gap",), "difference"),
}


@dataclass
class Estimate:
    """A figure with its bootstrap interval; None where a group is too small to show it."""

    value: float | None
    lower: float | None
    upper: float | None

    def as_dict(self) -> dict[str, float | None]:
        """The estimate as the report's JSON holds it."""
        return {"value": self.value, "lower": self.lower, "upper": self.upper}


@dataclass
class AttributeAudit:
    """The audit of one sensitive attribute: each group's figures, the disparities between groups with their intervals,
    the alerts they raise and each group's reliability curve."""

    attribute: str
    groups: list[str]
    cells: dict[str, dict[str, Estimate | None]]  # group -> metric -> estimate (None: suppressed)
    disparities: dict[str, Estimate | None]  # None: fewer than two groups large enough
    compared: dict[str, list[str]]  # disparity -> the groups it compares
    alerts: list[str]
    reliability: dict[str, list[tuple[float, float]]]  # group -> (mean risk, observed rate) per bin

    @property
    def status(self) -> str | None:
        """Why nothing is compared for this attribute, in French; None when groups are compared."""
        if not self.groups:
            return "aucun élève concerné"
        if len(self.groups) == 1:
            return f"un seul groupe ({self.groups[0]})"
        if all(d is None for d in self.disparities.values()):
            return "moins de deux groupes assez grands pour être comparés"
        return None

    def as_dict(self) -> dict[str, Any]:
        """The attribute's audit as the report's JSON holds it, suppressed cells marked as such."""
        return {
            "attribute": self.attribute,
            "status": self.status,
            "groups": {
                g: {m: (e.as_dict() if e is not None else SUPPRESSED) for m, e in cells.items()}
                for g, cells in self.cells.items()
            },
            "disparities": {k: (e.as_dict() if e else None) for k, e in self.disparities.items()},
            "compared_groups": self.compared,
            "alerts": self.alerts,
            "reliability": {g: [list(p) for p in pts] for g, pts in self.reliability.items()},
        }


@dataclass
class AuditResult:
    """A whole fairness audit at one capacity: how many snapshots, pupils and dropouts it judged, with how many
    bootstrap draws, and one audit per attribute."""

    capacity: float
    n: int
    positives: int
    pupils: int
    n_boot: int
    confidence: float
    min_cell: int
    attributes: list[AttributeAudit] = field(default_factory=list)

    @property
    def alerts(self) -> list[str]:
        """Every attribute's alerts, in attribute order."""
        return [alert for a in self.attributes for alert in a.alerts]

    def as_dict(self) -> dict[str, Any]:
        """The audit as the report's JSON holds it."""
        return {
            "capacity": self.capacity,
            "snapshots": self.n,
            "pupils": self.pupils,
            "positives": self.positives,
            "bootstrap_samples": self.n_boot,
            "confidence": self.confidence,
            "min_cell": self.min_cell,
            "suppressed_marker": SUPPRESSED,
            "alerts": self.alerts,
            "attributes": [a.as_dict() for a in self.attributes],
        }


def _per_group(y: np.ndarray, risk: np.ndarray, flagged: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """groups x metrics, the same functions as the point estimates."""
    out = np.full((k, len(METRICS)), np.nan)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    for g in range(k):
        rows = order[bounds[g] : bounds[g + 1]]
        if rows.size:
            out[g] = group_metrics(y[rows], risk[rows], flagged[rows])
    return out


def _disparity(values: np.ndarray, columns: list[int], how: str) -> np.ndarray:
    """Between-group difference (max - min) or ratio (min / max) over axis -2, max over metrics."""
    chosen = values[..., columns]
    if how == "ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            result = np.nanmin(chosen, axis=-2) / np.nanmax(chosen, axis=-2)
    else:
        result = np.nanmax(chosen, axis=-2) - np.nanmin(chosen, axis=-2)
    return np.asarray(np.max(result, axis=-1))


def _pupil_samples(pupils: np.ndarray, n_boot: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Row indices of ``n_boot`` samples drawn by pupil, with replacement, one at a time."""
    codes, first = pd.factorize(pupils)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(first)))
    lengths = np.diff(np.append(starts, len(codes)))
    for _ in range(n_boot):
        drawn = rng.integers(0, len(first), len(first))
        size = lengths[drawn]
        offsets = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
        yield order[np.repeat(starts[drawn], size) + offsets]


def _counts(point: np.ndarray) -> dict[str, np.ndarray]:
    """The counts each group's figures rest on, read back from its point figures."""
    names = list(METRICS)
    n = point[:, names.index("n")]
    positives = np.rint(n * point[:, names.index("base_rate")])
    negatives = n - positives
    return {
        "n": n,
        "positives": positives,
        "negatives": negatives,
        "flagged": np.rint(n * point[:, names.index("selection_rate")]),
        "positives_and_negatives": np.minimum(positives, negatives),
    }


def _clean(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


@dataclass
class _Figures:
    """One attribute's point figures, and the group codes its bootstrap needs."""

    attribute: str
    labels: pd.Series
    inside: np.ndarray  # rows the attribute applies to
    order: list[str]  # groups, in MetricFrame's order
    point: np.ndarray  # groups x metrics
    codes: np.ndarray  # group of each row; len(order) outside the attribute's scope


def _point_figures(attribute: str, labels: pd.Series, y: np.ndarray, risk: np.ndarray, flagged: np.ndarray) -> _Figures:
    inside = labels.notna().to_numpy()
    if not inside.any():  # the attribute applies to nobody here (no collège, say): nothing to compare
        empty = np.full(len(labels), 0, dtype=np.int16)
        return _Figures(attribute, labels, inside, [], np.empty((0, len(METRICS))), empty)
    frame = MetricFrame(
        metrics={"all": group_metrics},
        y_true=y[inside],
        y_pred=risk[inside],
        sensitive_features=labels[inside].astype(str).to_numpy(),
        sample_params={"all": {"flagged": flagged[inside]}},
    )
    order = [str(g) for g in frame.by_group.index]
    point = np.stack(frame.by_group["all"].to_numpy()).astype(float)
    # int16 codes: numpy's stable sort of 16-bit integers is a radix sort (linear)
    codes = pd.Categorical(labels.astype(object), categories=order).codes.astype(np.int16)
    return _Figures(attribute, labels, inside, order, point, np.where(inside, codes, len(order)).astype(np.int16))


def _bootstrap(
    figures: list[_Figures],
    y: np.ndarray,
    risk: np.ndarray,
    as_of: np.ndarray,
    pupils: np.ndarray,
    *,
    config: FairnessConfig,
    capacity: float,
) -> list[np.ndarray]:
    """samples x groups x metrics for each attribute.

    Each sample re-draws pupils and re-applies the capacity cut, as a new school year would.
    Its rows are put in risk order once: the groups' AUC and ECE sort by risk, and a stable
    sort of sorted data is linear. Samples are made one at a time (memory stays flat).
    """
    boots = [np.full((config.n_boot, len(f.order), len(METRICS)), np.nan) for f in figures]
    samples = _pupil_samples(pupils, config.n_boot, np.random.default_rng(config.seed))
    in_id_order = pd.factorize(pupils, sort=True)[0]  # integer codes that sort as the pupil ids do
    for b, drawn in enumerate(samples):
        rows = drawn[np.argsort(risk[drawn], kind="stable")]
        y_s, risk_s = y[rows], risk[rows]
        cut = top_k_mask(risk_s, capacity, as_of[rows], pupils=in_id_order[rows])
        for f, boot in zip(figures, boots, strict=True):
            boot[b] = _per_group(y_s, risk_s, cut, f.codes[rows], len(f.order))
    return boots


def _attribute_audit(
    f: _Figures, boot: np.ndarray, y: np.ndarray, risk: np.ndarray, config: FairnessConfig
) -> AttributeAudit:
    alpha = (1 - config.confidence) / 2
    names = list(METRICS)
    with warnings.catch_warnings():  # a cell can be empty in every sample (it is then suppressed)
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(boot, [alpha, 1 - alpha], axis=0) if f.order else np.empty((2, 0, len(names)))
    labels = f.labels[f.inside].astype(str)
    counts = _counts(f.point)
    cells: dict[str, dict[str, Estimate | None]] = {}
    for gi, g in enumerate(f.order):
        row: dict[str, Estimate | None] = {}
        for mi, (metric, (_, basis)) in enumerate(METRICS.items()):
            small = min(counts["n"][gi], counts[basis][gi]) < config.min_cell
            estimate = Estimate(_clean(f.point[gi, mi]), _clean(low[gi, mi]), _clean(high[gi, mi]))
            row[metric] = None if small else estimate
        cells[g] = row
    disparities: dict[str, Estimate | None] = {}
    compared: dict[str, list[str]] = {}
    for key, (metrics, how) in DISPARITIES.items():
        columns = [names.index(m) for m in metrics]
        eligible = [gi for gi, g in enumerate(f.order) if all(cells[g][m] is not None for m in metrics)]
        compared[key] = [f.order[gi] for gi in eligible]
        if len(eligible) < 2:
            disparities[key] = None
            continue
        value = float(_disparity(f.point[eligible], columns, how))
        draws = _disparity(boot[:, eligible], columns, how)
        # No draw measurable (a group flagged in none of them, say): no interval, and no warning.
        lo, hi = np.nanquantile(draws, [alpha, 1 - alpha]) if np.isfinite(draws).any() else (np.nan, np.nan)
        disparities[key] = Estimate(_clean(value), _clean(lo), _clean(hi))
    return AttributeAudit(
        f.attribute,
        f.order,
        cells,
        disparities,
        compared,
        _alerts(f.attribute, cells, config.calibration_tolerance, config.calibration_ratio_tolerance),
        _reliability(y[f.inside], risk[f.inside], labels, f.order, counts["n"], min_cell=config.min_cell),
    )


def audit_predictions(
    y: np.ndarray,
    risk: np.ndarray,
    as_of: np.ndarray,
    pupils: np.ndarray,
    groups: pd.DataFrame,
    config: FairnessConfig,
) -> AuditResult:
    """Flag the top ``config.capacity`` at each as-of date (a model's audit fills it in from its
    operating point, :meth:`FairnessConfig.at`; empty, the default high share), then compare the
    groups of every column."""
    capacity = config.capacity if config.capacity is not None else DEFAULT_HIGH_SHARE
    y = np.asarray(y, dtype=int)
    risk = np.asarray(risk, dtype=float)
    as_of, pupils = np.asarray(as_of), np.asarray(pupils)
    flagged = top_k_mask(risk, capacity, as_of, pupils=pupils)
    figures = [_point_figures(str(a), groups[a], y, risk, flagged) for a in groups.columns]
    boots = _bootstrap(figures, y, risk, as_of, pupils, config=config, capacity=capacity)
    return AuditResult(
        capacity,
        len(y),
        int(y.sum()),
        int(pd.Series(pupils).nunique()),
        config.n_boot,
        config.confidence,
        config.min_cell,
        [_attribute_audit(f, boot, y, risk, config) for f, boot in zip(figures, boots, strict=True)],
    )


def _bounds(estimate: Estimate | None) -> tuple[float, float, float] | None:
    """(value, lower, upper) when the estimate and its whole interval are known."""
    if estimate is None or estimate.value is None or estimate.lower is None or estimate.upper is None:
        return None
    return estimate.value, estimate.lower, estimate.upper


def _alerts(
    attribute: str, cells: dict[str, dict[str, Estimate | None]], tolerance: float, ratio_tolerance: float
) -> list[str]:
    """Groups whose risk is over- or under-estimated on the whole interval: by more than
    ``tolerance`` points, or by more than ``ratio_tolerance`` of the group's own dropout rate."""
    alerts = []
    name = attribute_label(attribute)
    for group, row in cells.items():
        gap, ratio = _bounds(row["calibration_gap"]), _bounds(row["observed_expected"])
        if gap is not None and (gap[1] > tolerance or gap[2] < -tolerance):
            way = "surestimé" if gap[1] > tolerance else "sous-estimé"
            alerts.append(
                f"{name} — {group} : risque {way} de {french.points(abs(gap[0]))} points en moyenne "
                f"(intervalle {french.points(gap[1])} à {french.points(gap[2])})"
            )
        elif ratio is not None and (ratio[2] < 1 / (1 + ratio_tolerance) or ratio[1] > 1 + ratio_tolerance):
            way = "surestimé" if ratio[2] < 1 else "sous-estimé"
            per_100 = [french.integer(100 * v) for v in ratio]
            alerts.append(
                f"{name} — {group} : risque {way} au regard du taux du groupe, {per_100[0]} décrochages "
                f"observés pour 100 attendus (intervalle {per_100[1]} à {per_100[2]})"
            )
    return alerts


def _reliability(
    y: np.ndarray, risk: np.ndarray, labels: pd.Series, order: list[str], n: np.ndarray, *, min_cell: int, bins: int = 5
) -> dict[str, list[tuple[float, float]]]:
    """Reliability points of the groups large enough for every bin to hold ``min_cell`` pupils."""
    curves = {}
    values = labels.to_numpy()
    for group in [g for g, size in zip(order, n, strict=True) if size >= bins * min_cell]:
        rows = values == group
        curve = reliability_curve(y[rows], risk[rows], bins=bins)
        curves[str(group)] = [(float(p), float(o)) for p, o in zip(curve["predicted"], curve["observed"], strict=True)]
    return curves
