"""Export: the plan (communities, proposals, lineage, grids, patches, reviews) in every format the library writes."""

from __future__ import annotations

import importlib.util
import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from gis.errors import GridplanError
from gis.export.tables import csv_for_excel
from gis.store import write_plan
from ui import auth, project, session
from ui.i18n import gettext as _
from ui.widgets import label_columns, layer_label, show_error, show_table, wkey

try:  # the exports module (gis/export/); the GeoPackage and tables below work without it
    from gis import export as gis_export
except ImportError:  # pragma: no cover - depends on the library version
    gis_export = None

_PREPARED = "export_prepared"

loaded = project.loaded()
rules = project.rules()
lang = session.language()
st.title(_("Export"))


def _plan_layers() -> dict[str, pd.DataFrame]:
    """Everything the session has planned, as plan layers."""
    layers: dict[str, pd.DataFrame] = {}
    communities = loaded.communities.copy()
    communities["reasons"] = communities["reasons"].map(lambda rs: " ".join(rs))
    layers["communities"] = communities
    saved = project.proposals()
    if saved:
        parts = pd.concat(
            [p.parts.assign(status=project.status_of(p.proposal_id)) for p in saved],
            ignore_index=True,
        )
        layers["proposals"] = gpd.GeoDataFrame(parts, geometry="geometry", crs=saved[0].parts.crs)
        layers["lineage"] = pd.concat(
            [p.lineage.assign(proposal_id=p.proposal_id) for p in saved], ignore_index=True
        )
        layers["review_trail"] = project.trail()
    result, _scope = project.grids()
    if result is not None:
        layers["grids"] = result.grids
        layers["grid_members"] = result.grid_members
        layers["patches"] = result.patches
        if not result.divided_buildings.empty:
            layers["divided_buildings"] = result.divided_buildings
    for name, table in project.comparison().items():
        layers[f"compare_{name}"] = table
    return layers


layers = _plan_layers()
st.caption(_("The plan holds these layers; generate grids and save proposals to add theirs."))
show_table(
    pd.DataFrame(
        [  # the planner's word, and the layer's name in the files written
            {"layer": f"{layer_label(name)} ({name})" if layer_label(name) != name else name,
             "features": len(frame)}
            for name, frame in layers.items()
        ]
    ),
    key="w_export_layers",
)

_FORMAT_LABELS = {
    "gpkg": _("GeoPackage (.gpkg), for QGIS/ArcGIS"),
    "shp": _("Shapefile zip (.zip)"),
    "geojson": _("GeoJSON (.zip of files)"),
    "kml": _("KML (.kml), for Google Earth / Ovi"),
    "kmz": _("KMZ (.kmz)"),
    "xlsx": _("Excel report (.xlsx)"),
    "pdf": _("PDF atlas (.pdf)"),
}
formats = ["gpkg"]
if gis_export is not None:
    formats = [
        f
        for f in gis_export.FORMATS
        if f != "pdf" or importlib.util.find_spec("gis.export.atlas") is not None
    ]
signature = (project.token(), len(layers), sum(len(f) for f in layers.values()), len(project.trail()))


def _spatial_only(plan: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {k: v for k, v in plan.items() if not k.startswith("compare_")}


def _build(
    fmt: str, encoding: str, *, progress: Callable[[int, int], None] | None = None
) -> tuple[str, bytes]:
    """Write the export into a temporary folder and return its file name and bytes.

    ``progress`` is called with ``(page, pages)`` while an atlas is drawn.
    """
    plan = _spatial_only(layers)
    with tempfile.TemporaryDirectory(prefix="gridplan-export-") as tmp:
        folder = Path(tmp)
        suffix = {"shp": ".zip", "geojson": ".geojson"}.get(fmt, f".{fmt}")
        out = folder / f"gridplan{suffix}"
        if gis_export is None:
            written = [write_plan(out, plan)]
        else:
            written = gis_export.export_plan(
                plan,
                out,
                format=fmt,
                encoding=encoding,
                lang=lang,
                rules=rules,
                title="gridplan",
                context={"buildings": loaded.buildings},
                progress=progress,
            )
        if len(written) == 1:
            return written[0].name, written[0].read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in written:
                zf.write(path, arcname=path.name)
        return f"gridplan-{fmt}.zip", buffer.getvalue()


st.subheader(_("Plan files"))
with st.form("export_form"):
    fmt = st.selectbox(
        _("Format"),
        formats,
        format_func=lambda f: _FORMAT_LABELS.get(f, f),
        key=wkey("w_export_format"),
    )
    encoding = st.selectbox(
        _("Shapefile text encoding"),
        ["utf-8", "gbk"],
        help=_("UTF-8 suits current GIS software; GBK suits old ArcMap on Chinese Windows."),
        key="w_export_encoding",
    )
    prepare = st.form_submit_button(
        _("Prepare the file"),
        type="primary",
        disabled=not auth.allowed("export"),
        help=auth.why_not("export"),
    )
if prepare:
    project.require("export", target=fmt)
    bar = st.progress(0.0, text=_("Writing the file…")) if fmt == "pdf" else None

    def _pages(page: int, pages: int) -> None:
        """The atlas's progress: one step per page drawn (thousands for a district)."""
        if bar is not None and pages:
            bar.progress(
                min(page / pages, 1.0),
                text=_("Drawing the atlas: page {page} of {pages}").format(page=page, pages=pages),
            )

    try:
        with st.spinner(_("Writing the file…")):
            name, data = _build(fmt, encoding, progress=_pages)
    except GridplanError as err:
        show_error(err)
    else:
        st.session_state[_PREPARED] = (signature, fmt, name, data)
    if bar is not None:
        bar.empty()
prepared = st.session_state.get(_PREPARED)
if prepared is not None and prepared[0] == signature:
    _sig, done_fmt, name, data = prepared
    st.download_button(
        _("Download {file} ({size} KB)").format(file=name, size=max(1, len(data) // 1024)),
        data=data,
        file_name=name,
        mime="application/octet-stream",
        key="w_download_plan",
        disabled=not auth.allowed("export"),
    )

st.subheader(_("Tables"))
tables = {
    name: pd.DataFrame(frame.drop(columns=["geometry"], errors="ignore"))
    for name, frame in layers.items()
}
table_name = st.selectbox(_("Table"), list(tables), key="w_export_table")
# BOM so Excel opens it as UTF-8; 12- and 15-digit codes written so Excel/WPS keep them as text
csv = csv_for_excel(label_columns(tables[table_name]))
st.download_button(
    _("Download {table} as CSV").format(table=table_name),
    data=csv,
    file_name=f"{table_name}.csv",
    mime="text/csv",
    key="w_download_csv",
    disabled=not auth.allowed("export"),
)


def _tables_xlsx() -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        for name, table in tables.items():
            view = label_columns(table)
            for column in view.columns:
                if view[column].map(lambda v: isinstance(v, list | tuple | dict)).any():
                    view[column] = view[column].map(str)
            view.to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes(1, 0)
            sheet.set_column(0, max(0, len(view.columns) - 1), 16)
    return buffer.getvalue()


st.download_button(
    _("Download every table (.xlsx)"),
    data=_tables_xlsx,
    file_name="gridplan-tables.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="w_download_xlsx",
    disabled=not auth.allowed("export"),
)
