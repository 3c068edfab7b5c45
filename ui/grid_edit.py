"""The Grids page's hand editing: move buildings, merge, split, lock, name and staff grids.

Each edit is one call of :mod:`planning.edit` on the grids shown; the result replaces them
at once (households, band status and the map follow), and the change goes on an undo
stack kept in the session (``grid_edits``: done changes; ``grid_redo``: undone ones).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import shapely
import streamlit as st

from gis.kinds import kind_label
from planning import edit
from ui import session
from ui.i18n import gettext as _
from ui.widgets import show_error, show_table

__all__ = [
    "PICK",
    "Edited",
    "edit_panel",
    "picked_buildings",
    "reset_history",
    "select_clicked",
    "selection_panel",
]

_DONE = "grid_edits"  # session key: the changes that can be undone, last last
_UNDONE = "grid_redo"  # session key: the changes that can be redone
_REVISION = "grid_revision"  # session key: how many edits, undos and redos were made
_CLICKED = "grid_clicked"  # session key: the last map click acted on (lat, lng)
_EFFECT = "grid_effect"  # session key: the last edit's grids, households before and after
PICK = "grid_pick"
"""Session key: the grids map the planner drew on (``map``) and its drawings (``value``)."""


@dataclasses.dataclass(frozen=True)
class Edited:
    """What a hand edit made: the grids after it, the history's action word and a note.

    ``action`` is ``assign`` for a grid's name, worker and phone, ``edit`` for the
    others (moves, merges, splits, locks, undo and redo); ``note`` says what changed.
    """

    result: Any
    action: str
    note: str


def select_clicked(grids: Any, clicked: dict[str, Any] | None, *, gcj02: bool) -> str | None:
    """Make the grid a planner clicked on the map the one the editing tools work on.

    ``clicked`` is the map's return value (``last_object_clicked``: ``lat``, ``lng`` in the
    tiles' frame, GCJ-02 on AMap tiles). Returns the grid's code, or ``None``.
    """
    point = clicked.get("last_object_clicked") if isinstance(clicked, dict) else None
    if not isinstance(point, dict) or "lat" not in point or "lng" not in point:
        return None
    # the map keeps returning its last click: act on a new click only, so the planner can
    # still choose another grid in the list
    seen = (float(point["lat"]), float(point["lng"]))
    if st.session_state.get(_CLICKED) == seen:
        return None
    st.session_state[_CLICKED] = seen
    where = shapely.Point(float(point["lng"]), float(point["lat"]))
    if gcj02:
        from gis.gcj import gcj_to_wgs

        where = gcj_to_wgs(where)
    hits = grids[grids.geometry.contains(where)]
    if not len(hits):
        return None
    code = str(hits["grid_code"].iloc[0])
    if st.session_state.get("w_edit_grid") != code:
        st.session_state["w_edit_grid"] = code
    return code


def picked_buildings(
    plan_grids: Any, members: Any, buildings: Any, *, map_key: str, gcj02: bool
) -> list[str]:
    """The buildings a planner selected by drawing rectangles or polygons on the grids map.

    A building is selected when its footprint's representative point lies in a drawing;
    only buildings that belong to a grid count. The drawings are read from
    ``st.session_state[PICK]`` (the map's ``all_drawings``, copied there by the map's
    ``on_change``; a test injects its own the same way) when they were drawn on
    ``map_key`` (a map drawn before the last edit no longer counts).
    """
    from gis.crs import reproject
    from gis.draw import drawn_polygons
    from gis.errors import GridplanError
    from gis.gcj import frame_from_gcj

    pick = st.session_state.get(PICK)
    if not isinstance(pick, dict) or pick.get("map") != map_key:
        return []
    value = pick.get("value")
    features = value.get("all_drawings") if isinstance(value, dict) else None
    if not features:
        return []
    try:
        drawn = drawn_polygons(features)
        if gcj02 and len(drawn):
            drawn = frame_from_gcj(drawn)
    except GridplanError as err:
        show_error(err)
        return []
    if not len(drawn):
        return []
    area = shapely.union_all(reproject(drawn, plan_grids.crs).geometry.values)
    ids = set(members["building_id"].astype(str))
    frame = buildings[buildings["building_id"].astype(str).isin(ids)]
    if frame.crs is not None and frame.crs != plan_grids.crs:
        frame = reproject(frame, plan_grids.crs)
    points = frame.geometry.representative_point().values
    inside = shapely.intersects(area, points)
    return sorted(frame["building_id"].astype(str)[inside].tolist())


def _remember_effect(change: Any, *, undone: bool = False) -> None:
    """Keep the touched grids' households before and after, for the figures shown."""
    before = {str(r["grid_code"]): int(r["households"]) for r in change.rows_before}
    after = {str(r["grid_code"]): int(r["households"]) for r in change.rows_after}
    if undone:
        before, after = after, before
    codes = sorted(set(before) | set(after))
    st.session_state[_EFFECT] = [(c, before.get(c), after.get(c)) for c in codes]


