"""A throw-away PostgreSQL + PostGIS server for the tests, started by the test suite itself.

:func:`start` finds ``initdb``/``pg_ctl`` (on ``PATH`` or under Debian's
``/usr/lib/postgresql/<major>/bin``), creates a cluster in a fresh temporary folder and
starts it on a free local port with its socket in that folder, ``fsync=off`` and TCP on
127.0.0.1 only. PostgreSQL refuses to run as root, so when the tests run as root (CI)
the folder is given to the ``postgres`` user and the programs run through
``runuser -u postgres --``. Each pytest-xdist worker starts its own server (its own
folder and port), so the tests are parallel-safe.

:class:`Unavailable` says why there is no server (no ``pg_ctl``, no PostGIS); the
fixture turns it into a skip. ``scripts/setup.sh test`` installs both on Debian.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgServer", "Unavailable", "running", "start"]


class Unavailable(RuntimeError):  # noqa: N818 - reads as `except Unavailable`
    """No PostgreSQL server with PostGIS can be started here (the reason is the message)."""


@dataclass(frozen=True)
class PgServer:
    """A running server: its folder, port and the URL of a database with PostGIS."""

    folder: Path
    port: int
    bindir: Path
    database: str

    def url(self, database: str | None = None) -> str:
        """Return the SQLAlchemy URL of ``database`` (the PostGIS one by default)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database or self.database}"

    def create_database(self, name: str, *, postgis: bool = True) -> str:
        """Create database ``name`` (with PostGIS by default); return its URL."""
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        if postgis:
            with psycopg.connect(self._dsn(name), autocommit=True) as con:
                con.execute("CREATE EXTENSION postgis")
        return self.url(name)

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"


def find_bindir() -> Path:
    """Return the folder of ``pg_ctl`` and ``initdb`` (the newest Debian one first)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if (Path(folder) / "pg_ctl").is_file() and (Path(folder) / "initdb").is_file():
            return Path(folder)
    msg = (
        "pg_ctl/initdb not found (install PostgreSQL: apt-get install postgresql "
        "postgresql-15-postgis-3, or run scripts/setup.sh test as root)"
    )
    raise Unavailable(msg)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(command: list[str], *, as_postgres: bool, timeout: float = 60) -> None:
    if as_postgres:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        msg = f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        raise RuntimeError(msg)


def start(*, database: str = "gridplan_test", attempts: int = 3) -> PgServer:
    """Start a server in a new temporary folder; return it with a PostGIS database made.

    Raises
    ------
    Unavailable
        When PostgreSQL or the PostGIS extension is not installed.
    """
    bindir = find_bindir()
    as_postgres = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="gridplan-pg-"))
    data = folder / "data"
    try:
        if as_postgres:
            shutil.chown(folder, user="postgres", group="postgres")
        os.chmod(folder, 0o700)
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            as_postgres=as_postgres,
        )
        for attempt in range(attempts):
            port = _free_port()
            options = (
                f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
            )
            try:
                _run(
                    [
                        str(bindir / "pg_ctl"),
                        "-D",
                        str(data),
                        "-w",
                        "-t",
                        "60",
                        "-l",
                        str(folder / "server.log"),
                        "-o",
                        options,
                        "start",
                    ],
                    as_postgres=as_postgres,
                    timeout=90,
                )
                break
            except RuntimeError:  # the port was taken meanwhile: try another
                if attempt == attempts - 1:
                    raise
        server = PgServer(folder, port, bindir, database)
        import psycopg

        with psycopg.connect(server._dsn("postgres"), autocommit=True) as con:
            available = con.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
        if available is None:
            msg = (
                "the PostGIS extension is not installed for this PostgreSQL "
                "(apt-get install postgresql-15-postgis-3, or scripts/setup.sh test as root)"
            )
            raise Unavailable(msg)
        server.create_database(database)
        return server
    except BaseException:
        stop(folder, bindir)
        raise


def stop(folder: Path, bindir: Path) -> None:
    """Stop the server of ``folder`` (if it runs) and delete the folder."""
    data = folder / "data"
    if (data / "postmaster.pid").exists():
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            _run(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                as_postgres=os.geteuid() == 0,
            )
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def running(*, database: str = "gridplan_test") -> Iterator[PgServer]:
    """Run a server for the duration of the block (see :func:`start`)."""
    server = start(database=database)
    try:
        yield server
    finally:
        stop(server.folder, server.bindir)
