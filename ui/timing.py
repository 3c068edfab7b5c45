"""Server-side timing of script runs, for ``bench/edit_browser.py`` (off by default).

With ``GRIDPLAN_TIMING=/path/to/file.jsonl`` in the server's environment, every script run
of the app (and every rerun of a fragment alone) appends one JSON line to that file::

    {"run": "app", "page": "grids", "seconds": 0.412,
     "phases": [["callback: move", 0.081], ["grids: load", 0.003], …]}

The phases of one run are kept in the session (``st.session_state``), never in a module
global: two planners' runs never mix. A widget callback's phases (run before the script)
are counted in the run that follows it. Without the variable nothing is measured or kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import streamlit as st

__all__ = ["ENV", "enabled", "mark", "phase", "run"]

ENV = "GRIDPLAN_TIMING"
"""The environment variable naming the JSON-lines file the timings go to."""

_RUN = "timing_run"  # session key: the record of the run under way (a dict, see run())
_PENDING = "timing_pending"  # session key: phases timed in callbacks, before the next run


def enabled() -> bool:
    """Whether timings are written (``GRIDPLAN_TIMING`` names a file)."""
    return bool(os.environ.get(ENV, "").strip())


def _open_run() -> dict[str, Any] | None:
    record = st.session_state.get(_RUN)
    return record if isinstance(record, dict) and record.get("open") else None


def _add(name: str, seconds: float) -> None:
    record = _open_run()
    target = record["phases"] if record is not None else st.session_state.setdefault(_PENDING, [])
    target.append((name, round(seconds, 4)))


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as one phase of the run under way (or of the next, in a callback)."""
    if not enabled():
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        # (after st.stop() the session can no longer be read: the phase is then lost)
        with contextlib.suppress(Exception):
            _add(name, time.perf_counter() - started)


def mark(name: str) -> None:
    """Close a phase ``name`` that began at the previous mark (or at the run's start)."""
    if not enabled():
        return
    record = _open_run()
    now = time.perf_counter()
    if record is not None:
        record["phases"].append((name, round(now - record["mark"], 4)))
        record["mark"] = now


@contextlib.contextmanager
def run(label: str) -> Iterator[dict[str, Any]]:
    """Time a whole script run (``label`` ``app``) or a fragment's own rerun.

    A fragment drawn inside the app's run is a phase of that run; rerun alone (a widget
    inside it was used) it is a run of its own. Yields a dict where the caller may note
    the ``page`` shown.
    """
    if not enabled():
        yield {}
        return
    outer = _open_run()
    if outer is not None:
        started = time.perf_counter()
        try:
            yield outer
        finally:
            outer["phases"].append((label, round(time.perf_counter() - started, 4)))
        return
    started = time.perf_counter()
    pending = st.session_state.get(_PENDING) or []
    st.session_state[_PENDING] = []
    # the record lives in the session so phases anywhere in the run find it; the end of the
    # run only touches this local reference (after st.stop() the session cannot be read)
    record: dict[str, Any] = {"open": True, "phases": list(pending), "mark": started, "page": ""}
    st.session_state[_RUN] = record
    try:
        yield record
    finally:
        record["open"] = False
        line = {
            "run": label,
            "page": record.get("page", ""),
            "at": time.time(),
            "seconds": round(time.perf_counter() - started, 4),
            "phases": record["phases"],
        }
        with open(os.environ[ENV], "a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
