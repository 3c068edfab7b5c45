"""The app in a real browser: ``streamlit run app.py`` driven by Playwright on Debian's chromium.

One planner's session, page by page: the sample opens on the map, a split is proposed,
a boundary is drawn with the Draw tool inside the streamlit-folium frame and its live
figures are read, the drawn split is saved and accepted, grids are generated, the
language is switched and a plan is downloaded. A screenshot of every page is saved under
``test-output/browser/`` (git-ignored) to look at.

Needs ``/usr/bin/chromium`` (``scripts/setup.sh test`` installs it as root); the test is
skipped with that reason when it is missing. Nothing is fetched from outside: Leaflet is
served by the app itself, and the base map is set to "none" so no tile is requested.
"""

from __future__ import annotations

import os
import re
import tempfile
import sys
import time
from pathlib import Path

import pytest
import streamlit_server

from gis.i18n import translator

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 120_000
HOME = tempfile.mkdtemp(prefix="gridplan-browser-home-")  # the server's projects, not the planner's
PROJECT = "清华园项目"
TIMINGS: dict[str, float] = {}

if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed at /usr/bin/chromium (run `scripts/setup.sh test` as root, "
        "which apt-get installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")


def zh(msgid: str) -> str:
    """The label the app shows in Chinese (the msgid itself until the catalog has it)."""
    return translator("zh_CN").gettext(msgid)


@pytest.fixture(scope="module")
def server():
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = SHOTS.parent / "streamlit-browser-test.log"
    with streamlit_server.running(home=HOME, log=log) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(server, browser):
    """A new planner's session (its own browser context) on the app."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(server, wait_until="domcontentloaded")
    yield pg
    context.close()


def _shot(page, name: str) -> None:
    page.wait_for_timeout(800)  # let maps and charts paint
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _title(page, text: str) -> None:
    page.locator("h1", has_text=text).first.wait_for()


def _go(page, path: str, title: str) -> None:
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').click()
    _title(page, title)


_SCRIPT_DONE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute('data-test-script-state');
    return state !== null && !['running', 'rerunRequested'].includes(state);
}"""


def _idle(page) -> None:
    """Wait until the script has finished running (twice, for a run that reruns itself)."""
    for _ in range(2):
        page.wait_for_timeout(300)
        page.wait_for_function(_SCRIPT_DONE, timeout=TIMEOUT_MS)


def _map_ready(frame) -> None:
    frame.locator(".leaflet-container").wait_for()
    frame.locator(".leaflet-overlay-pane canvas, .leaflet-overlay-pane svg").first.wait_for()


def _numbers(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)]


