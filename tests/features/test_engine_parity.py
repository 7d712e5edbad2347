"""The feature definitions are written once; DuckDB and Spark must give the same table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from features.signals import FeatureConfig, build_features

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_duckdb_and_spark_give_the_same_features(validated: Path, tmp_path: Path) -> None:
    as_of = [date(2022, 12, 15), date(2023, 6, 15)]
    for engine in ("duckdb", "spark"):
        build_features(validated, tmp_path / engine, FeatureConfig(as_of=as_of, engine=engine, spark_master="local[2]"))
    for table in ("features.parquet", "audit.parquet"):
        duck = pd.read_parquet(tmp_path / "duckdb" / table)
        spark = pd.read_parquet(tmp_path / "spark" / table)
        assert len(duck) > 500
        pd.testing.assert_frame_equal(duck, spark, check_dtype=True, rtol=1e-9, atol=1e-9)
