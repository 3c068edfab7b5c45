"""Benchmark a whole city in one batch: one process, joblib, and a local dask cluster.

A generated city (``gis.datasets.synthetic.make_city``: districts side by side, 1,000,000
households in 200 communities by default) is gridded three ways::

    .venv/bin/python bench/city.py                                   # 1M households, 200 communities
    .venv/bin/python bench/city.py --households 100000 --communities 20   # a quick check
    .venv/bin/python bench/city.py --modes single joblib --jobs 2

* ``single``: ``planning.grids.make_grids`` on the whole project in one process (today's path);
* ``joblib``: ``planning.batch.run_batch(backend="joblib", n_jobs=JOBS)``;
* ``dask``: ``run_batch(backend="dask", n_jobs=JOBS)``, a local ``dask.distributed`` cluster
  of JOBS single-threaded worker processes.

Each mode runs in a fresh child process (this script with ``--worker``). The parent samples,
every second, the PSS of the child **and all its descendants** (the batch's workers, dask's
nannies and workers) with psutil and reports the peak of that sum; the child also reports
its own ``ru_maxrss`` and ``RUSAGE_CHILDREN`` ``ru_maxrss`` (the largest single
descendant). Every batch result is compared with the single-process one: the same grid
codes, the same households per grid, the same members, and geometry equal within 1e-6 m²
(symmetric difference, in EPSG:4548). Results go to ``bench/results/city.json`` and
``bench/results/city.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("single", "joblib", "dask")
METRIC_CRS = "EPSG:4548"
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# -- the child ------------------------------------------------------------------------------
def _worker(args: argparse.Namespace) -> int:
    from gis.datasets.synthetic import make_city
    from gis.io import Project
    from planning.batch import run_batch
    from planning.communities import prepare
    from planning.grids import make_grids

    started = time.perf_counter()
    city = make_city(args.households, n_communities=args.communities, seed=args.seed)
    generated = time.perf_counter() - started
    t = time.perf_counter()
    loaded = prepare(Project(**city))
    loading = time.perf_counter() - t
    t = time.perf_counter()
    cpu = time.process_time()
    if args.worker == "single":
        project = loaded.project
        result = make_grids(
            project.buildings,
            communities=loaded.communities,
            roads=project.roads,
            waterways=project.waterways,
            barriers=project.barriers,
            compounds=project.compounds,
        )
    else:
        result = run_batch(loaded, backend=args.worker, n_jobs=args.jobs).grids
    gridding = time.perf_counter() - t
    gridding_cpu = time.process_time() - cpu
    out = Path(args.result_dir)
    result.grids.to_parquet(out / "grids.parquet")
    result.grid_members.to_parquet(out / "grid_members.parquet")
    stats = {
        "mode": args.worker,
        "households": int(city["buildings"]["households"].sum()),
        "communities": len(city["communities"]),
        "buildings": len(city["buildings"]),
        "grids": len(result.grids),
        "generate_s": round(generated, 2),
        "load_s": round(loading, 2),
        "grid_s": round(gridding, 2),
        "grid_cpu_s_main": round(gridding_cpu, 2),
        "self_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "children_maxrss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }
    print(json.dumps(stats))
    return 0


# -- the parent -----------------------------------------------------------------------------
# Seconds between samples of the process tree. Each sample lists the tree once (psutil
# scans /proc) and reads each process's smaps for its PSS (about 5 ms a process, holding
# that process's memory-map lock): every 0.2 s, with two busy workers on two cores, the
# sampling itself slowed the batch it measured.
SAMPLE_S = 1.0


def _sample_tree(proc: Any, seen: dict[int, float]) -> int:
    """Return the summed PSS of the child and its descendants; record each one's CPU
    seconds (user + system) in ``seen``."""
    import psutil

    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in members:
        try:
            times = member.cpu_times()
            seen[member.pid] = times.user + times.system
            # PSS: pages shared with the parent (forked workers) or between processes
            # (libraries) count once in the sum, split among those that share them
            total += getattr(member.memory_full_info(), "pss", None) or member.memory_info().rss
        except psutil.Error:
            pass
    return total


def _run_mode(mode: str, args: argparse.Namespace, result_dir: Path) -> dict[str, Any]:
    import psutil

    command = [
        sys.executable, __file__, "--worker", mode,
        "--households", str(args.households), "--communities", str(args.communities),
        "--seed", str(args.seed), "--jobs", str(args.jobs), "--result-dir", str(result_dir),
    ]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, **THREAD_ENV})
    proc = psutil.Process(child.pid)
    peak = [0]
    cpu: dict[int, float] = {}  # the last CPU seconds seen of each process of the tree
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _sample_tree(proc, cpu))
            done.wait(SAMPLE_S)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, _ = child.communicate()
    done.set()
    watcher.join()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{mode} failed with exit code {child.returncode}")
    stats = json.loads(out.strip().splitlines()[-1])
    stats["wall_s"] = round(wall, 2)
    stats["tree_peak_rss_mb"] = round(peak[0] / 2**20, 1)
    stats["tree_cpu_s"] = round(sum(cpu.values()), 1)
    stats["load_average"] = [round(v, 2) for v in os.getloadavg()]
    stats["communities_per_s"] = round(stats["communities"] / max(stats["grid_s"], 1e-9), 2)
    return stats


def _compare(reference: Path, other: Path) -> dict[str, Any]:
    import geopandas as gpd
    import pandas as pd
    import shapely

    a = gpd.read_parquet(reference / "grids.parquet")
    b = gpd.read_parquet(other / "grids.parquet")
    same_codes = a["grid_code"].tolist() == b["grid_code"].tolist()
    same_households = same_codes and a["households"].tolist() == b["households"].tolist()
    area = 0.0
    if same_codes:
        diff = shapely.symmetric_difference(a.to_crs(METRIC_CRS).geometry.values, b.to_crs(METRIC_CRS).geometry.values)
        area = float(shapely.area(diff).max(initial=0.0))
    ma = pd.read_parquet(reference / "grid_members.parquet")
    mb = pd.read_parquet(other / "grid_members.parquet")
    same_members = ma.shape == mb.shape and bool((ma.astype(str).to_numpy() == mb.astype(str).to_numpy()).all())
    columns = [c for c in a.columns if c != "geometry"]
    same_columns = same_codes and a[columns].astype(str).equals(b[columns].astype(str))
    differing: list[str] = []
    if same_codes:
        rows = a[columns].astype(str).ne(b[columns].astype(str)).any(axis=1).to_numpy()
        rows = rows | ~shapely.equals(a.geometry.values, b.geometry.values)
        differing = sorted(set(a.loc[rows, "community_id"].astype(str)))
    return {
        "same_codes": same_codes,
        "same_households": same_households,
        "same_attributes": same_columns,
        "same_members": same_members,
        "max_symdiff_m2": area,
        "communities_differing": differing,
        "same": same_codes and same_households and same_members and same_columns and area < 1e-6,
    }


def _markdown(rows: list[dict[str, Any]], args: argparse.Namespace, total: float) -> str:
    first = rows[0]
    lines = [
        "# City bench: one process, joblib and dask.distributed",
        "",
        f"Generated by `bench/city.py --households {args.households} --communities {args.communities} "
        f"--seed {args.seed} --jobs {args.jobs}` on {platform.node()} ({platform.machine()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs), {datetime.now():%Y-%m-%d %H:%M}. "
        "See `bench/README.md` for the columns.",
        "",
        f"City: {first['households']:,} households · {first['communities']} communities · "
        f"{first['buildings']:,} buildings · {first['grids']:,} grids (make_city seed {args.seed}).",
        "",
        "| mode | grid s | wall s | CPU s, process tree | communities/s | peak RSS, process tree (MB) | main maxrss (MB) | largest child maxrss (MB) | same result as single | load average (1, 5, 15 min) at the end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    labels = {"single": "single process (make_grids)", "joblib": f"joblib, {args.jobs} processes",
              "dask": f"dask LocalCluster, {args.jobs} workers"}
    for r in rows:
        same = r.get("comparison", {}).get("same")
        differing = r.get("comparison", {}).get("communities_differing", [])
        verdict = "reference" if r["mode"] == "single" else (
            "yes" if same else f"no: {len(differing)} of {r['communities']} communities differ")
        lines.append(
            f"| {labels[r['mode']]} | {r['grid_s']:.1f} | {r['wall_s']:.1f} | {r.get('tree_cpu_s', float('nan')):.1f} | "
            f"{r['communities_per_s']:.2f} | "
            f"{r['tree_peak_rss_mb']:,.0f} | {r['self_maxrss_mb']:,.0f} | {r['children_maxrss_mb']:,.0f} | {verdict} | "
            f"{', '.join(f'{v:.1f}' for v in r.get('load_average', []))} |"
        )
    lines += [
        "",
        "*grid s*: gridding only (after generating and loading the city; for the batch modes it "
        "includes starting the workers or the cluster). *CPU s, process tree*: user + system "
        "CPU seconds of the child and all its descendants (the whole child: generation and "
        "loading too), sampled with psutil. *wall s*: the whole child process, "
        "generation, loading and Python start-up included. *peak RSS, process tree*: the peak of "
        "the summed proportional set size (PSS: a page several processes share, such as a "
        "forked worker's pages of its parent, counts once) of the child and all its "
        "descendants, sampled every second with psutil (the summed RSS every 0.2 s before "
        "2026-12-03 evening). "
        "*main maxrss* is the child's own `ru_maxrss`; *largest child maxrss* is "
        "`RUSAGE_CHILDREN` `ru_maxrss` (the largest single waited-for descendant, 0 where the "
        "workers were not reaped by the child itself).",
        "",
        f"Total bench time {total:.0f} s.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="joblib processes / dask workers")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--result-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)
    modes = ["single", *[m for m in args.modes if m != "single"]]  # the reference first
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gridplan-city-") as tmp:
        for mode in modes:
            folder = Path(tmp) / mode
            folder.mkdir()
            print(f"[{time.perf_counter() - started:6.0f} s] {mode} …", file=sys.stderr, flush=True)
            stats = _run_mode(mode, args, folder)
            if mode != "single":
                stats["comparison"] = _compare(Path(tmp) / "single", folder)
            print(f"         {json.dumps(stats)}", file=sys.stderr, flush=True)
            rows.append(stats)
    total = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "city.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": rows}, indent=1))
    text = _markdown(rows, args, total)
    (args.out / "city.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
