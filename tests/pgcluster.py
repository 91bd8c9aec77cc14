"""Private PostgreSQL clusters for tests that stop, freeze or replicate a server: initdb into a
temporary directory (as the ``postgres`` user when run as root), never the shared server."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

PG_BIN = Path("/usr/lib/postgresql/15/bin")
_RUN: dict[str, Any] = {"check": True, "capture_output": True, "timeout": 120}


def as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]


def own_dir(path: Path) -> Path:
    """A directory the cluster's user may write (its data directory and socket live there)."""
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


class Cluster:
    """One cluster: ``data`` under ``root``, listening on 127.0.0.1:``port``."""

    def __init__(self, root: Path, name: str, port: int) -> None:
        self.root = root
        self.data = root / name
        self.port = port
        self.log = root / f"{name}.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        subprocess.run(
            as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres"]
                + ["--auth=trust", "-E", "UTF8"]
            ),
            **_RUN,
        )

    def base_backup(self, primary: Cluster) -> None:
        """A copy of ``primary`` set up as its streaming standby (``-R``: standby.signal and
        primary_conninfo)."""
        subprocess.run(
            as_postgres(
                [str(PG_BIN / "pg_basebackup"), "-D", str(self.data), "-R", "-X", "stream"]
                + ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-c", "fast"]
            ),
            **_RUN,
        )

    def start(self) -> None:
        subprocess.run(
            as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w"]
                + ["-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start"]
            ),
            **_RUN,
        )

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            subprocess.run(
                as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"]),
                capture_output=True,
                timeout=60,
            )

    @property
    def postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])
