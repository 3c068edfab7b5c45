"""Validation of survey-grade community boundaries: seconds for a 200,000-vertex boundary.

A sub-district's surveyed boundary often carries hundreds of thousands of vertices (every
wall corner along it). ``check`` validates the communities layer (overlaps, gaps, sliver
repair) before anything else, and the snap-rounded union it used (``union_all(grid_size=
0.01)``) took about a minute on such a layer. This script builds a layer of five
communities in Beijing whose shared boundary has ``--vertices`` vertices (a wiggly ring, the
four neighbours cut from a box around it, so they share its vertices), plus ``--buildings``
buildings inside, and times :func:`gis.validate.validate_project` on it, once with the
boundaries noded alike (a clean coverage) and once with the neighbours' copy of the ring
shifted by a millimetre (a typical survey mismatch, where the general union is used). It
also times the old snap-rounded union for reference. Results: ``bench/results/validate.json``
and ``validate.md``, wall and CPU seconds (on a shared machine the CPU time is what the
code costs; the load average is recorded).

Profiled with cProfile, the 1 mm case spent 12 of 16 s placing the buildings: an STRtree
query of 2,000 points against the communities prepares each *point* and tests it against
the whole unprepared 200,000-vertex ring; :func:`gis.geometry.points_in_areas` indexes the
points and prepares each community once (0.1 s). Profiled again (cProfile with
``time.process_time``), the 1 mm case then spent 3 of its 3.7 CPU s in two overlays fed with
the repaired shapes: cutting each sliver (thousands of needle-thin parts) from the neighbour,
and the union of the cut shapes, whose edges now run along each other's slivers. Cutting the
whole neighbour is the same set (j minus i∩j is j minus i) and the union is that of the layer
as given (what is cut stays covered by the other community): 0.14 s and 0.28 s, 1.3 s CPU in
all. The noded-alike case (1.5 s CPU) is the ``touches`` test of each pair of neighbours
(0.6 s, the proof that they share only edges) and the coverage union (0.35 s).

Run::

    .venv/bin/python bench/validate.py                 # 200,000 vertices, 2,000 buildings
    .venv/bin/python bench/validate.py --vertices 50000 --no-reference
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gis.io import Project
from gis.validate import validate_project

LON0, LAT0 = 116.32, 39.99
DEG_PER_M = 1 / 85_000  # longitude at 40°N; latitude is 1 / 111,000


def _layers(vertices: int, buildings: int, *, shifted: bool) -> Project:
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = 800 + 4 * np.sin(t * 997) + 2 * np.sin(t * 131)  # metres: a wall-by-wall outline
    ring = np.c_[LON0 + r * np.cos(t) * DEG_PER_M, LAT0 + r * np.sin(t) / 111_000]
    inner = shapely.Polygon(ring)
    outline = shapely.Polygon(ring + (1e-8 if shifted else 0.0))  # 1 mm off
    half = 1500 * DEG_PER_M, 1500 / 111_000
    quads = [
        shapely.box(LON0 - half[0], LAT0, LON0, LAT0 + half[1]),
        shapely.box(LON0, LAT0, LON0 + half[0], LAT0 + half[1]),
        shapely.box(LON0 - half[0], LAT0 - half[1], LON0, LAT0),
        shapely.box(LON0, LAT0 - half[1], LON0 + half[0], LAT0),
    ]
    geoms = [inner] + [q.difference(outline) for q in quads]
    communities = gpd.GeoDataFrame(
        {"community_id": [f"11010800800{i}" for i in range(5)]}, geometry=geoms, crs=4490
    )
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, buildings)
    dist = rng.uniform(0, 700, buildings)
    x = LON0 + dist * np.cos(angle) * DEG_PER_M
    y = LAT0 + dist * np.sin(angle) / 111_000
    footprints = shapely.box(x, y, x + 30 * DEG_PER_M, y + 12 / 111_000)
    b = gpd.GeoDataFrame(
        {"building_id": [f"B{i}" for i in range(buildings)], "households": 24},
        geometry=footprints,
        crs=4490,
    )
    return Project(
        buildings=b,
        communities=communities,
        source_crs={"buildings": "EPSG:4490", "communities": "EPSG:4490"},
    )


def _time(func) -> tuple[float, object]:
    started = time.perf_counter()
    out = func()
    return time.perf_counter() - started, out


def _cpu(func) -> tuple[float, float, object]:
    """Wall and CPU seconds: on a shared machine the CPU time is what the code costs."""
    cpu = time.process_time()
    wall, out = _time(func)
    return wall, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vertices", type=int, default=200_000)
    parser.add_argument("--buildings", type=int, default=2_000)
    parser.add_argument("--no-reference", action="store_true", help="skip the old union")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    _layers(1000, 10, shifted=False)  # warm-up: imports, CRS lookups
    validate_project(_layers(1000, 10, shifted=False))
    rows = []
    for shifted in (False, True):
        project = _layers(args.vertices, args.buildings, shifted=shifted)
        seconds, cpu, (_, report) = _cpu(lambda p=project: validate_project(p))
        codes = sorted({p.code for p in report.problems})
        rows.append(
            {
                "layer": "survey mismatch of 1 mm" if shifted else "noded alike",
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu, 2),
                "problems": codes,
            }
        )
        print(f"{rows[-1]['layer']:>24}: {seconds:6.2f} s (CPU {cpu:.2f} s)  {codes}", flush=True)
    reference = None
    if not args.no_reference:
        from gis.crs import to_metric

        metric = to_metric(_layers(args.vertices, 0 or 1, shifted=True).communities)
        seconds, _ = _time(lambda: shapely.union_all(metric.geometry.values, grid_size=0.01))
        reference = round(seconds, 2)
        print(f"{'old union (grid_size)':>24}: {seconds:6.2f} s (that step alone)", flush=True)
    result = {
        "vertices": args.vertices,
        "buildings": args.buildings,
        "runs": rows,
        "old_snap_rounded_union_seconds": reference,
        "target_seconds": 5,
        "machine": platform.platform(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "validate.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    lines = [
        f"# Validation of a {args.vertices:,}-vertex community boundary",
        "",
        f"{args.buildings:,} buildings, 5 communities; `validate_project` wall and CPU time "
        f"(target < 5 s), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "| layer | seconds | CPU seconds | problems reported |",
        "|---|---|---|---|",
        *(
            f"| {r['layer']} | {r['seconds']} | {r['cpu_seconds']} | "
            f"{', '.join(r['problems']) or '—'} |"
            for r in rows
        ),
    ]
    if reference is not None:
        lines += ["", f"The old snap-rounded union alone: {reference} s."]
    (args.out / "validate.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
