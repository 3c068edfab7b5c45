"""Grids: 30–50 household grids for one community or all, their codes, sizes, patches and divided buildings.

Everything under the "Generate grids" form is one fragment (``st.fragment``): a hand edit,
a selection drawn on the map or a click in the editing tools reruns that part alone, the
edit itself being made in its button's callback (``ui.grid_edit``). The map is mounted
once (its base map stays the same) and the grids, patches and buildings reach it as layer
groups, so an edit replaces them without reloading the map, which keeps its place and zoom.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from gis.errors import GridplanError
from gis.kinds import kind_label
from ui import auth, cache, grid_edit, maps, project, session, timing
from ui.i18n import gettext as _
from ui.widgets import Confirm, ask, asked, community_picker, confirm_dialog, show_error, show_table

try:
    from gis.export import colour_classes as _colour_classes
except ImportError:  # pragma: no cover - an older library: one colour for all grids

    def _colour_classes(geometries: object, **_: object) -> list[int]:
        return [0] * len(geometries)  # type: ignore[arg-type]


loaded = project.loaded()
rules = project.rules()
lang = session.language()
basemap = session.basemap()
token = project.token()
st.title(_("Grids"))
st.caption(
    _("Basic grids of {low}–{high} households ({source}).").format(
        low=rules.grid_min_households,
        high=rules.grid_max_households,
        source=rules.cite("grid_max_households", lang=lang),
    )
)

grid_edit.flush()  # an edit shown but not saved yet (the planner came back at once): saved first
result, scope = project.grids()
timing.mark("grids: page top")
with st.form("grids_form"):
    chosen = community_picker(_("Communities to grid"), key="w_grid_scope", allow_all=True)
    go = st.form_submit_button(
        _("Generate grids"),
        type="primary",
        disabled=not auth.allowed("run"),
        help=auth.why_not("run"),
    )


def _generate(chosen: str | None) -> None:
    """Grid the chosen community (``None``: all) and keep the grids (a new version of an
    open project). A failure raises :class:`GridplanError` and keeps the grids shown."""
    wanted = None if chosen is None else (chosen,)
    project.require("run", target="grids " + (chosen or "all"))
    with st.spinner(_("Dividing buildings into grids…")):
        made = cache.run_grids(token, wanted, rules, lang, _loaded=loaded)
    project.set_grids(made, wanted)  # refused when a teammate saved first or read-only
    grid_edit.reset_history()


if go:
    if result is not None and project.current() is None:
        ask("regrid", chosen or "")  # the grids in this tab would be lost: ask first
    else:
        try:
            _generate(chosen)
        except GridplanError as err:
            show_error(err)
        result, scope = project.grids()
if (regrid := asked("regrid")) is not None:
    confirm_dialog(
        "regrid",
        Confirm(
            title=_("Replace the grids?"),
            text=_(
                "No project is open: the grids now shown (with any hand edits) live only in "
                "this browser tab, and new grids replace them for good. Export them first "
                "(Export page) if you may want them again; a project (Projects page) keeps "
                "every version, and there new grids are a new version."
            ),
            confirm=_("Generate new grids"),
        ),
        lambda _comment, chosen=str(regrid) or None: _generate(chosen),
    )

if result is None:
    st.info(_("Choose the communities and press “Generate grids”."))
    st.stop()
if (proj := project.current()) is not None and proj.read_only:
    st.info(
        _(
            "{name} is read-only: these grids are kept in this tab only. To keep and edit "
            "them, create a project from it on the Projects page."
        ).format(name=project.display_name(proj.name))
    )


def _colours(grids: object, digest: str) -> list[int]:
    """Colour classes of the grids; after an edit the grids it did not touch keep theirs."""
    kept = st.session_state.get("grids_colours")
    if kept is not None and kept[0] == digest:
        return kept[1]
    before = kept[2] if kept is not None else {}
    codes = [str(c) for c in grids["grid_code"]]  # type: ignore[index]
    keep = [before.get(c, -1) for c in codes]
    classes = [int(c) for c in _colour_classes(grids.geometry.values, keep=keep)]  # type: ignore[attr-defined]
    st.session_state["grids_colours"] = (digest, classes, dict(zip(codes, classes, strict=True)))
    return classes


def _bounds(grids: object, key: str) -> tuple[float, ...]:
    """The grids' extent, kept per map: edits never change it, and the map stays mounted."""
    kept = st.session_state.get("grids_map_bounds")
    if kept is not None and kept[0] == key:
        return kept[1]
    bounds = tuple(round(float(b), 6) for b in grids.to_crs(4326).total_bounds)  # type: ignore[attr-defined]
    st.session_state["grids_map_bounds"] = (key, bounds)
    return bounds


