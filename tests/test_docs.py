"""The documentation: its reference pages are generated from the code and name everything the code has,
the README stays a newcomer's page, and the site loads nothing from another host."""

from __future__ import annotations

import importlib.util
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from pydantic import BaseModel

from fairness.config import FairnessConfig
from features.catalog import CONTEXT_ONLY, FEATURES
from features.ingest import TABLES
from features.signals import FeatureConfig
from monitoring.config import MonitoringConfig
from serving.api.settings import ServiceSettings
from serving.notice import NoticeConfig
from training.config import TrainConfig
from vigie.cli import app
from vigie.settings import VigieSettings

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "docs" / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("reference")
    return {path.name: path.read_text(encoding="utf-8") for path in _generator().write_all(folder)}


def _commands(command: Any, prefix: str) -> typing.Iterator[tuple[str, Any]]:
    """Every command of the app's click tree (Typer vendors click: walked by its attributes)."""
    yield prefix, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, f"{prefix} {name}")


def _sections(page: str) -> dict[str, str]:
    """The CLI page cut at each command's heading (``## `vigie synth` ``)."""
    parts = re.split(r"^#+ `(vigie[^`]*)`\s*$", page, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_cli_command_and_option_is_in_the_reference(reference: dict[str, str]) -> None:
    sections = _sections(reference["cli.md"])
    commands = list(_commands(typer.main.get_command(app), "vigie"))
    assert len(commands) > 15
    for name, command in commands[1:]:
        assert name in sections, f"{name} has no section in the CLI reference"
        for parameter in command.params:
            if parameter.param_type_name == "option" and not parameter.hidden:
                for flag in [*parameter.opts, *parameter.secondary_opts]:
                    assert flag in sections[name], f"{name} {flag} is missing from the CLI reference"
            elif parameter.param_type_name == "argument":
                assert f"* `{parameter.name} " in sections[name], f"{name}: argument {parameter.name} missing"


def _keys(model: type[BaseModel], prefix: str = "") -> typing.Iterator[tuple[str, Any]]:
    """Every key of a settings model, nested sections included (walked independently of the generator)."""
    for name, field in model.model_fields.items():
        yield f"{prefix}{name}", field
        annotation = field.annotation
        candidates = typing.get_args(annotation) if typing.get_origin(annotation) else (annotation,)
        for candidate in candidates:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield from _keys(candidate, f"{prefix}{name}.")


@pytest.mark.parametrize(
    "model",
    [VigieSettings, FeatureConfig, TrainConfig, FairnessConfig, MonitoringConfig, NoticeConfig],
    ids=lambda m: m.__name__,
)
def test_every_setting_is_in_the_reference_with_its_default(reference: dict[str, str], model: type[BaseModel]) -> None:
    page = reference["settings.md"]
    keys = list(_keys(model))
    assert keys
    for key, field in keys:
        row = next((line for line in page.splitlines() if line.startswith(f"| `{key}` |")), None)
        assert row is not None, f"{model.__name__}: {key} is missing from the settings reference"
        if isinstance(field.default, bool | int | float) and not isinstance(field.default, BaseModel):
            assert f"`{str(field.default).lower()}`" in row.lower(), f"{key}: default {field.default} not shown"
        if field.description:
            assert field.description in row


def test_service_settings_name_their_environment_variables(reference: dict[str, str]) -> None:
    for key, _ in _keys(ServiceSettings):
        assert f"`VIGIE_SERVICE__{key.upper()}`" in reference["settings.md"]


def test_every_catalogue_feature_is_in_the_reference_with_its_label_and_wording(reference: dict[str, str]) -> None:
    page = reference["features.md"]
    for feature in FEATURES:
        row = next(line for line in page.splitlines() if line.startswith(f"| `{feature.name}`"))
        assert feature.label_fr in row
        if feature.reason == CONTEXT_ONLY:
            assert "context only" in row
        else:
            assert feature.reason is not None
            assert (feature.reason.many or feature.reason.one) in row
    assert f"The {len(FEATURES)} model inputs" in page


def test_every_contract_table_and_column_is_in_the_reference(reference: dict[str, str]) -> None:
    page = reference["contract.md"]
    for table in TABLES.values():
        section = page.split(f"## `{table.name}`", 1)[1].split("\n## ", 1)[0]
        for column in table.columns:
            assert f"| `{column.name}` | {column.type} |" in section


def test_every_api_operation_is_in_the_reference(reference: dict[str, str]) -> None:
    schema = _generator().openapi_schema()
    operations = [(method.upper(), path) for path, item in schema["paths"].items() for method in item]
    assert len(operations) > 10
    for method, path in operations:
        assert f"### `{method} {path}`" in reference["api.md"]
    assert '"openapi"' in reference["openapi.json"]


def test_readme_is_a_newcomers_page_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) <= 8 * 1024
    assert "make demo" in readme and "make test" in readme
    assert "un score informe, une personne décide" in readme.lower()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo: setup$", makefile, flags=re.MULTILINE)
    assert re.search(r"^test: lint system-deps$", makefile, flags=re.MULTILINE)
    # CI (make test) builds the site strictly, after the tests that execute the notebooks it shows
    assert re.search(
        r"^test: lint system-deps\n\t\$\(BIN\)/pytest\n\t\$\(MAKE\) --no-print-directory docs-build$",
        makefile,
        re.MULTILINE,
    )
    for link in re.findall(r"\]\((?!https?://)([^)#]+)", readme):
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"


def test_the_site_loads_nothing_from_another_host() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    assert config["theme"]["font"] == "false"  # Material would load Google Fonts
    assert "extra_javascript" not in config and "extra_css" not in config
    assert "analytics" not in str(config.get("extra", ""))
    for page in (ROOT / "docs").rglob("*.md"):
        assert "```mermaid" not in page.read_text(encoding="utf-8"), f"{page}: Material loads Mermaid from a CDN"
