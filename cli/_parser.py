"""The command line, declared in one place: every command, its options and their help.

Private to :mod:`cli`. Options several commands share are parent parsers (``common``:
``--json --lang --quiet``; ``rules``; ``reading``; ``batch``; ``database``); each command
is one ``sub.add_parser`` block below, ending with ``set_defaults(func=module.run_…)``, the
function of its module (:mod:`cli.check`, :mod:`cli.grids`, …) that runs it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from cli._argparse_i18n import argparse_language
from cli._output import EXIT_BAD_INPUT
from cli.analyses import run_access, run_growth, run_overlap
from cli.check import run_check, run_staff
from cli.compare import run_compare
from cli.edit import run_edit
from cli.export import run_export
from cli.grids import run_grids, run_split
from cli.projects import run_projects
from cli.template import run_template
from cli.users import run_users
from gis.export import FORMATS
from gis.i18n import DEFAULT_LANGUAGE, N_, normalize_language, translator
from planning.rules import get_preset, preset_names

__all__ = ["ArgumentParser", "argv_language", "build_parser", "default_language"]


def default_language() -> str:
    """The language of ``GRIDPLAN_LANG``, ``LC_ALL`` or ``LANG`` (zh-CN when none says)."""
    for variable in ("GRIDPLAN_LANG", "LC_ALL", "LANG"):
        value = os.environ.get(variable, "")
        if value and value.split(".")[0].lower() not in {"c", "posix"}:
            return normalize_language(value)
    return normalize_language(None)


def argv_language(argv: Sequence[str]) -> str:
    """Return the ``--lang`` of ``argv`` before it is parsed (for argparse's own messages).

    ``--lang`` may come before the command or after it; the last one given wins.

    Examples
    --------
    >>> argv_language(["--lang", "en", "check", "x.gpkg"]), argv_language(["check", "--lang=en"])
    ('en', 'en')
    >>> argv_language(["--lang", "en", "check", "--lang", "zh-CN"])
    'zh_CN'
    """
    found = None
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--lang="):
            found = arg.partition("=")[2]
    return normalize_language(found) if found is not None else default_language()


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one ``gridplan: …`` line (exit 2)."""

    lang: str = DEFAULT_LANGUAGE

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse in the parser's language (argparse's own messages too)."""
        with argparse_language(self.lang):
            return super().parse_known_args(args, namespace)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """Parse in the parser's language ("unrecognized arguments" included)."""
        with argparse_language(self.lang):
            return super().parse_args(args, namespace)

    def format_help(self) -> str:
        """The help in the parser's language, argparse's "usage:" and "options:" included."""
        with argparse_language(self.lang):
            return super().format_help()

    def format_usage(self) -> str:
        """The usage line in the parser's language."""
        with argparse_language(self.lang):
            return super().format_usage()

    def error(self, message: str) -> NoReturn:
        msg = translator(self.lang).gettext(N_("{error} (see {prog} --help)"))
        self.exit(EXIT_BAD_INPUT, f"gridplan: {msg.format(error=message, prog=self.prog)}\n")


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    """The ``gridplan`` parser, its messages and help in ``lang`` (the environment's by default)."""
    lang = normalize_language(lang or default_language())
    with argparse_language(lang):  # the group titles argparse names when a parser is made
        return _build_parser(lang)


