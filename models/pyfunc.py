"""The MLflow pyfunc form of the model: feature table in, calibrated risk out.

It orders and types the columns by name (``feature_matrix``), so a caller may pass the whole
feature table; the score never depends on column positions.
"""

from __future__ import annotations

import joblib
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from models.matrix import feature_matrix

ESTIMATOR_ARTIFACT = "estimator"


class CalibratedRiskModel(PythonModel):
    """The MLflow pyfunc face of the calibrated estimator: any MLflow client scores features with it and gets one risk
    per row."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load the pickled estimator logged with the model version."""
        self.estimator = joblib.load(context.artifacts[ESTIMATOR_ARTIFACT])

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, str] | None = None
    ) -> pd.DataFrame:
        """The risk of each row of ``model_input`` (the feature columns, in any order; others are ignored)."""
        X = feature_matrix(model_input, list(self.estimator.feature_names_in_))
        return pd.DataFrame({"risk": self.estimator.predict_proba(X)[:, 1]}, index=model_input.index)
