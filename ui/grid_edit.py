"""The Grids page's hand editing: move buildings, merge, split, lock, name and staff grids.

Each edit is one call of :mod:`planning.edit` on the grids shown, made in the button's
``on_click`` callback: the edit is applied and saved before the run that shows it, so one
run (of the page's fragment only, see ``ui/pages/grids.py``) shows the new grids, their
households, band status and map. The change goes on an undo stack kept in the session
(``grid_edits``: done changes; ``grid_redo``: undone ones). A refused edit or save leaves
its message for that run (:func:`show_problem`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import shapely
import streamlit as st

from gis.errors import GridplanError
from gis.kinds import kind_label
from planning import edit
from ui import session, timing
from ui.i18n import gettext as _
from ui.widgets import show_error, show_table

__all__ = [
    "PICK",
    "Edited",
    "Keeper",
    "edit_panel",
    "flush",
    "pick_key",
    "picked_buildings",
    "plan_of",
    "reset_history",
    "revision",
    "select_clicked",
    "selection_panel",
    "show_problem",
    "stale",
]

_DONE = "grid_edits"  # session key: the changes that can be undone, last last
_UNDONE = "grid_redo"  # session key: the changes that can be redone
_REVISION = "grid_revision"  # session key: how many edits, undos and redos were made
_CLICKED = "grid_clicked"  # session key: the last map click acted on (lat, lng)
_EFFECT = "grid_effect"  # session key: the last edit's grids, households before and after
_PROBLEM = "grid_problem"  # session key: the GridplanError of the last refused edit or save
_STALE = "grid_stale"  # session key: a teammate saved first, the page must be read afresh
_PENDING = "grid_pending"  # session key: (keeper, edited, how, change) shown, not saved yet
_POINTS = "grid_points"  # session key: (buildings, crs, their representative points by id)
_PLAN = "grid_plan"  # session key: (the grids shown, their GridPlan) built once per plan
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


@dataclasses.dataclass(frozen=True)
class Keeper:
    """Where the grids after an edit go: ``show`` (shown from now on, at once) and
    ``save`` (saved to the project, raising ``GridplanError`` when it cannot be)."""

    show: Callable[[Edited | None], None]
    save: Callable[[Edited], None]



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
    ``map_key`` since the last edit (:func:`pick_key`: a rectangle drawn before an edit
    no longer counts, and the map clears it).
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
    points = _building_points(buildings, plan_grids.crs)
    points = points[points.index.isin(set(members["building_id"].astype(str)))]
    inside = shapely.intersects(area, points.to_numpy())
    return sorted(points.index[inside].tolist())


def _building_points(buildings: Any, crs: Any) -> Any:
    """Each building's representative point in ``crs``, by id (worked out once per data)."""
    import pandas as pd

    from gis.crs import reproject

    kept = st.session_state.get(_POINTS)
    if kept is not None and kept[0] is buildings and kept[1] == crs:
        return kept[2]
    frame = buildings
    if frame.crs is not None and frame.crs != crs:
        frame = reproject(frame, crs)
    points = pd.Series(
        frame.geometry.representative_point().to_numpy(),
        index=frame["building_id"].astype(str).to_numpy(),
    )
    st.session_state[_POINTS] = (buildings, crs, points)
    return points


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
    save: Keeper,
) -> None:
    """The buildings selected on the map: their grids, where they can go, and the move.

    The figures before the move (households of each grid now and after, in the band or not)
    are worked out from the selection alone, so they follow the choice of grid at once;
    the move itself is :func:`planning.edit.move`, made and saved (``save``) in the
    button's callback (refused with its message when it cannot hold).
    """
    if not selected:
        st.caption(
            _(
                "To move several buildings at once, draw a rectangle or polygon around them on "
                "the map (the tools at its top left)."
            )
        )
        return
    plan = plan_of(result, loaded, rules)
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
        st.button(
            _("Move the selected buildings"),
            type="primary",
            key="w_sel_move",
            disabled=not allowed or to is None,
            help=None if allowed else _("Editors only"),
            on_click=_move_selected,
            args=(result, tuple(selected)),
            kwargs={"loaded": loaded, "rules": rules, "lang": lang, "save": save},
        )


def _move_selected(
    result: Any, selected: tuple[str, ...], *, loaded: Any, rules: Any, lang: str, save: Keeper
) -> None:
    """The selection's move (the button's callback, before the run that shows it)."""
    if not flush():
        return
    to = st.session_state.get("w_sel_target")
    with timing.phase("callback: move"):
        try:
            done = edit.move(plan_of(result, loaded, rules), list(selected), str(to), lang=lang)
        except edit.EditRefusedError as err:
            st.session_state[_PROBLEM] = err
            return
    new_plan, change = done
    _keep(result, new_plan, change, how="do", note=change.describe(lang), lang=lang, save=save)


