"""Time hand edits in a real browser: click → updated figures on the Grids page (issue 18, point 8).

The target: an edit takes under 1 s in the browser from the click to the updated figures,
on the bundled sample. This script starts the app (``streamlit run app.py``) on a fresh
workspace with ``GRIDPLAN_TIMING`` set (see :mod:`ui.timing`), drives Debian's chromium
with Playwright like ``tests/test_browser_edit.py``: creates a project from the bundled
sample, generates its grids, then repeats a move of one building to the neighbouring grid
and back (a rectangle drawn around it with the Draw tool, the target chosen, "Move the
selected buildings" clicked), and finally merges two grids and undoes the merge with the
editing tools. For each edit it measures, in the browser:

- ``figures``: click → the touched grids' households shown with their new values;
- ``idle``: click → the script run(s) finished (the page is ready for the next click);
- ``map``: click → the map shows the new grids (its layers replaced, or the map reloaded);

and, from the server's timing file, the script runs the click caused (their number, their
time and the time of each phase). It writes ``bench/results/edit_browser.md`` and
``.json``::

    .venv/bin/python bench/edit_browser.py               # 6 moves (3 there and back), merge, undo
    .venv/bin/python bench/edit_browser.py --moves 10 --label "after"

The machine's load average is recorded with the figures: on a shared machine the browser
timings vary with it; the server-side run time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gis.i18n import translator  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 180_000
PROJECT = "编辑计时"
TARGET_S = 1.0

_SCRIPT_DONE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute('data-test-script-state');
    return state !== null && !['running', 'rerunRequested'].includes(state);
}"""

_EFFECT_SHOWS = """([codes, values]) => {
    const box = document.querySelector('.st-key-edit_effect');
    if (!box) return false;
    const labels = [...box.querySelectorAll("[data-testid='stMetricLabel']")].map(e => e.innerText.trim().split(' ')[0]);
    const shown = [...box.querySelectorAll("[data-testid='stMetricValue']")].map(e => e.innerText.trim());
    return codes.every((c, i) => { const k = labels.indexOf(c); return k >= 0 && shown[k] === values[i]; });
}"""

_GRID_COUNT_IS = """(n) => [...document.querySelectorAll("[data-testid='stMetricValue']")]
    .some(e => e.innerText.replace(/,/g, '') === String(n))"""


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


def _start(home: str, timing_file: str) -> tuple[subprocess.Popen, str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = open(Path(home) / "streamlit.log", "w")  # noqa: SIM115 - closed by the caller
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "GRIDPLAN_HOME": home, "GRIDPLAN_DB": "",
             "GRIDPLAN_TIMING": timing_file, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return proc, url, log
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"streamlit did not start (see {log.name})")
        time.sleep(0.3)


def _idle(page: Any) -> None:
    for _ in range(2):
        page.wait_for_timeout(300)
        page.wait_for_function(_SCRIPT_DONE, timeout=TIMEOUT_MS)


def _map_frame(page: Any) -> Any:
    return next(f for f in page.frames if "streamlit_folium" in f.url and not f.is_detached())


def _mark_map(page: Any) -> None:
    """Note the map's layers now, to tell when they are replaced (or the map reloaded)."""
    _map_frame(page).evaluate(
        "() => { window.__bench = (window.__GLOBAL_DATA__ || {}).last_feature_group || 'none'; }"
    )


def _map_updated(page: Any) -> bool:
    for frame in page.frames:
        if "streamlit_folium" not in frame.url or frame.is_detached():
            continue
        try:
            if frame.evaluate(
                """() => !!window.map && (window.__bench === undefined ||
                    ((window.__GLOBAL_DATA__ || {}).last_feature_group || 'none') !== window.__bench)"""
            ):
                return True
        except Exception:  # noqa: BLE001 - a frame going away while asked
            continue
    return False


