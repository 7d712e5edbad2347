"""The licence check CI runs: every installed Python distribution and every npm package must carry a
licence the project's policy allows (``[tool.vigie.licences]`` in pyproject.toml).

Vigie is published under the EUPL-1.2, one of the licences the French administration may use for its
software (décret n° 2021-1559). A dependency is compatible when its licence lets the whole be
distributed under the EUPL: permissive licences, and the weak copyleft ones (MPL-2.0 file by file,
LGPL as a library used unmodified). A strong copyleft library (GPL) is a decision to take and record in
the policy, not something a lock update may bring in silently.

pip-licenses (a well-kept tool) reads the distributions' metadata; this module only judges what it
reports. A licence is read as an SPDX expression: ``A OR B`` needs one side allowed, ``A AND B`` both,
``A WITH exception`` the licence ``A``. Free-text licence fields (``MIT License``, a whole licence text)
are mapped to an SPDX identifier by the policy's aliases; a package whose metadata says nothing
(``UNKNOWN``) must be listed under ``reviewed`` with the licence read by hand from its files. A
licence outside ``allowed`` passes only for a package listed under ``exceptions`` (a recorded decision
naming the one licence accepted for it and why: the GPL-3.0 rdrobust family, through the EUPL-1.2's
compatibility clause).

Run: ``python -m tests.support.licences`` (exit 1 with one line per refused package).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Policy:
    """What the project accepts, read from pyproject.toml."""

    allowed: frozenset[str]
    aliases: dict[str, str]
    reviewed: dict[str, str]
    exceptions: dict[str, str]
    own_names: frozenset[str]

    @classmethod
    def load(cls, pyproject: Path = ROOT / "pyproject.toml") -> Policy:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        table = document["tool"]["vigie"]["licences"]
        return cls(
            allowed=frozenset(table["allowed"]),
            aliases={key.casefold(): value for key, value in table["aliases"].items()},
            reviewed={_normalise_name(k): v for k, v in table["reviewed"].items()},
            exceptions={_normalise_name(k): v["licence"] for k, v in table.get("exceptions", {}).items()},
            own_names=frozenset({_normalise_name(document["project"]["name"])}),
        )

    def spdx(self, licence: str) -> str:
        """An SPDX expression for a licence field as packages write it."""
        text = licence.strip()
        first_line = text.splitlines()[0].strip() if text else ""
        for candidate in (text, first_line):
            alias = self.aliases.get(candidate.casefold())
            if alias:
                return alias
        # Several trove classifiers, as pip-licenses joins them: each one a licence of the package.
        if "; " in text:
            return " AND ".join(f"({self.spdx(part)})" for part in text.split("; "))
        return text

    def refusal(self, licence: str) -> str | None:
        """Why a licence is refused, or None when the policy allows it."""
        expression = self.spdx(licence)
        if _allowed(expression, self.allowed):
            return None
        return f"licence {licence.strip().splitlines()[0][:80]!r} (read as {expression!r}) is not allowed"


def _normalise_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _allowed(expression: str, allowed: frozenset[str]) -> bool:
    """Whether an SPDX expression is satisfied by the allowed identifiers (OR binds looser than AND)."""
    expression = expression.strip()
    while expression.startswith("(") and _closing(expression) == len(expression) - 1:
        expression = expression[1:-1].strip()
    for operator in (" OR ", " AND "):
        parts = _split_top_level(expression, operator)
        if len(parts) > 1:
            checks = [_allowed(part, allowed) for part in parts]
            return any(checks) if operator == " OR " else all(checks)
    identifier = expression.split(" WITH ")[0].strip()
    return identifier in allowed


def _closing(text: str) -> int:
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return -1


def _split_top_level(expression: str, operator: str) -> list[str]:
    parts, depth, start = [], 0, 0
    index = 0
    while index < len(expression):
        char = expression[index]
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and expression.startswith(operator, index):
            parts.append(expression[start:index])
            index += len(operator)
            start = index
            continue
        index += 1
    parts.append(expression[start:])
    return parts


@dataclass(frozen=True)
class Package:
    """One dependency as its metadata declares it."""

    ecosystem: str
    name: str
    version: str
    licence: str


def python_packages(python: str = sys.executable) -> list[Package]:
    """Every distribution importable by ``python``, through pip-licenses."""
    found = subprocess.run(
        [sys.executable, "-m", "piplicenses", "--python", python, "--from", "mixed", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return [Package("python", row["Name"], row["Version"], row["License"]) for row in json.loads(found.stdout)]


def npm_packages(lock_file: Path = ROOT / "package-lock.json") -> list[Package]:
    """Every package of the npm lock file (the root, Vigie's own pages, left out)."""
    packages = json.loads(lock_file.read_text(encoding="utf-8"))["packages"]
    return [
        Package("npm", path.removeprefix("node_modules/"), entry.get("version", ""), entry.get("license", "UNKNOWN"))
        for path, entry in packages.items()
        if path
    ]


def refusals(packages: list[Package], policy: Policy) -> list[str]:
    """One line per package the policy refuses."""
    lines = []
    for package in packages:
        name = _normalise_name(package.name)
        if name in policy.own_names:
            continue
        licence = policy.reviewed.get(name, package.licence)
        if policy.exceptions.get(name) == licence.strip():
            continue
        reason = policy.refusal(licence)
        if reason:
            lines.append(f"{package.ecosystem} {package.name} {package.version}: {reason}")
    return lines


def main() -> int:
    """Check the Python environment running this module and the npm lock file."""
    policy = Policy.load()
    packages = python_packages() + npm_packages()
    lines = refusals(packages, policy)
    for line in lines:
        print(f"licence check: {line}", file=sys.stderr)
    if lines:
        print(
            f"licence check: {len(lines)} of {len(packages)} packages refused; see [tool.vigie.licences] "
            "in pyproject.toml",
            file=sys.stderr,
        )
        return 1
    print(f"licence check: {len(packages)} packages, every licence allowed (project: EUPL-1.2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
