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
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from gis.errors import GridplanError
from gis.i18n import DEFAULT_LANGUAGE, N_, normalize_language, translator

__all__ = ["main"]

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

# Labels of the human (non --json) output: the JSON keys and status values, marked here so
# that ``scripts/i18n.sh`` extracts them (the CLI translates them through a variable).
LABELS: tuple[str, ...] = (
    N_("households"),
    N_("residents"),
    N_("staff"),
    N_("required_staff"),
    N_("shortfall"),
    N_("households_per_worker"),
    N_("residents_per_worker"),
    N_("funds_yuan"),
    N_("service_space_m2"),
    N_("min_grids"),
    N_("max_grids"),
)
STATUS_LABELS: tuple[str, ...] = (N_("ok"), N_("small"), N_("may_split"), N_("must_split"))


def _default_language() -> str:
    for variable in ("GRIDPLAN_LANG", "LC_ALL", "LANG"):
        value = os.environ.get(variable, "")
        if value and value.split(".")[0].lower() not in {"c", "posix"}:
            return normalize_language(value)
    return normalize_language(None)


def _argv_language(argv: Sequence[str]) -> str:
    """Return the ``--lang`` of ``argv`` before it is parsed (for argparse's own messages)."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return normalize_language(argv[i + 1])
        if arg.startswith("--lang="):
            return normalize_language(arg.partition("=")[2])
    return _default_language()


def _width(text: str) -> int:
    """Return how many columns ``text`` takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


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


def _check_destination(args: argparse.Namespace) -> None:
    """Fail early (before any work) when a plan would be saved nowhere."""
    if args.out is None and not args.db:
        msg = N_(
            "Say where to save the plan: --out PLAN.gpkg, --db URL (or the GRIDPLAN_DB "
            "variable), or both."
        )
        raise GridplanError(msg)


def _save_to_db(args: argparse.Namespace, layers: dict[str, Any], *, rules: Any) -> dict[str, Any]:
    """Save ``layers`` as a new version of plan ``--plan-id`` in ``--db``; describe it."""
    if not args.db:
        return {}
    import getpass

    from gis.store import open_store

    try:
        author = getpass.getuser()
    except (KeyError, OSError):
        author = "gridplan"
    plan_id = args.plan_id or Path(args.input).stem
    _progress(args, N_("saving the plan in the database…"))
    with open_store(args.db, plan_id=plan_id) as store:
        version = store.save(
            layers,
            author=author,
            note=f"gridplan {args.command} {Path(args.input).name}",
            rules=rules,
        )
        url = getattr(store, "url", None)  # a GeoPackage path works too
        where = str(args.db) if url is None else url.render_as_string(hide_password=True)
    return {"db": where, "plan_id": plan_id, "version": version}


# -- commands -----------------------------------------------------------------------------
def _cmd_staff(args: argparse.Namespace) -> int:
    from planning.staffing import staffing

    result = staffing(
        args.households, residents=args.residents, staff=args.staff, rules=_rules(args)
    )
    tr = translator(args.lang).gettext

    def human() -> str:
        rows = [
            (tr(key), "—" if value is None else value) for key, value in result.as_dict().items()
        ]
        width = max(_width(k) for k, _ in rows)
        return "\n".join(f"{k}{' ' * (width - _width(k))}  {v}" for k, v in rows)

    _emit(args, result.as_dict(), human)
    return 0


def _read_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"encoding": args.encoding, "crs": args.crs}


