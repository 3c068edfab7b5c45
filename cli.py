"""``gridplan``: the command line over the gis/ and planning/ libraries.

Every command takes ``--json`` to print one JSON object on stdout; progress goes to
stderr. Bad input ends with a one-line message in the planner's language and a non-zero
exit, never a traceback (set ``GRIDPLAN_DEBUG=1`` to see one).

Examples
--------
>>> main(["staff", "--households", "9762", "--staff", "12", "--json", "--lang", "en"])
{"households": 9762, "residents": null, "staff": 12, "required_staff": 40, "shortfall": 28, "households_per_worker": 813.5, "residents_per_worker": null, "funds_yuan": 2733360.0, "service_space_m2": 3904.8, "min_grids": 196, "max_grids": 325}
0
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gis.errors import GridplanError
from gis.i18n import normalize_language, translator

__all__ = ["main"]

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


def _default_language() -> str:
    for variable in ("GRIDPLAN_LANG", "LC_ALL", "LANG"):
        value = os.environ.get(variable, "")
        if value and value.split(".")[0].lower() not in {"c", "posix"}:
            return normalize_language(value)
    return normalize_language(None)


def _progress(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(f"gridplan: {translator(args.lang).gettext(message)}", file=sys.stderr, flush=True)


def _emit(args: argparse.Namespace, payload: dict[str, Any], human: Callable[[], str]) -> None:
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, default=_json_default))
    else:
        print(human())


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _clean(value: Any) -> Any:
    try:
        import pandas as pd

        if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
    except ImportError:  # pragma: no cover
        pass
    return value.item() if hasattr(value, "item") else value


def _rules(args: argparse.Namespace) -> Any:
    from planning.rules import get_preset, load_rules

    if getattr(args, "rules", None):
        return load_rules(args.rules)
    return get_preset(args.preset)


# -- commands -----------------------------------------------------------------------------
def _cmd_staff(args: argparse.Namespace) -> int:
    from planning.staffing import staffing

    result = staffing(args.households, residents=args.residents, staff=args.staff, rules=_rules(args))
    tr = translator(args.lang).gettext

    def human() -> str:
        rows = [(tr(key), "—" if value is None else value) for key, value in result.as_dict().items()]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    _emit(args, result.as_dict(), human)
    return 0


def _read_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"encoding": args.encoding, "crs": args.crs}


def _cmd_check(args: argparse.Namespace) -> int:
    from planning.communities import load

    _progress(args, "reading layers…")
    loaded = load(args.input, rules=_rules(args), lang=args.lang, **_read_options(args))
    _progress(args, "checking communities…")
    columns = ["community_id", "name", "households", "residents", "status", "reasons", "required_staff", "staff", "shortfall"]
    table = loaded.communities
    communities = [{c: _clean(row.get(c)) for c in columns} for _, row in table.iterrows()]
    tr = translator(args.lang).gettext
    payload = {
        "communities": communities,
        "rules": loaded.rules.name,
        "estimated_buildings": loaded.estimated_rows(),
        "assumed_floor_buildings": loaded.assumed_floor_rows(),
        "problems": [p.render(args.lang) for p in loaded.report.problems],
        "notes": [n.render(args.lang) for n in loaded.project.notes],
    }

    def human() -> str:
        lines = []
        for c in communities:
            lines.append(f"{c['community_id']}  {c['name']}  {c['households']} {tr('households')}  [{tr(c['status'])}]")
            lines.extend(f"    - {reason}" for reason in c["reasons"])
        estimated = loaded.estimated_rows()
        if estimated:
            msg = tr("{n} buildings' households are estimated from footprint × floors ({m} with assumed floors).")
            lines.append(msg.format(n=estimated, m=loaded.assumed_floor_rows()))
        lines.extend(f"! {p}" for p in payload["problems"])
        return "\n".join(lines)

    _emit(args, payload, human)
    return 0


# -- parser -------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    common.add_argument("--lang", default=_default_language(), type=normalize_language, help="zh_CN (default) or en")
    common.add_argument("--quiet", action="store_true", help="no progress on stderr")
    rules = argparse.ArgumentParser(add_help=False)
    rules.add_argument("--preset", default="default", help="rule preset (default, kunming, baoshan, ningbo)")
    rules.add_argument("--rules", type=Path, help="a rule set TOML file (overrides --preset)")
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("--encoding", help="text encoding of files without one (gbk, utf-8)")
    reading.add_argument("--crs", help="CRS of layers that declare none, e.g. EPSG:4490")

    parser = argparse.ArgumentParser(prog="gridplan", description="Plan community sizes and grids.")
    sub = parser.add_subparsers(dest="command", required=True)
    staff = sub.add_parser("staff", parents=[common, rules], help="staffing figures for a household count")
    staff.add_argument("--households", type=int, required=True)
    staff.add_argument("--residents", type=int)
    staff.add_argument("--staff", type=int)
    staff.set_defaults(func=_cmd_staff)
    check = sub.add_parser("check", parents=[common, rules, reading], help="check every community against the rules")
    check.add_argument("input", type=Path)
    check.set_defaults(func=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        code = int(args.func(args))
    except GridplanError as exc:
        print(f"gridplan: {exc.render(args.lang)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("gridplan: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("GRIDPLAN_DEBUG"):
            raise
        msg = translator(args.lang).gettext(
            "internal error ({error}); please report it with the command you ran (GRIDPLAN_DEBUG=1 shows details)."
        )
        print(f"gridplan: {msg.format(error=type(exc).__name__)}", file=sys.stderr)
        return EXIT_INTERNAL
    if time.perf_counter() - started > 5:
        _progress(args, "done")
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
