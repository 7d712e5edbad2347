"""The model matrix: named feature columns with fixed categories, never positions.

Serving and training both go through :func:`feature_matrix`, so a category seen in training
keeps its code forever, and a missing or extra column is an error, not a silent shift.
"""

from __future__ import annotations

import pandas as pd

from features.catalog import CATEGORICAL_FEATURES, FEATURE_NAMES
from features.contract import GRADE_LEVELS

CATEGORIES: dict[str, tuple[str, ...]] = {
    "grade_level": GRADE_LEVELS,
    "track": ("college", "lycee_gt", "lycee_pro"),
}


def feature_matrix(frame: pd.DataFrame, features: tuple[str, ...] | list[str] = FEATURE_NAMES) -> pd.DataFrame:
    """The model inputs of ``frame``, in ``features`` order, typed (float64 or fixed categories)."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ValueError(f"The feature table lacks model input(s) {', '.join(missing)}.")
    matrix = pd.DataFrame(index=frame.index)
    for name in features:
        if name in CATEGORICAL_FEATURES:
            matrix[name] = pd.Categorical(frame[name].astype("object"), categories=list(CATEGORIES[name]))
        else:
            matrix[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
    return matrix


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
