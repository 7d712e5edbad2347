"""Fixture data built once per test run, whichever pytest-xdist worker asks for it first.

Each xdist worker is its own process with its own session fixtures: a session fixture that
synthesises a district would run once per worker. The folders made here live in the run's base
temporary folder (the parent of each worker's own), are built by the first worker that asks,
under a file lock, and are read by the others once built. Their builders are deterministic
(fixed seeds and key), so the content does not depend on which worker built it. They are
shared read-only: a test that changes data works on its own copy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock


def run_folder(factory: pytest.TempPathFactory) -> Path:
    """The folder of this test run that every worker sees (the worker's base temp's parent
    under xdist, the base temp itself without it); pytest keeps the last few runs' only."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_folder(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Any]) -> Path:
    """The folder ``name`` of this run, filled by ``build`` exactly once.

    A marker written after ``build`` returns says the folder is complete: a worker that finds a
    folder without it (its builder failed) builds it again from nothing rather than trusting it.
    """
    root = run_folder(factory) / "shared"
    root.mkdir(exist_ok=True)
    folder, done = root / name, root / f"{name}.done"
    with FileLock(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder
