"""Grids: 30–50 household grids for one community or all, their codes, sizes, patches and divided buildings."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from gis.errors import GridplanError
from gis.kinds import kind_label
from ui import auth, cache, grid_edit, maps, project, session
from ui.i18n import gettext as _
from ui.widgets import community_picker, show_error, show_table

try:
    from gis.export import colour_classes as _colour_classes
except ImportError:  # pragma: no cover - an older library: one colour for all grids

    def _colour_classes(geometries: object) -> list[int]:
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

result, scope = project.grids()
with st.form("grids_form"):
    chosen = community_picker(_("Communities to grid"), key="w_grid_scope", allow_all=True)
    go = st.form_submit_button(
        _("Generate grids"),
        type="primary",
        disabled=not auth.allowed("run"),
        help=auth.why_not("run"),
    )
if go:
    wanted = None if chosen is None else (chosen,)
    project.require("run", target="grids " + (chosen or "all"))
    try:
        with st.spinner(_("Dividing buildings into grids…")):
            result = cache.run_grids(token, wanted, rules, lang, _loaded=loaded)
    except GridplanError as err:
        show_error(err)
        result = None
    try:
        project.set_grids(result, wanted)
    except GridplanError as err:  # a teammate saved first, or the project is read-only
        show_error(err)
        result, scope = project.grids()
    else:
        scope = wanted
        grid_edit.reset_history()

if result is None:
    st.info(_("Choose the communities and press “Generate grids”."))
    st.stop()
if (proj := project.current()) is not None and proj.read_only:
    st.info(
        _(
            "{name} is read-only: these grids are kept in this tab only. To keep and edit "
            "them, create a project from it on the Projects page."
        ).format(name=proj.name)
    )

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

status_label = {"ok": _("ok"), "out_of_range": _("out of range"), "dedicated": _("dedicated grid")}
kinds = grids["kind"] if "kind" in grids else pd.Series("residential", index=grids.index)
shown = grids.assign(  # a dedicated grid says what it is (校园专属网格, 医院专属网格…)
    status_label=[
        kind_label(k, session.language()) if s == "dedicated" else status_label.get(s, s)
        for s, k in zip(grids["status"], kinds, strict=True)
    ],
    colour_class=_colour_classes(grids.geometry.values),
)
revision = grid_edit.revision()  # hand edits change the grids under the same token
grids_display = cache.display_copy(
    f"{token}:grids:{scope}:{session.language()}:{revision}",
    shown,
    columns=("grid_code", "households", "patch_id", "status", "status_label", "colour_class"),
    coverage=True,
    gcj02=basemap.gcj02,
)
patches_display = cache.display_copy(
    f"{token}:patches:{scope}",
    result.patches,
    columns=("patch_id", "households"),
    coverage=True,
    gcj02=basemap.gcj02,
)
m = maps.base_map(grids.to_crs(4326).total_bounds, basemap=basemap)
maps.add_polygons(
    m,
    grids_display,
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
maps.add_polygons(m, patches_display, colour="#1a237e", weight=2.5, fill_opacity=0.0, dash="6 3")
member_ids = set(result.grid_members["building_id"].astype(str))
grid_buildings = loaded.buildings[loaded.buildings["building_id"].astype(str).isin(member_ids)]
buildings_display = cache.display_copy(
    f"{token}:grid_buildings:{scope}",
    grid_buildings,
    columns=("building_id", "households"),
    tolerance_m=0.3,
    gcj02=basemap.gcj02,
)
maps.add_polygons(
    m,
    buildings_display,
    colour="#455a64",
    weight=0.5,
    fill_opacity=0.5,
    tooltip={"building_id": _("building"), "households": _("households")},
)
editable = auth.allowed("run")
if editable:
    maps.draw_control(m)  # a rectangle or polygon selects buildings to move
map_key = f"grids_map_{token}_{scope}_{revision}"
st.session_state["grid_map_key"] = map_key  # the map drawings count on (tests read it too)


def _copy_pick() -> None:
    st.session_state[grid_edit.PICK] = {"map": map_key, "value": st.session_state.get(map_key)}


with st.container(key="grids_map"):
    clicked = maps.show(
        m,
        key=map_key,
        height=520,
        returned_objects=["last_object_clicked", "all_drawings"],
        on_change=_copy_pick,
    )
grid_edit.select_clicked(grids, clicked, gcj02=basemap.gcj02)  # a click picks the grid to edit
selected = grid_edit.picked_buildings(
    grids, result.grid_members, loaded.buildings, map_key=map_key, gcj02=basemap.gcj02
)
st.caption(
    _(
        "Grids in soft colours (neighbours differ; red: outside the band; grey: dedicated grids without households); dashed blue outlines: workers' patches. Hover a grid for its code."
    )
)

# -- hand edits ----------------------------------------------------------------------------------
edited = grid_edit.selection_panel(
    result, selected, loaded=loaded, rules=rules, lang=lang, allowed=editable
) or grid_edit.edit_panel(result, loaded=loaded, rules=rules, lang=lang, allowed=editable)
if edited is not None:
    try:
        project.set_grids(edited.result, scope, action=edited.action, note=edited.note)
    except GridplanError as err:  # nothing saved: the edit is not kept either
        show_error(err)
    else:
        st.rerun()

# -- households per grid ------------------------------------------------------------------------
st.subheader(_("Households per grid"))
counts = grids["households"].astype(int).value_counts().sort_index()
hist = pd.DataFrame({"households": counts.index, "grids": counts.to_numpy()})
yes, no = _("yes"), _("no")
span = int(hist["households"].max() - hist["households"].min()) + 3 if len(hist) else 1
bar_width = max(2.0, min(16.0, 560 / span * 0.6))
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
        x=alt.X("households:Q", title=_("households per grid"), scale=alt.Scale(zero=False)),
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
