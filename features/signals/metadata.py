"""The metadata of a feature table, typed: what was built, from which input, with what, how.

Written and read here only, and version-checked: a reader meets either the current version or
a clear error. Training logs it with each model, so that whoever scores, audits or monitors a
model later rebuilds features with the model's own configuration.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from features.catalog import Family
from features.ingest import ContractError
from features.signals.config import FeatureConfig
from features.signals.engines import Engine

METADATA = "metadata.json"
METADATA_VERSION: Final = 2
#: "training": features, labels and the audit table; "scoring": model inputs only.
Purpose = Literal["training", "scoring"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureInfo(_Frozen):
    """One feature's entry in the stored metadata: its family, meaning and French label, as model cards and reasons show
    them."""

    name: str
    family: Family
    meaning: str
    label_fr: str
    categorical: bool
    monotone: int


class AsOfCounts(_Frozen):
    """Snapshots at one as-of date: rows built and, for training, how many are labelled and positive."""

    rows: int
    labelled: int | None = None  # None: built for scoring, no labels
    positives: int | None = None


class FeatureMetadata(_Frozen):
    """The typed hand-off of a feature build, stored beside the snapshots and with every model version: what was built,
    from which data and code, with which settings; version-checked when read back."""

    metadata_version: Literal[2] = 2
    stage: Literal["features"] = "features"
    purpose: Purpose
    created_at: datetime
    engine: Engine
    code_version: str
    config: FeatureConfig
    config_hash: str
    input_dir: str
    input_hash: str
    as_of_dates: list[date]
    horizon_days: int
    labels_known_until: date | None
    rows: int
    per_as_of: dict[date, AsOfCounts]
    keys: list[str]
    context_columns: list[str]
    label_columns: list[str]
    features: list[FeatureInfo]
    audit_table: str | None
    audit_columns: list[str]
    seconds: float
    #: The extract's first school year: snapshots whose look-back reaches before it have their
    #: histories cut short (features.school.look_back_covered). None: built before it was recorded.
    first_school_year: int | None = None

    def write(self, folder: Path) -> Path:
        """Write the metadata into ``folder`` (its one writer) and return the file's path."""
        path = folder / METADATA
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        return path

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (as logged to MLflow)."""
        return self.model_dump(mode="json")


def parse_metadata(values: dict[str, Any], source: str) -> FeatureMetadata:
    """Metadata from its JSON form; ``source`` names where it came from in errors."""
    version = values.get("metadata_version", 1)
    if version != METADATA_VERSION:
        raise ContractError(
            f"{source}: feature metadata version {version}, this Vigie reads version {METADATA_VERSION}; "
            "rebuild the features ('vigie features') or retrain the model ('vigie train')."
        )
    try:
        return FeatureMetadata.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
        raise ContractError(f"{source}: unreadable feature metadata ({problems}).") from None


def read_metadata(folder: Path) -> FeatureMetadata:
    """The metadata of the feature table in ``folder``."""
    path = folder / METADATA
    if not path.exists():
        raise ContractError(f"{folder}: no {METADATA}; not a feature folder (run 'vigie features').")
    return parse_metadata(json.loads(path.read_text(encoding="utf-8")), str(path))
