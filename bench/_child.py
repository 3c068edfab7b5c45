"""Run one benchmark step in a child process and watch it (shared by grids.py and split.py).

The child writes protocol lines on stdout: ``PHASE <name>`` when it enters a phase, and
``<TAG> <json>`` for each payload (``RESULT``, ``PROBE``, ...). The parent samples the
child's resident memory every ``poll`` seconds and kills it when it passes a limit, or
when one of the ``timed_phases`` runs longer than the timeout.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ChildRun", "rss_mb", "watch_child"]


@dataclass
class ChildRun:
    """What a watched child left: its payloads, and why it was stopped if it was."""

    returncode: int | None
    payloads: dict[str, Any] = field(default_factory=dict)
    killed: str | None = None  # "memory" or "timeout"
    reason: str = ""
    sampled_peak_rss_mb: float = 0.0
    stderr_tail: list[str] = field(default_factory=list)


def rss_mb(pid: int) -> float | None:
    """The resident memory of process ``pid`` in MB (Linux ``/proc``), None when gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def watch_child(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    mem_limit_mb: float,
    timeout: float | None,
    timed_phases: Collection[str],
    tags: Collection[str] = ("RESULT",),
    poll: float = 0.1,
) -> ChildRun:
    """Run ``cmd`` to its end or until the memory limit or the phase timeout stops it."""
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    state: dict[str, Any] = {"phase": "setup", "phase_started": time.monotonic()}
    run = ChildRun(returncode=None)

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tag, _, rest = line.partition(" ")
            if tag == "PHASE":
                state["phase"] = rest.strip()
                state["phase_started"] = time.monotonic()
            elif tag in tags:
                run.payloads[tag] = json.loads(rest)

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            run.stderr_tail.append(line)
            del run.stderr_tail[:-40]

    threads = [
        threading.Thread(target=read_stdout, daemon=True),
        threading.Thread(target=read_stderr, daemon=True),
    ]
    for t in threads:
        t.start()
    while proc.poll() is None:
        rss = rss_mb(proc.pid)
        if rss is not None:
            run.sampled_peak_rss_mb = max(run.sampled_peak_rss_mb, rss)
            if rss > mem_limit_mb:
                run.killed = "memory"
                run.reason = f"RSS passed {mem_limit_mb / 1024:.0f} GB in phase {state['phase']}"
        if (
            timeout is not None
            and state["phase"] in timed_phases
            and time.monotonic() - state["phase_started"] > timeout
        ):
            run.killed = "timeout"
            run.reason = f"{state['phase']} ran longer than {timeout:.0f} s"
        if run.killed:
            proc.kill()
            proc.wait()
            break
        time.sleep(poll)
    for t in threads:
        t.join(timeout=5)
    run.returncode = proc.returncode
    return run
