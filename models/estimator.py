"""The dropout-risk estimator: LightGBM with monotone constraints, then a calibrator.

A scikit-learn classifier. ``fit`` trains the trees on one fold, stops early on a later one
and fits the calibrator (isotonic or Platt, through ``CalibratedClassifierCV`` on the frozen
trees) on that later fold, which the trees never trained on. ``predict_proba`` returns
calibrated probabilities; ``decision_function`` the trees' raw log-odds, to which the
per-feature contributions of :meth:`contributions` add up exactly.
"""

from __future__ import annotations

from typing import Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted

from features.catalog import FEATURES


class DropoutRiskModel(ClassifierMixin, BaseEstimator):
    """Calibrated risk of dropping out within the horizon, from the feature matrix."""

    def __init__(
        self,
        *,
        n_estimators: int = 600,
        learning_rate: float = 0.05,
        num_leaves: int = 7,
        max_depth: int = 3,
        min_child_samples: int = 100,
        colsample_bytree: float = 0.8,
        subsample: float = 0.8,
        reg_lambda: float = 1.0,
        positive_weight: Literal["none", "sqrt", "balanced"] = "sqrt",
        monotone: bool = True,
        early_stopping_rounds: int = 50,
        calibration: Literal["isotonic", "sigmoid"] = "sigmoid",
        random_state: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.subsample = subsample
        self.reg_lambda = reg_lambda
        self.positive_weight = positive_weight
        self.monotone = monotone
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _weights(self, y: np.ndarray) -> np.ndarray | None:
        positives = max(1, int(y.sum()))
        ratio = (len(y) - positives) / positives
        factor = {"none": 1.0, "sqrt": float(np.sqrt(ratio)), "balanced": ratio}[self.positive_weight]
        return np.where(y == 1, factor, 1.0) if factor != 1.0 else None

    def fit(self, X: pd.DataFrame, y: pd.Series, *, X_valid: pd.DataFrame, y_valid: pd.Series) -> DropoutRiskModel:
        """Trees on (X, y); early stopping and calibration on the later (X_valid, y_valid)."""
        y_train = np.asarray(y, dtype=int)
        monotone = {f.name: f.monotone for f in FEATURES}
        self.lgbm_ = lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            min_child_samples=self.min_child_samples,
            colsample_bytree=self.colsample_bytree,
            subsample=self.subsample,
            subsample_freq=1,
            reg_lambda=self.reg_lambda,
            monotone_constraints=[monotone.get(c, 0) for c in X.columns] if self.monotone else None,
            monotone_constraints_method="intermediate",  # "advanced" breaks them beside categorical features (measured)
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        self.lgbm_.fit(
            X,
            y_train,
            sample_weight=self._weights(y_train),
            eval_X=(X_valid,),
            eval_y=(np.asarray(y_valid, dtype=int),),
            eval_metric="average_precision",
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)],
        )
        self.calibrated_ = CalibratedClassifierCV(FrozenEstimator(self.lgbm_), method=self.calibration)
        self.calibrated_.fit(X_valid, np.asarray(y_valid, dtype=int))
        self.classes_ = self.lgbm_.classes_
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.best_iteration_ = int(self.lgbm_.best_iteration_ or self.n_estimators)
        return self

    def _check(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        expected = list(self.feature_names_in_)
        if list(X.columns) != expected:
            missing = sorted(set(expected) - set(X.columns))
            raise ValueError(f"The X parameter of predict must have the training columns in order. Missing: {missing}.")
        return X

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of not dropping out and of dropping out within the horizon."""
        return np.asarray(self.calibrated_.predict_proba(self._check(X)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Dropout within the horizon at probability 0.5, for scikit-learn's API; scoring ranks by risk instead."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """LightGBM's uncalibrated raw score (log-odds), as SHAP explains it."""
        return np.asarray(self.lgbm_.predict(self._check(X), raw_score=True))

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Exact TreeSHAP values (LightGBM ``pred_contrib``); the last column is the bias.

        ``X`` is the feature table (:func:`models.matrix.feature_matrix`) or the same as one
        float array (:func:`models.matrix.encoded_matrix`), which skips pandas entirely.
        """
        if isinstance(X, np.ndarray):
            check_is_fitted(self)
            if X.shape[1] != len(self.feature_names_in_):
                raise ValueError(f"The X parameter must have {len(self.feature_names_in_)} columns. Got {X.shape[1]}.")
            return np.asarray(self.lgbm_.booster_.predict(X, pred_contrib=True))
        return np.asarray(self.lgbm_.predict(self._check(X), pred_contrib=True))

    def feature_importance(self) -> pd.Series:
        """LightGBM's gain per feature, largest first, for the model card."""
        check_is_fitted(self)
        gain = self.lgbm_.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.feature_names_in_, name="gain").sort_values(ascending=False)
