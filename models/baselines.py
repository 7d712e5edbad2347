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


#: The environment a pupil is in: what the environment-only baseline may know of them.
ENVIRONMENT_KEYS: tuple[str, ...] = ("school_id", "grade_level", "track")
#: Pseudo-count pulling a small group's past dropout rate towards the rate of every pupil known.
ENVIRONMENT_SMOOTHING = 20.0


class EnvironmentBaseline(ClassifierMixin, BaseEstimator):
    """Risk from the pupil's environment only: school, grade level and track, and their past dropout
    rates known at the as-of date — no individual signal (issue 28: is individual profiling needed?).

    ``history``: labelled snapshots (``school_id``, ``grade_level``, ``track``, ``as_of``, ``label``).
    A rate at date D uses only the snapshots whose horizon had closed by D (as_of + horizon <= D),
    the labels a school could know then: no leakage. Inputs ``X`` carry the keys and ``as_of``.
    """

    def __init__(self, *, history: pd.DataFrame, horizon_days: int, random_state: int = 0) -> None:
        self.history = history
        self.horizon_days = horizon_days
        self.random_state = random_state

    def rates(self, X: pd.DataFrame) -> pd.DataFrame:
        """For each row, the smoothed past dropout rate of its school, grade level, track and school x
        grade level, as known at its as-of date (the overall known rate where none is known)."""
        history = self.history.assign(as_of=pd.to_datetime(self.history["as_of"]))
        known_at = history["as_of"] + pd.Timedelta(days=self.horizon_days)
        days = pd.to_datetime(X["as_of"])
        out = pd.DataFrame(index=X.index, dtype=float)
        for day in days.unique():
            rows = days == day
            known = history[known_at <= day]
            prior = float(known["label"].mean()) if len(known) else 0.0
            for name, keys in _ENVIRONMENT_GROUPS.items():
                counts = known.groupby(list(keys), observed=True)["label"].agg(["sum", "count"])
                smoothed = (counts["sum"] + ENVIRONMENT_SMOOTHING * prior) / (counts["count"] + ENVIRONMENT_SMOOTHING)
                index = pd.MultiIndex.from_frame(X.loc[rows, list(keys)].astype(str))
                looked_up = smoothed.reindex(index).to_numpy() if len(counts) else np.full(int(rows.sum()), np.nan)
                out.loc[rows, name] = np.where(np.isnan(looked_up), prior, looked_up)
        return out

    def _design(self, X: pd.DataFrame) -> pd.DataFrame:
        rates = self.rates(X).clip(1e-4, 1 - 1e-4)
        logits = pd.DataFrame(np.log(rates / (1 - rates)), index=X.index, columns=rates.columns)
        return logits.join(X[["grade_level", "track"]].astype(str))

    def fit(self, X: pd.DataFrame, y: pd.Series) -> EnvironmentBaseline:
        """Logistic regression on the logits of the rates and the grade level and track themselves."""
        self.history = self.history.assign(**{k: self.history[k].astype(str) for k in ENVIRONMENT_KEYS})
        prepare = ColumnTransformer(
            [
                ("rates", StandardScaler(), list(_ENVIRONMENT_GROUPS)),
                ("groups", OneHotEncoder(handle_unknown="ignore"), ["grade_level", "track"]),
            ]
        )
        self.model_ = Pipeline(
            [("prepare", prepare), ("model", LogisticRegression(max_iter=2000, random_state=self.random_state))]
        ).fit(self._design(X), np.asarray(y, dtype=int))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated-ish probabilities from the environment alone."""
        return np.asarray(self.model_.predict_proba(self._design(X)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Dropout predicted where the environment's probability is over one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


_ENVIRONMENT_GROUPS: dict[str, tuple[str, ...]] = {
    "school_rate": ("school_id",),
    "grade_level_rate": ("grade_level",),
    "track_rate": ("track",),
    "school_grade_rate": ("school_id", "grade_level"),
}
