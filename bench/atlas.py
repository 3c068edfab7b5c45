"""Benchmark the PDF atlas: 1,000+ grid pages from a synthetic district in under a minute.

The district (``gis.datasets.synthetic.make_district``) and its grids are made first and
not timed; then :func:`gis.export.atlas.write_atlas` writes the whole atlas (cover, one page per
community, one page per grid) and the script prints the wall-clock and CPU seconds, the
pages, the seconds per page and the file size, and checks the fonts with ``pdffonts``
when poppler-utils is installed::

    .venv/bin/python bench/atlas.py                     # 44,000 households, seed 0
    .venv/bin/python bench/atlas.py --households 60000 --out /tmp/atlas.pdf
    .venv/bin/python bench/atlas.py --json               # one JSON line on stdout

Wall-clock time depends on what else the machine runs; CPU time does not, so both are
printed. The target is under 60 s for 1,000 grids on one core.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--households", type=int, default=44_000, help="district size (44,000 gives > 1,000 grids)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--min-grids",
        type=int,
        default=1_000,
        help="grow the district until it has this many grids",
    )
    parser.add_argument(
        "--out", type=Path, help="where to write the PDF (a temporary file by default)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    from gis.export.atlas import write_atlas
    from gis.datasets.synthetic import make_district
    from planning.grids import make_grids

    households = args.households
    started = time.perf_counter()
    while True:
        layers = make_district(households, seed=args.seed)
        result = make_grids(
            layers["buildings"],
            communities=layers["communities"],
            roads=layers["roads"],
            waterways=layers["waterways"],
            barriers=layers["barriers"],
            compounds=layers["compounds"],
        )
        if len(result.grids) >= args.min_grids:
            break
        households = int(households * 1.1)
    prepared = time.perf_counter() - started
    plan = {
        "grids": result.grids,
        "grid_members": result.grid_members,
        "communities": layers["communities"],
        "buildings": layers["buildings"],
        "roads": layers["roads"],
        "waterways": layers["waterways"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "atlas.pdf"
        wall, cpu = time.perf_counter(), time.process_time()
        write_atlas(plan, out, attribution="synthetic data (gridplan)")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        pages = 1 + layers["communities"]["community_id"].nunique() + len(result.grids)
        fonts = None
        if shutil.which("pdffonts"):
            lines = subprocess.run(
                ["pdffonts", str(out)], capture_output=True, text=True, check=True
            ).stdout.splitlines()[2:]
            fonts = {
                "fonts": len(lines),
                "embedded": sum(line.split()[-5] == "yes" for line in lines),
                "types": sorted({" ".join(line.split()[1:3]) for line in lines}),
            }
        report = {
            "households": households,
            "grids": len(result.grids),
            "pages": pages,
            "seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1),
            "ms_per_page": round(1000 * wall / pages, 1),
            "megabytes": round(out.stat().st_size / 1e6, 1),
            "pdffonts": fonts,
            "setup_seconds": round(prepared, 1),
        }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"atlas of {report['grids']} grids ({report['pages']} pages, {households} households): "
            f"{report['seconds']} s wall, {report['cpu_seconds']} s CPU, {report['ms_per_page']} ms/page, "
            f"{report['megabytes']} MB; fonts: {fonts}"
        )
    return 0 if report["seconds"] < 60 or report["cpu_seconds"] < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