def _show_effect(rules: Any) -> None:
    """The last edit's grids: households now, the change, in the band or not."""
    effect = st.session_state.get(_EFFECT)
    if not effect:
        return
    low, high = rules.grid_min_households, rules.grid_max_households
    with st.container(key="edit_effect"):
        st.markdown("**" + _("The grids the last change touched") + "**")
        cols = st.columns(min(len(effect), 4))
        for i, (code, before, after) in enumerate(effect):
            column = cols[i % len(cols)]
            if after is None:
                column.metric(code, _("merged away"), delta=-(before or 0))
                continue
            delta = None if before is None else after - before
            label = code + ("" if low <= after <= high else " · " + _("out of range"))
            column.metric(label, f"{after:,}", delta=delta)


def selection_panel(
    result: Any,
    selected: list[str],
    *,
    loaded: Any,
    rules: Any,
    lang: str,
    allowed: bool,
) -> Edited | None:
    """The buildings selected on the map: their grids, where they can go, and the move.

    The figures before the move (households of each grid now and after, in the band or not)
    are worked out from the selection alone, so they follow the choice of grid at once;
    the move itself is :func:`planning.edit.move` (refused with its message when it cannot
    hold).
    """
    if not selected:
        st.caption(
            _(
                "To move several buildings at once, draw a rectangle or polygon around them on "
                "the map (the tools at its top left)."
            )
        )
        return None
    plan = _plan_of(result, loaded, rules)
    members = plan.grid_members[plan.grid_members["building_id"].astype(str).isin(selected)]
    by_grid = members.groupby(members["grid_code"].astype(str))["households"].sum()
    with st.container(key="edit_selection"):
        st.markdown(
            "**"
            + _("{n} buildings selected on the map ({households} households) in grids {codes}").format(
                n=len(selected), households=f"{int(by_grid.sum()):,}", codes=", ".join(by_grid.index)
            )
            + "**"
        )
        near: set[str] = set()
        for code in by_grid.index:
            near.update(_neighbours(plan, code))
        # the neighbours first (where a selection usually goes), then the grids it is in
        targets = sorted(near - set(by_grid.index)) + sorted(by_grid.index)
        to = st.selectbox(_("Move them to grid"), targets, key="w_sel_target")
        low, high = rules.grid_min_households, rules.grid_max_households
        rows = []
        for code in sorted(set(by_grid.index) | {to}):
            now = int(plan.grid(code)["households"])
            after = now + int(by_grid.sum() - by_grid.get(to, 0)) if code == to else now - int(by_grid[code])
            rows.append(
                {
                    "grid_code": code,
                    _("households now"): now,
                    _("households after"): after,
                    _("in the band after"): _("yes") if low <= after <= high else _("no"),
                }
            )
        import pandas as pd

        show_table(pd.DataFrame(rows), key="w_sel_preview")
        move = st.button(
            _("Move the selected buildings"),
            type="primary",
            key="w_sel_move",
            disabled=not allowed or to is None,
            help=None if allowed else _("Editors only"),
        )
    if not move:
        return None
    try:
        new_plan, change = edit.move(plan, selected, str(to), lang=lang)
    except edit.EditRefusedError as err:
        show_error(err)
        return None
    _stack(_DONE).append(change)
    _stack(_UNDONE).clear()
    _remember_effect(change)
    st.session_state[_REVISION] = revision() + 1
    return Edited(_result_of(result, new_plan, lang), "edit", change.describe(lang))


