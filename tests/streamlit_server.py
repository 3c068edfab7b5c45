"""The app served by ``streamlit run app.py`` on a free local port, for the real-browser tests.

:func:`start` starts the server with its own projects folder (``GRIDPLAN_HOME``) and no
database and waits until ``/_stcore/health`` answers ``ok``; :func:`stop` terminates it (and
kills it after 20 s); :func:`running` does both around a block, on a free port. The output
goes to a log file, named in the failure when the server does not start.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

__all__ = ["REPO", "free_port", "running", "start", "stop"]

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A free TCP port on 127.0.0.1.

    Returns
    -------
    int
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    *,
    home: str | Path,
    port: int,
    log: Path,
    timeout: float = 90.0,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``streamlit run app.py`` on ``port`` and wait until it answers its health check.

    Parameters
    ----------
    home
        The server's projects folder (``GRIDPLAN_HOME``), not the planner's.
    port
        The local port to serve on.
    log
        Where the server's output is appended.
    timeout
        Seconds to wait for the health check before the test fails.
    env
        More environment variables for the server (``GRIDPLAN_TIMING``, say).

    Returns
    -------
    subprocess.Popen
        The running server; stop it with :func:`stop`.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:  # the server keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "GRIDPLAN_HOME": str(home),
                "GRIDPLAN_DB": "",
                **(env or {}),
            },
        )
    deadline = time.monotonic() + timeout
    while True:
        try:
            health = f"http://127.0.0.1:{port}/_stcore/health"
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.read().strip() == b"ok":
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            pytest.fail(f"streamlit did not start (see {log})")
        time.sleep(0.3)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server, and kill it when it has not stopped after 20 s.

    Parameters
    ----------
    proc
        The server :func:`start` returned.
    """
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def running(
    *, home: str | Path, log: Path, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Serve the app on a free port until the block ends (the log starts empty).

    Parameters
    ----------
    home
        The server's projects folder (``GRIDPLAN_HOME``), not the planner's.
    log
        Where the server's output is written.
    env
        More environment variables for the server.

    Yields
    ------
    str
        The app's URL, ``http://127.0.0.1:<port>``.
    """
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    proc = start(home=home, port=port, log=log, env=env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
