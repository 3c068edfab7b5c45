"""Build the bundled district sample ``data/beijing_district/`` from the Beijing OSM extract.

The Beijing extract (``data/beijing.gpkg``, © OpenStreetMap contributors, ODbL 1.0) has
buildings, compounds, roads and rivers but no 社区, no staff, no service centre and no
roster, so on its own it opens as one study area with nothing to compare. This script
makes a sample that looks like a planner's district, **with illustrative figures that are
not official**:

* **communities**: the street blocks of ``data/beijing_blocks.gpkg`` (enclosures of the
  sample's major roads, railways and rivers, drawn by ``bench/beijing_blocks.py``); blocks
  without a single residential building (the campus strips) join the neighbour they share
  the longest edge with. Codes ``110108`` (Haidian) + ``900`` (a made-up street code) +
  ``001``…; names after the largest compound inside. Staff numbers are illustrative.
* **service_centres**: OpenStreetMap has no ``amenity=community_centre`` here, so one
  centre per community is *placed* on the residential building nearest the community's
  household-weighted centre, and labelled as placed (``placement``).
* **roster** (``花名册.xlsx``): a made-up household roster (one row per flat) for one
  residential building per community, with household sizes and special-service flags
  (elderly living alone, disabled, subsistence allowance) drawn from a seeded random
  generator. It has a notes sheet first and a title row above the header, as real
  rosters do. No real person or household is in it.

Run from the repository root::

    .venv/bin/python scripts/beijing_district.py
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.io import read_project
from planning.communities import prepare

__all__ = ["build", "main"]

ROOT = Path(__file__).resolve().parents[1]
STREET = "900"
DISTRICT = "110108"
STAFF_SHARE = (0.65, 0.8, 1.0)
"""Illustrative staffing: the biggest community has 65 % of the staff the rules ask for."""
CATEGORIES = ("独居老人", "高龄老人", "残疾人", "低保户")


def _merge_empty(blocks: gpd.GeoDataFrame, households: pd.Series) -> gpd.GeoDataFrame:
    """Join blocks without households to the neighbour with the longest shared edge."""
    metric = blocks.to_crs(blocks.estimate_utm_crs()).reset_index(drop=True)
    hh = households.reindex(metric["community_id"]).fillna(0).to_numpy()
    owner = list(range(len(metric)))
    for i in np.argsort(hh):
        if hh[i] > 0:
            continue
        best, length = None, 0.0
        for j in range(len(metric)):
            if j == i or hh[j] == 0:
                continue
            shared = metric.geometry[i].boundary.intersection(metric.geometry[j].buffer(2.0)).length
            if shared > length:
                best, length = j, shared
        if best is not None:
            owner[i] = best
    metric["owner"] = owner
    merged = metric.dissolve(by="owner", as_index=False, aggfunc="first")
    merged["geometry"] = merged.geometry.buffer(0)
    return merged.to_crs(blocks.crs)


def build(out: Path, *, seed: int = 2024) -> dict[str, int]:
    """Write ``buildings.gpkg``-style layers and the roster into ``out``; return the totals."""
    rng = np.random.default_rng(seed)
    project = read_project(ROOT / "data" / "beijing.gpkg")
    blocks = gpd.read_file(ROOT / "data" / "beijing_blocks.gpkg").to_crs(project.buildings.crs)
    first = prepare(replace(project, communities=blocks, study_area=None))
    per_block = first.buildings.groupby("community_id")["households"].sum()
    communities = _merge_empty(blocks, per_block)
    communities = communities.sort_values("community_id").reset_index(drop=True)
    communities["community_id"] = [
        f"{DISTRICT}{STREET}{i + 1:03d}" for i in range(len(communities))
    ]
    # names after the largest named compound inside
    compounds = project.compounds
    names = []
    for geom in communities.geometry:
        inside = compounds[compounds.representative_point().within(geom) & compounds["name"].notna()]
        if len(inside):
            largest = inside.iloc[int(np.argmax(inside.to_crs(3857).area.to_numpy()))]
            names.append(f"{re.split('教师住宅区|住宅区|小区', str(largest['name']))[0]}社区（示例）")
        else:
            names.append(f"示例社区{len(names) + 1}")
    communities["name"] = names
    communities["street"] = "示例街道（非官方）"
    communities["district_code"] = DISTRICT
    located = prepare(replace(project, communities=communities, study_area=None))
    totals = located.communities.set_index("community_id")
    order = totals["households"].sort_values(ascending=False).index
    staff = {}
    for share, cid in zip(STAFF_SHARE, order, strict=False):
        staff[cid] = int(math.floor(int(totals.at[cid, "required_staff"]) * share))
    communities["staff"] = communities["community_id"].map(staff).fillna(2).astype(int)

    # service centres: placed on the residential building nearest the weighted centre
    buildings = located.buildings
    metric = buildings.to_crs(3857)
    centres = []
    for row in communities.itertuples():
        own = metric[(buildings["community_id"] == row.community_id) & buildings["is_residential"]]
        weights = own["households"].to_numpy(float)
        pts = own.geometry.representative_point()
        cx = np.average(pts.x, weights=weights)
        cy = np.average(pts.y, weights=weights)
        nearest = own.index[int(np.argmin((pts.x - cx) ** 2 + (pts.y - cy) ** 2))]
        centres.append(
            {
                "community_id": row.community_id,
                "name": f"{row.name.removesuffix('（示例）')}党群服务中心（示意位置）",
                "floor_area_m2": int(
                    round(float(totals.at[row.community_id, "service_space_m2"]) * 0.6, -1)
                ),
                "placement": "placed: no OSM community centre here (示意位置)",
                "building_id": str(buildings.at[nearest, "building_id"]),
                "geometry": buildings.geometry[nearest].representative_point(),
            }
        )
    service = gpd.GeoDataFrame(centres, geometry="geometry", crs=buildings.crs)

    # roster: one residential building per community, one row per flat
    rows = []
    for row in communities.itertuples():
        own = buildings[
            (buildings["community_id"] == row.community_id)
            & buildings["is_residential"]
            & buildings["households"].between(24, 60)
        ].sort_values("building_id")
        if own.empty:
            continue
        chosen = own.iloc[len(own) // 2]
        flats = int(chosen["households"])
        floors = 6
        per_floor = 2
        units = max(1, math.ceil(flats / (floors * per_floor)))
        n = 0
        for unit in range(1, units + 1):
            for floor in range(1, floors + 1):
                for door in range(1, per_floor + 1):
                    if n >= flats:
                        break
                    n += 1
                    special = rng.random() < 0.1
                    rows.append(
                        {
                            "楼栋编号": str(chosen["building_id"]),
                            "单元": f"{unit}单元",
                            "楼层": floor,
                            "房号": f"{floor}0{door}",
                            "人口": int(rng.choice([1, 2, 2, 3, 3, 3, 4, 5])),
                            "重点人群": "是" if special else "否",
                            "人群类别": str(rng.choice(CATEGORIES)) if special else "",
                        }
                    )
    roster = pd.DataFrame(rows)

    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / "beijing_district.gpkg"
    gpkg.unlink(missing_ok=True)
    keep = ["building_id", "name", "osm_building", "floors", "is_residential", "address"]
    raw = project.buildings[keep + ["geometry"]].copy()
    raw["is_residential"] = raw["is_residential"].astype(bool)
    layers = {
        "buildings": raw,
        "communities": communities[
            ["community_id", "name", "street", "district_code", "staff", "geometry"]
        ],
        "compounds": project.compounds,
        "roads": project.roads,
        "waterways": project.waterways,
        "barriers": project.barriers,
        "service_centres": service,
    }
    for name, frame in layers.items():
        if frame is not None and len(frame):
            frame.to_file(gpkg, layer=name, driver="GPKG")
    import xlsxwriter

    book = xlsxwriter.Workbook(out / "花名册.xlsx")
    book.set_properties({"created": datetime(2024, 1, 1), "title": "示例花名册（非真实住户）"})
    notes = book.add_worksheet("说明")
    for i, line in enumerate(
        [
            "示例花名册：住户、人口和重点人群均为随机生成的示例数据，不是真实住户。",
            "Illustrative roster: households, residents and special-service flags are made up.",
            "楼栋编号为 OpenStreetMap 要素编号（© OpenStreetMap contributors, ODbL 1.0）。",
        ]
    ):
        notes.write(i, 0, line)
    sheet = book.add_worksheet("花名册")
    sheet.write(0, 0, "示例街道 住户花名册（示例数据，非真实住户）")
    for j, column in enumerate(roster.columns):
        sheet.write(1, j, column)
    for i, values in enumerate(roster.itertuples(index=False), start=2):
        for j, value in enumerate(values):
            sheet.write(i, j, value.item() if hasattr(value, "item") else value)
    book.close()
    return {
        "communities": len(communities),
        "roster_rows": len(roster),
        "special": int((roster["重点人群"] == "是").sum()),
    }


def main() -> None:
    """Command line: ``scripts/beijing_district.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "beijing_district")
    args = parser.parse_args()
    print(build(args.out))


if __name__ == "__main__":
    main()