def reset_history() -> None:
    """Forget the undo and redo stacks (new grids were generated)."""
    st.session_state[_DONE] = []
    st.session_state[_UNDONE] = []
    st.session_state[_EFFECT] = []


def revision() -> int:
    """A number that changes with every edit, undo and redo (for cache and map keys)."""
    return int(st.session_state.get(_REVISION, 0))


def _stack(key: str) -> list[Any]:
    return st.session_state.setdefault(key, [])


def _plan_of(result: Any, loaded: Any, rules: Any) -> edit.GridPlan:
    return edit.GridPlan(
        grids=result.grids,
        grid_members=result.grid_members,
        buildings=loaded.buildings,
        communities=loaded.communities,
        rules=rules,
    )


def _result_of(result: Any, plan: edit.GridPlan, lang: str) -> Any:
    plan, patches = edit.refresh_patches(plan, lang=lang)  # the patches follow the grids
    return dataclasses.replace(
        result, grids=plan.grids, grid_members=plan.grid_members, patches=patches
    )


def _neighbours(plan: edit.GridPlan, code: str) -> list[str]:
    geom = plan.grid(code).geometry
    grids = plan.grids
    touching = grids[grids.geometry.intersects(geom)]
    shared = shapely.length(shapely.intersection(touching.geometry.values, geom.boundary))
    return [c for c, s in zip(touching["grid_code"], shared, strict=True) if c != code and s > 0]


