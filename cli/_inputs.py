"""What the commands read from their arguments: the rule set, reading options, where to save.

Private to :mod:`cli`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli._output import progress
from gis.errors import GridplanError, Problems
from gis.i18n import N_

__all__ = [
    "check_destination",
    "find_community",
    "output_problems",
    "load_input",
    "open_project",
    "read_options",
    "rules_of",
    "save_to_db",
]


def rules_of(args: argparse.Namespace) -> Any:
    """The rules asked for (``--rules``, ``--preset``), else a project's own."""
    from planning.rules import get_preset, load_rules

    if getattr(args, "rules", None):
        return load_rules(args.rules)
    if getattr(args, "project", None) and args.preset == "default":
        from planning.projects import project_rules

        with open_project(args) as project:
            return project_rules(project)
    return get_preset(args.preset)


def open_project(args: argparse.Namespace) -> Any:
    """Open project ``--project`` of the workspace (``GRIDPLAN_HOME`` / ``GRIDPLAN_DB``)."""
    from planning.projects import workspace

    home = getattr(args, "home", None)
    db = getattr(args, "project_db", None)
    return (workspace(home, db=db) if (home or db) else workspace()).open(args.project)


def load_input(args: argparse.Namespace, *, rules: Any) -> Any:
    """Read INPUT, or the current data of ``--project``, ready to plan."""
    if getattr(args, "project", None):
        from planning.projects import open_loaded

        with open_project(args) as project:
            return open_loaded(project, rules=rules, lang=args.lang)
    if args.input is None:
        msg = N_("Say what to read: a file (INPUT) or a project (--project NAME).")
        raise GridplanError(msg)
    from planning.communities import load

    return load(args.input, rules=rules, lang=args.lang, **read_options(args))


def check_destination(args: argparse.Namespace) -> None:
    """Fail early (before any work) when a plan would be saved nowhere, or over an input.

    Every problem of ``--out`` is listed at once: the planner's input as the output, a name
    that is not ``.gpkg`` (a GeoPackage under a ``.shp`` name), a folder, a missing or
    read-only folder.
    """
    if args.out is None and not args.db and not getattr(args, "project", None):
        msg = N_(
            "Say where to save the plan: --out PLAN.gpkg, --db URL (or the GRIDPLAN_DB "
            "variable), or both."
        )
        raise GridplanError(msg)
    if args.out is not None:
        inputs = [getattr(args, "input", None)]
        problems = output_problems(Path(args.out), inputs=inputs, suffixes=(".gpkg",))
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise Problems(problems)


def output_problems(
    out: Path,
    *,
    inputs: list[Any],
    suffixes: tuple[str, ...] | None = None,
    make_folder: bool = False,
) -> list[GridplanError]:
    """What stops writing ``out`` safely: every problem, checked before any work starts.

    With ``make_folder`` a missing folder is no problem (the writer creates it) as long as
    the nearest folder that exists is writable.
    """
    import os

    problems: list[GridplanError] = []
    for source in inputs:
        if source is None:
            continue
        source = Path(source)
        same = False
        try:
            same = out.exists() and source.exists() and out.resolve() == source.resolve()
            same = same or (out.exists() and source.exists() and os.path.samefile(out, source))
        except OSError:
            same = False
        if same:
            msg = N_(
                "--out {out} is the input itself: writing the plan there would destroy your "
                "layers. Choose another file name."
            )
            problems.append(GridplanError(msg, out=str(out)))
    if out.is_dir():
        msg = N_("--out {out} is a folder. Name the file to write, e.g. {example}.")
        problems.append(GridplanError(msg, out=str(out), example=str(out / "plan.gpkg")))
        return problems
    if suffixes and out.suffix.lower() not in suffixes:
        msg = N_(
            "--out {out} would hold a GeoPackage under a {suffix} name, which GIS software "
            "would then misread. Name it {expected} (gridplan export writes other formats)."
        )
        problems.append(
            GridplanError(
                msg, out=str(out), suffix=out.suffix or "bare", expected=out.stem + suffixes[0]
            )
        )
    folder = out.parent if str(out.parent) else Path(".")
    if make_folder:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
    if not folder.exists():
        msg = N_("The folder {folder} of --out does not exist. Create it, or choose another.")
        problems.append(GridplanError(msg, folder=str(folder)))
    elif not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        msg = N_(
            "gridplan cannot write {out}: the file or its folder is read-only. Choose a folder "
            "you can write to."
        )
        problems.append(GridplanError(msg, out=str(out)))
    return problems


def save_to_db(args: argparse.Namespace, layers: dict[str, Any], *, rules: Any) -> dict[str, Any]:
    """Save ``layers`` as a new version of ``--project`` or of plan ``--plan-id`` in ``--db``."""
    if getattr(args, "project", None):
        import getpass

        try:
            author = getpass.getuser()
        except (KeyError, OSError):
            author = "gridplan"
        progress(args, N_("saving a new version of the project…"))
        with open_project(args) as project:
            if "proposals" in layers:  # the project keeps every proposal made in it
                from planning.projects import add_proposals

                layers = add_proposals(project, layers)
            version = project.save(
                layers=layers,
                action=str(args.command),
                author=author,
                note=f"gridplan {args.command}",
                rules=rules,
            )
        return {"project": project.name, "version": version}
    if not args.db:
        return {}
    import getpass

    from gis.store import open_store

    try:
        author = getpass.getuser()
    except (KeyError, OSError):
        author = "gridplan"
    plan_id = args.plan_id or Path(args.input).stem
    progress(args, N_("saving the plan in the database…"))
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


def _crs_option(value: str | None) -> Any:
    """``--crs EPSG:4490`` for every layer, or ``--crs buildings=GCJ-02[,roads=EPSG:4548]``."""
    if not value or "=" not in value:
        return value
    pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
    return {layer.strip(): crs.strip() for layer, crs in pairs}


def read_options(args: argparse.Namespace) -> dict[str, Any]:
    options = {"encoding": args.encoding, "crs": _crs_option(args.crs)}
    if getattr(args, "households_from", None):
        options["households_from"] = args.households_from
    if getattr(args, "layer_map", None):
        options["layer_map"] = args.layer_map
    return options


def find_community(loaded: Any, community: str | None) -> Any:
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
