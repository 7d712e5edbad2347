"""Baselines every model must beat on the same folds: the ABC flag rule and a logistic regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


class ABCRule(ClassifierMixin, BaseEstimator):
    """The "ABC" flag: Attendance (a month with 4+ unjustified half-days), Course (mean under
    8/20) or Conduct-free trajectory marker (repeating). Its score is the number of flags, ties
    broken at random (seeded) so that a capacity cut takes flagged pupils uniformly."""

    def __init__(self, *, grade_threshold: float = 8.0, random_state: int = 0) -> None:
        self.grade_threshold = grade_threshold
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: pd.Series | None = None) -> ABCRule:
        """Nothing to learn: the rule's flags are fixed; this records the classes, as scikit-learn expects of a fitted
        classifier."""
        self.classes_ = np.array([0, 1])
        return self

    def flags(self, X: pd.DataFrame) -> pd.DataFrame:
        """The three flags of each row: an attendance month, a low course mean, a repeated year."""
        return pd.DataFrame(
            {
                "attendance": X["months_with_4_unjustified_halfdays"].fillna(0) >= 1,
                "course": X["grade_mean_year"].fillna(20) < self.grade_threshold,
                "repeating": X["repeating"].fillna(0) >= 1,
            }
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """The flag count as a score in [0, 1], ties broken by the seeded jitter, so that the rule can be ranked and cut
        at a capacity like the model."""
        count = self.flags(X).sum(axis=1).to_numpy(dtype=float)
        jitter = np.random.default_rng(self.random_state).random(len(X)) * 1e-3
        score = (count + jitter) / 3.001
        return np.column_stack([1 - score, score])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 for a row with at least one flag: the rule as schools apply it by hand."""
        return self.flags(X).any(axis=1).to_numpy(dtype=int)


def logistic_baseline(random_state: int = 0) -> Pipeline:
    """Logistic regression on the same features: medians and missing flags, one-hot categories."""
    numeric = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler()
    )
    categorical = OneHotEncoder(handle_unknown="ignore")
    prepare = ColumnTransformer(
        [
            ("numeric", numeric, make_column_selector(dtype_include="number")),
            ("categorical", categorical, make_column_selector(dtype_include="category")),
        ]
    )
    model = LogisticRegression(C=0.5, max_iter=2000, class_weight=None, random_state=random_state)
    return Pipeline([("prepare", prepare), ("model", model)])