def edit_panel(
    result: Any, *, loaded: Any, rules: Any, lang: str, allowed: bool
) -> Edited | None:
    """Show the editing tools under the map; return the grids after the planner's edit.

    Parameters
    ----------
    result
        The grids shown (a :class:`planning.grids.GridResult`).
    loaded
        The project (its buildings and communities).
    rules
        The band the grids are judged by.
    lang
        The planner's language.
    allowed
        Whether the planner may change the plan (an editor).

    Returns
    -------
    Edited or None
        The new grids, with the action and note to save them under, when an edit, an
        undo or a redo was made; else ``None``.
    """
    st.subheader(_("Edit the grids"))
    _show_effect(rules)
    plan = _plan_of(result, loaded, rules)
    codes = plan.grids["grid_code"].astype(str).tolist()
    if not codes:
        return None
    # the picker starts on the first household grid, not a dedicated grid without households
    home = (
        plan.grids["kind"].astype(str).eq("residential")
        if "kind" in plan.grids
        else plan.grids["households"].astype(int).gt(0)
    ).to_numpy()
    first = int(home.argmax()) if home.any() else 0
    code = st.selectbox(_("Grid"), codes, index=first, key="w_edit_grid")
    row = plan.grid(code)
    members = plan.members_of(code)
    cols = st.columns(4)
    cols[0].metric(_("households"), int(row["households"]))
    cols[1].metric(_("buildings"), int(members["building_id"].nunique()))
    words = {"ok": _("ok"), "dedicated": _("dedicated grid")}
    status = str(row.get("status"))
    shown = kind_label(row.get("kind"), session.language()) if status == "dedicated" else None
    cols[2].metric(_("status"), shown or words.get(status, _("out of range")))
    cols[3].metric(_("locked"), _("yes") if bool(row.get("locked", False)) else _("no"))
    show_table(
        members[["building_id", "unit_from", "unit_to", "floor_from", "floor_to", "households"]],
        key="w_edit_members",
    )
    actions = {
        "move": _("Move buildings to a neighbouring grid"),
        "merge": _("Merge with a neighbouring grid"),
        "split": _("Split in two"),
        "lock": _("Lock or unlock"),
        "assign": _("Name, worker and phone"),
    }
    action = st.radio(
        _("Edit"), list(actions), format_func=actions.get, key="w_edit_action", horizontal=True
    )
    near = _neighbours(plan, code)
    done: tuple[edit.GridPlan, Any] | None = None
    with st.form("w_edit_form"):
        pieces: list[str] = []
        target = None
        worker = phone = name = None
        if action == "move":
            options = [str(b) for b in dict.fromkeys(members["building_id"].astype(str))]
            pieces = st.multiselect(
                _("Buildings (or a tower's unit, e.g. B12:2)"), options, key="w_edit_pieces"
            )
            extra = st.text_input(_("Pieces of towers, comma separated (B12:2:5-10)"), key="w_edit_extra")
            pieces += [p.strip() for p in extra.split(",") if p.strip()]
            target = st.selectbox(_("To grid"), near, key="w_edit_target")
        elif action == "merge":
            target = st.selectbox(_("With grid"), near, key="w_edit_merge")
        elif action == "assign":
            name = st.text_input(_("Name"), value=str(row.get("name") or ""), key="w_edit_name")
            worker = st.text_input(_("Worker"), value=str(row.get("worker") or ""), key="w_edit_worker")
            phone = st.text_input(_("Phone"), value=str(row.get("phone") or ""), key="w_edit_phone")
        apply = st.form_submit_button(
            _("Apply"), type="primary", disabled=not allowed, help=None if allowed else _("Editors only")
        )
    if apply:
        try:
            if action == "move":
                done = edit.move(plan, pieces, str(target), lang=lang)
            elif action == "merge":
                done = edit.merge(plan, code, str(target), lang=lang)
            elif action == "split":
                done = edit.split(plan, code, lang=lang)
            elif action == "lock":
                done = edit.lock(plan, [code], locked=not bool(row.get("locked", False)))
            else:
                done = edit.assign(plan, code, name=name, worker=worker, phone=phone)
        except edit.EditRefusedError as err:
            show_error(err)
    back, again = st.columns(2)
    undo = back.button(
        _("Undo"), key="w_edit_undo", disabled=not _stack(_DONE) or not allowed
    )
    redo = again.button(
        _("Redo"), key="w_edit_redo", disabled=not _stack(_UNDONE) or not allowed
    )
    new_plan = None
    kind, note = "edit", ""
    if done is not None:
        new_plan, change = done
        _stack(_DONE).append(change)
        _stack(_UNDONE).clear()
        kind = "assign" if action == "assign" else "edit"
        note = change.describe(lang)
        _remember_effect(change)
    elif undo and _stack(_DONE):
        change = _stack(_DONE).pop()
        try:
            new_plan = edit.undo(plan, change)
            _stack(_UNDONE).append(change)
            _remember_effect(change, undone=True)
            note = _("undone: {change}").format(change=change.describe(lang))
        except edit.EditRefusedError as err:
            show_error(err)
    elif redo and _stack(_UNDONE):
        change = _stack(_UNDONE).pop()
        try:
            new_plan = edit.redo(plan, change)
            _stack(_DONE).append(change)
            _remember_effect(change)
            note = _("redone: {change}").format(change=change.describe(lang))
        except edit.EditRefusedError as err:
            show_error(err)
    if new_plan is not None:
        st.session_state[_REVISION] = revision() + 1
    if new_plan is None:
        history = _stack(_DONE)
        if history:
            st.caption(history[-1].describe(lang))
        return None
    return Edited(_result_of(result, new_plan, lang), kind, note)

