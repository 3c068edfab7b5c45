"""Communities: the map coloured by status, the sortable check table, one community's figures."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gis.datasets import ATTRIBUTION
from ui import cache, maps, project, session
from ui.i18n import gettext as _
from ui.widgets import community_picker, show_table, wkey

_MAX_BUILDINGS_SHOWN = 5_000
_PICK = "w_overview_community"
_LAST_ROW = "overview_last_row"

rules = project.rules()
basemap = session.basemap()
st.title(_("Communities"))
st.caption(_("Rule preset: **{name}** — {title}").format(name=rules.name, title=_(rules.title)))

if project.project_name() == "sample:beijing_district" or (
    project.project_name() is None and project.loaded_source().name == "beijing_district"
):
    st.warning(
        _(
            "Illustrative sample: the buildings are OpenStreetMap's, but the communities, their "
            "codes and staff, the service centres and the roster are made up to show the app "
            "at work. They are not official figures."
        ),
        icon=":material/info:",
    )
# A project just opened shows its communities from its community table; its buildings are
# read only when there are few enough to draw (a whole city's are not, so it opens at once)
table = project.communities()
n_buildings = (
    int(pd.to_numeric(table["n_buildings"], errors="coerce").fillna(0).sum())
    if project.is_pending() and "n_buildings" in table
    else None
)
loaded = (
    project.loaded() if n_buildings is None or n_buildings <= _MAX_BUILDINGS_SHOWN else None
)
if loaded is not None:
    table = loaded.communities
token = project.token()
estimated = (
    loaded.estimated_rows()
    if loaded is not None
    else int(pd.to_numeric(table.get("estimated_buildings"), errors="coerce").fillna(0).sum())
)
if estimated and loaded is not None:
    st.info(
        _(
            "{n} buildings' households are estimated from footprint × floors ({m} with assumed floors)."
        ).format(n=estimated, m=loaded.assumed_floor_rows())
    )
elif estimated:
    st.info(
        _("{n} buildings' households are estimated from footprint × floors.").format(n=estimated)
    )

status_label = {s: _(s) for s in maps.STATUS_COLOURS}
shown = table.assign(status_label=table["status"].map(lambda s: status_label.get(s, s)))
communities = cache.display_copy(
    f"{token}:communities:{session.language()}",
    shown,
    columns=("community_id", "name", "households", "status", "status_label"),
    coverage=True,
    gcj02=basemap.gcj02,
)
buildings = (
    loaded.buildings[loaded.buildings["households"] > 0] if loaded is not None else None
)
m = maps.base_map(table.to_crs(4326).total_bounds, basemap=basemap)
maps.add_polygons(
    m,
    communities,
    colour=lambda p: maps.STATUS_COLOURS.get(p["status"], "#555555"),
    weight=3,
    tooltip={"name": _("name"), "households": _("households"), "status_label": _("status")},
)
if buildings is not None and len(buildings) <= _MAX_BUILDINGS_SHOWN:
    light = cache.display_copy(
        f"{token}:buildings", buildings, columns=("building_id", "households"), gcj02=basemap.gcj02
    )
    maps.add_polygons(
        m,
        light,
        colour="#1565c0",
        weight=1,
        fill_opacity=0.4,
        tooltip={"building_id": _("building"), "households": _("households")},
    )
else:
    st.caption(
        _("{n} buildings: too many to draw on this map, so only the communities are shown.").format(
            n=len(buildings) if buildings is not None else n_buildings
        )
    )
maps.show(m, key="overview_map", height=480)

st.subheader(_("Threshold check"))
st.caption(
    _("Click a row (or choose below) to see one community's figures; click a header to sort.")
)
view = table.drop(columns="geometry").copy()
view["status"] = view["status"].map(lambda s: status_label.get(s, s))
view["reasons"] = view["reasons"].map(lambda rs: " ".join(rs))
event = show_table(view, key="w_communities_table", on_select="rerun", selection_mode="single-row")
ids = table["community_id"].astype(str).tolist()
rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
if rows and rows[0] < len(ids) and st.session_state.get(_LAST_ROW) != rows[0]:
    st.session_state[_LAST_ROW] = rows[0]
    st.session_state[wkey(_PICK)] = ids[rows[0]]

chosen = community_picker(_("Community"), key=_PICK)
if chosen is not None:
    row = table[table["community_id"].astype(str) == chosen].iloc[0]
    staff = row.get("staff")
    shortfall = row.get("shortfall")
    cols = st.columns(5)
    cols[0].metric(_("households"), f"{int(row['households']):,}")
    cols[1].metric(_("residents"), f"{int(row['residents']):,}")
    cols[2].metric(_("staff"), "—" if pd.isna(staff) else f"{int(staff):,}")
    cols[3].metric(_("required_staff"), f"{int(row['required_staff']):,}")
    cols[4].metric(_("shortfall"), "—" if pd.isna(shortfall) else f"{int(shortfall):,}")
    st.markdown(
        f"**{status_label.get(row['status'], row['status'])}** — " + " ".join(row["reasons"])
    )
    if pd.isna(staff):
        st.caption(_("The community layer gives no staff numbers, so the shortfall is unknown."))

with st.expander(_("Rules and their sources")):
    show_table(pd.DataFrame(rules.sources(lang=session.language())))
origin = project.loaded_source()
if origin.is_sample and origin.name in ATTRIBUTION:
    st.caption(ATTRIBUTION[origin.name])
