"""Execute a notebook into the copy the documentation site renders (``docs/notebooks/``, not committed).

Usage: ``python docs/execute_notebooks.py notebooks/NAME.ipynb docs/notebooks/NAME.ipynb``. The notebook
runs from its own folder, as ``tests/test_notebooks.py`` runs it; a cell that fails stops the build.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(source: Path, target: Path) -> float:
    """Run ``source`` top to bottom and write it, outputs included, to ``target``; returns seconds."""
    notebook = nbformat.read(source, as_version=4)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        NotebookClient(
            notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}
        ).execute(env={**os.environ, "TMPDIR": scratch})
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return time.perf_counter() - started


if __name__ == "__main__":
    seconds = execute(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{sys.argv[1]} executed in {seconds:.0f} s -> {sys.argv[2]}")
