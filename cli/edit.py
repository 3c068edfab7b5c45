"""``gridplan edit --project NAME``: scripted corrections of a project's grids.

One edit per call (:mod:`planning.edit`): ``--move ID[,ID…] --to CODE`` (building ids, or
``B:unit`` / ``B:unit:floor_from-floor_to`` for a piece of a tower), ``--merge CODE CODE``,
``--split CODE [--parts N]``, ``--lock CODE`` (``--unlock CODE``) and ``--assign CODE
--worker NAME [--phone P] [--name N] [--note T]``. The edited grids are saved to the project
as a new version (action ``edit``, the change described in the note); an edit that cannot
hold exits non-zero with one line and saves nothing.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from cli._output import emit
from gis.errors import InfeasibleError
from gis.i18n import N_, translator

__all__ = ["run_edit"]


def _author(args: argparse.Namespace) -> str:
    return str(args.author or getpass.getuser() or "gridplan")


def run_edit(args: argparse.Namespace) -> int:
    """Apply one hand edit to a project's grids and save it as a new version."""
    from planning import edit
    from planning.projects import open_loaded, workspace

    tr = translator(args.lang).gettext
    ws = workspace(args.home, db=args.db) if (args.home or args.db) else workspace()
    with ws.open(args.project) as project:
        base = project.version
        if args.import_grids is not None:
            return _import(args, project, base, tr)
        if "grids" not in project.layer_names() or "grid_members" not in project.layer_names():
            msg = N_(
                "Project {name} has no grids yet, so there is nothing to edit. Make them first "
                "(the Grids page, or gridplan grids)."
            )
            raise InfeasibleError(msg, name=args.project)
        layers = project.load(layers=["grids", "grid_members"])
        loaded = open_loaded(project, lang=args.lang)
        plan = edit.GridPlan(
            grids=layers["grids"],
            grid_members=layers["grid_members"],
            buildings=loaded.buildings,
            communities=loaded.communities,
            rules=loaded.rules,
        )
        walk = None
        if args.regrid:
            data = loaded.project
            regridded, walk = edit.regrid(
                plan,
                roads=data.roads,
                waterways=data.waterways,
                barriers=data.barriers,
                compounds=data.compounds,
                landuse=data.landuse,
                lang=args.lang,
            )
            changes = [(regridded, _regrid_change(plan, regridded, walk, edit))]
        else:
            changes = _apply(plan, args, edit)
        new, patches = edit.refresh_patches(changes[-1][0], lang=args.lang)
        note = " ".join(change.describe(args.lang) for _, change in changes)
        saved = {"grids": new.grids, "grid_members": new.grid_members, "patches": patches}
        if walk is not None:
            saved["grid_crosswalk"] = walk
        version = project.save(
            layers=saved,
            action="edit",
            author=_author(args),
            note=note,
            base_version=base,
        )
    touched = sorted({c for _, change in changes for c in change.codes})
    present = new.grids.set_index("grid_code")
    grids = [
        {
            "grid_code": code,
            "households": int(present.loc[code, "households"]),
            "status": str(present.loc[code].get("status", "")),
        }
        for code in touched
        if code in present.index
    ]
    removed = sorted({c for _, change in changes for c in change.removed})
    flagged = patches[patches["status"] != "ok"]
    payload: dict[str, Any] = {
        "version": version,
        "grids": grids,
        "removed": removed,
        "change": note,
        "patches_flagged": [
            {"patch_id": r.patch_id, "households": int(r.households), "reason": r.reason}
            for r in flagged.itertuples()
        ],
    }

    def human() -> str:
        lines = [tr(N_("Saved version {version}.")).format(version=version), note]
        lines += [f"{g['grid_code']}  {g['households']}  {g['status']}" for g in grids]
        return "\n".join(lines)

    emit(args, payload, human)
    return 0


