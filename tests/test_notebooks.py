"""Notebooks narrate; CI executes every one of them so they never rot."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: The executed copies the documentation site renders (its nav names them): written here, so that
#: `make test` builds the site after the tests without running these notebooks a second time.
SITE_COPIES = ROOT / "docs" / "notebooks"


def _shown_in_site(path: Path) -> bool:
    return f"notebooks/{path.name}" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute(env={**os.environ, "TMPDIR": str(tmp_path)})
    assert not list(tmp_path.iterdir()), "the notebook left its work behind in the temporary folder"
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [o for cell in cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    # every cell that ends on something to show (a table, a print) showed it
    showing = [cell for cell in cells if isinstance(ast.parse(cell.source).body[-1], ast.Expr)]
    assert len(showing) >= 3 and all(cell.get("outputs") for cell in showing)
    if _shown_in_site(path):
        SITE_COPIES.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, SITE_COPIES / path.name)


def test_there_is_a_notebook() -> None:
    assert NOTEBOOKS