def test_a_planners_session(page):
    started = time.monotonic()
    # -- 0. the app opens on the projects: a new project from the bundled sample ---------------
    _title(page, zh("Projects"))
    page.get_by_label(zh("Project name"), exact=True).fill(PROJECT)
    page.get_by_label(zh("Project name"), exact=True).press("Enter")
    page.get_by_role("button", name=zh("Create"), exact=True).click()
    page.get_by_text(zh("Open: {name} · {saved}").split("{")[0] + PROJECT).first.wait_for()
    _shot(page, "00_projects")
    # with a project open, Communities is the default page (the app's root URL)
    page.locator('[data-testid="stSidebarNav"]').get_by_text(zh("Communities"), exact=True).click()
    _title(page, zh("Communities"))

    # -- 1. the project (the sample's data): the map, the status colours, the rules ------------
    page.get_by_text("default", exact=True).first.wait_for()
    # No tiles in the test: choose "none (offline)" as the base map.
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=zh("None (offline)")).click()
    _idle(page)
    overview_map = page.frame_locator("iframe[title='streamlit_folium.st_folium']").first
    _map_ready(overview_map)
    page.get_by_text("9,762", exact=True).first.wait_for()  # the community's households
    _shot(page, "01_communities")

    # -- 2. data: the mapping, the validation report, the rules editor -------------------------
    _go(page, "data", zh("Data"))
    page.get_by_text(zh("Validation report")).first.wait_for()  # (the sample has one warning now)
    page.get_by_role("button", name=zh("Apply rules")).wait_for()
    _shot(page, "02_data")

    # -- 3. split: the engine's alternatives side by side ----------------------------------------
    _go(page, "split", zh("Split"))
    t = time.monotonic()
    page.get_by_role("button", name=zh("Propose splits")).click()
    page.locator(".st-key-draw_map iframe").wait_for()
    _idle(page)
    TIMINGS["split (s)"] = time.monotonic() - t
    for rank in (1, 2):
        page.get_by_text(zh("Alternative {rank}").format(rank=rank)).first.wait_for()
    draw_map = page.frame_locator(".st-key-draw_map iframe")
    _map_ready(draw_map)
    _shot(page, "03_split_alternatives")

    # -- 4. draw a polygon with the Draw tool and read its live figures --------------------------
    draw_map.locator("a.leaflet-draw-draw-polygon").click()
    box = draw_map.locator("#map_div").bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    # A box over the left half of the map, clear of the toolbar (top left) and the scale (bottom left).
    points = [
        (x + w * 0.15, y + h * 0.06),
        (x + w * 0.5, y + h * 0.06),
        (x + w * 0.5, y + h * 0.85),
        (x + w * 0.15, y + h * 0.85),
    ]
    for px, py in points:
        page.mouse.click(px, py)
        page.wait_for_timeout(150)
    t = time.monotonic()
    page.mouse.click(*points[0])  # close the ring on the first point
    stats = page.locator(".st-key-drawn_stats")
    stats.locator("[data-testid='stMetric']").first.wait_for()
    _idle(page)
    TIMINGS["drawn polygon → live figures (s)"] = time.monotonic() - t
    text = stats.inner_text()
    assert zh("Part {part} (drawn)").format(part=1) in text
    assert zh("Part {part} (the rest)").format(part=2) in text
    metrics = stats.locator("[data-testid='stMetricValue']").all_inner_texts()
    assert len(metrics) == 8  # households, residents, required staff, deviation × 2 parts
    households = [_numbers(metrics[0])[0], _numbers(metrics[4])[0]]
    assert sum(households) == 9762  # the drawn parts tile the community exactly
    assert min(households) > 0
    required = [_numbers(metrics[2])[0], _numbers(metrics[6])[0]]
    assert required == [-(-hh // 250) for hh in households]
    stats.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "04_split_drawn.png"))  # the map and the live figures under it
    page.get_by_role("button", name=zh("Save the drawn split as a proposal")).click()
    page.get_by_text("000000000000-D1").first.wait_for()

    # -- 5. review: accept it with a comment; the trail records it ------------------------------
    _go(page, "review", zh("Review"))
    page.get_by_label(zh("Your name (signs your reviews)")).fill("王芳")
    page.get_by_label(zh("Your name (signs your reviews)")).press("Enter")
    _idle(page)
    page.get_by_role("button", name=zh("Accept")).first.click()  # opens the dialog
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(zh("Comment")).fill("沿清华东路划界，同意")
    _shot(page, "05_review_dialog")
    dialog.get_by_role("button", name=zh("Accept")).click()
    dialog.wait_for(state="hidden")
    _idle(page)
    page.get_by_text(
        zh("{proposal} — {status} ({origin})").format(
            proposal="000000000000-D1", status=zh("accepted"), origin=zh("drawn by hand")
        )
    ).wait_for()
    _shot(page, "05_review")

    # -- 6. grids: generate, map with codes, histogram, patches, divided buildings --------------
    _go(page, "grids", zh("Grids"))
    t = time.monotonic()
    page.get_by_role("button", name=zh("Generate grids")).click()
    page.locator(".st-key-grids_map iframe").wait_for()
    _idle(page)
    TIMINGS["grids (s)"] = time.monotonic() - t
    _map_ready(page.frame_locator(".st-key-grids_map iframe"))
    page.locator("[data-testid='stVegaLiteChart'], .vega-embed").first.wait_for()
    page.get_by_text(zh("Buildings divided by unit and floor")).wait_for()
    _shot(page, "06_grids")

    # -- 7. compare before and after ----------------------------------------------------------
    _go(page, "compare", zh("Compare"))
    page.get_by_text(zh("Whole area")).wait_for()
    _idle(page)
    _shot(page, "07_compare")

    # -- 8. switch the language to English ------------------------------------------------------
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    page.locator('[data-testid="stSidebar"]').get_by_text("Language", exact=True).wait_for()
    _idle(page)
    sync_api.expect(page.get_by_text("语言", exact=True)).to_have_count(0)  # nothing stale left
    _title(page, "Compare")
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Communities", exact=True).wait_for()
    page.get_by_text("Whole area").wait_for()
    _shot(page, "08_compare_english")

    # -- 9. export: prepare the plan GeoPackage and download it ---------------------------------
    _go(page, "export", "Export")
    page.get_by_role("button", name="Prepare the file").click()
    button = page.locator(".st-key-w_download_plan button")
    button.wait_for()
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "gridplan.gpkg"
    saved = SHOTS / download.suggested_filename
    download.save_as(saved)
    import pyogrio

    layers = {str(name) for name, _ in pyogrio.list_layers(saved)}
    assert {"communities", "proposals", "lineage", "grids", "grid_members", "patches"} <= layers
    _shot(page, "09_export")
    TIMINGS["whole session (s)"] = time.monotonic() - started

    # -- 10. everything was saved as it happened: reload, and another planner's session -------
    for session in ("reload", "second context"):
        if session == "reload":
            view = page
            view.goto(f"{view.url.split('/')[0]}//{view.url.split('/')[2]}/?project={PROJECT}")
        else:
            context = page.context.browser.new_context(viewport={"width": 1400, "height": 1600})
            view = context.new_page()
            view.set_default_timeout(TIMEOUT_MS)
            view.goto(f"{page.url.split('/')[0]}//{page.url.split('/')[2]}/?project={PROJECT}")
        _idle(view)
        _go(view, "review", zh("Review"))  # a new session: in Chinese again
        view.get_by_text("000000000000-D1").first.wait_for()  # the drawn proposal, accepted
        view.get_by_text(zh("accepted")).first.wait_for()
        _go(view, "history", zh("History"))
        view.get_by_text(zh("saved, version {version}, {at}").split("{")[0]).first.wait_for()
        _go(view, "grids", zh("Grids"))
        view.locator(".st-key-grids_map iframe").wait_for()  # the grids are there, not re-run
        _shot(view, f"10_history_{session.replace(' ', '_')}")
    (SHOTS / "timings.txt").write_text(
        "\n".join(f"{k}: {v:.1f}" for k, v in TIMINGS.items()) + "\n", encoding="utf-8"
    )


