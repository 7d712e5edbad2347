"""Batch scoring on Spark: the same scores, tiers and reasons as :mod:`serving.batch`, scaled out.

Risk and reasons run in ``mapInPandas`` with the fitted estimator shipped to the executors;
tiers come from a window ordered by (risk desc, pupil_id), as locally.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from features.catalog import FEATURE_NAMES
from models.estimator import DropoutRiskModel
from models.matrix import encoded_matrix, feature_matrix
from models.metrics import capacity_count
from models.reasons import LevelMeans
from models.reasons import reasons as build_reasons
from serving.batch import TierConfig

KEYS = ["pupil_id", "school_id", "grade_level", "as_of"]
REASONS_DDL = "array<struct<signal:string,value:double,contribution:double,text:string>>"


def score_spark(features: Any, model: DropoutRiskModel, model_version: str, config: TierConfig) -> Any:
    """A Spark DataFrame in the contract's score form, from a Spark DataFrame of one date's features."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    columns = list(model.feature_names_in_)
    needed = list(dict.fromkeys([*KEYS, *columns]))

    def risk(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            probability = model.predict_proba(feature_matrix(batch, columns))[:, 1]
            yield batch[KEYS].assign(risk=probability)

    schema = "pupil_id string, school_id string, grade_level string, as_of date, risk double"
    scored = features.select(*needed).mapInPandas(risk, schema)
    # The capacity rule of models.metrics: rank by risk, equal risks in pupil_id order (the window
    # below is capacity_rank in Spark's terms), and how many each tier takes from capacity_count,
    # computed on the driver from the group sizes (one row per school at most).
    scored = scored.withColumn("_group", F.col("school_id") if config.scope == "school" else F.lit("all"))
    sizes = scored.groupBy("_group").count().toPandas()
    cuts = sizes.assign(
        _high=capacity_count(sizes["count"].to_numpy(), config.high),
        _upto_medium=capacity_count(sizes["count"].to_numpy(), config.high + config.medium),
    )[["_group", "_high", "_upto_medium"]]
    spark = features.sparkSession
    cut_schema = "_group string, _high long, _upto_medium long"
    ranked = (
        scored.withColumn(
            "_rank", F.row_number().over(Window.partitionBy("_group").orderBy(F.desc("risk"), "pupil_id"))
        )
        .join(F.broadcast(spark.createDataFrame(cuts, cut_schema)), "_group")
        .withColumn(
            "tier",
            F.when(F.col("_rank") <= F.col("_high"), "high")
            .when(F.col("_rank") <= F.col("_upto_medium"), "medium")
            .otherwise("low"),
        )
    )
    numeric = [c for c in FEATURE_NAMES if c not in ("grade_level", "track")]
    present = [F.avg(F.when(~F.isnan(c), F.col(c))).alias(c) for c in numeric]  # NaN and null both mean missing
    references = features.groupBy("grade_level").agg(*present).toPandas()
    references = LevelMeans.of(references.set_index("grade_level"), columns)

    def explain(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            values = encoded_matrix(batch, columns)
            levels = batch["grade_level"].to_numpy()
            items = build_reasons(model.contributions(values), values, levels, columns, references, config.reasons)
            rows = [[item.model_dump() for item in row] for row in items]  # Arrow structs, for Spark
            yield pd.DataFrame({"pupil_id": batch["pupil_id"].to_numpy(), "reasons": rows})

    flagged = ranked.filter(F.col("tier") != "low").select("pupil_id").join(features, "pupil_id")
    explained = flagged.select(*needed).mapInPandas(explain, f"pupil_id string, reasons {REASONS_DDL}")
    empty = F.array().cast(REASONS_DDL)
    return ranked.join(explained, "pupil_id", "left").select(
        *KEYS,
        "risk",
        "tier",
        F.coalesce(F.col("reasons"), empty).alias("reasons"),
        F.lit(model_version).alias("model_version"),
    )
