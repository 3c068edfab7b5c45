"""Hand editing of grids in a real browser (issue 18): chromium driven by Playwright.

A planner opens the sample as a project, generates the grids, draws a rectangle around a
building with the Draw tool inside the streamlit-folium frame, moves it to the
neighbouring grid and sees the touched grids' figures change; merges two grids, undoes the
merge; reloads the page: the move (saved as it happened) is still there. An edit reruns
the Grids page's fragment only (one run, not the whole app: the server's run log of
``GRIDPLAN_TIMING`` says so), and the map keeps the planner's place and zoom through the
edits (it is not reloaded). The time from a click to the updated figures is written to
``test-output/browser/timings-edit.txt``; screenshots go to
``test-output/browser/edit-*.png``.

Needs ``/usr/bin/chromium`` (``scripts/setup.sh test``), like tests/test_browser.py.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest
import streamlit_server

from gis.i18n import translator

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-output" / "browser"
TIMEOUT_MS = 180_000
PROJECT = "网格编辑"

if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed at /usr/bin/chromium (run `scripts/setup.sh test`)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")

_SCRIPT_DONE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute('data-test-script-state');
    return state !== null && !['running', 'rerunRequested'].includes(state);
}"""


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


def _idle(page) -> None:
    for _ in range(2):
        page.wait_for_timeout(300)
        page.wait_for_function(_SCRIPT_DONE, timeout=TIMEOUT_MS)


def _shot(page, name: str) -> None:
    page.wait_for_timeout(800)
    page.screenshot(path=str(SHOTS / f"edit-{name}.png"), full_page=True)


def _metric(page, scope: str) -> dict[str, str]:
    """Label → value of the metrics inside ``.st-key-<scope>``."""
    box = page.locator(f".st-key-{scope}")
    labels = box.locator("[data-testid='stMetricLabel']").all_inner_texts()
    values = box.locator("[data-testid='stMetricValue']").all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values, strict=True)}


def _grid_count(page) -> int:
    label = page.locator("[data-testid='stMetric']", has_text=zh("grids")).first
    return int(label.locator("[data-testid='stMetricValue']").inner_text().replace(",", ""))


@pytest.fixture(scope="module")
def server():
    home = tempfile.mkdtemp(prefix="gridplan-browser-edit-")
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = SHOTS.parent / "streamlit-browser-edit.log"
    runs = {"GRIDPLAN_TIMING": str(Path(home) / "runs.jsonl")}  # the server's run log (ui.timing)
    with streamlit_server.running(home=home, log=log, env=runs) as url:
        yield url, home


def _runs_since(home: str, since: float) -> list[dict]:
    """The script runs the server logged (ui.timing) that ended after ``since``."""
    path = Path(home) / "runs.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [run for run in map(json.loads, filter(None, lines)) if run["at"] >= since]


def _map_view(page) -> dict:
    frame = next(f for f in page.frames if "streamlit_folium" in f.url and not f.is_detached())
    return frame.evaluate(
        """() => ({zoom: window.map.getZoom(), lat: window.map.getCenter().lat,
                   lng: window.map.getCenter().lng, kept: window.__kept === true})"""
    )


def _movable(home: str):
    """A building wholly in one grid that can move to a touching grid, from the saved project."""
    import shapely

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
            for to in near:
                try:
                    move(plan, [b], to)
                except EditRefusedError:
                    continue
                gap = float(points.drop(b).distance(points[b]).min())
                if gap < 6:  # room for a rectangle holding only this building's point
                    continue
                households = int(members.loc[members["building_id"] == b, "households"].sum())
                point = loaded.buildings.set_index("building_id").geometry.representative_point()[b]
                half_deg = gap / 2.5 / 111_320
                return a, to, b, households, point, half_deg, grids
    raise AssertionError("no building of the sample can move to a neighbouring grid")


