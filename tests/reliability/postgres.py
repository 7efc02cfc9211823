"""A real PostgreSQL for tests: Debian's server binaries (installed by scripts/install-postgres.sh), a cluster
in a temporary folder on a free port, stopped and deleted at the end.

initdb refuses to run as root, so as root the cluster belongs to the `postgres` user the Debian package makes.

    with PostgresServer.start() as pg:
        url = pg.create_database("t1")   # postgresql://kb@127.0.0.1:PORT/t1
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psycopg

from tests.infra.processes import free_port

INSTALL_HINT = "PostgreSQL server binaries are missing: run scripts/install-postgres.sh (make test does)"


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(INSTALL_HINT)


@dataclass
class PostgresServer:
    base: Path
    port: int
    bin_dir: Path
    as_user: list[str]

    @property
    def admin_url(self) -> str:
        return f"postgresql://kb@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = _bin_dir()
        base = Path(tempfile.mkdtemp(prefix="kb-pg-"))
        as_user: list[str] = []
        if os.geteuid() == 0:
            as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(base, "postgres")
        server = cls(base, free_port(), bin_dir, as_user)
        server._run("initdb", "-D", str(base / "data"), "-A", "trust", "-U", "kb", "-E", "UTF8", "--no-sync")
        server.resume()
        return server

    def resume(self) -> None:
        """Start the server (again) on its port."""
        self._run("pg_ctl", "-D", str(self.base / "data"), "-l", str(self.base / "log"), "-w", "-t", "60", "start",
                  "-o", f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=200")

    def pause(self) -> None:
        """Stop the server, its data kept (a restart, an outage); `resume` starts it again."""
        self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "fast", "-w", "stop")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self.as_user, str(self.bin_dir / tool), *args], capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            log = (self.base / "log").read_text() if (self.base / "log").exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr}{done.stdout}\n{log}")

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]  # test-chosen name
        return f"postgresql://kb@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
