"""The service as an ASGI app built from the settings, for a process manager running several workers:
``uvicorn --factory vigie.asgi:create_app --workers 4`` (nothing imports this module)."""

from __future__ import annotations

from fastapi import FastAPI

from models.registry import use_tracking_store
from serving.app import create_app as build
from serving.app import tune_interpreter
from vigie.settings import get_settings


def create_app() -> FastAPI:
    """The service for an ASGI server (``uvicorn --factory vigie.asgi:create_app``), configured from the environment and
    ``vigie.toml``."""
    settings = get_settings()
    use_tracking_store(settings.data_dir)
    tune_interpreter()
    return build(settings.service, settings.data_dir, stagger=settings.stagger)
