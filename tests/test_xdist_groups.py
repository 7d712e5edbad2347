"""``--dist loadgroup`` keeps each ``xdist_group`` on one worker (tests/support/xdist_groups.py).

A small suite is run by a real pytest with two real workers, as ``make test`` runs ours: the
browser tests and the monitoring tests rely on their group to start one service, one browser,
one monitored district per run rather than per worker.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = """
from tests.support.xdist_groups import (  # noqa: F401
    pytest_collection_modifyitems, pytest_configure_node, pytest_unconfigure, pytest_xdist_make_scheduler,
)
"""
#: Grouped as ours are: a module's pytestmark, a mark on one test, parametrised tests.
MODULES = {
    "test_module_group.py": """
import pytest
pytestmark = pytest.mark.xdist_group("alpha")

@pytest.mark.parametrize("i", range(4))
def test_alpha(i):
    pass
""",
    "test_test_group.py": """
import pytest

@pytest.mark.xdist_group(name="alpha")
@pytest.mark.parametrize("i", range(4))
def test_also_alpha(i):
    pass

@pytest.mark.xdist_group("beta")
@pytest.mark.parametrize("i", range(4))
def test_beta(i):
    pass
""",
    "test_free.py": """
import pytest

@pytest.mark.parametrize("i", range(8))
def test_free(i):
    pass
""",
}
RESULT = re.compile(r"^\[(gw\d+)\] \[\s*\d+%\] PASSED (\S+)", re.MULTILINE)


def _workers_by_test(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    for name, text in MODULES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:randomly",
               "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)]  # fmt: skip
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return {test.rsplit("@", 1)[0]: worker for worker, test in RESULT.findall(run.stdout)}


def test_each_group_runs_on_one_worker_and_the_rest_spreads(tmp_path: Path) -> None:
    workers = _workers_by_test(tmp_path)
    assert len(workers) == 20, workers
    by_group: dict[str, set[str]] = defaultdict(set)
    for test, worker in workers.items():
        group = "alpha" if "alpha" in test else "beta" if "beta" in test else "free"
        by_group[group].add(worker)
    assert len(by_group["alpha"]) == 1, workers  # a module's mark and a test's mark: one group
    assert len(by_group["beta"]) == 1, workers
    assert set(workers.values()) == {"gw0", "gw1"}, workers  # still two workers at work