def test_move_a_building_on_the_map_merge_undo_reload(server):
    url, home = server
    timings: dict[str, float] = {}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1700})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url, wait_until="domcontentloaded")
        # -- the sample as a project, no tiles (offline), the grids ---------------------------
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
        before_count = _grid_count(page)

        # -- a rectangle around one building, drawn with the Draw tool ---------------------
        a, to, b, households, point, half, grids = _movable(home)
        frame = next(f for f in page.frames if "streamlit_folium" in f.url)
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
        iframe = page.locator(".st-key-grids_map iframe").bounding_box()
        inner = frame.locator("#map_div").bounding_box()
        assert iframe is not None and inner is not None
        page.frame_locator(".st-key-grids_map iframe").locator(
            "a.leaflet-draw-draw-rectangle"
        ).click()
        x0, y0, x1, y1 = (inner["x"] + corners[0], inner["y"] + corners[1],
                          inner["x"] + corners[2], inner["y"] + corners[3])
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x1, y1, steps=6)
        t = time.monotonic()
        page.mouse.up()
        heading = zh(
            "{n} buildings selected on the map ({households} households) in grids {codes}"
        ).format(n=1, households=f"{households:,}", codes=a)
        page.get_by_text(heading).wait_for()
        _idle(page)
        timings["rectangle drawn → selection and preview (s)"] = time.monotonic() - t
        _shot(page, "1-selected")

        # -- move it to the neighbouring grid: the touched grids' figures change -----------
        page.locator(".st-key-w_sel_target").click()
        page.get_by_role("option", name=to, exact=True).click()
        _idle(page)
        frame.evaluate("() => { window.__kept = true; }")  # gone if the map were reloaded
        view = _map_view(page)
        since = time.time()
        t = time.monotonic()
        page.locator(".st-key-w_sel_move button").click()
        page.locator(".st-key-edit_effect [data-testid='stMetric']").first.wait_for()
        _idle(page)
        timings["move: click → updated figures (s)"] = time.monotonic() - t
        # one run of the page's fragment, not of the whole app; the map kept its place
        runs = _runs_since(home, since)
        assert [r["run"] for r in runs] == ["grids: fragment"], runs
        assert any(name == "callback: move" for name, _ in runs[0]["phases"]), runs
        after = _map_view(page)
        assert after["kept"] and after["zoom"] == view["zoom"] == 19, (view, after)
        assert abs(after["lat"] - view["lat"]) < 1e-9 and abs(after["lng"] - view["lng"]) < 1e-9
        effect = _metric(page, "edit_effect")
        now_a, now_to = int(grids.loc[a, "households"]), int(grids.loc[to, "households"])
        shown = {label.split(" ")[0]: value for label, value in effect.items()}
        assert shown[a] == f"{now_a - households:,}" and shown[to] == f"{now_to + households:,}"
        page.get_by_text(heading).wait_for(state="detached")  # the selection is cleared
        assert _grid_count(page) == before_count
        _shot(page, "2-moved")

        # -- merge two grids with the editing tools, then undo it --------------------------
        page.locator(".st-key-w_edit_action").get_by_text(
            zh("Merge with a neighbouring grid")
        ).click()
        _idle(page)
        t = time.monotonic()
        page.get_by_role("button", name=zh("Apply"), exact=True).click()
        page.wait_for_function(
            """(n) => [...document.querySelectorAll("[data-testid='stMetricValue']")]
                .some(e => e.innerText.replace(/,/g, '') === String(n))""",
            arg=before_count - 1,
        )
        _idle(page)
        timings["merge: click → updated figures (s)"] = time.monotonic() - t
        assert _grid_count(page) == before_count - 1
        assert zh("merged away") in page.locator(".st-key-edit_effect").inner_text()
        _shot(page, "3-merged")
        t = time.monotonic()
        page.locator(".st-key-w_edit_undo button").click()
        page.wait_for_function(
            """(n) => [...document.querySelectorAll("[data-testid='stMetricValue']")]
                .some(e => e.innerText.replace(/,/g, '') === String(n))""",
            arg=before_count,
        )
        _idle(page)
        timings["undo: click → updated figures (s)"] = time.monotonic() - t
        assert _grid_count(page) == before_count
        assert _map_view(page)["kept"] and _map_view(page)["zoom"] == 19  # through merge and undo
        _shot(page, "4-undone")

        # -- reload: the move was saved as it happened, the merge was undone ------------------
        page.goto(f"{url}/grids?project={PROJECT}")
        page.locator(".st-key-grids_map iframe").wait_for()
        _idle(page)
        assert _grid_count(page) == before_count
        _shot(page, "5-reloaded")
        context.close()
        browser.close()
    from planning.projects import workspace

    with workspace(home).open(PROJECT) as project:
        saved = project.load(layers=["grids", "grid_members"])
        actions = project.history()["action"].tolist()
    members = saved["grid_members"]
    assert set(members.loc[members["building_id"] == b, "grid_code"]) == {to}
    assert len(saved["grids"]) == len(grids)
    assert actions[-3:] == ["edit", "edit", "edit"]  # the move, the merge, its undo
    (SHOTS / "timings-edit.txt").write_text(
        "\n".join(f"{k}: {v:.2f}" for k, v in timings.items()) + "\n", encoding="utf-8"
    )