def _keeper(scope: tuple[str, ...] | None) -> grid_edit.Keeper:
    """Hand-edited grids: shown at once, then saved to the project with the edit's note."""

    def show(edited: grid_edit.Edited | None) -> None:
        project.show_grids(None if edited is None else edited.result, scope)

    def save(edited: grid_edit.Edited) -> None:
        project.set_grids(edited.result, scope, action=edited.action, note=edited.note)

    return grid_edit.Keeper(show=show, save=save)


@st.fragment
def _workbench() -> None:
    with timing.run("grids: fragment"):
        _show_grids()


def _show_grids() -> None:
    if grid_edit.stale():  # a teammate saved first: the whole page afresh, with their grids
        st.rerun(scope="app")
    result, scope = project.grids()
    timing.mark("grids: read the plan")
    if result is None:
        return
    grids = result.grids
    summary = result.summary(low=rules.grid_min_households, high=rules.grid_max_households)
    cols = st.columns(6)
    cols[0].metric(_("grids"), f"{summary['grids']:,}")  # household grids, as on Compare
    cols[1].metric(
        _("dedicated grids"),
        f"{summary.get('dedicated_grids', 0):,}",
        help=_("专属网格: land without households (a campus, a hospital, a park), counted apart."),
    )
    cols[2].metric(_("in the band"), f"{summary['in_range_share']:.1%}")
    cols[3].metric(_("smallest grid"), f"{summary['min_households']}")
    cols[4].metric(_("largest grid"), f"{summary['max_households']}")
    cols[5].metric(_("patches (one per worker)"), f"{len(result.patches):,}")
    timing.mark("grids: summary")

    # -- the map: a base map mounted once, the layers sent as groups -------------------------
    # (its place is kept here, but it is drawn after the editing tools: the figures of an
    # edit reach the planner before the map's layers are rebuilt and sent)
    map_key = f"grids_map_{token}_{scope}"
    picks = grid_edit.pick_key(map_key)
    st.session_state["grid_map_key"] = picks  # the map drawings count on (tests read it too)
    map_slot = st.container(key="grids_map")
    st.caption(
        _(
            "Grids in soft colours (neighbours differ; red: outside the band; grey: dedicated grids without households); dashed blue outlines: workers' patches; purple buildings are shared between grids by unit or floor. Hover a grid for its code, a building for its grids."
        )
    )
    clicked = st.session_state.get(map_key)  # the map's last value (kept by its on_change)
    grid_edit.select_clicked(grids, clicked, gcj02=basemap.gcj02)  # a click picks the grid to edit
    selected = grid_edit.picked_buildings(
        grids, result.grid_members, loaded.buildings, map_key=picks, gcj02=basemap.gcj02
    )
    timing.mark("grids: selection")

    # -- hand edits: made in the buttons' callbacks, shown by this run ---------------------------
    editable = auth.allowed("run")
    grid_edit.show_problem()
    save = _keeper(scope)
    grid_edit.selection_panel(
        result, selected, loaded=loaded, rules=rules, lang=lang, allowed=editable, save=save
    )
    grid_edit.edit_panel(result, loaded=loaded, rules=rules, lang=lang, allowed=editable, save=save)
    saved = st.empty()  # "saved, version N", once the save below is done
    timing.mark("grids: edit panels")

    with map_slot:
        _grids_map(result, scope, map_key=map_key, picks=picks, editable=editable)
    if not grid_edit.flush():  # the edit's save, once its figures and map are drawn: refused
        st.rerun(scope="app")
    if grid_edit.revision() and project.project_name() is not None:
        saved.caption(project.saved_label())  # (the sidebar's says so at the next full run)
    _figures(result)


@st.cache_data(show_spinner=False, max_entries=64)
def _layer_text(key: str, kind: str, _frame: object) -> str:
    """A map layer's GeoJSON with its styles and tooltips (``key``: content and language)."""
    if kind == "grids":
        return maps.shapes_json(
            _frame,  # type: ignore[arg-type]
            colour=lambda p: (
                maps.GRID_COLOURS[int(p["colour_class"]) % len(maps.GRID_COLOURS)]
                if p["status"] == "ok"
                else maps.STATUS_COLOURS.get(p["status"], maps.STATUS_COLOURS["out_of_range"])
            ),
            weight=1,
            fill_opacity=0.45,
            tooltip={
                "grid_code": _("grid code"),
                "households": _("households"),
                "patch_id": _("patch"),
                "status_label": _("status"),
            },
        )
    if kind == "patches":
        return maps.shapes_json(
            _frame, colour="#1a237e", weight=2.5, fill_opacity=0.0, dash="6 3"  # type: ignore[arg-type]
        )
    return maps.shapes_json(
        _frame,  # type: ignore[arg-type]
        colour=lambda p: _SHARED if isinstance(p.get("shared"), str) and p["shared"] else "#455a64",
        weight=0.5,
        fill_opacity=0.5,
        tooltip={
            "building_id": _("building"),
            "households": _("households"),
            "shared": _("shared building"),
        },
    )


