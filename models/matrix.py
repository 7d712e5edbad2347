"""The model matrix: named feature columns with fixed categories, never positions.

Serving and training both go through :func:`feature_matrix`, so a category seen in training
keeps its code forever, and a missing or extra column is an error, not a silent shift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.catalog import CATEGORICAL_FEATURES, FEATURE_NAMES
from features.ingest import GRADE_LEVELS

CATEGORIES: dict[str, tuple[str, ...]] = {
    "grade_level": GRADE_LEVELS,
    "track": ("college", "lycee_gt", "lycee_pro"),
}


def feature_matrix(frame: pd.DataFrame, features: tuple[str, ...] | list[str] = FEATURE_NAMES) -> pd.DataFrame:
    """The model inputs of ``frame``, in ``features`` order, typed (float64 or fixed categories)."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"The feature table lacks model input(s) {', '.join(missing)}.")
    columns: dict[str, Any] = {}  # built whole: inserting column by column costs ~10 ms a call
    for name in features:
        values = frame[name]
        if name in CATEGORICAL_FEATURES:
            columns[name] = pd.Categorical(values.to_numpy(dtype=object), categories=list(CATEGORIES[name]))
        elif pd.api.types.is_numeric_dtype(values):
            columns[name] = values.to_numpy(dtype="float64", na_value=np.nan)
        else:
            columns[name] = pd.to_numeric(values, errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    return pd.DataFrame(columns, index=frame.index)


def model_input(frame: pd.DataFrame, features: tuple[str, ...] | list[str] = FEATURE_NAMES) -> pd.DataFrame:
    """The pyfunc's input: feature columns by name, numbers as float64 and categories as text."""
    out = pd.DataFrame(index=frame.index)
    for name in features:
        values = frame[name]
        out[name] = (
            values.astype("object").where(values.notna(), None)
            if name in CATEGORICAL_FEATURES
            else (pd.to_numeric(values).astype("float64"))
        )
    return out


def encoded_matrix(frame: pd.DataFrame, features: tuple[str, ...] | list[str] = FEATURE_NAMES) -> np.ndarray:
    """The model inputs as one float64 array: numbers as they are, categories as their fixed
    codes (missing: NaN), which is how LightGBM reads :func:`feature_matrix` internally. Built
    once for a whole batch, a row of it is scored and explained without any pandas work."""
    typed = feature_matrix(frame, features)
    columns = [
        np.where(typed[name].cat.codes.to_numpy() < 0, np.nan, typed[name].cat.codes.to_numpy()).astype("float64")
        if name in CATEGORICAL_FEATURES
        else typed[name].to_numpy(dtype="float64")
        for name in features
    ]
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))
