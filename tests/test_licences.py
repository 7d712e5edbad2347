"""The licence check CI runs (tests/support/licences.py): it passes on the locked environment and fails
on a dependency whose licence the policy does not allow — shown with fake metadata entries put on the
interpreter's path, never by installing such a package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.licences import ROOT, Package, Policy, refusals


def _fake_distribution(folder: Path, name: str, licence: str) -> None:
    info = folder / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nLicense: {licence}\n", encoding="utf-8"
    )


def _run_check(extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "tests.support.licences"], check=False, cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_project_declares_an_administration_licence() -> None:
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2")
    assert 'license = "EUPL-1.2"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_locked_environment_passes() -> None:
    result = _run_check()
    assert result.returncode == 0, result.stderr
    assert "every licence allowed" in result.stdout


@pytest.mark.parametrize(
    ("licence", "refused"),
    [("Proprietary", True), ("GPL-3.0-only", True), ("UNKNOWN", True), ("MIT", False)],
)
def test_fake_dependency_is_judged_by_its_licence(tmp_path: Path, licence: str, refused: bool) -> None:
    _fake_distribution(tmp_path, "vigie-fake-dependency", licence)
    result = _run_check(tmp_path)
    assert (result.returncode == 1) is refused, result.stderr
    assert ("vigie-fake-dependency" in result.stderr) is refused


@pytest.mark.parametrize(
    ("licence", "allowed"),
    [
        ("Apache-2.0 OR GPL-3.0-only", True),
        ("MIT AND GPL-3.0-only", False),
        ("BSD-2-Clause AND Apache-2.0 WITH LLVM-exception", True),
        ("(MIT OR GPL-2.0-only) AND MPL-2.0", True),
        ("MIT License\n\nCopyright (c) 2022 Someone\n\nPermission is hereby granted", True),
        ("Apache Software License; MIT License", True),
        ("AGPL-3.0-or-later", False),
    ],
)
def test_spdx_expressions(licence: str, allowed: bool) -> None:
    policy = Policy.load()
    assert (policy.refusal(licence) is None) is allowed


def test_npm_and_reviewed_packages() -> None:
    policy = Policy.load()
    packages = [
        Package("npm", "@gouvfr/dsfr", "1.15.3", "etalab-2.0"),
        Package("npm", "left-pad-ish", "1.0.0", "WTFPL"),
        Package("python", "huey", "3.5.4", "UNKNOWN"),
    ]
    assert refusals(packages, policy) == ["npm left-pad-ish 1.0.0: licence 'WTFPL' (read as 'WTFPL') is not allowed"]


def test_reviewed_exception_accepts_one_licence_for_one_package() -> None:
    policy = Policy.load()
    assert policy.exceptions["rdrobust"] == "GPL-3.0-only"
    packages = [
        Package("python", "rdrobust", "2.1.1", "GPL-3.0-only"),
        Package("python", "rdrobust", "9.0", "AGPL-3.0-only"),
        Package("python", "other-gpl", "1.0", "GPL-3.0-only"),
    ]
    assert [line.split(":")[0] for line in refusals(packages, policy)] == [
        "python rdrobust 9.0",
        "python other-gpl 1.0",
    ]
