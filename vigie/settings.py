"""Runtime settings: one typed object, from defaults, a TOML file, then ``VIGIE_*`` variables.

Later sources win: defaults < ``vigie.toml`` (or the file named by ``VIGIE_CONFIG``) <
environment. Nothing is read at import time; call :func:`get_settings`.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from models.stagger import StaggerSettings
from serving.api.settings import ServiceSettings


class VigieSettings(BaseSettings):
    """The one settings object: data folder, reference date, logging, validation memory, telemetry and the service's
    settings; read from arguments, then ``VIGIE_`` variables, then ``vigie.toml``."""

    model_config = SettingsConfigDict(env_prefix="VIGIE_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(default=Path("data"), description="Where outputs go by default.")
    reference_date: date | None = Field(
        default=None, description="'Today' for the no-future-date rule; the real today when empty."
    )
    log_level: str = "INFO"
    #: DuckDB's memory for ``vigie validate`` (per worker process), whatever the size of the
    #: extract: past it DuckDB spills to ``validate_temp_dir`` (a fresh temporary folder if unset).
    validate_memory_limit: str = "1GB"
    validate_temp_dir: Path | None = None
    #: Third-party telemetry (MLflow's, Evidently's): off unless set to true.
    telemetry: bool = False
    #: The risk service (``vigie serve``): ``[service]`` in the TOML file, ``VIGIE_SERVICE__*`` variables.
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    #: The staggered start by school (``[stagger]``, ``VIGIE_STAGGER__*``): off unless the ethics committee approved a
    #: trial.
    stagger: StaggerSettings = Field(default_factory=StaggerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then the environment, then ``vigie.toml`` (or the file ``VIGIE_CONFIG`` names)."""
        toml_file = Path(os.environ.get("VIGIE_CONFIG", "vigie.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    def today(self) -> date:
        """The reference date if set, else today: what 'no date in the future' is judged against."""
        return self.reference_date or date.today()


def get_settings() -> VigieSettings:
    """The settings; with telemetry off (the default), the libraries are told so before they load."""
    settings = VigieSettings()
    if not settings.telemetry:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently
    return settings
