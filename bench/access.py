"""Benchmark walking access: every household of a generated district to its service centre.

A district of ``--households`` (100,000 by default; about 19 communities, one service centre
each) from ``gis.datasets.synthetic.make_district`` is measured with
``planning.access.walking_access``: the walkable network from the roads layer, every
building joined at its nearest network point, one Dijkstra per centre. Target: < 10 s for
100,000 households.

Checks printed with the timing (an evaluator independent of the engine's code paths):

* every walk is at least the straight-line distance from the building to its centre, and
  the circuity (walk / straight line) is in the range street grids give (about 1.0–2.0);
* for a sample of buildings the walk is recomputed with networkx on a graph built from the
  raw road segments, each building and centre inserted by splitting its nearest segment at
  both ends of the stretch it is nearest to (a building face along a road);
* for ``--sites`` communities, with their centre removed, the recommended site's household
  walk is compared with spopt's ``PMedian`` (p = 1) on the same candidates.

Run::

    .venv/bin/python bench/access.py                  # 100k households
    .venv/bin/python bench/access.py --households 12000 --sample 100

Results: ``bench/results/access.json`` and ``bench/results/access.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import resource
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = Path(__file__).resolve().parent / "results"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _networkx_walks(roads, buildings, centres, sample: np.ndarray) -> np.ndarray:
    """Walks for the sampled buildings, on a networkx graph of the raw segments."""
    import networkx as nx
    import shapely

    lines = shapely.get_parts(roads.geometry.values)
    graph = nx.Graph()
    for line in lines:
        xy = [tuple(np.round(c, 3)) for c in shapely.get_coordinates(line)]
        for a, b in itertools.pairwise(xy):
            graph.add_edge(a, b, weight=float(np.hypot(a[0] - b[0], a[1] - b[1])))
    segs = [(a, b) for a, b in graph.edges]
    seg_lines = shapely.linestrings([[a, b] for a, b in segs])
    tree = shapely.STRtree(seg_lines)

    def join(geom) -> list[tuple[int, float, float, float]]:
        """Each nearest segment (ties too), the stretch of it as near, and the distance."""
        nearest = float(shapely.distance(geom, seg_lines[int(tree.query_nearest(geom)[0])]))
        out = []
        for j in tree.query(geom, predicate="dwithin", distance=nearest + 1e-3):
            line = seg_lines[int(j)]
            d = float(shapely.distance(geom, line))
            if d > nearest + 1e-3:
                continue
            stretch = line.intersection(geom.buffer(d + 1e-3))
            ts = [line.project(shapely.Point(c)) for c in shapely.get_coordinates(stretch)]
            if not ts:
                ts = [line.project(shapely.get_point(shapely.shortest_line(geom, line), 1))]
            out.append((int(j), min(ts), max(ts), d))
        return out

    out = np.full(len(sample), np.nan)
    by_community: dict[object, list[tuple[int, int]]] = {}
    for k, i in enumerate(sample):
        by_community.setdefault(buildings["community_id"].iloc[i], []).append((k, i))
    for cid, items in by_community.items():
        mine = centres[centres["community_id"].astype(str) == str(cid)]
        if mine.empty:
            continue
        centre = join(mine.geometry.iloc[0])
        for k, i in items:
            g = graph.copy()
            building = join(buildings.geometry.iloc[i])
            # split the segments at the joining points; a stretch joins at both of its ends
            cuts: dict[int, list[tuple[float, object]]] = {}
            for name, joins in (("centre", centre), ("building", building)):
                for n, (j, lo, hi, d) in enumerate(joins):
                    cuts.setdefault(j, []).extend([(lo, (name, n, "lo")), (hi, (name, n, "hi"))])
                    g.add_edge(name, (name, n, "lo"), weight=d)
                    g.add_edge(name, (name, n, "hi"), weight=d)
            for j, points in cuts.items():
                a, b = segs[j]
                g.remove_edge(a, b)
                chain = [(0.0, a), *sorted(points, key=lambda p: p[0]), (seg_lines[j].length, b)]
                for (t0, n0), (t1, n1) in itertools.pairwise(chain):
                    g.add_edge(n0, n1, weight=t1 - t0)
                # a face along the road can be left anywhere along its stretch
                for name, joins in (("centre", centre), ("building", building)):
                    for jj, lo, hi, d in joins:
                        if jj == j:
                            for t, node in points:
                                if lo <= t <= hi:
                                    g.add_edge(name, node, weight=d)
            out[k] = nx.shortest_path_length(g, "centre", "building", weight="weight")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", type=int, default=60, help="buildings checked with networkx")
    parser.add_argument("--sites", type=int, default=2, help="communities checked against spopt")
    parser.add_argument(
        "--densify",
        type=float,
        default=0.0,
        help="add road vertices every this many metres (a denser network, same distances)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from gis.crs import to_metric
    from gis.datasets.synthetic import make_district
    from planning.access import walking_access

    warm = make_district(1_000, seed=1)  # lazy imports and CRS caches out of the timing
    walking_access(warm["buildings"], roads=warm["roads"], service_centres=warm["service_centres"])
    layers = make_district(args.households, seed=args.seed)
    if args.densify > 0:  # a network as dense as a surveyed one: a node every few metres
        import shapely

        roads = layers["roads"].to_crs("EPSG:4548")
        roads["geometry"] = shapely.segmentize(roads.geometry.values, args.densify)
        layers["roads"] = roads.to_crs(layers["roads"].crs)
    buildings = layers["buildings"]
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    result = walking_access(
        buildings,
        roads=layers["roads"],
        communities=layers["communities"],
        service_centres=layers["service_centres"],
    )
    seconds = time.perf_counter() - t0
    peak = _rss_mb() - rss0
    walks = result.buildings["walk_m"].to_numpy()
    hh = result.buildings["households"].to_numpy()
    net = result.network
    crs = net.crs
    b_m = buildings.to_crs(crs)
    c_m = to_metric(layers["service_centres"], crs=crs)
    centre_of = dict(zip(c_m["community_id"].astype(str), c_m.geometry.values, strict=False))
    straight = np.array(
        [
            b.distance(centre_of[str(cid)])
            for b, cid in zip(b_m.geometry.values, b_m["community_id"], strict=True)
        ]
    )
    ok = np.isfinite(walks) & (straight > 50)
    circuity = walks[ok] / straight[ok]
    rng = np.random.default_rng(args.seed)
    sample = rng.choice(len(buildings), size=min(args.sample, len(buildings)), replace=False)
    t1 = time.perf_counter()
    nx_walks = _networkx_walks(layers["roads"].to_crs(crs), b_m, c_m, sample)
    nx_seconds = time.perf_counter() - t1
    diff = np.abs(nx_walks - walks[sample])
    sites = _sites_vs_spopt(layers, args.sites)
    record = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "households": int(hh.sum()),
        "densify_m": args.densify,
        "buildings": len(buildings),
        "communities": len(result.communities),
        "network_nodes": net.n_nodes,
        "network_km": round(net.total_length_m / 1000, 1),
        "seconds": round(seconds, 2),
        "peak_rss_mb_above_start": round(peak, 1),
        "walk_below_straight_line_by_0.5m": int((walks[ok] < straight[ok] - 0.5).sum()),
        "walk_below_straight_line_max_m": round(float(np.max(straight[ok] - walks[ok])), 3),
        "circuity_p5_p50_p95": [round(float(q), 3) for q in np.percentile(circuity, [5, 50, 95])],
        "mean_walk_m": round(float((walks * hh).sum() / hh.sum()), 1),
        "share_within_5_10_15min": [
            round(float(hh[walks <= d].sum() / hh.sum()), 4) for d in (300, 500, 1000)
        ],
        "networkx_sample": len(sample),
        "networkx_max_abs_diff_m": round(float(np.nanmax(diff)), 3),
        "networkx_seconds": round(nx_seconds, 2),
        "sites_vs_spopt": sites,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "access" if args.densify <= 0 else f"access-dense{args.densify:g}m"
    (args.out / f"{name}.json").write_text(json.dumps(record, indent=2, ensure_ascii=False))
    lines = [
        "# Walking access benchmark",
        "",
        f"{record['date']}, {record['machine']}, Python {record['python']}",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in record.items() if k not in {"date", "machine", "python"}],
        "",
    ]
    (args.out / f"{name}.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


def _sites_vs_spopt(layers, n: int) -> list[dict[str, object]]:
    """Recommended sites against spopt's PMedian on the same costs (if spopt is installed)."""
    try:
        import pulp
        from spopt.locate import PMedian
    except ImportError:
        return [{"skipped": "spopt is not installed (bench extra)"}]
    from planning.access import _demand_to_nodes, p_median, walking_network

    out = []
    communities = layers["communities"]
    b = layers["buildings"].to_crs("EPSG:4548")
    net = walking_network(layers["roads"], crs="EPSG:4548")
    joins = net.attach(np.asarray(b.geometry.values))
    import shapely

    for cid in communities["community_id"].astype(str).tolist()[:n]:
        area = communities[communities["community_id"].astype(str) == cid].to_crs(net.crs)
        area = area.geometry.iloc[0]
        mine = np.flatnonzero(
            (b["community_id"].astype(str) == cid).to_numpy() & (b["households"] > 0).to_numpy()
        )
        nodes = np.flatnonzero(shapely.contains_xy(area, net.xy[:, 0], net.xy[:, 1]))
        cost = _demand_to_nodes(net, joins.take(mine), nodes)
        w = b["households"].to_numpy()[mine].astype(float)
        t = time.perf_counter()
        ours = int(p_median(cost, w, p=1)[0])
        ours_s = time.perf_counter() - t
        t = time.perf_counter()
        model = PMedian.from_cost_matrix(cost, w, p_facilities=1)
        model = model.solve(pulp.PULP_CBC_CMD(msg=False))
        theirs = int(np.flatnonzero([v.value() > 0.5 for v in model.fac_vars])[0])
        theirs_s = time.perf_counter() - t
        out.append(
            {
                "community_id": cid,
                "demand_buildings": len(mine),
                "candidates": len(nodes),
                "gridplan_mean_walk_m": round(float(w @ cost[:, ours] / w.sum()), 2),
                "spopt_mean_walk_m": round(float(w @ cost[:, theirs] / w.sum()), 2),
                "gridplan_seconds": round(ours_s, 4),
                "spopt_seconds": round(theirs_s, 2),
            }
        )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
