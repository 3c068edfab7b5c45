"""``gridplan projects``: create, list and show the history of the workspace's projects.

Projects live in ``GRIDPLAN_HOME`` (one GeoPackage each) or, with ``GRIDPLAN_DB``, in
that PostGIS database (:mod:`gis.store.workspace`); the app opens the same projects.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from cli._output import emit
from gis.i18n import N_, translator

__all__ = ["run_projects"]


def _author(args: argparse.Namespace) -> str:
    return str(args.author or getpass.getuser() or "gridplan")


def run_projects(args: argparse.Namespace) -> int:
    """Create a project from a planner's data, list the projects, or show one's history."""
    from planning.projects import create_project, workspace

    tr = translator(args.lang).gettext
    ws = workspace(args.home, db=args.db) if (args.home or args.db) else workspace()
    if args.projects_command == "create":
        from cli._inputs import read_options, rules_of

        project = create_project(
            ws,
            args.name,
            args.source,
            author=_author(args),
            rules=rules_of(args),
            lang=args.lang,
            note=args.note or "",
            **read_options(args),
        )
        line = project.summary()
        payload: dict[str, Any] = {
            "name": line.name,
            "version": line.version,
            "communities": line.communities,
            "households": line.households,
        }
        emit(
            args,
            payload,
            lambda: tr(
                N_("Project {name} created: version {version}, {communities} communities, "
                   "{households} households.")
            ).format(**payload),
        )
        return 0
    if args.projects_command == "list":
        lines = [s.as_dict() for s in ws.list(archived=args.archived)]
        projects = [
            {
                k: s[k]
                for k in ("name", "version", "updated_at", "author", "action", "communities",
                          "households", "grids", "area_km2")
            }
            for s in lines
        ]

        def human() -> str:
            if not projects:
                return tr(N_("No projects yet. Create one with: gridplan projects create NAME "
                             "--from INPUT"))
            return "\n".join(
                f"{p['name']}  v{p['version']}  {p['updated_at']}  {p['author']}  "
                + tr(N_("{communities} communities, {households} households, {grids} grids"))
                .format(**p)
                for p in projects
            )

        emit(args, {"projects": projects}, human)
        return 0
    with ws.open(args.name) as project:
        history = project.history()
    versions = [
        {
            "version": int(r.version),
            "author": str(r.author),
            "at": str(r.at),
            "action": str(r.action),
            "note": str(r.note),
        }
        for r in history.itertuples(index=False)
    ]
    emit(
        args,
        {"versions": versions},
        lambda: "\n".join(
            f"v{v['version']}  {v['at']}  {v['author']}  {v['action']}  {v['note']}".rstrip()
            for v in versions
        ),
    )
    return 0