_SHARED = "#6a51a3"  # a building divided between grids (as in the atlas)


def _shared_text(members: pd.DataFrame) -> dict[str, str]:
    """Per divided building, the grids sharing it and what each holds ("021: 1-2单元")."""
    from planning.grids import shared_buildings

    out: dict[str, list[str]] = {}
    for row in shared_buildings(members).itertuples():
        bits = []
        if row.units:
            bits.append(_("units {units}").format(units=row.units))
        if row.floors:
            bits.append(_("floors {floors}").format(floors=row.floors))
        out.setdefault(str(row.building_id), []).append(f"{str(row.grid_code)[-3:]}: {' '.join(bits)}")
    return {b: "; ".join(parts) for b, parts in out.items()}


def _grids_map(
    result: object, scope: tuple[str, ...] | None, *, map_key: str, picks: str, editable: bool
) -> None:
    """The grids, patches and buildings over a base map that stays mounted through edits."""
    grids = result.grids  # type: ignore[attr-defined]
    patches = result.patches  # type: ignore[attr-defined]
    digest = cache.frame_digest(
        grids, columns=("grid_code", "households", "patch_id", "status", "kind")
    )
    patches_digest = cache.frame_digest(patches, columns=("patch_id", "households"))
    status_label = {"ok": _("ok"), "out_of_range": _("out of range"), "dedicated": _("dedicated grid")}
    colours = _colours(grids, digest)
    grids_key = f"{token}:grids:{digest}:{hash(tuple(colours))}:{lang}:{basemap.gcj02}"
    patches_key = f"{token}:patches:{patches_digest}:{basemap.gcj02}"
    shared = _shared_text(result.grid_members)  # type: ignore[attr-defined]
    shared_digest = hash(tuple(sorted(shared.items())))
    buildings_key = f"{token}:grid_buildings:{scope}:{lang}:{basemap.gcj02}:{shared_digest}"
    kinds = grids["kind"] if "kind" in grids else pd.Series("residential", index=grids.index)
    shown = grids.assign(  # a dedicated grid says what it is (校园专属网格, 医院专属网格…)
        status_label=[
            kind_label(k, lang) if s == "dedicated" else status_label.get(s, s)
            for s, k in zip(grids["status"], kinds, strict=True)
        ],
        colour_class=colours,
    )
    grids_text = _layer_text(
        grids_key,
        "grids",
        cache.display_copy(
            grids_key,
            shown,
            columns=("grid_code", "households", "patch_id", "status", "status_label", "colour_class"),
            coverage=True,
            gcj02=basemap.gcj02,
        ),
    )
    patches_text = _layer_text(
        patches_key,
        "patches",
        cache.display_copy(
            patches_key,
            patches,
            columns=("patch_id", "households"),
            coverage=True,
            gcj02=basemap.gcj02,
        ),
    )
    member_ids = set(result.grid_members["building_id"].astype(str))  # type: ignore[attr-defined]
    buildings = loaded.buildings[loaded.buildings["building_id"].astype(str).isin(member_ids)]
    buildings = buildings.assign(shared=buildings["building_id"].astype(str).map(shared))
    buildings_text = _layer_text(
        buildings_key,
        "buildings",
        cache.display_copy(
            buildings_key,
            buildings,
            columns=("building_id", "households", "shared"),
            tolerance_m=0.3,
            gcj02=basemap.gcj02,
        ),
    )
    timing.mark("grids: map layers")
    m = maps.base_map(_bounds(grids, map_key), basemap=basemap)
    if editable:
        maps.draw_control(m)  # a rectangle or polygon selects buildings to move
    layers = [maps.layer_group(name) for name in (_("grids"), _("patches"), _("buildings"))]
    for group, text in zip(layers, (grids_text, patches_text, buildings_text), strict=True):
        maps.add_shapes(group, text)
    maps.clear_drawings(layers[0], stamp=picks)  # a selection drawn before the last edit goes

    def _copy_pick() -> None:
        st.session_state[grid_edit.PICK] = {"map": picks, "value": st.session_state.get(map_key)}

    maps.show(
        m,
        key=map_key,
        height=520,
        # (the count makes the same rectangle drawn again after an edit news to the app)
        returned_objects=["last_object_clicked", "last_object_clicked_count", "all_drawings"],
        feature_group=layers,
        on_change=_copy_pick,
    )
    timing.mark("grids: map to the browser")


