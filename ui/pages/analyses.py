"""Analyses: walking access, the audit against another grid system, growth year by year.

The page over :mod:`planning.access`, :mod:`planning.overlap` and :mod:`planning.growth`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from gis.crs import to_metric
from gis.errors import GridplanError
from ui import auth, cache, maps, project, session
from ui.i18n import gettext as _
from ui.widgets import show_error, show_table

# (comments, not docstrings: Streamlit's magic would print a bare string on the page)
OTHER_KEY = "analyses_other"  # session key of the other grid system's layer, once read
DELIVERIES_KEY = "analyses_deliveries"  # session key of an uploaded deliveries layer, once read
_MAX_BUILDINGS_SHOWN = 5_000
_LAYER_TYPES = ["gpkg", "zip", "geojson", "json", "kml", "kmz", "fgb"]

loaded = project.loaded()
rules = project.rules()
lang = session.language()
basemap = session.basemap()
token = project.token()
st.title(_("Analyses"))
access_tab, overlap_tab, growth_tab = st.tabs(
    [_("Walking access"), _("Other grid system (多网合一)"), _("Growth ahead")]
)


def _walk_colour(walk: float | None) -> str:
    if walk is None or pd.isna(walk):
        return "#9e9e9e"
    if walk <= rules.walk_5min_m:
        return "#1a9850"
    if walk <= rules.walk_10min_m:
        return "#91cf60"
    if walk <= rules.walk_15min_m:
        return "#fc8d59"
    return "#d73027"


def _save_upload(upload, prefix: str) -> Path:
    folder = session.upload_dir() / (prefix + hashlib.sha1(upload.getbuffer()).hexdigest()[:12])
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r'[\\/:*?"<>|]+', "_", Path(upload.name).name) or "upload"
    target = folder / name
    target.write_bytes(upload.getbuffer())
    return target


# -- walking access ---------------------------------------------------------------------------
with access_tab:
    st.caption(
        _(
            "Walking distance along the roads, footpaths and service roads from every building "
            "to its community's service centre (党群服务中心); the shares are of households "
            "within the 5-, 10- and 15-minute life circles "
            "({a:.0f} / {b:.0f} / {c:.0f} m, {source})."
        ).format(
            a=rules.walk_5min_m,
            b=rules.walk_10min_m,
            c=rules.walk_15min_m,
            source=rules.cite("walk_15min_m", lang=lang).split(":")[0],
        )
    )
    try:
        with st.spinner(_("Measuring walks along the roads…")):
            access = cache.run_access(token, rules, _loaded=loaded)
    except GridplanError as err:
        show_error(err)
        access = None
    if access is not None:
        for note in access.messages(lang):
            st.info(note)
        table = access.communities
        show_table(table.assign(centre_source=table["centre_source"].map(_)), key="w_access_table")
        buildings = loaded.buildings.assign(walk_m=access.buildings["walk_m"].to_numpy())
        buildings = buildings[buildings["households"] > 0]
        m = maps.base_map(loaded.communities.to_crs(4326).total_bounds, basemap=basemap)
        communities = cache.display_copy(
            f"{token}:communities:plain",
            loaded.communities,
            columns=("community_id", "name"),
            coverage=True,
            gcj02=basemap.gcj02,
        )
        maps.add_polygons(m, communities, colour="#555555", weight=2, fill_opacity=0.0)
        if len(buildings) <= _MAX_BUILDINGS_SHOWN:
            light = cache.display_copy(
                f"{token}:{rules.name}:walks",
                buildings,
                columns=("building_id", "households", "walk_m"),
                gcj02=basemap.gcj02,
            )
            maps.add_polygons(
                m,
                light,
                colour=lambda p: _walk_colour(p.get("walk_m")),
                weight=1,
                fill_opacity=0.7,
                tooltip={
                    "building_id": _("building"),
                    "households": _("households"),
                    "walk_m": _("walk (m)"),
                },
            )
        centres = cache.display_copy(
            f"{token}:{rules.name}:centres",
            access.centres.assign(
                geometry=to_metric(access.centres).buffer(12).to_crs(access.centres.crs).values
            ),
            columns=("community_id", "centre", "source"),
            tolerance_m=0,
            gcj02=basemap.gcj02,
        )
        maps.add_polygons(
            m,
            centres,
            colour=lambda p: "#6a1b9a" if p.get("source") == "recommended" else "#0d47a1",
            weight=3,
            fill_opacity=0.9,
            tooltip={"centre": _("service centre"), "source": _("source")},
        )
        maps.show(m, key="access_map", height=520)
        st.caption(
            _(
                "Green: within {a:.0f} m; light green: {b:.0f} m; orange: {c:.0f} m; red: farther. "
                "Purple: a recommended site; blue: a centre of the data."
            ).format(a=rules.walk_5min_m, b=rules.walk_10min_m, c=rules.walk_15min_m)
        )

# -- the other grid system --------------------------------------------------------------------
with overlap_tab:
    result, scope = project.grids()
    upload = st.file_uploader(
        _("The other system's grid units (polygons: 城管单元网格, police or governance grids)"),
        type=_LAYER_TYPES,
        key="w_other_upload",
    )
    if upload is not None and st.button(_("Read the other grid layer")):
        from gis.io import read_layer

        try:
            frame, _mapping, _notes = read_layer(_save_upload(upload, "other-"), role="other_grids")
            st.session_state[OTHER_KEY] = frame
        except GridplanError as err:
            show_error(err)
    other = st.session_state.get(OTHER_KEY)
    if result is None or not len(result.grids):
        st.info(
            _("Generate grids on the Grids page first; then compare them with the other system.")
        )
    elif other is None:
        st.info(_("Upload the other system's units to see how our grids sit on them."))
    else:
        from planning.overlap import grid_overlap

        try:
            audit = grid_overlap(result.grids, other, rules=rules)
        except GridplanError as err:
            show_error(err)
            audit = None
        if audit is not None:
            s = audit.summary
            cols = st.columns(3)
            cols[0].metric(
                _("grids aligned (≥ {share:.0%} in one unit)").format(share=rules.aligned_share),
                f"{s['aligned_share']:.0%}",
            )
            cols[1].metric(_("grid boundary on theirs"), f"{s['boundary_coincidence']:.0%}")
            cols[2].metric(_("their units cut"), f"{int(s['units_cut'])} / {int(s['units'])}")
            shown = result.grids[["grid_code", "households", "geometry"]].copy()
            shown["aligned"] = audit.grids["aligned"].to_numpy()
            shown["max_share"] = audit.grids["max_share"].to_numpy()
            light = cache.display_copy(
                f"{token}:overlap:{len(shown)}:{int(shown['aligned'].sum())}",
                shown,
                columns=("grid_code", "households", "aligned", "max_share"),
                coverage=True,
                gcj02=basemap.gcj02,
            )
            theirs = cache.display_copy(
                f"{token}:other:{len(other)}", other, columns=(), gcj02=basemap.gcj02
            )
            m = maps.base_map(result.grids.to_crs(4326).total_bounds, basemap=basemap)
            maps.add_polygons(
                m,
                light,
                colour=lambda p: "#2e7d32" if p.get("aligned") else "#c62828",
                weight=1,
                fill_opacity=0.35,
                tooltip={"grid_code": _("grid"), "max_share": _("largest share in one unit")},
            )
            maps.add_polygons(m, theirs, colour="#1565c0", weight=2, fill_opacity=0.0, dash="6 4")
            maps.show(m, key="overlap_map", height=520)
            st.caption(
                _("Red: grids split between their units; green: aligned; blue dashes: theirs.")
            )
            view = audit.grids.assign(
                units=audit.grids["units"].map(
                    lambda us: ", ".join(f"{u['id']} {u['share']:.0%}" for u in us)
                )
            )
            show_table(view, key="w_overlap_table")
            if st.button(
                _("Snap: re-make the grids along their boundaries"),
                disabled=not auth.allowed("run"),
                help=auth.why_not("run"),
            ):
                from planning.overlap import snap_grids

                project.require("run", target="snap grids to the other system")
                with st.spinner(_("Dividing buildings into grids…")):
                    snapped = snap_grids(loaded, other, before=result.grids, rules=rules, lang=lang)
                st.session_state["analyses_snap"] = snapped
            snapped = st.session_state.get("analyses_snap")
            if snapped is not None:
                st.subheader(_("What snapping costs"))
                show_table(snapped.cost.reset_index(), key="w_snap_cost")
                if st.button(_("Use the snapped grids")):
                    try:  # with a project open: a new version, refused if a teammate saved first
                        project.set_grids(snapped.result, scope, note="snapped to the other system")
                    except GridplanError as err:
                        show_error(err)
                    else:
                        st.session_state.pop("analyses_snap", None)
                        st.rerun()

# -- growth -----------------------------------------------------------------------------------
with growth_tab:
    st.caption(
        _(
            "Planned or delivering housing (交付): type the projects below, or upload a layer of "
            "buildings or points with households and year (交付年份/预计交付)."
        )
    )
    ids = loaded.communities["community_id"].astype(str).tolist()
    typed = st.data_editor(
        pd.DataFrame(
            {
                "community_id": pd.Series(dtype="string"),
                "name": pd.Series(dtype="string"),
                "households": pd.Series(dtype="Int64"),
                "year": pd.Series(dtype="Int64"),
            }
        ),
        num_rows="dynamic",
        column_config={
            "community_id": st.column_config.SelectboxColumn(_("community"), options=ids),
            "name": st.column_config.TextColumn(_("project")),
            "households": st.column_config.NumberColumn(_("households"), min_value=0),
            "year": st.column_config.NumberColumn(_("year"), min_value=1990, max_value=2100),
        },
        key="w_deliveries_typed",
    )
    layer = st.file_uploader(
        _("A deliveries layer (or table)"),
        type=[*_LAYER_TYPES, "csv", "xlsx"],
        key="w_deliveries_upload",
    )
    if layer is not None and st.button(_("Read the deliveries")):
        from gis.io import TABLE_SUFFIXES, read_layer, read_table

        try:
            path = _save_upload(layer, "deliveries-")
            if path.suffix.lower() in TABLE_SUFFIXES:
                st.session_state[DELIVERIES_KEY] = read_table(path)
            else:
                st.session_state[DELIVERIES_KEY] = read_layer(path, role="deliveries")[0]
        except GridplanError as err:
            show_error(err)
    frames = []
    typed = typed.dropna(subset=["households", "year"])
    if len(typed):
        frames.append(pd.DataFrame(typed))
    if st.session_state.get(DELIVERIES_KEY) is not None:
        frames.append(st.session_state[DELIVERIES_KEY])
    if not frames:
        st.info(_("No deliveries yet."))
    else:
        from planning.growth import project_growth

        deliveries = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        if not isinstance(deliveries, gpd.GeoDataFrame) and "geometry" in deliveries:
            deliveries = deliveries.drop(columns="geometry")
        grid_result, _scope = project.grids()
        try:
            growth = project_growth(
                loaded.communities,
                deliveries,
                grids=None if grid_result is None else grid_result.grids,
                rules=rules,
                lang=lang,
            )
        except GridplanError as err:
            show_error(err)
            growth = None
        if growth is not None:
            for note in growth.messages(lang):
                st.info(note)
            years = growth.years
            year = (
                st.select_slider(_("Year"), options=years, value=years[-1], key="w_growth_year")
                if len(years) > 1
                else years[0]
            )
            this = growth.year(int(year))
            status_label = {s: _(s) for s in maps.STATUS_COLOURS}
            coloured = loaded.communities[["community_id", "geometry"]].merge(
                this[["community_id", "households", "status"]], on="community_id"
            )
            coloured["status_label"] = coloured["status"].map(lambda s: status_label.get(s, s))
            light = cache.display_copy(
                f"{token}:growth:{year}:{'/'.join(coloured['status'])}",
                gpd.GeoDataFrame(coloured, geometry="geometry", crs=loaded.communities.crs),
                columns=("community_id", "households", "status", "status_label"),
                coverage=True,
                gcj02=basemap.gcj02,
            )
            m = maps.base_map(loaded.communities.to_crs(4326).total_bounds, basemap=basemap)
            maps.add_polygons(
                m,
                light,
                colour=lambda p: maps.STATUS_COLOURS.get(p["status"], "#555555"),
                weight=3,
                tooltip={"households": _("households"), "status_label": _("status")},
            )
            maps.show(m, key="growth_map", height=420)
            view = this[["community_id", "households", "added", "status", "required_staff"]].copy()
            view["status"] = view["status"].map(lambda s: status_label.get(s, s))
            show_table(view, key="w_growth_year_table")
            crossing = pd.DataFrame(
                {
                    "community_id": list(growth.first_crossing),
                    "first_year_may_split": pd.array(
                        list(growth.first_crossing.values()), dtype="Int64"
                    ),
                }
            )
            st.subheader(_("First year each community may be split"))
            show_table(crossing, key="w_growth_crossing")
            if growth.grids is not None:
                over = growth.grids[growth.grids["overflow_year"].notna()]
                st.subheader(_("Grids that will exceed the band"))
                show_table(over, key="w_growth_grids")
