"""``--dist loadgroup`` that honours ``xdist_group`` marks under pytest 9.2 and pytest-xdist 3.8.

pytest-xdist carries a test's group to the controller by appending ``@group`` to the test's node
id on the worker. pytest 9.2 derives node ids from a structured id, so that append no longer
reaches the controller: every test arrives without its group and is scheduled on its own
(pytest-xdist issue #1386; the fix, pull request #1388, is not in a release: 3.8.0 is the
latest, and pytest 9.1, whose node ids still take the append, would be a downgrade).

Here the groups travel beside the ids instead, through pytest-xdist's public hooks. The
controller names a folder for the run (``pytest_configure_node``); each worker writes there the
group of every test it collected, read from the marks as pytest-xdist reads them
(``pytest_collection_modifyitems``); the controller's scheduler, pytest-xdist's own
:class:`LoadGroupScheduling`, looks each test's group up there before it splits the work
(``pytest_xdist_make_scheduler``). A test without a group is scheduled on its own, as before.
When a fixed pytest-xdist appends ``@group`` again, the look-up finds the suffixed ids
(this hook runs after pytest-xdist's) and agrees with it.

``tests/conftest.py`` imports these hooks; ``tests/test_xdist_groups.py`` proves the grouping.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadGroupScheduling

#: The key of the workers' input that names the folder of the groups.
GROUPS_FOLDER = "vigie_xdist_groups"
_FOLDER = pytest.StashKey[Path]()


def group_of(item: pytest.Item) -> str | None:
    """The test's group as pytest-xdist names it: its ``xdist_group`` names, sorted and joined
    (a test with several groups joins them into one); None without the mark."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) or None


class MarkedGroupScheduling(LoadGroupScheduling):
    """pytest-xdist's group scheduling, a test's group looked up in what the workers wrote."""

    def __init__(self, config: pytest.Config, log: Any, folder: Path) -> None:
        super().__init__(config, log)
        self.folder = folder
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        # First called once every worker has collected (and so written its file): read them then.
        if self._groups is None:
            self._groups = {}
            for path in sorted(self.folder.glob("*.json")):
                self._groups.update(json.loads(path.read_text(encoding="utf-8")))
        return self._groups.get(nodeid) or super()._split_scope(nodeid)


def _groups_folder(config: pytest.Config) -> Path:
    """The controller's folder for the workers' groups, made once per run."""
    if _FOLDER not in config.stash:
        config.stash[_FOLDER] = Path(tempfile.mkdtemp(prefix="vigie-xdist-groups-"))
    return config.stash[_FOLDER]


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadGroupScheduling | None:
    """On the controller, with ``--dist loadgroup``: the scheduler that reads the workers' groups."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return MarkedGroupScheduling(config, log, _groups_folder(config))


def pytest_configure_node(node: Any) -> None:
    """On the controller, for each worker: where to write the groups of the tests it collects."""
    if node.config.getvalue("dist") == "loadgroup":
        node.workerinput[GROUPS_FOLDER] = str(_groups_folder(node.config))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker: write the group of each grouped test, keyed by the id the controller receives."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or GROUPS_FOLDER not in workerinput:
        return
    groups = {item.nodeid: group for item in items if (group := group_of(item)) is not None}
    folder = Path(workerinput[GROUPS_FOLDER])
    written = folder / f"{workerinput['workerid']}.json.partial"
    written.write_text(json.dumps(groups), encoding="utf-8")
    written.replace(folder / f"{workerinput['workerid']}.json")  # whole or absent, never half-written


def pytest_unconfigure(config: pytest.Config) -> None:
    """On the controller: remove the run's folder of groups."""
    folder = config.stash.get(_FOLDER, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