def _keep(
    result: Any,
    new_plan: edit.GridPlan,
    change: Any,
    *,
    how: str,
    note: str,
    lang: str,
    save: Keeper,
    action: str = "edit",
) -> None:
    """Show the grids after an edit, an undo or a redo at once; note it in the history.

    ``how`` is ``do`` (a new edit: the redo stack is emptied), ``undo`` or ``redo``. The
    save to the project follows in the same run, once the figures are drawn
    (:func:`flush`); when it is refused the edit is taken back and its message shown.
    """
    with timing.phase("callback: patches"):
        edited = Edited(_result_of(result, new_plan, change, lang), action, note)
    save.show(edited)
    if how == "undo":
        _stack(_UNDONE).append(_stack(_DONE).pop())
    elif how == "redo":
        _stack(_DONE).append(_stack(_UNDONE).pop())
    else:
        _stack(_DONE).append(change)
        _stack(_UNDONE).clear()
    _remember_effect(change, undone=how == "undo")
    st.session_state[_REVISION] = revision() + 1
    st.session_state[_PENDING] = (save, edited, how, change)


def flush() -> bool:
    """Save the grids of the last edit if they are not saved yet; ``False`` if refused.

    Called once the edit's figures are drawn, and before any other edit (whose save starts
    from this one's version). A refused save takes the edit back (the undo and redo stacks
    as they were, the project's grids shown again) and leaves its message
    (:func:`show_problem`); the page must then be drawn afresh.
    """
    pending = st.session_state.get(_PENDING)
    if pending is None:
        return True
    keeper, edited, how, change = pending
    try:
        with timing.phase("save"):
            keeper.save(edited)
    except GridplanError as err:
        st.session_state.pop(_PENDING, None)
        if how == "undo":
            _stack(_DONE).append(_stack(_UNDONE).pop())
        elif how == "redo":
            _stack(_UNDONE).append(_stack(_DONE).pop())
        elif _stack(_DONE) and _stack(_DONE)[-1] is change:
            _stack(_DONE).pop()
        keeper.show(None)
        st.session_state[_EFFECT] = []
        st.session_state[_REVISION] = revision() + 1
        st.session_state[_PROBLEM] = err
        st.session_state[_STALE] = True
        return False
    st.session_state.pop(_PENDING, None)
    return True


def show_problem() -> None:
    """Show the message of the last refused edit or save, once."""
    problem = st.session_state.pop(_PROBLEM, None)
    if problem is not None:
        show_error(problem)


def stale() -> bool:
    """Whether a save was refused (a teammate saved first, say), asked once.

    The page must then be shown afresh from the project (``st.rerun(scope="app")``), with
    its grids; the refusal's message is shown there (:func:`show_problem`).
    """
    return bool(st.session_state.pop(_STALE, False))


def reset_history() -> None:
    """Forget the undo and redo stacks (new grids were generated)."""
    st.session_state[_DONE] = []
    st.session_state[_UNDONE] = []
    st.session_state[_EFFECT] = []
    st.session_state[_REVISION] = revision() + 1


def revision() -> int:
    """A number that changes with every edit, undo and redo (and new grids) in this session."""
    return int(st.session_state.get(_REVISION, 0))


def pick_key(map_key: str) -> str:
    """The name drawings on the grids map are kept under until the next edit."""
    return f"{map_key}@{revision()}"


def _stack(key: str) -> list[Any]:
    return st.session_state.setdefault(key, [])


def plan_of(result: Any, loaded: Any, rules: Any) -> edit.GridPlan:
    """The :class:`planning.edit.GridPlan` of the grids shown, built once for them.

    The plan keeps its lookups (rows by code, members by grid) once built, so the
    panels and the edits of one version share them.
    """
    kept = st.session_state.get(_PLAN)
    if kept is not None and kept[0] is result and kept[2] is loaded and kept[3] == rules:
        return kept[1]
    plan = edit.GridPlan(
        grids=result.grids,
        grid_members=result.grid_members,
        buildings=loaded.buildings,
        communities=loaded.communities,
        rules=rules,
    )
    st.session_state[_PLAN] = (result, plan, loaded, rules)
    return plan