def _figures(result: object) -> None:
    grids = result.grids  # type: ignore[attr-defined]
    # -- households per grid ------------------------------------------------------------------------
    st.subheader(_("Households per grid"))
    # household grids only: a 专属网格 has no households and no band to be in or out of
    home = grids[grids["kind"] == "residential"] if "kind" in grids else grids
    counts = home["households"].astype(int).value_counts().sort_index()
    hist = pd.DataFrame({"households": counts.index, "grids": counts.to_numpy()})
    yes, no = _("yes"), _("no")
    low_x = min(rules.grid_min_households, int(hist["households"].min()) if len(hist) else 0) - 2
    high_x = max(rules.grid_max_households, int(hist["households"].max()) if len(hist) else 0) + 2
    low_x = max(low_x, 0)
    bar_width = max(2.0, min(16.0, 560 / (high_x - low_x) * 0.6))
    hist["in_band"] = hist["households"].between(rules.grid_min_households, rules.grid_max_households)
    band = (
        alt.Chart(
            pd.DataFrame(
                {"low": [rules.grid_min_households - 0.5], "high": [rules.grid_max_households + 0.5]}
            )
        )
        .mark_rect(opacity=0.12, color="#2e7d32")
        .encode(x="low:Q", x2="high:Q")
    )
    bars = (
        alt.Chart(hist)
        .mark_bar(size=bar_width)
        .encode(
            x=alt.X(
                "households:Q",
                title=_("households per grid"),
                scale=alt.Scale(domain=[low_x, high_x], nice=False, zero=False),
            ),
            y=alt.Y("grids:Q", title=_("grids")),
            color=alt.Color(
                "in_band:N",
                scale=alt.Scale(domain=[True, False], range=["#2e7d32", "#c62828"]),
                legend=alt.Legend(
                    title=_("in the band"), labelExpr="datum.value ? '" + yes + "' : '" + no + "'"
                ),
            ),
            tooltip=[
                alt.Tooltip("households:Q", title=_("households")),
                alt.Tooltip("grids:Q", title=_("grids")),
            ],
        )
    )
    st.altair_chart(band + bars, width="stretch")
    timing.mark("grids: histogram")
    outside = grids[~grids["status"].isin(["ok", "dedicated"])]
    if len(outside):
        st.markdown("**" + _("Grids outside the band, and why") + "**")
        show_table(outside[["grid_code", "households", "reason"]], key="w_grids_outside")

    # -- patches --------------------------------------------------------------------------------------
    st.subheader(_("Patches per worker"))
    st.caption(
        _(
            "Whole grids grouped into one patch per required worker (about {n} households; {source})."
        ).format(n=rules.patch_households, source=rules.cite("patch_households", lang=lang))
    )
    show_table(result.patches[["patch_id", "community_id", "households", "n_grids"]], key="w_patches")

    # -- buildings divided by unit and floor -----------------------------------------------------------
    st.subheader(_("Buildings divided by unit and floor"))
    divided = result.divided_buildings
    if divided.empty:
        st.write(_("No building is larger than one grid."))
    else:
        how = {
            "units_given": _("units from the data"),
            "units_estimated": _("units estimated from households and floors"),
        }
        members = result.grid_members[result.grid_members["building_id"].isin(divided["building_id"])]
        view = members.merge(
            divided.assign(how=divided["how"].map(lambda h: how.get(h, h))),
            on="building_id",
            how="left",
        )
        st.caption(
            _(
                "{n} buildings hold more households than one grid; each is divided into whole units and floor ranges."
            ).format(n=len(divided))
        )
        show_table(
            view[
                [
                    "building_id",
                    "grid_code",
                    "unit_from",
                    "unit_to",
                    "floor_from",
                    "floor_to",
                    "households",
                    "how",
                ]
            ].sort_values(["building_id", "unit_from", "floor_from"]),
            key="w_divided",
        )
    with st.expander(_("Every grid")):
        show_table(
            grids[
                [
                    "grid_code",
                    "community_id",
                    "households",
                    "residents",
                    "special_service_households",
                    "workload",
                    "patch_id",
                    "status",
                ]
            ],
            key="w_all_grids",
        )
    timing.mark("grids: tables")


_workbench()
