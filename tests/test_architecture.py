"""Imports run one way: features <- models <- training/fairness/monitoring; serving never sees training."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"features", "models", "training", "serving", "fairness", "monitoring", "vigie"}
ALLOWED = {
    "features": set(),
    "models": {"features"},
    "training": {"features", "models"},
    "fairness": {"features", "models"},
    "monitoring": {"features", "models"},
    "serving": {"features", "models"},
    "vigie": OURS - {"vigie"},
}


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found |= {(str(path.relative_to(ROOT)), n.split(".")[0]) for n in names if n.split(".")[0] in OURS}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_architecture(package: str) -> None:
    wrong = {(f, n) for f, n in _imports(package) if n != package and n not in ALLOWED[package]}
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {sorted(wrong)}"


def test_nothing_imports_the_cli() -> None:
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            if path.name != "cli.py":
                assert "vigie.cli" not in path.read_text(encoding="utf-8"), path