def test_map_interaction_time_on_a_5000_household_community(page, tmp_path):
    """Upload a synthetic 5,000-household community, split it in two, draw on it: how long it takes."""
    from gis.datasets.synthetic import make_district, write_district

    gpkg = write_district(make_district(5_000, n_communities=1, seed=3), tmp_path / "district.gpkg")
    _title(page, zh("Projects"))
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=zh("None (offline)")).click()
    _idle(page)
    _go(page, "data", zh("Data"))
    page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(str(gpkg))
    page.get_by_text("district.gpkg").first.wait_for()
    page.get_by_role("button", name=zh("Read the uploaded files")).click()
    page.get_by_text(zh("Uploaded: {name}").format(name="district.gpkg")).wait_for()
    _idle(page)

    _go(page, "split", zh("Split"))
    page.get_by_label(zh("Parts (0 = as the rules say)")).fill("2")
    t = time.monotonic()
    page.get_by_role("button", name=zh("Propose splits")).click()
    draw_map = page.frame_locator(".st-key-draw_map iframe")
    _map_ready(draw_map)
    _idle(page)
    TIMINGS["5,000 households: split and maps shown (s)"] = time.monotonic() - t

    draw_map.locator("a.leaflet-draw-draw-rectangle").click()
    box = draw_map.locator("#map_div").bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.15, y + h * 0.06)
    page.mouse.down()
    page.mouse.move(x + w * 0.5, y + h * 0.85, steps=8)
    t = time.monotonic()  # from releasing the mouse to the figures on screen, run finished
    page.mouse.up()
    stats = page.locator(".st-key-drawn_stats")
    stats.locator("[data-testid='stMetric']").first.wait_for()
    page.wait_for_function(_SCRIPT_DONE, timeout=TIMEOUT_MS)
    TIMINGS["5,000 households: rectangle drawn → live figures (s)"] = time.monotonic() - t
    _idle(page)
    values = stats.locator("[data-testid='stMetricValue']").all_inner_texts()
    assert _numbers(values[0])[0] + _numbers(values[4])[0] == 5000

    t = time.monotonic()
    draw_map.locator("a.leaflet-control-zoom-in").click()  # pan and zoom never rerun the app
    page.wait_for_timeout(400)
    assert page.locator('[data-testid="stStatusWidget"]').count() == 0
    TIMINGS["5,000 households: zoom (s, no rerun)"] = time.monotonic() - t
    stats.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "10_split_5000_households.png"))
    (SHOTS / "timings.txt").write_text(
        "\n".join(f"{k}: {v:.1f}" for k, v in TIMINGS.items()) + "\n", encoding="utf-8"
    )


