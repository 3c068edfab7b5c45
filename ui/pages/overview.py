"""Communities at a glance: the map coloured by status, the check table, the rules in use."""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from ui import state
from ui.i18n import gettext as _

STATUS_COLOURS = {"ok": "#2e7d32", "small": "#f9a825", "may_split": "#ef6c00", "must_split": "#c62828"}

loaded = state.loaded()
rules = state.rules()
st.title(_("Communities"))
st.caption(f"{_('Rule preset')}: **{rules.name}** — {rules.title}")

table = loaded.communities
estimated = loaded.estimated_rows()
if estimated:
    st.info(
        _("{n} buildings' households are estimated from footprint × floors ({m} with assumed floors).").format(
            n=estimated, m=loaded.assumed_floor_rows()
        )
    )

centre = table.geometry.union_all().centroid
m = folium.Map(location=[centre.y, centre.x], zoom_start=15, prefer_canvas=True, control_scale=True)
for _i, row in table.iterrows():
    colour = STATUS_COLOURS.get(row["status"], "#555")
    folium.GeoJson(
        row.geometry.__geo_interface__,
        style_function=lambda _f, c=colour: {"color": c, "fillColor": c, "fillOpacity": 0.15, "weight": 3},
        tooltip=f"{row['name']}: {row['households']} {_('households')} ({_(row['status'])})",
    ).add_to(m)
buildings = loaded.buildings[loaded.buildings["households"] > 0]
folium.GeoJson(
    buildings[["building_id", "households", "geometry"]].to_json(),
    style_function=lambda _f: {"color": "#1565c0", "weight": 1, "fillOpacity": 0.4},
    tooltip=folium.GeoJsonTooltip(["building_id", "households"]),
).add_to(m)
st_folium(m, height=520, use_container_width=True, returned_objects=[], key="overview_map")

view = table.drop(columns="geometry").copy()
view["status"] = view["status"].map(_)
view["reasons"] = view["reasons"].map(lambda rs: " ".join(rs))
st.dataframe(view, hide_index=True, width="stretch")

with st.expander(_("Rules and their sources")):
    st.dataframe(rules.sources(), hide_index=True, width="stretch")
st.caption("© OpenStreetMap contributors (ODbL 1.0)")
