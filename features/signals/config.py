"""What a feature table is built with: as-of dates or a schedule, the label horizon, the engine.

A model keeps the configuration it was trained with (in its feature metadata), and every place
where it meets fresh data (scoring, audits, the service, monitoring) builds features with that
same configuration at the new dates: :meth:`FeatureConfig.at`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.configfile import load_config_file
from features.school import DEFAULT_HORIZON_DAYS
from features.signals.engines import Engine


class AsOfSchedule(BaseModel):
    """Recurring as-of dates, e.g. every 15 Dec, 31 Mar and 15 Jun from 2019, or (no
    ``from_year``) from where the extract starts."""

    model_config = ConfigDict(extra="forbid")
    days: list[str] = Field(default=["12-15", "03-31", "06-15"], description="MM-DD")
    #: None: from the extract's first school year (the ``start`` the builder passes).
    from_year: int | None = None
    to_year: int | None = None

    def dates(self, start: date, until: date) -> list[date]:
        """The schedule's dates inside ``[start, until]``."""
        last = self.to_year or until.year
        first = self.from_year if self.from_year is not None else max(start.year, until.year - 200)
        out = [date.fromisoformat(f"{y}-{d}") for y in range(first, last + 1) for d in self.days]
        return sorted(d for d in out if start <= d <= until)


class FeatureConfig(BaseModel):
    """What to build; hashed into the metadata so outputs can be traced to it."""

    model_config = ConfigDict(extra="forbid")
    as_of: list[date] = Field(default_factory=list)
    schedule: AsOfSchedule | None = None
    horizon_days: int = Field(default=DEFAULT_HORIZON_DAYS, gt=0)
    labels_known_until: date | None = None
    engine: Engine = "duckdb"
    spark_master: str = "local[*]"
    memory_limit: str | None = "8GB"

    @model_validator(mode="after")
    def _some_dates(self) -> FeatureConfig:
        if not self.as_of and self.schedule is None:
            raise ValueError("give as-of dates ('as_of') or a 'schedule'")
        return self

    def digest(self) -> str:
        """A short hash of the settings that change the features (not how they are computed), so that a model can tell
        whether features were built as it was trained."""
        fields = self.model_dump(mode="json", exclude={"engine", "spark_master", "memory_limit"})
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]

    def at(self, as_of: list[date]) -> FeatureConfig:
        """The same definitions at other dates, on fresh data (no schedule, labels known as observed)."""
        return self.model_copy(update={"as_of": sorted(as_of), "schedule": None, "labels_known_until": None})


def load_feature_config(path: Path | None, overrides: dict[str, Any] | None = None) -> FeatureConfig:
    """Read and validate a YAML feature config, then apply overrides (CLI flags) on top."""
    return load_config_file(FeatureConfig, path, overrides, "feature")