def _result_of(result: Any, plan: edit.GridPlan, change: Any, lang: str) -> Any:
    # the patches follow the grids: those of the grids the change touched are made again
    plan, patches = edit.refresh_patches(plan, lang=lang, previous=result.patches, change=change)
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
    result: Any, *, loaded: Any, rules: Any, lang: str, allowed: bool, save: Keeper
) -> None:
    """Show the editing tools under the map; an edit, undo or redo is made and saved
    (``save``) in its button's callback, before the run that shows it.

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
    save
        Keeps the grids after the edit (raises ``GridplanError`` when it cannot).
    """
    st.subheader(_("Edit the grids"))
    _show_effect(rules)
    plan = plan_of(result, loaded, rules)
    codes = plan.grids["grid_code"].astype(str).tolist()
    if not codes:
        return
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
    show_table(_members_view(members), key="w_edit_members")
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
    kwargs = {"loaded": loaded, "rules": rules, "lang": lang, "save": save}
    with st.form("w_edit_form"):
        if action == "move":
            options = [str(b) for b in dict.fromkeys(members["building_id"].astype(str))]
            st.multiselect(
                _("Buildings (or a tower's unit, e.g. B12:2)"), options, key="w_edit_pieces"
            )
            st.text_input(_("Pieces of towers, comma separated (B12:2:5-10)"), key="w_edit_extra")
            st.selectbox(_("To grid"), near, key="w_edit_target")
        elif action == "merge":
            st.selectbox(_("With grid"), near, key="w_edit_merge")
        elif action == "assign":
            st.text_input(_("Name"), value=str(row.get("name") or ""), key="w_edit_name")
            st.text_input(_("Worker"), value=str(row.get("worker") or ""), key="w_edit_worker")
            st.text_input(_("Phone"), value=str(row.get("phone") or ""), key="w_edit_phone")
        st.form_submit_button(
            _("Apply"),
            type="primary",
            disabled=not allowed,
            help=None if allowed else _("Editors only"),
            on_click=_apply,
            args=(result, code, action),
            kwargs=kwargs,
        )
    back, again = st.columns(2)
    back.button(
        _("Undo"),
        key="w_edit_undo",
        disabled=not _stack(_DONE) or not allowed,
        on_click=_undo_redo,
        args=(result, "undo"),
        kwargs=kwargs,
    )
    again.button(
        _("Redo"),
        key="w_edit_redo",
        disabled=not _stack(_UNDONE) or not allowed,
        on_click=_undo_redo,
        args=(result, "redo"),
        kwargs=kwargs,
    )
    history = _stack(_DONE)
    if history:
        st.caption(history[-1].describe(lang))


def _members_view(members: Any) -> Any:
    """A grid's member rows as shown: a unit or floor left blank (a walk-up's) reads "—".

    ``st.dataframe`` draws a missing cell as "None" whatever the table's styler says, so
    these columns are shown as text (whole numbers, or the dash).
    """
    import pandas as pd

    from ui.tables import format_cell

    view = members[["building_id", "unit_from", "unit_to", "floor_from", "floor_to", "households"]]
    view = view.copy()
    for column in ("unit_from", "unit_to", "floor_from", "floor_to"):
        view[column] = pd.Series(
            [format_cell(v, plain=True) for v in view[column]], index=view.index, dtype=object
        )
    return view


def _apply(
    result: Any, code: str, action: str, *, loaded: Any, rules: Any, lang: str, save: Keeper
) -> None:
    """The edit panel's form, applied (its submit button's callback)."""
    if not flush():
        return
    state = st.session_state
    plan = plan_of(result, loaded, rules)
    with timing.phase(f"callback: {action}"):
        try:
            if action == "move":
                pieces = list(state.get("w_edit_pieces") or [])
                extra = str(state.get("w_edit_extra") or "")
                pieces += [p.strip() for p in extra.split(",") if p.strip()]
                done = edit.move(plan, pieces, str(state.get("w_edit_target")), lang=lang)
            elif action == "merge":
                done = edit.merge(plan, code, str(state.get("w_edit_merge")), lang=lang)
            elif action == "split":
                done = edit.split(plan, code, lang=lang)
            elif action == "lock":
                locked = bool(plan.grid(code).get("locked", False))
                done = edit.lock(plan, [code], locked=not locked)
            else:
                done = edit.assign(
                    plan,
                    code,
                    name=state.get("w_edit_name"),
                    worker=state.get("w_edit_worker"),
                    phone=state.get("w_edit_phone"),
                )
        except edit.EditRefusedError as err:
            state[_PROBLEM] = err
            return
    new_plan, change = done
    _keep(
        result,
        new_plan,
        change,
        how="do",
        note=change.describe(lang),
        lang=lang,
        save=save,
        action="assign" if action == "assign" else "edit",
    )


def _undo_redo(result: Any, how: str, *, loaded: Any, rules: Any, lang: str, save: Keeper) -> None:
    """Undo the last change, or redo the last undone one (the buttons' callback)."""
    if not flush():
        return
    stack = _stack(_DONE if how == "undo" else _UNDONE)
    if not stack:
        return
    change = stack[-1]
    plan = plan_of(result, loaded, rules)
    with timing.phase(f"callback: {how}"):
        try:
            new_plan = edit.undo(plan, change) if how == "undo" else edit.redo(plan, change)
        except edit.EditRefusedError as err:
            st.session_state[_PROBLEM] = err
            return
    words = _("undone: {change}") if how == "undo" else _("redone: {change}")
    note = words.format(change=change.describe(lang))
    _keep(result, new_plan, change, how=how, note=note, lang=lang, save=save)