def _build_parser(lang: str) -> argparse.ArgumentParser:
    tr = translator(lang).gettext
    common = ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", help=tr(N_("print one JSON object on stdout"))
    )
    common.add_argument(
        "--lang",
        default=default_language(),
        type=normalize_language,
        help=tr(N_("zh_CN (default) or en")),
    )
    common.add_argument("--quiet", action="store_true", help=tr(N_("no progress on stderr")))
    rules = ArgumentParser(add_help=False)
    rules.add_argument(
        "--preset",
        default="default",
        help=tr(N_("rule preset ({names})")).format(names=", ".join(preset_names())),
    )
    rules.add_argument(
        "--rules", type=Path, help=tr(N_("a rule set TOML file (overrides --preset)"))
    )
    reading = ArgumentParser(add_help=False)
    reading.add_argument(
        "--encoding", help=tr(N_("text encoding of files without one (gbk, utf-8)"))
    )
    reading.add_argument(
        "--crs",
        help=tr(
            N_(
                "CRS of layers that declare none, e.g. EPSG:4490, a Gauss–Krüger zone such as "
                "EPSG:4548 (a CAD drawing needs one), or GCJ-02 / BD-09 for points picked on AMap "
                "or Baidu maps"
            )
        ),
    )
    reading.add_argument(
        "--layer-map",
        metavar="CADLAYER=layer,…",
        help=tr(
            N_(
                "for a CAD drawing (.dxf): which CAD layer holds which layer, e.g. "
                "建筑=buildings,社区边界=communities,文字=labels"
            )
        ),
    )
    counting = ArgumentParser(add_help=False)
    counting.add_argument(
        "--households-from",
        choices=("official", "buildings"),
        default=None,
        help=tr(
            N_(
                "where the communities layer gives its own household count: use it (official, "
                "the default) or the sum of the buildings"
            )
        ),
    )
    batch = ArgumentParser(add_help=False)
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
    database = ArgumentParser(add_help=False)
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

    in_project = ArgumentParser(add_help=False)
    in_project.add_argument(
        "--project",
        metavar="NAME",
        help=tr(
            N_(
                "read the current data of this project (GRIDPLAN_HOME or GRIDPLAN_DB) instead "
                "of INPUT, and save the results in it as a new version"
            )
        ),
    )
    input_help = tr(
        N_("the project: a GeoPackage, a zip or folder of layer files, or one buildings file")
    )
    project_input = ArgumentParser(add_help=False)  # check, grids, split: INPUT or --project
    project_input.add_argument("input", type=Path, nargs="?", help=input_help)

    parser = ArgumentParser(prog="gridplan", description=tr(N_("Plan community sizes and grids.")))
    parser.add_argument(  # before the command too: gridplan --lang en check …
        "--lang",
        dest="lang_before_command",
        type=normalize_language,
        metavar="LANG",
        help=tr(N_("zh_CN (default) or en; also taken after the command")),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    staff = sub.add_parser(
        "staff", parents=[common, rules], help=tr(N_("staffing figures for a household count"))
    )
    staff.add_argument(
        "--households", type=int, required=True, help=tr(N_("households in the community"))
    )
    staff.add_argument("--residents", type=int, help=tr(N_("resident population (optional)")))
    staff.add_argument("--staff", type=int, help=tr(N_("community workers in post now (optional)")))
    staff.set_defaults(func=run_staff)
    check = sub.add_parser(
        "check",
        parents=[common, rules, reading, counting, batch, in_project, project_input],
        help=tr(N_("check every community against the rules")),
    )
    check.set_defaults(func=run_check)
    grids = sub.add_parser(
        "grids",
        parents=[common, rules, reading, counting, database, batch, in_project, project_input],
        help=tr(N_("divide communities into grids")),
    )
    grids.add_argument("--out", type=Path, help=tr(N_("the plan GeoPackage to write")))
    grids.add_argument("--community", help=tr(N_("only this community_id")))
    preset = get_preset("default")
    grids.add_argument(
        "--min-households",
        type=int,
        help=tr(
            N_(
                "smallest grid (by default the rules' grid_min_households: {n} in the "
                "default preset)"
            )
        ).format(n=preset.grid_min_households),
    )
    grids.add_argument(
        "--max-households",
        type=int,
        help=tr(
            N_(
                "largest grid (by default the rules' grid_max_households: {n} in the "
                "default preset)"
            )
        ).format(n=preset.grid_max_households),
    )
    grids.set_defaults(func=run_grids)
    split = sub.add_parser(
        "split",
        parents=[common, rules, reading, counting, database, batch, in_project, project_input],
        help=tr(N_("propose ways to split a community")),
    )
    split.add_argument(
        "--community", help=tr(N_("the community_id to split (needed when there are several)"))
    )
    split.add_argument("--out", type=Path, help=tr(N_("the plan GeoPackage to write")))
    split.add_argument(
        "--parts", type=int, help=tr(N_("number of new communities (smallest that fits by default)"))
    )
    split.add_argument("--alternatives", type=int, default=3, help=tr(N_("how many ranked alternatives")))
    split.add_argument("--seed", type=int, default=0, help=tr(N_("seed for the random bisections")))
    split.set_defaults(func=run_split)
    compare = sub.add_parser(
        "compare",
        parents=[common, rules, reading],
        help=tr(N_("service ratios before and after")),
    )
    compare.add_argument(
        "before", type=Path, nargs="?", help=tr(N_("the project before (layers)"))
    )
    compare.add_argument(
        "after",
        type=Path,
        nargs="?",
        help=tr(N_("the plan after (from gridplan split) or a project")),
    )
    compare.add_argument(
        "--project",
        metavar="NAME",
        help=tr(
            N_(
                "compare this project's data (GRIDPLAN_HOME or GRIDPLAN_DB) before and after "
                "its split: per community the accepted proposal, else the best one not "
                "rejected; or after AFTER when given"
            )
        ),
    )
    compare.set_defaults(func=run_compare)
    access = sub.add_parser(
        "access",
        parents=[common, rules, reading, in_project],
        help=tr(N_("walking distances to the service centres, along the roads")),
    )
    access.add_argument(
        "input", type=Path, nargs="?", help=tr(N_("the project (layers, with roads)"))
    )
    access.add_argument(
        "--plan",
        type=Path,
        help=tr(N_("a plan from gridplan split: measure the communities after its best split")),
    )
    access.add_argument(
        "--out", type=Path, help=tr(N_("a GeoPackage for the walk of every building"))
    )
    access.set_defaults(func=run_access)
    overlap = sub.add_parser(
        "overlap",
        parents=[common, rules, reading, in_project],
        help=tr(N_("how the plan's grids sit on another grid system (多网合一)")),
    )
    overlap.add_argument(
        "plan",
        type=Path,
        nargs="?",
        help=tr(N_("the plan GeoPackage with grids (with --project: the project's grids)")),
    )
    overlap.add_argument(
        "--other", type=Path, required=True, help=tr(N_("the other system's units (polygons)"))
    )
    overlap.add_argument("--other-layer", help=tr(N_("the layer inside --other")))
    overlap.add_argument("--other-id", help=tr(N_("the column of --other holding the unit codes")))
    overlap.add_argument(
        "--snap",
        type=Path,
        nargs="?",
        const=Path(),
        metavar="INPUT",
        help=tr(
            N_(
                "the project's layers: re-make the grids with the other system's boundaries as "
                "barriers and report the cost (with --project, no INPUT: the project's layers)"
            )
        ),
    )
    overlap.add_argument(
        "--out", type=Path, help=tr(N_("the plan GeoPackage of the snapped grids"))
    )
    overlap.set_defaults(func=run_overlap)
    growth = sub.add_parser(
        "growth",
        parents=[common, rules, reading, in_project],
        help=tr(N_("households, status and staff year by year as new housing is delivered")),
    )
    growth.add_argument("input", type=Path, nargs="?", help=tr(N_("the project (layers)")))
    growth.add_argument(
        "--deliveries",
        type=Path,
        required=True,
        help=tr(N_("planned or delivering housing: households and year (交付年份/预计交付)")),
    )
    growth.add_argument("--deliveries-layer", help=tr(N_("the layer inside --deliveries")))
    growth.add_argument(
        "--plan", type=Path, help=tr(N_("a plan with grids: find the grids that will overflow"))
    )
    growth.add_argument(
        "--base-year", type=int, help=tr(N_("the year of today's data (this year by default)"))
    )
    growth.set_defaults(func=run_growth)
    export = sub.add_parser(
        "export",
        parents=[common, rules, database],
        help=tr(N_("export a plan to hand on (GPKG, SHP, KML, Excel, PDF atlas, DXF)")),
    )
    export.add_argument(
        "plan",
        type=Path,
        nargs="?",
        help=tr(N_("the plan: a plan GeoPackage or a shapefile-zip export")),
    )
    export.add_argument(
        "--format",
        choices=FORMATS,
        help=tr(N_("the format (guessed from --out by default)")),
    )
    export.add_argument(
        "--out-crs",
        metavar="CRS",
        help=tr(
            N_(
                "write the coordinates in this CRS: a CGCS2000 Gauss–Krüger zone such as EPSG:4547, "
                "or a PROJ string for a city's local grid (not for KML; a DXF is in the plan's "
                "Gauss–Krüger zone by default)"
            )
        ),
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
        metavar="NAME",
        help=tr(
            N_(
                "export this project's latest version (or --version) from the workspace "
                "(GRIDPLAN_HOME or GRIDPLAN_DB); its data draw the atlas's buildings and roads"
            )
        ),
    )
    export.add_argument(
        "--layers",
        type=Path,
        metavar="FILE",
        help=tr(
            N_(
                "the planner's layers, to draw buildings and roads in the atlas (was --project "
                "FILE before; a file given to --project is still read so, with a warning)"
            )
        ),
    )
    export.add_argument("--crs", help=tr(N_("CRS of layers that declare none, e.g. EPSG:4490")))
    export.add_argument(
        "--paper",
        choices=("a4", "a3"),
        default="a4",
        type=str.lower,
        help=tr(N_("paper of the atlas and of the Excel report's print setup (a4 by default)")),
    )
    export.add_argument(
        "--landscape", action="store_true", help=tr(N_("lay the atlas's pages out landscape"))
    )
    export.add_argument("--title", help=tr(N_("title of the atlas and the KML")))
    export.add_argument("--attribution", help=tr(N_("data attribution printed on the maps")))
    export.set_defaults(func=run_export)
    template = sub.add_parser(
        "template", help=tr(N_("write a template for the office to fill (roster: 花名册模板.xlsx)"))
    )
    template_sub = template.add_subparsers(dest="template_command", required=True)
    template_roster = template_sub.add_parser(
        "roster",
        parents=[common],
        help=tr(N_("the household roster template (花名册模板.xlsx) with checked columns")),
    )
    template_roster.add_argument(
        "--out", type=Path, help=tr(N_("the file to write (花名册模板.xlsx by default)"))
    )
    template.set_defaults(func=run_template)
    users = sub.add_parser(
        "users", help=tr(N_("add, remove or list the users who may sign in to the app"))
    )
    users_file = ArgumentParser(add_help=False)
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
    users.set_defaults(func=run_users)
    projects = sub.add_parser(
        "projects",
        help=tr(N_("create, list and show the history of projects (GRIDPLAN_HOME or GRIDPLAN_DB)")),
    )
    where = ArgumentParser(add_help=False)
    where.add_argument(
        "--home",
        type=Path,
        help=tr(N_("the workspace folder (GRIDPLAN_HOME, else the user data folder)")),
    )
    where.add_argument(
        "--db",
        default=os.environ.get("GRIDPLAN_DB") or None,
        metavar="URL",
        help=tr(N_("keep the projects in this PostGIS database (GRIDPLAN_DB by default)")),
    )
    where.add_argument("--author", help=tr(N_("who does it (your login name by default)")))
    projects_sub = projects.add_subparsers(dest="projects_command", required=True)
    projects_create = projects_sub.add_parser(
        "create",
        parents=[common, rules, reading, where],
        help=tr(N_("create a project from a planner's data")),
    )
    projects_create.add_argument("name", help=tr(N_("the project's name, e.g. 海淀-清华园")))
    projects_create.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="INPUT",
        help=input_help,
    )
    projects_create.add_argument("--note", help=tr(N_("a note for the first version")))
    projects_list = projects_sub.add_parser(
        "list", parents=[common, where], help=tr(N_("list the projects"))
    )
    projects_list.add_argument(
        "--archived", action="store_true", help=tr(N_("list the archived projects"))
    )
    projects_history = projects_sub.add_parser(
        "history", parents=[common, where], help=tr(N_("every version of a project"))
    )
    projects_history.add_argument("name", help=tr(N_("the project's name, e.g. 海淀-清华园")))
    projects.set_defaults(func=run_projects)
    editing = sub.add_parser(
        "edit",
        parents=[common, where],
        help=tr(N_("correct a project's grids: move buildings, merge, split, lock, assign")),
    )
    editing.add_argument(
        "--project", required=True, help=tr(N_("the project's name, e.g. 海淀-清华园"))
    )
    what = editing.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--move",
        metavar="ID[,ID…]",
        help=tr(N_("buildings to move (B12, or B12:2 / B12:2:5-10 for a piece of a tower)")),
    )
    what.add_argument(
        "--merge", nargs=2, metavar="CODE", help=tr(N_("merge two touching grids"))
    )
    what.add_argument("--split", metavar="CODE", help=tr(N_("split a grid by the engine's cut")))
    what.add_argument("--lock", metavar="CODE", help=tr(N_("lock a grid (kept by edits and re-runs)")))
    what.add_argument("--unlock", metavar="CODE", help=tr(N_("unlock a grid")))
    what.add_argument("--assign", metavar="CODE", help=tr(N_("set a grid's worker, phone, name or note")))
    what.add_argument(
        "--regrid",
        action="store_true",
        help=tr(
            N_(
                "make the grids again around the locked ones, keeping the codes of grids that "
                "barely change (saves the grid_crosswalk layer)"
            )
        ),
    )
    what.add_argument(
        "--import",
        dest="import_grids",
        type=Path,
        metavar="FILE",
        help=tr(
            N_(
                "a grid layer the city already has (any format the readers take): audit it "
                "and keep it as the project's grids"
            )
        ),
    )
    editing.add_argument("--layer", help=tr(N_("the layer inside FILE (for --import)")))
    editing.add_argument(
        "--encoding", help=tr(N_("text encoding of files without one (gbk, utf-8)"))
    )
    editing.add_argument("--crs", help=tr(N_("CRS of layers that declare none, e.g. EPSG:4490")))
    editing.add_argument("--to", metavar="CODE", help=tr(N_("the grid that takes the buildings")))
    editing.add_argument(
        "--parts", type=int, default=2, help=tr(N_("how many parts --split makes (2 by default)"))
    )
    editing.add_argument("--worker", help=tr(N_("the grid worker's name")))
    editing.add_argument("--phone", help=tr(N_("the grid worker's phone")))
    editing.add_argument("--name", help=tr(N_("the grid's name")))
    editing.add_argument("--note", help=tr(N_("a note on the grid")))
    editing.set_defaults(func=run_edit)
    # usage errors in the planner's language
    for each in (
        parser,
        *sub.choices.values(),
        *users_sub.choices.values(),
        *projects_sub.choices.values(),
        *template_sub.choices.values(),
    ):
        each.lang = lang
    return parser