def _cmd_check(args: argparse.Namespace) -> int:
    from planning.communities import load

    _progress(args, N_("reading layers…"))
    loaded = load(args.input, rules=_rules(args), lang=args.lang, **_read_options(args))
    _progress(args, N_("checking communities…"))
    columns = [
        "community_id",
        "name",
        "households",
        "residents",
        "status",
        "reasons",
        "required_staff",
        "staff",
        "shortfall",
    ]
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
            households = tr(N_("{households} households")).format(households=c["households"])
            lines.append(f"{c['community_id']}  {c['name']}  {households}  [{tr(c['status'])}]")
            lines.extend(f"    - {reason}" for reason in c["reasons"])
        estimated = loaded.estimated_rows()
        if estimated:
            msg = tr(
                N_(
                    "{n} buildings' households are estimated from footprint × floors "
                    "({m} with assumed floors)."
                )
            )
            lines.append(msg.format(n=estimated, m=loaded.assumed_floor_rows()))
        lines.extend(f"! {p}" for p in payload["problems"])
        lines.extend(f"· {n}" for n in payload["notes"])
        return "\n".join(lines)

    _emit(args, payload, human)
    return 0


def _cmd_grids(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gis.store import write_plan
    from planning.communities import load
    from planning.grids import make_grids

    started = time.perf_counter()
    _check_destination(args)
    rules = _rules(args)
    changes = {}
    if args.min_households is not None:
        changes["grid_min_households"] = args.min_households
    if args.max_households is not None:
        changes["grid_max_households"] = args.max_households
    rules = rules.with_values(**changes) if changes else rules
    _progress(args, "reading layers…")
    loaded = load(args.input, rules=rules, lang=args.lang, **_read_options(args))
    project = loaded.project
    communities = loaded.communities
    wanted = [args.community] if args.community else None
    if wanted and args.community not in set(communities["community_id"].astype(str)):
        from gis.errors import InfeasibleError
        from gis.i18n import N_

        msg = N_("There is no community {community} in this project. Communities: {ids}.")
        raise InfeasibleError(
            msg,
            community=args.community,
            ids=", ".join(communities["community_id"].astype(str)[:20]),
        )
    total = len(wanted) if wanted else len(communities)
    bar = tqdm(
        total=total, desc="communities", file=sys.stderr, disable=args.quiet, unit="community"
    )
    result = (
        _batch(args, loaded, rules, wanted, bar).grids
        if _batched(args)
        else make_grids(
            project.buildings,
            communities=communities,
            roads=project.roads,
            waterways=project.waterways,
            barriers=project.barriers,
            compounds=project.compounds,
            rules=rules,
            community_ids=wanted,
            lang=args.lang,
            progress=lambda _c: bar.update(1),
        )
    )
    bar.close()
    layers = {"grids": result.grids, "grid_members": result.grid_members, "patches": result.patches}
    if args.out is not None:
        _progress(args, "writing the plan…")
        write_plan(args.out, layers)
    saved = _save_to_db(args, layers, rules=rules)
    summary = result.summary(low=rules.grid_min_households, high=rules.grid_max_households)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["out"] = None if args.out is None else str(args.out)
    summary.update(saved)
    out_of_range = result.grids[result.grids["status"] != "ok"]
    summary["out_of_range"] = [
        {"grid_code": row.grid_code, "households": int(row.households), "reason": row.reason}
        for row in out_of_range.itertuples()
    ]
    tr = translator(args.lang).gettext

    def human() -> str:
        lines = [f"{tr(k)}: {v}" for k, v in summary.items() if k != "out_of_range"]
        lines.extend(
            f"! {g['grid_code']} ({g['households']}): {g['reason']}"
            for g in summary["out_of_range"]
        )
        return "\n".join(lines)

    _emit(args, summary, human)
    return 0


def _batched(args: argparse.Namespace) -> bool:
    """Whether to run one task per community (``--jobs``, ``--scheduler``, ``--resume``)."""
    return args.jobs != 1 or bool(args.scheduler) or args.resume is not None


def _batch(
    args: argparse.Namespace, loaded: Any, rules: Any, wanted: Any, bar: Any, *, task: str = "grids"
) -> Any:
    """Run ``task`` per community with joblib or dask; say how many were resumed."""
    from planning.batch import run_batch

    backend = "dask" if args.scheduler else ("joblib" if args.jobs != 1 else "serial")
    result = run_batch(
        loaded,
        task=task,  # type: ignore[arg-type]
        backend=backend,  # type: ignore[arg-type]
        n_jobs=args.jobs,
        scheduler=args.scheduler,
        checkpoint=args.resume,
        progress=bar,
        rules=rules,
        lang=args.lang,
        community_ids=wanted,
        **(
            {"parts": args.parts, "alternatives": args.alternatives, "seed": args.seed}
            if task == "split"
            else {}
        ),
    )
    bar.close()
    if args.resume is not None and not args.quiet:
        msg = translator(args.lang).gettext(
            N_("{resumed} of {total} communities resumed from {folder}.")
        )
        total = len(result.community_ids)
        print(
            f"gridplan: {msg.format(resumed=len(result.resumed), total=total, folder=args.resume)}",
            file=sys.stderr,
        )
    return result


def _split_batch(args: argparse.Namespace, loaded: Any, rules: Any, started: float) -> int:
    """Split every oversized community (``may_split``/``must_split``) in one batch, one plan."""
    import json as _json

    from tqdm import tqdm

    from gis.store import write_plan

    _progress(args, "proposing splits…")
    bar = tqdm(desc="communities", file=sys.stderr, disable=args.quiet, unit="community")
    result = _batch(args, loaded, rules, None, bar, task="split")
    layers = result.layers()
    if args.out is not None and layers:
        _progress(args, "writing the plan…")
        write_plan(args.out, layers)
    saved = _save_to_db(args, layers, rules=rules) if layers else {}
    alternatives = result.alternatives if result.alternatives is not None else None
    communities = []
    for community_id in result.community_ids:
        rows = (
            []
            if alternatives is None
            else alternatives[alternatives["community_id"] == community_id]
        )
        communities.append(
            {
                "community_id": community_id,
                "parts": int(rows["k"].iloc[0]) if len(rows) else None,
                "alternatives": [
                    _json.loads(text) for text in (rows["summary"] if len(rows) else [])
                ],
            }
        )
    errors = result.errors
    payload = {
        "communities": communities,
        "errors": [] if errors is None else errors.to_dict("records"),
        "resumed": len(result.resumed),
        "seconds": round(time.perf_counter() - started, 2),
        "out": None if args.out is None else str(args.out),
        **saved,
    }
    tr = translator(args.lang).gettext

    def human() -> str:
        lines = []
        for community in communities:
            lines.append(str(community["community_id"]))
            for alt in community["alternatives"]:
                sizes = ", ".join(str(p["households"]) for p in alt["parts"])
                lines.append(f"  #{alt['rank']}: {sizes}")
        lines.extend(f"! {e['community_id']}: {e['message']}" for e in payload["errors"])
        lines.append(f"{tr('seconds')}: {payload['seconds']}")
        return "\n".join(lines)

    _emit(args, payload, human)
    return 0


def _find_community(loaded: Any, community: str | None) -> Any:
    from gis.errors import InfeasibleError
    from gis.i18n import N_

    table = loaded.communities
    ids = table["community_id"].astype(str)
    if community is None:
        if len(table) == 1:
            return table.iloc[0]
        msg = N_("Name the community to split with --community. Communities: {ids}.")
        raise InfeasibleError(msg, ids=", ".join(ids[:20]))
    if community not in set(ids):
        msg = N_("There is no community {community} in this project. Communities: {ids}.")
        raise InfeasibleError(msg, community=community, ids=", ".join(ids[:20]))
    return table[ids == community].iloc[0]


def _cmd_split(args: argparse.Namespace) -> int:
    from gis.store import write_plan
    from planning.communities import load
    from planning.split import propose_splits

    started = time.perf_counter()
    _check_destination(args)
    rules = _rules(args)
    _progress(args, "reading layers…")
    loaded = load(args.input, rules=rules, lang=args.lang, **_read_options(args))
    project = loaded.project
    if args.community is None and _batched(args) and len(loaded.communities) > 1:
        return _split_batch(args, loaded, rules, started)
    row = _find_community(loaded, args.community)
    _progress(args, "proposing splits…")
    community = loaded.communities[loaded.communities["community_id"] == row["community_id"]]
    result = propose_splits(
        project.buildings,
        community=community,
        roads=project.roads,
        waterways=project.waterways,
        barriers=project.barriers,
        compounds=project.compounds,
        service_centres=project.service_centres,
        rules=rules,
        parts=args.parts,
        alternatives=args.alternatives,
        seed=args.seed,
        lang=args.lang,
    )
    layers = {"proposals": result.proposals(), "lineage": result.lineage(1)}
    if args.out is not None:
        _progress(args, "writing the plan…")
        write_plan(args.out, layers)
    saved = _save_to_db(args, layers, rules=rules)
    payload = {
        "community_id": result.community_id,
        "parts": result.k,
        "alternatives": [alt.as_dict() for alt in result.alternatives],
        "seconds": round(time.perf_counter() - started, 2),
        "out": None if args.out is None else str(args.out),
        **saved,
    }
    tr = translator(args.lang).gettext

    def human() -> str:
        lines = []
        for alt in payload["alternatives"]:
            sizes = ", ".join(str(p["households"]) for p in alt["parts"])
            lines.append(f"#{alt['rank']}: {sizes}")
            lines.extend(f"    - {reason}" for reason in alt["reasons"])
        lines.append(f"{tr('seconds')}: {payload['seconds']}")
        if saved:
            lines.append(f"{saved['db']}: {saved['plan_id']} v{saved['version']}")
        return "\n".join(lines)

    _emit(args, payload, human)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from gis.store import read_plan
    from planning.communities import load
    from planning.compare import communities_after_split, compare_plans, ratios

    rules = _rules(args)
    _progress(args, "reading layers…")
    before = load(args.before, rules=rules, lang=args.lang, **_read_options(args))
    before_table = before.communities.drop(columns="geometry")
    plan = read_plan(args.after) if str(args.after).lower().endswith(".gpkg") else {}
    if "proposals" in plan:
        proposals = plan["proposals"]
        best = proposals[proposals["rank"] == proposals["rank"].min()]
        after_table = before_table
        for parent, parts in best.groupby("parent_community_id"):
            after_table = communities_after_split(
                after_table, parts.drop(columns="geometry"), parent_id=str(parent)
            )
    else:
        after_table = load(
            args.after, rules=rules, lang=args.lang, **_read_options(args)
        ).communities.drop(columns="geometry")
    table = compare_plans(before_table, after_table, rules=rules)
    payload = {
        "before": {k: _clean(v) for k, v in table["before"].items()},
        "after": {k: _clean(v) for k, v in table["after"].items()},
        "communities_before": [
            {k: _clean(v) for k, v in r.items()}
            for r in ratios(before_table, rules=rules).to_dict("records")
        ],
        "communities_after": [
            {k: _clean(v) for k, v in r.items()}
            for r in ratios(after_table, rules=rules).to_dict("records")
        ],
    }
    tr = translator(args.lang).gettext

    def human() -> str:
        width = max(len(tr(m)) for m in table.index)
        lines = [f"{'':<{width}}  {tr('before'):>12}  {tr('after'):>12}"]
        for metric, r in table.iterrows():
            lines.append(f"{tr(metric):<{width}}  {r['before']:>12.1f}  {r['after']:>12.1f}")
        return "\n".join(lines)

    _emit(args, payload, human)
    return 0


_OSM_NOTE = "OpenStreetMap layers were mapped onto the gridplan layers."


def _cmd_export(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gis.export import export_plan
    from gis.store import read_exported

    _progress(args, N_("reading the plan…"))
    if args.plan is not None:
        plan = read_exported(args.plan, version=args.version)
    elif args.db:
        from gis.store import open_store

        with open_store(args.db, plan_id=args.plan_id) as store:
            plan = store.load(args.version)
    else:
        msg = N_("Name the plan to export: a plan file, or --db URL with --plan-id ID.")
        raise GridplanError(msg)
    context: dict[str, Any] = {}
    attribution = args.attribution
    if args.project is not None:
        from planning.communities import load

        _progress(args, N_("reading layers…"))
        loaded = load(args.project, rules=_rules(args), lang=args.lang, crs=args.crs)
        context = {
            name: frame for name, frame in loaded.project.layers().items() if frame is not None
        }
        context["communities"] = loaded.communities
        if attribution is None and any(note.msgid == _OSM_NOTE for note in loaded.project.notes):
            from gis.datasets import ATTRIBUTION

            attribution = ATTRIBUTION["beijing"]
    rules = _rules(args) if (args.rules or args.preset != "default") else None
    _progress(args, N_("writing the export…"))
    is_pdf = (args.format or args.out.suffix.lstrip(".")).lower() == "pdf"
    bar = tqdm(desc="pages", file=sys.stderr, disable=args.quiet or not is_pdf, unit="page")

    def pages(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    written = export_plan(
        plan,
        args.out,
        format=args.format,
        encoding=args.encoding or "utf-8",
        lang=args.lang,
        rules=rules,
        title=args.title,
        attribution=attribution or "",
        context=context,
        progress=pages,
    )
    bar.close()
    payload = {"written": [str(path) for path in written]}
    _emit(args, payload, lambda: "\n".join(payload["written"]))
    return 0


def _users_file(args: argparse.Namespace) -> Path:
    return args.file or Path(os.environ.get("GRIDPLAN_USERS") or "users.toml")


def _read_password(args: argparse.Namespace) -> str:
    """Read the new password: one line on stdin, or typed twice at a hidden prompt."""
    tr = translator(args.lang).gettext
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(tr(N_("Password for {name}: ")).format(name=args.name))
    if getpass.getpass(tr(N_("The same password again: "))) != first:
        raise GridplanError(N_("The two passwords differ. Run the command again."))
    return first


def _cmd_users(args: argparse.Namespace) -> int:
    from gis.users import ROLE_LABELS, add_user, load_users, remove_user

    path = _users_file(args)
    tr = translator(args.lang).gettext
    if args.users_command == "add":
        user = add_user(
            path,
            args.name,
            role=args.role,
            password=_read_password(args),
            display_name=args.display_name or "",
        )
        payload: dict[str, Any] = {"file": str(path), "name": user.name, "role": user.role}
        _emit(
            args,
            payload,
            lambda: tr(N_("{name} is now {role} in {file}.")).format(
                name=user.label, role=tr(ROLE_LABELS[user.role]), file=path
            ),
        )
        return 0
    if args.users_command == "remove":
        user = remove_user(path, args.name)
        payload = {"file": str(path), "removed": user.name}
        _emit(
            args,
            payload,
            lambda: tr(N_("{name} was removed from {file}.")).format(name=user.label, file=path),
        )
        return 0
    accounts = load_users(path)
    users = [
        {"name": a.user.name, "display_name": a.user.display_name, "role": a.user.role}
        for a in accounts.values()
    ]

    def human() -> str:
        if not users:
            return tr(N_("{file} has no users yet.")).format(file=path)
        width = max(_width(u["name"]) for u in users)
        return "\n".join(
            f"{u['name']}{' ' * (width - _width(u['name']))}  {tr(ROLE_LABELS[u['role']])}"
            + (f"  {u['display_name']}" if u["display_name"] else "")
            for u in users
        )

    _emit(args, {"file": str(path), "users": users}, human)
    return 0


# -- parser -------------------------------------------------------------------------------
class _ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one ``gridplan: …`` line (exit 2)."""

    lang: str = DEFAULT_LANGUAGE

    def error(self, message: str) -> NoReturn:
        msg = translator(self.lang).gettext(N_("{error} (see {prog} --help)"))
        self.exit(EXIT_BAD_INPUT, f"gridplan: {msg.format(error=message, prog=self.prog)}\n")


def _parser(lang: str | None = None) -> argparse.ArgumentParser:
    lang = normalize_language(lang or _default_language())
    tr = translator(lang).gettext
    common = _ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", help=tr(N_("print one JSON object on stdout"))
    )
    common.add_argument(
        "--lang",
        default=_default_language(),
        type=normalize_language,
        help=tr(N_("zh_CN (default) or en")),
    )
    common.add_argument("--quiet", action="store_true", help=tr(N_("no progress on stderr")))
    rules = _ArgumentParser(add_help=False)
    rules.add_argument(
        "--preset",
        default="default",
        help=tr(N_("rule preset (default, kunming, baoshan, ningbo)")),
    )
    rules.add_argument(
        "--rules", type=Path, help=tr(N_("a rule set TOML file (overrides --preset)"))
    )
    reading = _ArgumentParser(add_help=False)
    reading.add_argument(
        "--encoding", help=tr(N_("text encoding of files without one (gbk, utf-8)"))
    )
    reading.add_argument("--crs", help=tr(N_("CRS of layers that declare none, e.g. EPSG:4490")))
    batch = _ArgumentParser(add_help=False)
    batch.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help=tr(N_("processes on this machine, one community each (-1: every core; 1 by default)")),
    )
    batch.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=tr(
            N_("a dask.distributed scheduler, tcp://host:8786: run the communities on its workers")
        ),
    )
    batch.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help=tr(
            N_("a folder that keeps each finished community; a rerun skips those already done")
        ),
    )
    database = _ArgumentParser(add_help=False)
    database.add_argument(
        "--db",
        default=os.environ.get("GRIDPLAN_DB") or None,
        metavar="URL",
        help=tr(
            N_(
                "a PostGIS plan database, postgresql://user:password@host:5432/db: grids and "
                "split save a new version there, export reads from it (GRIDPLAN_DB by default)"
            )
        ),
    )
    database.add_argument(
        "--plan-id",
        help=tr(N_("the plan's id in the database (grids and split: the input file's name)")),
    )

    parser = _ArgumentParser(prog="gridplan", description=tr(N_("Plan community sizes and grids.")))
    sub = parser.add_subparsers(dest="command", required=True)
    staff = sub.add_parser(
        "staff", parents=[common, rules], help=tr(N_("staffing figures for a household count"))
    )
    staff.add_argument(
        "--households", type=int, required=True, help=tr(N_("households in the community"))
    )
    staff.add_argument("--residents", type=int, help=tr(N_("resident population (optional)")))
    staff.add_argument("--staff", type=int, help=tr(N_("community workers in post now (optional)")))
    staff.set_defaults(func=_cmd_staff)
    check = sub.add_parser(
        "check",
        parents=[common, rules, reading, batch],
        help=tr(N_("check every community against the rules")),
    )
    check.add_argument(
        "input",
        type=Path,
        help=tr(
            N_("the project: a GeoPackage, a zip or folder of layer files, or one buildings file")
        ),
    )
    check.set_defaults(func=_cmd_check)
    grids = sub.add_parser(
        "grids",
        parents=[common, rules, reading, database, batch],
        help="divide communities into grids",
    )
    grids.add_argument("input", type=Path)
    grids.add_argument("--out", type=Path, help="the plan GeoPackage to write")
    grids.add_argument("--community", help="only this community_id")
    grids.add_argument("--min-households", type=int, help="smallest grid (30 by default)")
    grids.add_argument("--max-households", type=int, help="largest grid (50 by default)")
    grids.set_defaults(func=_cmd_grids)
    split = sub.add_parser(
        "split",
        parents=[common, rules, reading, database, batch],
        help="propose ways to split a community",
    )
    split.add_argument("input", type=Path)
    split.add_argument(
        "--community", help="the community_id to split (needed when there are several)"
    )
    split.add_argument("--out", type=Path, help="the plan GeoPackage to write")
    split.add_argument(
        "--parts", type=int, help="number of new communities (smallest that fits by default)"
    )
    split.add_argument("--alternatives", type=int, default=3, help="how many ranked alternatives")
    split.add_argument("--seed", type=int, default=0, help="seed for the random bisections")
    split.set_defaults(func=_cmd_split)
    compare = sub.add_parser(
        "compare", parents=[common, rules, reading], help="service ratios before and after"
    )
    compare.add_argument("before", type=Path, help="the project before (layers)")
    compare.add_argument(
        "after", type=Path, help="the plan after (from gridplan split) or a project"
    )
    compare.set_defaults(func=_cmd_compare)
    export = sub.add_parser(
        "export",
        parents=[common, rules, database],
        help=tr(N_("export a plan to hand on (GPKG, SHP, KML, Excel, PDF atlas)")),
    )
    export.add_argument(
        "plan",
        type=Path,
        nargs="?",
        help=tr(N_("the plan: a plan GeoPackage or a shapefile-zip export")),
    )
    export.add_argument(
        "--format",
        choices=("gpkg", "shp", "geojson", "kml", "kmz", "xlsx", "pdf"),
        help=tr(N_("the format (guessed from --out by default)")),
    )
    export.add_argument("--out", type=Path, required=True, help=tr(N_("the file to write")))
    export.add_argument(
        "--encoding",
        choices=("utf-8", "gbk"),
        type=str.lower,
        help=tr(N_("text encoding of the shapefile export (utf-8 by default)")),
    )
    export.add_argument(
        "--version", type=int, help=tr(N_("the plan version (the latest by default)"))
    )
    export.add_argument(
        "--project",
        type=Path,
        help=tr(N_("the project's layers, to draw buildings and roads in the atlas")),
    )
    export.add_argument("--crs", help=tr(N_("CRS of layers that declare none, e.g. EPSG:4490")))
    export.add_argument("--title", help=tr(N_("title of the atlas and the KML")))
    export.add_argument("--attribution", help=tr(N_("data attribution printed on the maps")))
    export.set_defaults(func=_cmd_export)
    users = sub.add_parser(
        "users", help=tr(N_("add, remove or list the users who may sign in to the app"))
    )
    users_file = _ArgumentParser(add_help=False)
    users_file.add_argument(
        "--file",
        type=Path,
        help=tr(N_("the users file (GRIDPLAN_USERS or users.toml by default)")),
    )
    users_sub = users.add_subparsers(dest="users_command", required=True)
    users_add = users_sub.add_parser(
        "add",
        parents=[common, users_file],
        help=tr(N_("add a user or change their role and password")),
    )
    users_add.add_argument("name", help=tr(N_("the sign-in name")))
    users_add.add_argument(
        "--role", required=True, choices=("viewer", "editor", "approver"), help=tr(N_("the role"))
    )
    users_add.add_argument("--display-name", help=tr(N_("the name shown in the app, e.g. 王芳")))
    users_add.add_argument(
        "--password-stdin",
        action="store_true",
        help=tr(N_("read the password from the first line of stdin (for scripts)")),
    )
    users_remove = users_sub.add_parser(
        "remove", parents=[common, users_file], help=tr(N_("remove a user"))
    )
    users_remove.add_argument("name", help=tr(N_("the sign-in name")))
    users_sub.add_parser("list", parents=[common, users_file], help=tr(N_("list the users")))
    users.set_defaults(func=_cmd_users)
    # usage errors in the planner's language
    for each in (parser, *sub.choices.values(), *users_sub.choices.values()):
        each.lang = lang
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(_argv_language(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    started = time.perf_counter()
    try:
        code = int(args.func(args))
    except GridplanError as exc:
        print(f"gridplan: {exc.render(args.lang)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"gridplan: {translator(args.lang).gettext(N_('interrupted'))}", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("GRIDPLAN_DEBUG"):
            raise
        msg = translator(args.lang).gettext(
            N_(
                "internal error ({error}); please report it with the command you ran "
                "(GRIDPLAN_DEBUG=1 shows details)."
            )
        )
        print(f"gridplan: {msg.format(error=type(exc).__name__)}", file=sys.stderr)
        return EXIT_INTERNAL
    if time.perf_counter() - started > 5:
        _progress(args, N_("done"))
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
