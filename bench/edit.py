"""Time hand edits of a grid plan (planning.edit) on 5,000-household communities.

The target (issue 18): an edit takes under 200 ms in the library on a 5,000-household
community. One run grids each community once (not timed), then applies random edits of
every kind — a whole building to a touching grid, a unit of a tower, a merge, a split by
the engine's cut — each to the plan the previous accepted edit left, and times every call
(refusals included: a refusal is an answer too). It writes ``bench/results/edit.json`` and
``bench/results/edit.md``::

    .venv/bin/python bench/edit.py                       # synthetic 5k and the Shanghai sample
    .venv/bin/python bench/edit.py --only synthetic --edits 100

The Shanghai sample (5,066 households, 1,321 buildings, mostly walk-ups) takes about two
minutes to grid; the synthetic district (5,000 households, 51 buildings, towers) a second.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from planning.edit import EditRefusedError, GridPlan, merge, move, split  # noqa: E402
from planning.grids import make_grids  # noqa: E402

TARGET_MS = 200.0


def _community(name: str) -> tuple[Any, Any, Any]:
    if name == "synthetic":
        from gis.datasets.synthetic import make_district

        layers = make_district(5_000, seed=1)
        buildings, communities = layers["buildings"], layers["communities"]
        extra = {k: layers[k] for k in ("roads", "waterways", "barriers", "compounds")}
    else:
        from gis import datasets
        from planning.communities import load

        loaded = load(datasets.get_path(name))
        p = loaded.project
        buildings, communities = p.buildings, loaded.communities
        extra = {
            "roads": p.roads,
            "waterways": p.waterways,
            "barriers": p.barriers,
            "compounds": p.compounds,
        }
    result = make_grids(buildings, communities=communities, **extra)
    return result, buildings, communities


def _neighbours(plan: GridPlan, code: str) -> list[str]:
    geom = plan.grid(code).geometry
    grids = plan.grids
    touching = grids[grids.geometry.touches(geom) | grids.geometry.overlaps(geom)]
    return [c for c in touching["grid_code"] if c != code]


def run(name: str, edits: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    result, buildings, communities = _community(name)
    grid_seconds = time.perf_counter() - started
    plan = GridPlan.from_result(result, buildings=buildings, communities=communities)
    households = int(plan.grids["households"].sum())
    rng = np.random.default_rng(seed)
    times: dict[str, list[float]] = {}
    outcomes: dict[str, dict[str, int]] = {}
    for _ in range(edits):
        code = plan.grids["grid_code"].iloc[int(rng.integers(len(plan.grids)))]
        near = _neighbours(plan, code)
        members = plan.members_of(code)
        kind = str(rng.choice(["move", "unit", "merge", "split"]))
        if (not near and kind != "split") or (not len(members) and kind in ("move", "unit")):
            continue  # a dedicated grid (no households) has no building to move
        to = near[int(rng.integers(len(near)))] if near else None
        if kind == "move":
            building = members["building_id"].unique()[int(rng.integers(members["building_id"].nunique()))]
            call = lambda: move(plan, [building], to)  # noqa: E731
        elif kind == "unit":
            row = members.iloc[int(rng.integers(len(members)))]
            unit = 1 if pd.isna(row["unit_from"]) else int(row["unit_to"])
            call = lambda: move(plan, [f"{row['building_id']}:{unit}"], to)  # noqa: E731
        elif kind == "merge":
            call = lambda: merge(plan, code, to)  # noqa: E731
        else:
            call = lambda: split(plan, code)  # noqa: E731
        t0 = time.perf_counter()
        try:
            new, _change = call()
            outcome = "done"
        except EditRefusedError:
            new, outcome = plan, "refused"
        times.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
        outcomes.setdefault(kind, {"done": 0, "refused": 0})[outcome] += 1
        plan = new
    assert int(plan.grids["households"].sum()) == households
    every = [t for values in times.values() for t in values]
    return {
        "community": name,
        "households": households,
        "buildings": int(len(buildings)),
        "grids": int(len(result.grids)),
        "grid_seconds": round(grid_seconds, 1),
        "edits": len(every),
        "by_kind": {
            kind: {
                **outcomes[kind],
                "median_ms": round(statistics.median(values), 1),
                "p95_ms": round(float(np.percentile(values, 95)), 1),
                "max_ms": round(max(values), 1),
            }
            for kind, values in sorted(times.items())
        },
        "median_ms": round(statistics.median(every), 1),
        "p95_ms": round(float(np.percentile(every, 95)), 1),
        "max_ms": round(max(every), 1),
        "share_under_target": round(float(np.mean(np.array(every) < TARGET_MS)), 3),
    }


def _markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# Hand edits: time per edit (planning.edit)",
        "",
        f"Target: under {TARGET_MS:.0f} ms per edit on a 5,000-household community. "
        f"{meta['python']}, {meta['machine']}; `bench/edit.py --edits {meta['edits']} --seed {meta['seed']}`.",
        "",
        "| community | households | buildings | grids | edits | kind | done | refused | median ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for kind, k in r["by_kind"].items():
            lines.append(
                f"| {r['community']} | {r['households']:,} | {r['buildings']:,} | {r['grids']} | "
                f"{r['edits']} | {kind} | {k['done']} | {k['refused']} | {k['median_ms']} | "
                f"{k['p95_ms']} | {k['max_ms']} |"
            )
        lines.append(
            f"| {r['community']} | | | | | **all** | | | **{r['median_ms']}** | **{r['p95_ms']}** | "
            f"**{r['max_ms']}** |"
        )
    lines += [
        "",
        "Share of edits under the target: "
        + ", ".join(f"{r['community']} {r['share_under_target']:.1%}" for r in rows)
        + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["synthetic", "shanghai", "beijing"], nargs="*")
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    names = args.only or ["synthetic", "shanghai"]
    rows = []
    for name in names:
        row = run(name, args.edits, args.seed)
        print(json.dumps(row), flush=True)
        rows.append(row)
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "edits": args.edits,
        "seed": args.seed,
        "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "edit.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    (args.out / "edit.md").write_text(_markdown(rows, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