def _movable(home: str) -> tuple[str, str, str, int, Any, float, dict[str, int]]:
    """A building wholly in one grid that can move to a touching grid and back."""
    from planning.edit import EditRefusedError, GridPlan, move
    from planning.projects import open_loaded, workspace

    with workspace(home).open(PROJECT) as project:
        layers = project.load(layers=["grids", "grid_members"])
        loaded = open_loaded(project)
    plan = GridPlan(grids=layers["grids"], grid_members=layers["grid_members"],
                    buildings=loaded.buildings, communities=loaded.communities)
    members = plan.grid_members
    whole = members.groupby("building_id")["grid_code"].nunique() == 1
    grids = plan.grids.set_index("grid_code")
    points = loaded.buildings.to_crs(4548).set_index("building_id").geometry.representative_point()
    for a in grids.index:
        ids = [b for b in plan.members_of(a)["building_id"].unique() if whole.get(b, False)]
        if len(plan.members_of(a)["building_id"].unique()) < 2:
            continue
        near = [c for c in grids.index
                if c != a and grids.geometry[c].intersection(grids.geometry[a]).length > 1e-7]
        for b in ids:
            gap = float(points.drop(b).distance(points[b]).min())
            if gap < 6:  # room for a rectangle holding only this building's point
                continue
            for to in near:
                try:
                    there, _ = move(plan, [b], to)
                    move(there, [b], a)
                except EditRefusedError:
                    continue
                households = int(members.loc[members["building_id"] == b, "households"].sum())
                point = loaded.buildings.set_index("building_id").geometry.representative_point()[b]
                counts = {str(k): int(v) for k, v in grids["households"].items()}
                return a, to, b, households, point, gap / 2.5 / 111_320, counts
    raise SystemExit("no building of the sample can move to a neighbouring grid and back")


def _runs_since(timing_file: str, since: float) -> list[dict[str, Any]]:
    path = Path(timing_file)
    if not path.exists():
        return []
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [x for x in lines if x["at"] >= since]


def _draw_rectangle(page: Any, point: Any, half: float) -> None:
    frame = _map_frame(page)
    frame.wait_for_function("() => window.map && window.map.getZoom() > 0")
    corners = frame.evaluate(
        """([lat, lng, half]) => {
            window.map.setView([lat, lng], 19, {animate: false});
            const a = window.map.latLngToContainerPoint([lat + half, lng - half]);
            const b = window.map.latLngToContainerPoint([lat - half, lng + half]);
            return [a.x, a.y, b.x, b.y];
        }""",
        [point.y, point.x, half],
    )
    inner = frame.locator("#map_div").bounding_box()
    assert inner is not None
    page.frame_locator(".st-key-grids_map iframe").locator("a.leaflet-draw-draw-rectangle").click()
    page.mouse.move(inner["x"] + corners[0], inner["y"] + corners[1])
    page.mouse.down()
    page.mouse.move(inner["x"] + corners[2], inner["y"] + corners[3], steps=6)
    page.mouse.up()


def _timed_click(
    page: Any, click: Any, figures_shown: Any, timing_file: str, *, map_changes: bool = True
) -> dict[str, Any]:
    """Click, then time the figures, the end of the runs and the map's update."""
    _mark_map(page)
    page.wait_for_timeout(300)  # the server's previous lines are written
    wall = time.time()
    t = time.perf_counter()
    click()
    figures_shown()
    figures = time.perf_counter() - t
    idle = map_s = None
    if not map_changes:
        map_s = float("nan")
    while idle is None or map_s is None:  # whichever comes first: the map, or the end of the run
        now = time.perf_counter() - t
        if now > TIMEOUT_MS / 1000:
            raise SystemExit("the page did not settle")
        if map_s is None and _map_updated(page):
            map_s = now
        if idle is None and page.evaluate(_SCRIPT_DONE):
            idle = now
        time.sleep(0.02)
    page.wait_for_timeout(600)  # runs the click caused have ended and been written
    page.wait_for_function(_SCRIPT_DONE, timeout=TIMEOUT_MS)
    runs = _runs_since(timing_file, wall)
    return {"figures": figures, "idle": idle, "map": map_s, "runs": runs}