def test_a_project_survives_a_sigkilled_server(browser, tmp_path):
    """The server is killed with SIGKILL and started again: the project is as it was saved."""
    import signal

    from planning.projects import workspace

    home = str(tmp_path / "home")
    ws = workspace(home)
    project = ws.duplicate("sample:beijing", "断电测试", author="王芳")
    grids = project.load(layers=["communities"])["communities"][["community_id", "geometry"]]
    project.save(
        layers={"grids": grids.assign(grid_code="000000000000001", households=9762)},
        action="grids",
        author="王芳",
    )
    port = streamlit_server.free_port()
    log = tmp_path / "server.log"
    for attempt in ("before", "after"):
        proc = streamlit_server.start(home=home, port=port, log=log)
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        view = context.new_page()
        view.set_default_timeout(TIMEOUT_MS)
        view.goto(f"http://127.0.0.1:{port}/?project=断电测试", wait_until="domcontentloaded")
        view.get_by_text(zh("saved, version {version}, {at}").split("{")[0] + "2").first.wait_for()
        _go(view, "history", zh("History"))
        view.get_by_text(zh("saved, version {version}, {at}").split("{")[0] + "2").first.wait_for()
        _shot(view, f"11_after_sigkill_{attempt}")
        context.close()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert [v for v in ws.open("断电测试").history()["action"]] == ["create", "grids"]


