"""Reading back a typed hand-off a stage stored (an MLflow artifact, a JSON beside a batch): the
version it was written with is checked first, so a file from another Vigie is refused by name,
never half-read."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from features.ingest import ContractError

Stored = TypeVar("Stored", bound=BaseModel)


def parse_stored(
    model: type[Stored], values: Any, *, version_key: str, version: int, where: str, what: str, remedy: str
) -> Stored:
    """``values`` as ``model``; a version this code does not read, or invalid content, is a
    ContractError naming ``where`` and saying what to do (``remedy``)."""
    found = values.get(version_key) if isinstance(values, dict) else type(values).__name__
    if found != version:
        raise ContractError(f"{where}: {what} version {found!r}, this Vigie reads version {version}; {remedy}.")
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ContractError(f"{where}: not a valid {what}: {error}") from None
