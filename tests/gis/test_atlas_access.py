"""The atlas's walking-access page (issue 19): drawn when the plan holds ``gridplan access``
results, with the shares of households within the rules' distances and their citation."""

from __future__ import annotations

import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pytest
from shapely import box

from gis.crs import STORAGE_CRS
from gis.export.atlas import write_atlas
from gis.io import Project
from planning.access import access_for
from planning.communities import prepare
from planning.rules import get_preset

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdfinfo")), reason="poppler-utils missing"
)


@pytest.fixture(scope="module")
def plan():
    from gis.datasets.synthetic import make_district

    district = make_district(1_200, seed=1)
    layers = {k: district[k] for k in ("buildings", "communities", "roads", "compounds")}
    loaded = prepare(Project(**layers, source_crs={k: "EPSG:4490" for k in layers}))
    result = access_for(loaded)
    buildings = gpd.GeoDataFrame(
        result.buildings,
        geometry=loaded.project.buildings.geometry.to_crs(STORAGE_CRS).values,
        crs=STORAGE_CRS,
    )
    area = loaded.communities.to_crs(STORAGE_CRS)
    x0, y0, x1, y1 = area.total_bounds
    grids = gpd.GeoDataFrame(
        {"grid_code": [f"{area['community_id'].iloc[0]}001"], "households": [1200]},
        geometry=[box(x0, y0, x1, y1)],
        crs=STORAGE_CRS,
    )
    return {
        "grids": grids,
        "communities": loaded.communities,
        "access": result.communities,
        "access_buildings": buildings,
        "access_centres": result.centres,
    }


def _text(pdf, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def _pages(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(next(line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages")))


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_access_page_shows_the_shares_and_the_rule(plan, tmp_path, lang):
    out = write_atlas(plan, tmp_path / "atlas.pdf", lang=lang, rules=get_preset())
    assert _pages(out) == 4  # cover, access, one community, one grid
    text = " ".join(_text(out, 2).split())
    walk = plan["access_buildings"]["walk_m"].to_numpy(dtype=float)
    hh = plan["access_buildings"]["households"].to_numpy(dtype=float)
    for limit in (300, 500, 1000):
        share = hh[np.isfinite(walk) & (walk <= limit)].sum() / hh.sum()
        expected = f"{limit} m: {share:.0%}" if lang == "en" else f"{limit} 米以内"
        assert expected in text
        if lang == "zh_CN":
            assert f"{share:.0%}" in text
    assert "GB/T 50180-2018" in text
    head = "Walking access to the service centres" if lang == "en" else "步行可达性"
    assert head in text
    (row,) = plan["access"].to_dict("records")
    assert f"{row['mean_walk_m']:.0f}" in text and f"{row['p90_walk_m']:.0f}" in text


def test_no_access_page_without_access_results(plan, tmp_path):
    bare = {k: v for k, v in plan.items() if not k.startswith("access")}
    out = write_atlas(bare, tmp_path / "atlas.pdf", lang="en")
    assert _pages(out) == 3
    assert "Walking access" not in _text(out, 2)
