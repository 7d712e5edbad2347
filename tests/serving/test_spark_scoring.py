"""Spark scoring (local mode) gives the local batch's scores, tiers and reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.signals import spark_session
from serving.batch import TierConfig, score_frame
from serving.spark import score_spark
from training.train import FeatureSet, TrainingResult

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_spark_matches_local_scoring(feature_set: FeatureSet, trained: TrainingResult) -> None:
    model = trained.model
    frame = feature_set.frame
    snapshot = frame[frame["as_of"] == frame["as_of"].max()].reset_index(drop=True)
    config = TierConfig(scope="school")
    local = score_frame(snapshot, model, "m/1", config).scores.to_pandas().sort_values("pupil_id")
    spark = spark_session("local[2]")
    remote = score_spark(spark.createDataFrame(snapshot), model, "m/1", config).toPandas().sort_values("pupil_id")
    assert len(remote) == len(local)
    np.testing.assert_allclose(remote["risk"].to_numpy(), local["risk"].to_numpy(), rtol=1e-12)
    assert (remote["tier"].to_numpy() == local["tier"].to_numpy()).all()
    texts = lambda s: [[r["text"] for r in items] for items in s]  # noqa: E731
    assert texts(remote["reasons"]) == texts(local["reasons"])
    assert pd.Series(remote["model_version"]).eq("m/1").all()