def test_a_gk_shapefile_without_prj_is_read_with_the_proposed_crs(page, tmp_path):
    """A zipped Gauss–Krüger shapefile project without .prj: the Data page proposes the zone
    (from the sample opened before, near 116.3°E: 117°E, EPSG:4548), the planner keeps it,
    reads again, and sees the communities."""
    sys.path.insert(0, str(REPO / "tests"))
    from gk_upload import GK_CRS, gk_zip_without_prj

    path, households = gk_zip_without_prj(tmp_path)
    _title(page, zh("Projects"))
    name = "GK 上传测试"
    page.get_by_label(zh("Project name"), exact=True).fill(name)
    page.get_by_label(zh("Project name"), exact=True).press("Enter")
    page.get_by_role("button", name=zh("Create"), exact=True).click()
    page.get_by_text(zh("Open: {name} · {saved}").split("{")[0] + name).first.wait_for()
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=zh("None (offline)")).click()
    _idle(page)
    _go(page, "data", zh("Data"))
    page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(str(path))
    page.get_by_text(path.name).first.wait_for()
    page.get_by_role("button", name=zh("Read the uploaded files")).click()
    _idle(page)
    proposed = zh("{code} — CGCS2000 Gauss–Krüger, central meridian {cm}°E").format(
        code=GK_CRS, cm=117
    )
    page.get_by_text(proposed).first.wait_for()  # preselected in the picker (and in the reason)
    _shot(page, "11_data_gk_without_prj")
    page.get_by_role("button", name=zh("Read again with these settings")).click()
    _idle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text(zh("Communities"), exact=True).click()
    _title(page, zh("Communities"))
    _idle(page)
    for community in ("清河庄社区", "金沟东里社区"):  # the upload's two communities, in Haidian
        page.get_by_text(community).first.wait_for(state="attached")  # a cell of the table
    assert households == 3_000
    _shot(page, "12_communities_gk_upload")


_WALK = (
    ("", "Communities"),
    ("data", "Data"),
    ("split", "Split"),
    ("review", "Review"),
    ("grids", "Grids"),
    ("compare", "Compare"),
    ("analyses", "Analyses"),
    ("export", "Export"),
    ("history", "History"),
    ("projects", "Projects"),
)
_BAD_TEXT = re.compile(
    r"(?<![\w.])(None|nan|NaN|<NA>|NaT)(?![\w.])|Traceback|Error:|exception|encountered an error"
)


def _page_texts(page) -> tuple[str, list[str]]:
    """Everything the planner can read on the page: the text, and the cells of every table
    (st.dataframe draws on a canvas; its cells are read from the grid's accessible table)."""
    main = page.locator('[data-testid="stMain"]').inner_text()
    cells = page.locator('[data-testid="stDataFrame"] table td, [data-testid="stDataFrame"] table th')
    return main, cells.all_inner_texts()


def test_every_page_of_the_district_sample_reads_clean(page):
    """Open the bundled district sample from the Projects page and walk every page: each has
    something to show and nothing reads None, nan or a traceback. Screenshots go to
    /tmp/firsthour-*.png."""
    _title(page, zh("Projects"))
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=zh("None (offline)")).click()
    _idle(page)
    page.locator(".st-key-w_open_sample_beijing_district button").click()
    _title(page, zh("Communities"))
    _idle(page)
    for community in ("新林院社区（示例）", "荷清苑社区（示例）", "西王庄社区（示例）"):
        page.get_by_text(community).first.wait_for(state="attached")
    bad: dict[str, list[str]] = {}
    for i, (path, title) in enumerate(_WALK):
        if path:
            _go(page, path, zh(title))
        _idle(page)
        if path == "split":
            page.get_by_role("button", name=zh("Propose splits")).click()
            _idle(page)
            page.get_by_text(zh("part")).first.wait_for(state="attached")
        if path == "grids":
            page.get_by_role("button", name=zh("Generate grids")).click()
            page.locator(".st-key-grids_map iframe").wait_for()
            _idle(page)
        main, cells = _page_texts(page)
        if not path:  # the check table's cells are read, not only the page's text
            assert {"110108900001", "新林院社区（示例）"} <= set(cells), cells[:40]
        text = main + "\n" + "\n".join(cells)
        found = sorted({m.group(0) for m in _BAD_TEXT.finditer(text)})
        crashed = page.locator('[data-testid="stException"]').count()
        if found or crashed:
            bad[title] = found + (["exception shown"] if crashed else [])
        page.wait_for_timeout(800)
        page.screenshot(path=f"/tmp/firsthour-{i:02d}-{path or 'communities'}.png", full_page=True)
    assert not bad, bad
