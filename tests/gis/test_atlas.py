"""The PDF atlas of the Beijing sample: embedded fonts, pages rendered, no global state."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import matplotlib
import pytest
import shapely
from matplotlib import font_manager

from gis import datasets
from gis.export.atlas import _UI, FontMissingError, find_cjk_font, write_atlas
from gis.errors import GridplanError

ROOT = Path(__file__).resolve().parents[2]
PNG_DIR = ROOT / "test-output" / "atlas"
POPPLER = shutil.which("pdffonts") and shutil.which("pdftoppm") and shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(
    not POPPLER, reason="poppler-utils is not installed (scripts/setup.sh test)"
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=120)


@pytest.fixture(scope="module")
def beijing_atlas(tmp_path_factory):
    """The atlas of the Beijing sample: grids made from the bundled OSM extract."""
    from planning.communities import load
    from planning.grids import make_grids
    from planning.rules import get_preset

    loaded = load(datasets.get_path("beijing"))
    project = loaded.project
    result = make_grids(
        loaded.buildings,
        communities=loaded.communities,
        roads=project.roads,
        waterways=project.waterways,
        barriers=project.barriers,
        compounds=project.compounds,
    )
    plan = {
        "grids": result.grids,
        "grid_members": result.grid_members,
        "patches": result.patches,
        "communities": loaded.communities,
        "buildings": loaded.buildings,
        "roads": project.roads,
        "waterways": project.waterways,
    }
    before = (dict(matplotlib.rcParams), len(font_manager.fontManager.ttflist))
    out = tmp_path_factory.mktemp("atlas") / "beijing.pdf"
    write_atlas(
        plan,
        out,
        rules=get_preset("default"),
        attribution=datasets.ATTRIBUTION["beijing"],
        lang="zh_CN",
    )
    after = (dict(matplotlib.rcParams), len(font_manager.fontManager.ttflist))
    return out, result, loaded, before, after


@needs_poppler
def test_every_font_is_embedded_truetype(beijing_atlas):
    out, *_ = beijing_atlas
    lines = _run("pdffonts", str(out)).stdout.splitlines()[2:]
    assert lines, "the atlas has text"
    for line in lines:
        columns = line.split()
        assert columns[-5] == "yes", line  # emb
        assert "Type 3" not in line and "CID TrueType" in line, line
    assert any("NotoSansCJKsc" in line for line in lines)


@needs_poppler
def test_one_page_per_community_and_per_grid(beijing_atlas):
    out, result, *_ = beijing_atlas
    info = _run("pdfinfo", str(out)).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages == 1 + 1 + len(result.grids)
    assert "A4" in info


@needs_poppler
def test_pages_render_with_chinese_text(beijing_atlas):
    out, result, *_ = beijing_atlas
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    grid_pages = [3, 3 + len(result.grids) // 2]
    for first in (1, 2, *grid_pages):
        done = subprocess.run(
            [
                "pdftoppm",
                "-r",
                "60",
                "-png",
                "-f",
                str(first),
                "-l",
                str(first),
                str(out),
                str(PNG_DIR / "beijing"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0
        assert "Mismatch between font type" not in done.stderr  # a valid TrueType embedding
    pngs = sorted(PNG_DIR.glob("beijing-*.png"))
    assert len(pngs) >= 4 and all(p.stat().st_size > 10_000 for p in pngs)
    cover = _run("pdftotext", "-f", "1", "-l", "1", str(out), "-").stdout
    assert "规则及其依据" in cover and "户数" in cover
    # the rules' sources in the atlas's language (the plan keeps them in English)
    assert "高平 2024" in cover and "Gaoping 2024" not in cover
    assert "© OpenStreetMap contributors" in cover
    community = _run("pdftotext", "-f", "2", "-l", "2", str(out), "-").stdout
    assert "研究区" in community
    grid = _run("pdftotext", "-f", "3", "-l", "3", str(out), "-").stdout
    first = result.grids.sort_values(["community_id", "grid_code"]).iloc[0]
    assert first["grid_code"] in grid
    assert "© OpenStreetMap contributors" in grid
    # the table of a grid lists its buildings with their unit and floor ranges
    members = result.grid_members[result.grid_members["grid_code"] == first["grid_code"]]
    for building in members["building_id"]:
        assert str(building) in grid


@needs_poppler
def test_a_shared_building_is_marked_with_its_part_in_each_grid(beijing_atlas):
    """A building divided between grids (issue 15, point 2): on each of its grids' pages the
    table names the other grids sharing it, the legend explains the hatching, and the map
    writes the part of it this grid holds (its units, or floors where divided by floor)."""
    from gis.export.atlas import _part_label

    out, result, *_ = beijing_atlas
    members = result.grid_members
    per_building = members.groupby("building_id")["grid_code"].nunique()
    shared = per_building[per_building > 1].index
    assert len(shared), "the sample divides some buildings"
    codes = sorted(result.grids.sort_values(["community_id", "grid_code"])["grid_code"])
    building = shared[0]
    holders = sorted(members.loc[members["building_id"] == building, "grid_code"].unique())
    for code in holders:
        page = 3 + codes.index(code)
        text = _run("pdftotext", "-f", str(page), "-l", str(page), str(out), "-").stdout
        others = "、".join(c[-3:] for c in holders if c != code)
        assert f"{building}" in text and f"· 与 {others} 共用" in text, text
        assert "共用楼栋（其单元或楼层分属多个网格）" in text
    # the map's label of the part: units, and floors only where the building is cut by floor
    rows = members[members["building_id"] == building].to_dict("records")
    by_floor = len({(r["floor_from"], r["floor_to"]) for r in rows}) > 1
    label = _part_label(rows[:1], lambda m: _UI_ZH.get(m, m), floors=by_floor)
    assert label.endswith("单元") or "层" in label
    assert _part_label([{"unit_from": 2, "unit_to": 3, "floor_from": 1, "floor_to": 6}],
                       lambda m: _UI_ZH.get(m, m), floors=False) == "2-3单元"
    assert _part_label([{"unit_from": 1, "unit_to": 1, "floor_from": 10, "floor_to": 18}],
                       lambda m: _UI_ZH.get(m, m)) == "1单元 10-18层"


_UI_ZH = {_UI["part_units"]: "{units}单元", _UI["part_floors"]: "{floors}层"}


def test_no_global_matplotlib_state_changes(beijing_atlas):
    *_, before, after = beijing_atlas
    assert before[1] == after[1]  # no font registered process-wide
    changed = {k for k in before[0] if before[0][k] != after[0][k] and k != "backend"}
    assert not changed


def test_missing_font_says_how_to_install_it(tmp_path):
    grids = gpd.GeoDataFrame(
        {"grid_code": ["110108001001001"]},
        geometry=[shapely.box(116.3, 40, 116.301, 40.001)],
        crs=4490,
    )
    with pytest.raises(FontMissingError, match="apt-get install fonts-noto-cjk"):
        write_atlas({"grids": grids}, tmp_path / "a.pdf", font_path=tmp_path / "no-such-font.ttc")
    assert not list(tmp_path.iterdir())


def test_a_plan_without_grids_is_refused(tmp_path):
    with pytest.raises(GridplanError, match="no grids"):
        write_atlas({}, tmp_path / "a.pdf")


def test_the_font_is_noto_sans_cjk_sc():
    font = find_cjk_font()
    assert font.family == "Noto Sans CJK SC" and font.mono_index is not None
    assert all(isinstance(v, str) for v in _UI.values())