def _moves(page: Any, moves: int, records: dict[str, list[dict[str, Any]]], timing_file: str,
           found: tuple[Any, ...]) -> None:
    """Move the building there and back ``moves`` times, each selected with a rectangle."""
    a, to, b, households, point, half, counts = found
    here, there = a, to
    for i in range(moves):
        # -- select it with a rectangle ------------------------------------------------
        heading = zh(
            "{n} buildings selected on the map ({households} households) in grids {codes}"
        ).format(n=1, households=f"{households:,}", codes=here)
        rec = _timed_click(
            page,
            lambda: _draw_rectangle(page, point, half),
            lambda heading=heading: page.get_by_text(heading).wait_for(),
            timing_file,
            map_changes=False,
        )
        records["select"].append(rec)
        page.locator(".st-key-w_sel_target").click()
        page.get_by_role("option", name=there, exact=True).click()
        _idle(page)
        # -- move it ------------------------------------------------------------------
        counts[here] -= households
        counts[there] += households
        codes = [here, there]
        values = [f"{counts[here]:,}", f"{counts[there]:,}"]
        rec = _timed_click(
            page,
            lambda: page.locator(".st-key-w_sel_move button").click(),
            lambda codes=codes, values=values: page.wait_for_function(
                _EFFECT_SHOWS, arg=[codes, values], polling=20
            ),
            timing_file,
        )
        records["move"].append(rec)
        print(f"move {i + 1}: figures {rec['figures']:.2f} s, idle {rec['idle']:.2f} s, "
              f"map {rec['map']:.2f} s, runs {[r['seconds'] for r in rec['runs']]}", flush=True)
        page.get_by_text(heading).wait_for(state="detached")
        here, there = there, here


def _load() -> tuple[float, float, float]:
    return os.getloadavg()


def run(moves: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    home = tempfile.mkdtemp(prefix="gridplan-bench-edit-")
    timing_file = str(Path(home) / "timings.jsonl")
    proc, url, log = _start(home, timing_file)
    load_before = _load()
    records: dict[str, list[dict[str, Any]]] = {"select": [], "move": [], "merge": [], "undo": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"],
            )
            context = browser.new_context(viewport={"width": 1400, "height": 1700})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url, wait_until="domcontentloaded")
            page.locator("h1", has_text=zh("Projects")).first.wait_for()
            page.get_by_label(zh("Project name"), exact=True).fill(PROJECT)
            page.get_by_label(zh("Project name"), exact=True).press("Enter")
            page.get_by_role("button", name=zh("Create"), exact=True).click()
            page.get_by_text(zh("Open: {name} · {saved}").split("{")[0] + PROJECT).first.wait_for()
            page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
            page.get_by_role("option", name=zh("None (offline)")).click()
            _idle(page)
            page.locator('[data-testid="stSidebarNav"] a[href$="/grids"]').click()
            page.locator("h1", has_text=zh("Grids")).first.wait_for()
            page.get_by_role("button", name=zh("Generate grids")).click()
            page.locator(".st-key-grids_map iframe").wait_for()
            _idle(page)
            page.on("console", lambda msg: print("console:", msg.text, flush=True) if msg.type == "error" else None)
            a, to, b, households, point, half, counts = _movable(home)
            print(f"moving building {b} ({households} households) between {a} and {to}", flush=True)
            try:
                _moves(page, moves, records, timing_file, (a, to, b, households, point, half, counts))
            except Exception:
                page.screenshot(path=str(Path(home) / "edit-bench-failed.png"), full_page=True)
                raise
            # -- merge two grids with the editing tools, then undo --------------------------------
            shown = page.locator("[data-testid='stMetric']", has_text=zh("grids")).first
            n = int(shown.locator("[data-testid='stMetricValue']").inner_text().replace(",", ""))
            page.locator(".st-key-w_edit_action").get_by_text(
                zh("Merge with a neighbouring grid")
            ).click()
            _idle(page)
            try:
                rec = _timed_click(
                    page,
                    lambda: page.get_by_role("button", name=zh("Apply"), exact=True).click(),
                    lambda: page.wait_for_function(_GRID_COUNT_IS, arg=n - 1, polling=20, timeout=60_000),
                    timing_file,
                )
                records["merge"].append(rec)
                rec = _timed_click(
                    page,
                    lambda: page.locator(".st-key-w_edit_undo button").click(),
                    lambda: page.wait_for_function(_GRID_COUNT_IS, arg=n, polling=20, timeout=60_000),
                    timing_file,
                )
                records["undo"].append(rec)
            except Exception as err:  # noqa: BLE001 - the moves are measured anyway
                print(f"merge/undo not measured: {err}", flush=True)
            page.screenshot(path=str(Path(home) / "edit-bench.png"), full_page=True)
            context.close()
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return {"records": records, "load_before": load_before, "load_after": _load(), "home": home}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summarise(out: dict[str, Any]) -> dict[str, Any]:
    table = {}
    for kind, recs in out["records"].items():
        if not recs:
            continue
        row: dict[str, Any] = {"n": len(recs)}
        for what in ("figures", "idle", "map"):
            values = [r[what] for r in recs]
            row[what] = {"median": statistics.median(values), "p95": _p95(values)}
        server = [sum(run["seconds"] for run in r["runs"]) for r in recs]
        row["server"] = {"median": statistics.median(server), "p95": _p95(server)}
        row["runs"] = statistics.median([len(r["runs"]) for r in recs])
        phases: dict[str, list[float]] = {}
        for r in recs:
            seen: dict[str, float] = {}
            for run in r["runs"]:
                for name, seconds in run["phases"]:
                    seen[name] = seen.get(name, 0.0) + seconds
            for name, seconds in seen.items():
                phases.setdefault(name, []).append(seconds)
        row["phases"] = {k: statistics.median(v) for k, v in phases.items()}
        table[kind] = row
    return table


