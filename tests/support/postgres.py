"""A throwaway PostgreSQL server for the tests: Debian's binaries, a cluster in a temporary folder,
listening on 127.0.0.1 and a private socket only, stopped and removed at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.loopback import free_port


def _binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str]) -> list[str]:
    """The server refuses to run as root: run its commands as the 'postgres' user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PostgresServer:
    folder: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://vigie@127.0.0.1:{self.port}/vigie"

    def _ctl(self, *args: str) -> None:
        log = str(self.folder / "server.log")
        command = [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-l", log, "-w", *args]
        subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")


def start_postgres(folder: Path) -> PostgresServer:
    """Initialise and start a cluster with a 'vigie' role and database (trust on loopback)."""
    binaries = _binaries()
    if binaries is None or shutil.which("runuser") is None:
        raise RuntimeError("PostgreSQL binaries not found (Debian package 'postgresql'; 'make test' installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    folder.chmod(0o700)
    init = [str(binaries / "initdb"), "-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8"]
    subprocess.run(_as_postgres(init), check=True, capture_output=True, timeout=120)
    server = PostgresServer(folder, free_port(), binaries)
    server.start()
    psql = [
        str(binaries / "psql"),
        "-h",
        "127.0.0.1",
        "-p",
        str(server.port),
        "-U",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
    ]
    for sql in ("CREATE ROLE vigie LOGIN", "CREATE DATABASE vigie OWNER vigie"):
        subprocess.run([*psql, "-c", sql], check=True, capture_output=True, timeout=30)
    return server
