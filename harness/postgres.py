"""A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` with trust auth on a free
port.

It needs no passwords and leaves nothing behind. PostgreSQL refuses to run as root, so when the
suite or a benchmark runs as root the server runs as the `postgres` system user instead.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from harness.ports import free_port

PG_BIN_CANDIDATES = [Path(f"/usr/lib/postgresql/{v}/bin") for v in (17, 16, 15, 14)]


def pg_bin_dir() -> Path | None:
    override = os.environ.get("PG_BIN_DIR")
    if override:
        return Path(override)
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def as_postgres() -> list[str]:
    """The prefix that runs a command as the server's user (when we are root)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def chown_to_postgres(path: Path) -> None:
    """Give a tree to the server's user (when we are root), so the server can use it."""
    if os.geteuid() != 0:
        return
    owner = pwd.getpwnam("postgres")
    for item in [path, *path.rglob("*")]:
        os.chown(item, owner.pw_uid, owner.pw_gid)


@dataclass
class PostgresCluster:
    bin_dir: Path
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sf-pg-")))
    extra_conf: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*as_postgres(), *args], check=check, capture_output=True, text=True, timeout=120
        )

    def init(self) -> None:
        chown_to_postgres(self.root)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        conf = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "fsync": "off",  # throwaway test data: durability is not what these tests measure
            "max_connections": "300",
            **self.extra_conf,
        }
        with (self.data_dir / "postgresql.auto.conf").open("a") as handle:
            for key, value in conf.items():
                handle.write(f"{key} = {value}\n")

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-m",
            mode,
            "-w",
            "stop",
            check=False,
        )

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(driver="postgresql"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_cluster(**extra_conf: str) -> PostgresCluster | None:
    """A started cluster, or None when no PostgreSQL server binaries are installed."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        return None
    cluster = PostgresCluster(bin_dir=bin_dir, extra_conf=extra_conf)
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        with contextlib.suppress(Exception):
            print((cluster.root / "server.log").read_text())
        cluster.destroy()
        raise
    return cluster