def write(table: dict[str, Any], out: dict[str, Any], label: str, moves: int) -> None:
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    entry = {"label": label, "at": stamp, "moves": moves, "load_before": out["load_before"],
             "load_after": out["load_after"], "python": platform.python_version(), "table": table}
    path = results / "edit_browser.json"
    history = json.loads(path.read_text()) if path.exists() else []
    history.append(entry)
    path.write_text(json.dumps(history, indent=1, ensure_ascii=False) + "\n")
    lines = [
        "# Hand edits in the browser: click → updated figures (bench/edit_browser.py)",
        "",
        f"Target: under {TARGET_S:.0f} s from the click to the updated figures on the bundled sample.",
        "Each run: a fresh project from the bundled sample, grids generated, one building moved to",
        "the neighbouring grid and back (rectangle drawn, target chosen, “move” clicked), then a",
        "merge and its undo with the editing tools. `figures`: click → the touched grids' new",
        "households shown; `idle`: → the script run(s) done; `map`: → the map's layers replaced;",
        "`server`: the script runs the click caused (sum, from `GRIDPLAN_TIMING`).",
        "",
    ]
    for e in history:
        lines += [
            f"## {e['label']} ({e['at']}; load average {e['load_before'][0]:.1f} before, "
            f"{e['load_after'][0]:.1f} after; {e['moves']} moves)",
            "",
            "| edit | n | figures median s | figures p95 s | idle median s | map median s "
            "| server median s | runs | slowest phases (median s) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for kind, row in e["table"].items():
            slow = sorted(row["phases"].items(), key=lambda kv: -kv[1])[:5]
            phases = "; ".join(f"{k} {v:.3f}" for k, v in slow)
            lines.append(
                f"| {kind} | {row['n']} | {row['figures']['median']:.2f} | {row['figures']['p95']:.2f} "
                f"| {row['idle']['median']:.2f} | {row['map']['median']:.2f} "
                f"| {row['server']['median']:.3f} | {row['runs']:g} | {phases} |"
            )
        lines.append("")
    (results / "edit_browser.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=6, help="moves to time (there and back)")
    parser.add_argument("--label", default="current", help="the heading of this run in the results")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit("Debian's chromium is needed at /usr/bin/chromium (scripts/setup.sh test)")
    out = run(args.moves)
    table = summarise(out)
    write(table, out, args.label, args.moves)
    print(json.dumps(table, indent=1))
    print(f"timings: {out['home']}/timings.jsonl; screenshot: {out['home']}/edit-bench.png")


if __name__ == "__main__":
    main()
