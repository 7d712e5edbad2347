"""What a mitigation would change: Fairlearn's ``ThresholdOptimizer`` on the calibrated risk,
compared with the unmitigated model on the same pupils.

Thresholds per group need each pupil's sensitive attribute *at scoring time*: that is why the
comparison is shown to reviewers and never used to score (``vigie score`` has no such option).
The optimiser is fitted on half of the pupils and judged on the other half. A group whose
fitting half holds a single outcome (no dropout at all, as small groups often have in a fold)
gives the optimiser nothing to equalise: it is left out of the comparison, and the report says so.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin

from models.metrics import top_k_mask

TOLERANCES = (0.0, 0.05, 0.1, 0.2)
CAPACITIES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
MIN_GROUP = 10


class RiskAsScore(ClassifierMixin, BaseEstimator):
    """A prefit 'estimator' whose input is the calibrated risk itself (one column)."""

    def fit(self, X: Any, y: Any = None) -> RiskAsScore:
        """Nothing to learn: the risk is already calibrated; this records the classes, as Fairlearn's post-processing
        expects of a fitted estimator."""
        self.classes_ = np.array([0, 1])
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict_proba(self, X: Any) -> np.ndarray:
        """The input risk as both classes' probabilities, so that Fairlearn thresholds the model's own risk."""
        risk = np.asarray(X, dtype=float).reshape(len(X), -1)[:, 0]
        return np.column_stack([1 - risk, risk])


@dataclass
class MitigationPoint:
    """One way of flagging pupils (unconstrained, or a Fairlearn constraint at a tolerance) and what it costs:
    precision, recall, the gaps between groups, and whether it needs the sensitive attribute when scoring."""

    method: str  # "sans correction" or the constraint and tolerance
    selection_rate: float
    precision: float
    recall: float
    tpr_range: float  # max - min TPR between groups (equal opportunity difference)
    selection_range: float  # demographic parity difference
    needs_sensitive_attribute_at_scoring: bool


@dataclass
class MitigationResult:
    """The mitigation trade-offs for one attribute, measured on pupils held out from those Fairlearn fitted on."""

    attribute: str
    groups: list[str]
    fit_pupils: int
    eval_pupils: int
    points: list[MitigationPoint]
    #: Groups left out of the comparison: one outcome only among their fitting half's pupils.
    left_out: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The trade-offs as the report's JSON holds them."""
        return {
            "attribute": self.attribute,
            "groups": self.groups,
            "left_out": self.left_out,
            "fit_pupils": self.fit_pupils,
            "eval_pupils": self.eval_pupils,
            "points": [asdict(p) for p in self.points],
        }


def _half(pupils: np.ndarray) -> np.ndarray:
    """A stable split of pupils in two halves (True: fitting half)."""
    return np.array([hashlib.sha256(str(p).encode()).digest()[0] % 2 == 0 for p in pupils])


def _point(method: str, y: np.ndarray, flagged: np.ndarray, groups: np.ndarray, needs: bool) -> MitigationPoint:
    tprs, rates = [], []
    for g in np.unique(groups):
        rows = groups == g
        if rows.sum() >= MIN_GROUP and y[rows].sum() >= MIN_GROUP:
            tprs.append(flagged[rows & (y == 1)].mean())
        if rows.sum() >= MIN_GROUP:
            rates.append(flagged[rows].mean())
    return MitigationPoint(
        method,
        float(flagged.mean()),
        float(y[flagged].mean()) if flagged.any() else float("nan"),
        float(flagged[y == 1].mean()) if y.any() else float("nan"),
        float(max(tprs) - min(tprs)) if len(tprs) > 1 else float("nan"),
        float(max(rates) - min(rates)) if len(rates) > 1 else float("nan"),
        needs,
    )


def single_outcome_groups(y: np.ndarray, labels: np.ndarray) -> list[str]:
    """Groups with one outcome class only (no dropout, or nothing but dropouts): Fairlearn's
    optimiser cannot place a threshold for them ("degenerate labels")."""
    return sorted(str(g) for g in np.unique(labels) if np.unique(y[labels == g]).size < 2)


def compare_mitigations(
    y: np.ndarray, risk: np.ndarray, as_of: np.ndarray, pupils: np.ndarray, groups: pd.Series, seed: int = 0
) -> MitigationResult:
    """The unmitigated model at several capacities, and ThresholdOptimizer under equal
    opportunity (true positive rate parity) at several tolerances, on the evaluation half.

    Groups with a single outcome in the fitting half are left out of both halves (named in
    ``left_out``); with fewer than two groups left, only the unmitigated points are given."""
    y = np.asarray(y, dtype=int)
    risk = np.asarray(risk, dtype=float)
    inside = groups.notna().to_numpy()
    labels = groups.astype(str).to_numpy()
    first_half = _half(np.asarray(pupils))
    left_out = single_outcome_groups(y[first_half & inside], labels[first_half & inside])
    inside = inside & ~np.isin(labels, left_out)
    fit, judge = first_half & inside, ~first_half & inside
    points = []
    for capacity in CAPACITIES:
        flagged = top_k_mask(risk, capacity, np.asarray(as_of), pupils=np.asarray(pupils))
        points.append(
            _point(f"sans correction, {capacity:.0%} signalés", y[judge], flagged[judge], labels[judge], False)
        )
    X_fit = pd.DataFrame({"risk": risk[fit]})
    X_judge = pd.DataFrame({"risk": risk[judge]})
    for tol in TOLERANCES if np.unique(labels[fit]).size > 1 else ():
        optimizer = ThresholdOptimizer(
            estimator=RiskAsScore(),
            constraints="true_positive_rate_parity",
            objective="balanced_accuracy_score",
            prefit=True,
            predict_method="predict_proba",
            tol=tol or None,
        )
        optimizer.fit(X_fit, y[fit], sensitive_features=labels[fit])
        flagged = optimizer.predict(X_judge, sensitive_features=labels[judge], random_state=seed).astype(bool)
        name = f"ThresholdOptimizer, égalité des chances, tolérance {tol:.2f}"
        points.append(_point(name, y[judge], flagged, labels[judge], True))
    return MitigationResult(
        str(groups.name),
        sorted(set(labels[inside])),
        int(pd.Series(pupils[fit]).nunique()),
        int(pd.Series(pupils[judge]).nunique()),
        points,
        left_out,
    )
