"""``gridplan export``: a plan (a file or a database version) to GPKG, SHP, KML, Excel, PDF or DXF."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli._inputs import open_project, output_problems, rules_of
from cli._output import emit, progress
from gis.errors import GridplanError, Problems
from gis.i18n import N_, translator

__all__ = ["run_export"]


_OSM_NOTE = "OpenStreetMap layers were mapped onto the gridplan layers."


_NAME_THE_PLAN = N_(
    "Name the plan to export: a plan file, --project NAME, or --db URL with --plan-id ID."
)


def _deprecated_project_file(args: argparse.Namespace) -> None:
    """``--project FILE`` (the atlas's layers, before ``--project`` named a project): read
    it as ``--layers FILE`` and say so, unless a project of that name exists."""
    given = args.project
    if given is None or args.layers is not None:
        return
    path = Path(given)
    if not path.exists():
        return
    from gis.store.workspace import ProjectError

    try:
        with open_project(args):
            return  # a project of that name wins
    except ProjectError:
        pass
    print(
        translator(args.lang)
        .gettext(
            N_(
                "--project {file}: --project now names a project of the workspace; the layers "
                "that draw the atlas are given with --layers {file}. Read as --layers this time."
            )
        )
        .format(file=given),
        file=sys.stderr,
    )
    args.layers, args.project = path, None


def run_export(args: argparse.Namespace) -> int:
    """Export a plan (a file or a database version) in ``--format``."""
    from tqdm import tqdm

    from gis.export import export_plan
    from gis.store import read_exported

    _deprecated_project_file(args)
    problems = output_problems(Path(args.out), inputs=[args.plan, args.layers], make_folder=True)
    if len(problems) > 1:
        raise Problems(problems)
    if problems:
        raise problems[0]
    progress(args, N_("reading the plan…"))
    if args.format == "handover":
        from gis.export.handover import to_handover
        from gis.store import open_store

        if args.project is not None and args.plan is None:
            progress(args, N_("writing the export…"))
            with open_project(args) as project:
                written = [to_handover(project.store, args.out, lang=args.lang)]
            payload = {"written": [str(path) for path in written]}
            emit(args, payload, lambda: "\n".join(payload["written"]))
            return 0
        if args.plan is None and not args.db:
            raise GridplanError(_NAME_THE_PLAN)
        source = args.plan if args.plan is not None else args.db
        options = {} if args.plan is not None else {"plan_id": args.plan_id}
        progress(args, N_("writing the export…"))
        with open_store(source, **options) as store:
            written = [to_handover(store, args.out, lang=args.lang)]
        payload = {"written": [str(path) for path in written]}
        emit(args, payload, lambda: "\n".join(payload["written"]))
        return 0
    loaded = None
    if args.plan is not None:
        plan = read_exported(args.plan, version=args.version)
    elif args.project is not None:
        from planning.projects import INPUT_LAYERS, open_loaded

        with open_project(args) as project:  # the plan's layers; its data draw the atlas
            results = [n for n in project.layer_names(args.version) if n not in INPUT_LAYERS]
            plan = project.load(args.version, layers=results)
            if args.layers is None:  # the project's own data draw the atlas
                progress(args, N_("reading layers…"))
                loaded = open_loaded(
                    project, rules=rules_of(args), lang=args.lang, version=args.version
                )
    elif args.db:
        from gis.store import open_store

        with open_store(args.db, plan_id=args.plan_id) as store:
            plan = store.load(args.version)
    else:
        raise GridplanError(_NAME_THE_PLAN)
    context: dict[str, Any] = {}
    attribution = args.attribution
    if args.layers is not None:
        from planning.communities import load

        progress(args, N_("reading layers…"))
        loaded = load(args.layers, rules=rules_of(args), lang=args.lang, crs=args.crs)
    if loaded is not None:
        context = {
            name: frame for name, frame in loaded.project.layers().items() if frame is not None
        }
        context["communities"] = loaded.communities
        if attribution is None and any(note.msgid == _OSM_NOTE for note in loaded.project.notes):
            from gis.datasets import ATTRIBUTION

            attribution = ATTRIBUTION["beijing"]
    rules = rules_of(args) if (args.rules or args.preset != "default") else None
    progress(args, N_("writing the export…"))
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
        out_crs=args.out_crs,
        paper=args.paper,
        landscape=args.landscape,
    )
    bar.close()
    payload = {"written": [str(path) for path in written]}
    emit(args, payload, lambda: "\n".join(payload["written"]))
    return 0
