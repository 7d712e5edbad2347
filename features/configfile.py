"""Versioned YAML configuration files, validated by a pydantic model before any compute.

Every stage's config (features, training, fairness) is read the same way: a YAML mapping,
then overrides from the command line (dotted keys reach into sections), then validation whose
errors name the file and the setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def load_config_file(model: type[Model], path: Path | None, overrides: dict[str, Any] | None, what: str) -> Model:
    """``model`` validated from the YAML at ``path`` (defaults when None) with ``overrides`` on top."""
    values: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of settings, got {type(loaded).__name__}.")
        values = loaded
    for dotted, value in (overrides or {}).items():
        section = values
        *parents, leaf = dotted.split(".")
        for parent in parents:
            section = section.setdefault(parent, {})
        section[leaf] = value
    try:
        return model.model_validate(values)
    except ValidationError as error:
        where = f"{path}: " if path else ""
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in error.errors())
        raise ValueError(f"{where}invalid {what} config: {problems}") from None
