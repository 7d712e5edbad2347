"""Path parameters shared by the routers: validated before any route runs (a malformed id is a
422 naming the field, never echoing it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from features.ingest import PSEUDONYM_PATTERN, UAI_PATTERN

SchoolId = Annotated[str, Path(pattern=UAI_PATTERN, examples=["0750001A"], description="UAI of the school.")]
PupilId = Annotated[str, Path(pattern=PSEUDONYM_PATTERN, examples=["3f9a1c0b7d2e4a6f8b1c"], description="Pseudonym.")]
PlanId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Plan identifier.")]