def _import(args: argparse.Namespace, project: Any, base: int | None, tr: Any) -> int:
    """``--import FILE``: a city's existing grid layer, audited, saved as the project's grids."""
    from gis.io import read_layer
    from planning import edit
    from planning.existing import import_grids
    from planning.projects import open_loaded

    frame, _mapping, _notes = read_layer(
        args.import_grids, layer=args.layer, role="grids", encoding=args.encoding, crs=args.crs
    )
    loaded = open_loaded(project, lang=args.lang)
    plan, problems = import_grids(
        frame,
        buildings=loaded.buildings,
        communities=loaded.communities,
        rules=loaded.rules,
        lang=args.lang,
    )
    plan, patches = edit.refresh_patches(plan, lang=args.lang)
    counts = problems["kind"].value_counts().to_dict()
    note = tr(N_("Imported {n} grids from {file}: {problems} problems found.")).format(
        n=len(plan.grids), file=args.import_grids.name, problems=len(problems)
    )
    version = project.save(
        layers={
            "grids": plan.grids,
            "grid_members": plan.grid_members,
            "patches": patches,
            "grid_audit": problems,
        },
        action="import",
        author=_author(args),
        note=note,
        base_version=base,
    )
    payload: dict[str, Any] = {
        "version": version,
        "grids": len(plan.grids),
        "households": int(plan.grids["households"].sum()),
        "problems": {str(k): int(v) for k, v in counts.items()},
        "audit": [
            {"kind": r.kind, "grid_code": r.grid_code, "reason": r.reason}
            for r in problems.itertuples()
        ],
    }

    def human() -> str:
        lines = [tr(N_("Saved version {version}.")).format(version=version), note]
        lines += [f"{r.kind}  {r.grid_code or ''}  {r.reason}" for r in problems.itertuples()]
        return "\n".join(lines)

    emit(args, payload, human)
    return 0


def _regrid_change(before: Any, after: Any, walk: Any, edit: Any) -> Any:
    """A change record for a re-run: every grid that is not kept as it was."""
    kept = set(walk.loc[walk["overlap_share"] >= 1.0, "new_code"])
    old = set(before.grids["grid_code"]) - kept
    new = set(after.grids["grid_code"]) - kept
    return edit.Change.of_frames(
        action="regrid",
        codes=tuple(sorted(old | new)),
        removed=tuple(sorted(old - new)),
        added=tuple(sorted(new - old)),
        grids_before=before.grids[before.grids["grid_code"].isin(old)],
        grids_after=after.grids[after.grids["grid_code"].isin(new)],
        members_before=before.grid_members[before.grid_members["grid_code"].isin(old)],
        members_after=after.grid_members[after.grid_members["grid_code"].isin(new)],
    )


def _apply(plan: Any, args: argparse.Namespace, edit: Any) -> list[tuple[Any, Any]]:
    """The edit the arguments ask for: one or more (plan, change) steps."""
    if args.move:
        if not args.to:
            msg = N_("Say which grid takes them: --move {ids} --to GRID_CODE.")
            raise InfeasibleError(msg, ids=args.move)
        pieces = [p for p in args.move.split(",") if p.strip()]
        return [edit.move(plan, pieces, args.to, lang=args.lang)]
    if args.merge:
        return [edit.merge(plan, args.merge[0], args.merge[1], lang=args.lang)]
    if args.split:
        steps = [edit.split(plan, args.split, lang=args.lang)]
        for _ in range(max(args.parts, 2) - 2):  # more parts: split the largest part again
            current, change = steps[-1]
            parts = current.grids[current.grids["grid_code"].isin(change.codes)]
            largest = str(parts.sort_values("households").iloc[-1]["grid_code"])
            steps.append(edit.split(current, largest, lang=args.lang))
        return steps
    if args.lock:
        return [edit.lock(plan, [args.lock])]
    if args.unlock:
        return [edit.lock(plan, [args.unlock], locked=False)]
    if args.assign:
        return [
            edit.assign(
                plan,
                args.assign,
                worker=args.worker,
                phone=args.phone,
                name=args.name,
                note=args.note,
            )
        ]
    msg = N_("Say what to change: --move, --merge, --split, --lock, --unlock or --assign.")
    raise InfeasibleError(msg)
