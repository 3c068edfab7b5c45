"""Benchmark opening a whole city's project: the community list, then one community.

A generated city (``gis.datasets.synthetic.make_city``: 1,000,000 households in 200
communities by default) is kept as a project (``planning.projects.create_project`` path:
its data plus a grids layer of one grid per building and their members), then opened the
way the app opens a project, in a **fresh process** each time so nothing is cached:

1. ``list``: the workspace's project list (no layer is read);
2. ``communities``: the community table with totals and status
   (``planning.projects.community_table``; no building is read);
3. ``community``: one community's buildings prepared to plan
   (``planning.projects.open_loaded(community=…)``) and its grids
   (``Project.load(layers=["grids", "grid_members"], community=…)``).

``open`` is the sum of the three: what a planner waits for between choosing the project
and seeing the first community. The target is under 5 s. ``city`` (not in ``open``) is
the whole city prepared at once, which the app's pages still load when a project opens;
``load`` is the machine's 1-minute load average during the open (the machine is shared:
compare runs made at a similar load).

::

    .venv/bin/python bench/projects.py                                  # 1M households
    .venv/bin/python bench/projects.py --households 100000 --communities 20
    .venv/bin/python bench/projects.py --app     # and opened in the app (AppTest)

Results: ``bench/results/projects.json`` and ``bench/results/projects.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = Path(__file__).resolve().parent / "results"
NAME = "全市"


def _make(home: Path, households: int, communities: int, seed: int) -> dict[str, Any]:
    import geopandas as gpd
    import pandas as pd

    from gis.datasets.synthetic import make_city
    from gis.io import Project
    from planning.communities import prepare
    from planning.projects import project_layers, workspace

    started = time.perf_counter()
    city = make_city(households, n_communities=communities, seed=seed)
    loaded = prepare(Project(**city))
    generated = time.perf_counter() - started
    buildings = loaded.buildings
    codes = [f"{c}{i:05d}" for i, c in enumerate(buildings["community_id"])]
    grids = gpd.GeoDataFrame(
        {
            "grid_code": codes,
            "community_id": buildings["community_id"].to_numpy(),
            "households": buildings["households"].to_numpy(),
        },
        geometry=buildings.geometry.envelope.to_numpy(),
        crs=buildings.crs,
    )
    members = pd.DataFrame(
        {
            "grid_code": codes,
            "building_id": buildings["building_id"].to_numpy(),
            "community_id": buildings["community_id"].to_numpy(),
            "households": buildings["households"].to_numpy(),
        }
    )
    ws = workspace(home)
    t = time.perf_counter()
    project = ws.create(
        NAME,
        layers=project_layers(loaded),
        author="bench",
        rules=loaded.rules,
        meta={"stats": {"buildings": {"households": int(buildings["households"].sum())}}},
    )
    created = time.perf_counter() - t
    t = time.perf_counter()
    project.save(layers={"grids": grids, "grid_members": members}, action="grids", author="bench")
    saved = time.perf_counter() - t
    project.close()
    size = sum(p.stat().st_size for p in (home / "projects").glob("*"))
    return {
        "households": int(buildings["households"].sum()),
        "communities": len(loaded.communities),
        "buildings": len(buildings),
        "grids": len(grids),
        "generate_s": round(generated, 2),
        "create_s": round(created, 2),
        "save_grids_s": round(saved, 2),
        "file_mb": round(size / 1e6, 1),
    }


def _open(home: Path) -> dict[str, Any]:
    """Open the project as the app does; time each step (run in a fresh process)."""
    t0 = time.perf_counter()
    from planning.projects import community_table, open_loaded, workspace

    imported = time.perf_counter() - t0
    ws = workspace(home)
    t = time.perf_counter()
    (line,) = ws.list()
    listed = time.perf_counter() - t
    t = time.perf_counter()
    project = ws.open(NAME)
    table = community_table(project)
    tabled = time.perf_counter() - t
    biggest = str(table.sort_values("households").iloc[-1]["community_id"])
    t = time.perf_counter()
    loaded = open_loaded(project, community=biggest)
    grids = project.load(layers=["grids", "grid_members"], community=biggest)
    one = time.perf_counter() - t
    assert int(loaded.communities["households"].sum()) == int(
        table.set_index("community_id").at[biggest, "households"]
    )
    t = time.perf_counter()
    city = open_loaded(project)  # what the app's pages still load today: the whole city
    whole = time.perf_counter() - t
    assert int(city.communities["households"].sum()) == line.households
    return {
        "city_s": round(whole, 2),
        "load_1min": round(os.getloadavg()[0], 1),
        "import_s": round(imported, 2),
        "list_s": round(listed, 2),
        "communities_s": round(tabled, 2),
        "community_s": round(one, 2),
        "open_s": round(listed + tabled + one, 2),
        "listed_households": line.households,
        "community_households": int(loaded.communities["households"].sum()),
        "community_buildings": len(loaded.buildings),
        "community_grids": len(grids["grids"]),
        "statuses": table["status"].value_counts().to_dict(),
    }


def _app_open(home: Path, repeat: int) -> list[dict[str, float]]:
    """Open the project in the app (Streamlit's AppTest, ``?project=NAME``) beside a small
    one (the Beijing sample duplicated): AppTest's own start-up is in both, so the
    difference is what the city costs. Run in this process after a warm-up."""
    import os

    from streamlit.testing.v1 import AppTest

    from planning.projects import workspace

    os.environ["GRIDPLAN_HOME"] = str(home)
    os.environ.pop("GRIDPLAN_DB", None)
    os.chdir(ROOT)  # the app's page paths are relative to the repository
    ws = workspace(home)
    if "小" not in ws.names():
        ws.duplicate("sample:beijing", "小", author="bench")

    def run(name: str) -> float:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.query_params["project"] = name
        t = time.perf_counter()
        at.run()
        took = time.perf_counter() - t
        assert not at.exception, [e.value for e in at.exception]
        return took

    run("小")  # imports, the sample
    out = []
    for _ in range(repeat):
        small, city = run("小"), run(NAME)
        out.append({"small_s": round(small, 2), "city_s": round(city, 2),
                    "load_1min": round(os.getloadavg()[0], 1)})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process opens")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--open", type=Path, help=argparse.SUPPRESS)  # the child
    parser.add_argument(
        "--app", action="store_true", help="also open the project in the app (AppTest)"
    )
    args = parser.parse_args()
    if args.open:
        print(json.dumps(_open(args.open)))
        return 0
    with tempfile.TemporaryDirectory(prefix="gridplan-bench-") as tmp:
        home = Path(tmp)
        made = _make(home, args.households, args.communities, args.seed)
        print(json.dumps(made), file=sys.stderr)
        opens = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--open", str(home)],
                check=True,
                capture_output=True,
                text=True,
            )
            opens.append(json.loads(out.stdout))
            print(out.stdout.strip(), file=sys.stderr)
        app = _app_open(home, args.repeat) if args.app else []
    best = min(opens, key=lambda o: o["open_s"])
    worst = max(opens, key=lambda o: o["open_s"])
    result = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "project": made,
        "opens": opens,
        "app_opens": app,
        "open_s_best": best["open_s"],
        "open_s_worst": worst["open_s"],
        "target_s": 5.0,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "projects.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    lines = [
        "# Opening a whole city's project",
        "",
        f"{made['households']:,} households, {made['communities']} communities, "
        f"{made['buildings']:,} buildings, {made['grids']:,} grids; project file "
        f"{made['file_mb']} MB (created in {made['create_s']} s, grids saved in "
        f"{made['save_grids_s']} s). Each open in a fresh process; target under 5 s.",
        "",
        "| run | list (s) | community table (s) | one community (s) | open (s) | whole city (s) "
        "| imports (s) | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, o in enumerate(opens, 1):
        lines.append(
            f"| {i} | {o['list_s']} | {o['communities_s']} | {o['community_s']} | "
            f"**{o['open_s']}** | {o['city_s']} | {o['import_s']} | {o['load_1min']} |"
        )
    lines += [
        "",
        f"One community: {best['community_buildings']} buildings, "
        f"{best['community_households']:,} households, {best['community_grids']} grids.",
        "",
    ]
    if app:
        lines += [
            "In the app (`--app`: AppTest, `?project=`; AppTest's own start-up is in both "
            "columns):",
            "",
            "| run | small project (s) | this city (s) | load |",
            "|---|---|---|---|",
            *(f"| {i} | {a['small_s']} | **{a['city_s']}** | {a['load_1min']} |"
              for i, a in enumerate(app, 1)),
            "",
        ]
    (args.out / "projects.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
