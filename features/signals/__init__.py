"""From a validated extract to snapshots: one row per (pupil, as-of date) with signals and label.

The definitions are Ibis expressions written once (:mod:`~features.signals.population`,
:mod:`~features.signals.definitions`) and run on DuckDB (embedded) or Spark
(:mod:`~features.signals.engines`); :mod:`~features.signals.build` writes the feature table
and its metadata. :mod:`~features.signals.pandas_reference` is an independent oracle for tests.
"""

from features.signals.build import (
    AUDIT_TABLE,
    FEATURE_TABLE,
    FeatureOutput,
    build_features,
    code_version,
    input_hash,
    observed_span,
)
from features.signals.config import AsOfSchedule, FeatureConfig, load_feature_config
from features.signals.engines import Engine, connect, spark_session
from features.signals.metadata import (
    METADATA,
    AsOfCounts,
    FeatureInfo,
    FeatureMetadata,
    Purpose,
    parse_metadata,
    read_metadata,
)

__all__ = [
    "AUDIT_TABLE",
    "FEATURE_TABLE",
    "METADATA",
    "AsOfCounts",
    "AsOfSchedule",
    "Engine",
    "FeatureConfig",
    "FeatureInfo",
    "FeatureMetadata",
    "FeatureOutput",
    "Purpose",
    "build_features",
    "code_version",
    "connect",
    "input_hash",
    "load_feature_config",
    "observed_span",
    "parse_metadata",
    "read_metadata",
    "spark_session",
]
