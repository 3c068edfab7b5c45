"""Data: upload the planner's layers, check the field mapping and the validation report, set the rules."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import streamlit as st

from gis.crs import crs_choices, propose_crs
from gis.errors import CRSError, GridplanError
from gis.fields import ALIASES
from gis.i18n import N_
from gis.io import Project
from gis.validate import ValidationError
from ui import auth, cache, project, session
from ui.i18n import gettext as _
from ui.tables import format_cell
from ui.widgets import (
    Confirm,
    ask,
    asked,
    confirm_dialog,
    layer_label,
    mapping_frame,
    rule_editor,
    show_error,
    show_table,
    wkey,
)

UPLOAD_TYPES = [
    "zip",
    "gpkg",
    "geojson",
    "json",
    "kml",
    "kmz",
    "fgb",
    "shp",
    "shx",
    "dbf",
    "prj",
    "cpg",
    "csv",
    "xlsx",
    "xls",
    "dxf",
    "dwg",
]
UPLOAD_MB = 200
_SAMPLES = ("beijing", "shanghai")
_NONE = ""

lang = session.language()
st.title(_("Data"))
may_upload = auth.allowed("upload")
if not may_upload:
    st.info(auth.why_not("upload") or "")

# -- choose the project -------------------------------------------------------------------
if project.project_name() is not None:
    st.caption(
        _(
            "Project {name} is open: files read here, a bundled sample and a new field mapping "
            "are saved into it at once as a new version (History keeps the earlier ones)."
        ).format(name=project.display_name(project.project_name()))
    )
left, right = st.columns([2, 1])
with left:
    files = st.file_uploader(
        _("Upload your layers"),
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        max_upload_size=UPLOAD_MB,
        help=_(
            "A GeoPackage, a zip of shapefiles, GeoJSON, KML/KMZ or FlatGeobuf files, or a shapefile's "
            "parts (.shp, .shx, .dbf, .prj, .cpg) together; a CSV or Excel roster may come with them. "
            "Name the files by layer: 楼栋/buildings, 社区/communities, 小区/compounds, 道路/roads… "
            "A CAD drawing (.dxf) is read with the layer table below."
        ),
        key="w_upload",
        disabled=not may_upload,
    )
    load_clicked = st.button(
        _("Read the uploaded files"), type="primary", disabled=not files or not may_upload
    )
with right:
    sample = st.selectbox(
        _("Or use a bundled sample"), _SAMPLES, key="w_sample", disabled=not may_upload
    )
    sample_clicked = st.button(
        _("Use the sample"), disabled=not may_upload, help=auth.why_not("upload")
    )


def _safe_name(name: str) -> str:
    base = Path(name).name.strip().replace("\x00", "")
    return re.sub(r'[\\/:*?"<>|]+', "_", base) or "upload"


def _read_upload() -> GridplanError | None:
    """Keep the uploaded files in this session's folder and read them; the error, if any."""
    project.require("upload", target=", ".join(f.name for f in files))
    digest = hashlib.sha1()
    for f in sorted(files, key=lambda f: f.name):
        digest.update(f.name.encode("utf-8"))
        digest.update(f.getbuffer())
    folder = session.upload_dir() / digest.hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    session.clear_uploads(keep=folder)
    written = []
    for f in files:
        target = folder / _safe_name(f.name)
        target.write_bytes(f.getbuffer())
        written.append(target)
    path = written[0] if len(written) == 1 else folder
    src = project.Source(kind="upload", name=path.name, path=str(path), digest=digest.hexdigest())
    return project.set_source(src)


def _use_sample(name: str) -> GridplanError | None:
    """Read a bundled sample; the error, if any."""
    project.require("upload", target=f"sample {name}")
    return project.set_source(project.Source(kind="sample", name=name))


def _read(wanted: str) -> GridplanError | None:
    """Read the uploaded files (``"upload"``) or the bundled sample named ``wanted``."""
    if wanted == "upload":
        return _read_upload() if files else None
    return _use_sample(wanted)


def _unsaved() -> str:
    """What reading other data would throw away: made here, kept by no project ("" if none)."""
    if project.project_name() is not None:  # a project keeps every version
        return ""
    made = []
    if project.proposals():
        made.append(_("{n} saved proposals and their reviews").format(n=len(project.proposals())))
    if project.grids()[0] is not None:
        made.append(_("the grids (with any hand edits)"))
    if session.drawing():
        made.append(_("the boundary drawn on the Split page"))
    return _(", ").join(made)


if (load_clicked and files) or sample_clicked:
    wanted = "upload" if load_clicked else sample
    if _unsaved():
        ask("replace_data", wanted)
    elif _read(wanted) is None:
        st.rerun()
replacing = asked("replace_data")
if replacing is not None:
    confirm_dialog(
        "replace_data",
        Confirm(
            title=_("Read other data?"),
            text=_(
                "No project is open: what was made on the data in use lives only in this "
                "browser tab, and reading other data throws it away: {what}. Export it first "
                "(Export page) if you may want it again; a project (Projects page) keeps "
                "every version."
            ).format(what=_unsaved()),
            confirm=_("Read the other data"),
        ),
        lambda _comment, wanted=str(replacing): _read(wanted) and None,  # errors: shown below
    )

src = project.source()
failed = project.unloaded()  # the open project did not load: the data in memory are not its
error = project.load_error() or (failed[1] if failed is not None else None)
loaded = project.loaded(fallback=True)

# -- what was read ------------------------------------------------------------------------
opened: Project | None = None
read_error: GridplanError | None = None
if src.is_sample or src.kind == "project":
    opened = loaded.project if error is None else None
else:
    try:
        opened = cache.read_upload(src.path, src.token, src.overrides)
    except GridplanError as err:
        read_error = err

st.subheader(_("Project"))
if src.kind == "project":
    st.write(_("Project: {name}").format(name=project.display_name(src.name)))
elif src.is_sample:
    st.write(_("Bundled sample: {name}").format(name=src.name))
else:
    st.write(_("Uploaded: {name}").format(name=src.name))
if error is not None:
    show_error(error)
    if failed is not None:
        st.warning(
            _(
                "Until this is fixed, the other pages show no figures: the data in memory are "
                "not those of project {name}."
            ).format(name=failed[0])
        )
    else:
        st.warning(
            _("Until this is fixed, the app keeps planning with the last project that loaded.")
        )
    if isinstance(error, ValidationError):
        st.markdown("**" + _("Validation report") + "**")
        show_table(error.report.to_frame(lang), key="w_report_errors")
elif read_error is not None:
    show_error(read_error)

# -- coordinates, text encoding and CAD layers (reading options) ------------------------------
_OTHER = "other"
_ENCODINGS = ("", "utf-8", "gbk", "gb18030", "big5")
_SPECIAL_CRS = {
    "EPSG:4490": N_("CGCS2000 longitude/latitude (EPSG:4490)"),
    "EPSG:4326": N_("WGS84 longitude/latitude, GPS (EPSG:4326)"),
    "GCJ-02": N_("GCJ-02: points picked on AMap or Tencent maps (converted)"),
    "BD-09": N_("BD-09: points picked on Baidu maps (converted)"),
    "EPSG:3857": N_("Web Mercator, web-map metres (EPSG:3857)"),
}


def _crs_problem(err: GridplanError | None) -> CRSError | None:
    """The first "no coordinate system" error of a read, with the layer's bounds."""
    if err is None:
        return None
    for each in getattr(err, "errors", [err]):
        if isinstance(each, CRSError) and "x0" in each.params:
            return each
    return None


def _near_lon() -> float | None:
    """The longitude of the project that loaded last (the zone a GK file without prefix is in)."""
    try:
        box = loaded.communities.to_crs(4326).total_bounds
    except Exception:  # no communities or no CRS: nothing to go by
        return None
    return float((box[0] + box[2]) / 2)


def _crs_label(code: str, names: dict[str, str]) -> str:
    if code == _NONE:
        return _("— as the files say —")
    if code == _OTHER:
        return _("another code (type it below)")
    if code in _SPECIAL_CRS:
        return _(_SPECIAL_CRS[code])
    name = names.get(code, code)
    cm = re.search(r"CM (\d+)E", name)
    if cm:
        return _("{code} — CGCS2000 Gauss–Krüger, central meridian {cm}°E").format(
            code=code, cm=cm.group(1)
        )
    zone = re.search(r"zone (\d+)", name)
    if zone:
        return _("{code} — CGCS2000 Gauss–Krüger zone {zone}, zone number in the easting").format(
            code=code, zone=zone.group(1)
        )
    return f"{code} — {name}"


if src.kind == "upload":
    options = dict(src.overrides_dict().get(cache.READ_OPTIONS, {}))
    is_cad = Path(src.path).suffix.lower() == ".dxf"
    crs_problem = _crs_problem(read_error) or _crs_problem(error)
    with st.expander(
        _("Coordinates, text encoding and CAD layers"),
        expanded=bool(is_cad or read_error is not None or crs_problem is not None),
    ):
        with st.form("read_options_form"):
            names = dict(crs_choices())
            codes = [_NONE, *names, _OTHER]
            current = str(options.get("crs", ""))
            proposal = None
            if crs_problem is not None:
                p = crs_problem.params
                proposal = propose_crs(
                    (p["x0"], p["y0"], p["x1"], p["y1"]), near_lon=_near_lon()
                )
                layer_name = layer_label(str(p.get("layer", "")))
                if proposal.crs is not None:
                    st.info(
                        _("Layer {layer} declares no coordinate system. Proposed: {crs}. Why: {reason}").format(
                            layer=layer_name, crs=_crs_label(proposal.crs, names), reason=proposal.render(lang)
                        )
                    )
                else:
                    st.warning(
                        _("Layer {layer} declares no coordinate system. {reason}").format(
                            layer=layer_name, reason=proposal.render(lang)
                        )
                    )
            default = current or (proposal.crs if proposal and proposal.crs else _NONE)
            if default not in codes:
                default = _OTHER
            picked_crs = st.selectbox(
                _("Coordinate system of layers that declare none"),
                codes,
                index=codes.index(default),
                format_func=lambda c: _crs_label(c, names),
                help=_(
                    "Shapefiles without .prj, CSV points and CAD drawings do not say their "
                    "coordinate system. Gauss–Krüger with the zone in the easting (8 digits) is "
                    "recognised; without it choose your city's central meridian (Beijing 117°E, "
                    "Shanghai 120°E). Points picked on AMap or Baidu maps are converted."
                ),
                key=wkey(f"w_read_crs_pick_{src.token}"),
            )
            other_crs = st.text_input(
                _("Or type another coordinate system (it wins over the list)"),
                value=current if current and current not in names else "",
                placeholder="EPSG:4548",
                key=wkey(f"w_read_crs_{src.token}"),
            )
            encodings = list(_ENCODINGS)
            current_encoding = str(options.get("encoding", ""))
            if current_encoding not in encodings:
                encodings.append(current_encoding)
            encoding = st.selectbox(
                _("Text encoding of files that do not say (DBF without .cpg, CSV, GeoJSON, KML)"),
                encodings,
                index=encodings.index(current_encoding),
                format_func=lambda e: _("detect (UTF-8, else GB18030)") if e == _NONE else e,
                help=_(
                    "Files saved on Chinese Windows are usually GBK (GB18030 is its superset); "
                    "newer files UTF-8. Choose one when the names read as gibberish."
                ),
                key=wkey(f"w_read_encoding_{src.token}"),
            )
            chosen_map: dict[str, str] = {}
            if is_cad:
                from gis.cad import CAD_ROLES, parse_layer_map

                try:
                    table = cache.scan_cad(src.path, src.token)
                except GridplanError as err:
                    show_error(err)
                    table = None
                if table is not None:
                    given = parse_layer_map(options.get("layer_map") or None)
                    table = table.assign(
                        layer=[given.get(n, s) for n, s in zip(table["cad_layer"], table["suggested"])]
                    )
                    st.caption(
                        _(
                            "Say which CAD layer holds what. Closed outlines on a buildings, "
                            "communities or compounds layer become polygons; text inside an outline "
                            "fills its name, floors (18F, 18层) or households (120户)."
                        )
                    )
                    edited = st.data_editor(
                        table[["cad_layer", "closed", "open", "labels", "layer"]],
                        column_config={
                            "cad_layer": st.column_config.TextColumn(_("CAD layer"), disabled=True),
                            "closed": st.column_config.NumberColumn(_("closed outlines"), disabled=True),
                            "open": st.column_config.NumberColumn(_("open lines"), disabled=True),
                            "labels": st.column_config.NumberColumn(_("labels"), disabled=True),
                            "layer": st.column_config.SelectboxColumn(
                                _("gridplan layer"), options=["", *CAD_ROLES]
                            ),
                        },
                        hide_index=True,
                        key=wkey(f"w_cad_map_{src.token}"),
                    )
                    chosen_map = {
                        str(row.cad_layer): str(row.layer)
                        for row in edited.itertuples(index=False)
                        if isinstance(row.layer, str) and row.layer
                    }
            apply_options = st.form_submit_button(
                _("Read again with these settings"),
                disabled=not may_upload,
                help=auth.why_not("upload"),
            )
        if apply_options:
            project.require("upload", target=src.name, detail="coordinates, encoding, CAD layers")
            # a code typed in wins over the list (a CAD drawing's CRS is often typed)
            chosen_crs = other_crs.strip() or ("" if picked_crs == _OTHER else picked_crs)
            new_options = {"crs": chosen_crs, "encoding": encoding}
            if chosen_map:
                new_options["layer_map"] = ",".join(f"{k}={v}" for k, v in chosen_map.items())
            overrides = src.overrides_dict()
            overrides[cache.READ_OPTIONS] = {k: v for k, v in new_options.items() if v}
            err = project.set_source(src.with_overrides(overrides))
            if err is None:
                st.rerun()
            show_error(err)

# -- which layer is what, and the roster's sheet and header (uploads) ---------------------------
_ROLE_OPTIONS = ("", "buildings", "communities", "compounds", "roads", "waterways", "barriers",
                 "service_centres", "roster", "-")  # fmt: skip


def _role_label(role: str) -> str:
    if role == "":
        return _("— not recognised: left out —")
    if role == "-":
        return _("leave it out")
    if role == "roster":
        return _("roster (花名册)")
    return layer_label(role)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A sheet's cells as the planner typed them: text, whole numbers without decimals."""
    return frame.map(lambda v: "" if v is None else format_cell(v, plain=True)).astype(str)


def _read_again(overrides: dict, what: str) -> None:
    project.require("upload", target=src.name, detail=what)
    err = project.set_source(src.with_overrides(overrides))
    if err is None:
        st.rerun()
    show_error(err)


if src.kind == "upload" and Path(src.path).suffix.lower() != ".dxf":
    try:
        found_layers = cache.scan_layers(src.path, src.token)
    except GridplanError as err:
        show_error(err)
        found_layers = pd.DataFrame(columns=["source", "layer", "guessed"])
    chosen_roles = dict(src.overrides_dict().get(cache.ROLES, {}))
    with st.expander(
        _("Layers and what they are ({n})").format(n=len(found_layers)),
        expanded=bool((found_layers["guessed"] == "").any()) if len(found_layers) else False,
    ):
        st.caption(
            _(
                "The role of each layer is guessed from its name (楼栋/buildings, 社区/communities, "
                "小区/compounds…). Change it where the guess is wrong or a layer was not "
                "recognised, then read again."
            )
        )
        roles_table = found_layers.assign(
            role=[
                (chosen_roles[where] or "-") if where in chosen_roles else guess
                for where, guess in zip(found_layers["source"], found_layers["guessed"], strict=True)
            ]
        )
        with st.form("w_roles_form"):
            cols = st.columns(3)
            picked: dict[str, str] = {}
            for i, row in enumerate(roles_table.itertuples(index=False)):
                with cols[i % 3]:
                    picked[str(row.source)] = st.selectbox(
                        str(row.source),
                        _ROLE_OPTIONS,
                        index=_ROLE_OPTIONS.index(row.role) if row.role in _ROLE_OPTIONS else 0,
                        format_func=_role_label,
                        help=_("Guessed from its name: {role}").format(role=_role_label(row.guessed)),
                        key=wkey(f"w_role_{i}_{src.token}"),
                    )
            apply_roles = st.form_submit_button(
                _("Read again with these roles"), disabled=not may_upload, help=auth.why_not("upload")
            )
        if apply_roles:
            guessed = dict(zip(roles_table["source"], roles_table["guessed"], strict=True))
            overrides = src.overrides_dict()
            overrides[cache.ROLES] = {
                where: ("" if role in ("-", "") else role)
                for where, role in picked.items()
                if role != guessed[where]
            }
            _read_again(overrides, "layer roles")

    roster_sources = [
        str(row.source)
        for row in found_layers.itertuples(index=False)
        if chosen_roles.get(str(row.source), row.guessed) == "roster"
        and Path(str(row.source)).suffix.lower() in (".csv", ".xlsx", ".xls", ".xlsm", ".ods")
    ]
    if roster_sources:
        options = dict(src.overrides_dict().get(cache.READ_OPTIONS, {}))
        member = roster_sources[0]
        member_arg = None if Path(src.path).name == member else member
        with st.expander(_("Roster: sheet, header line and preview"), expanded=False):
            try:
                found = cache.preview_table(src.path, src.token, member_arg, None, None)
            except GridplanError as err:
                show_error(err)
                found = None
            if found is not None:
                sheets = found["sheets"]
                sheet = st.selectbox(
                    _("Sheet"),
                    sheets,
                    index=sheets.index(options.get("sheet") or found["sheet"])
                    if (options.get("sheet") or found["sheet"]) in sheets
                    else 0,
                    format_func=lambda n: n or _("(a CSV file has one sheet)"),
                    key=wkey(f"w_roster_sheet_{src.token}"),
                )
                guessed_line = (
                    found["header_line"]
                    if sheet == found["sheet"]
                    else cache.preview_table(src.path, src.token, member_arg, sheet or None, None)[
                        "header_line"
                    ]
                )
                header_line = st.number_input(
                    _("Line of the column names (header)"),
                    min_value=1,
                    max_value=50,
                    value=int(options.get("header_line") or guessed_line),
                    step=1,
                    help=_("Title lines above it (单位名称, 制表日期…) are skipped."),
                    key=wkey(f"w_roster_header_{src.token}_{sheet}"),
                )
                try:
                    shown = cache.preview_table(
                        src.path, src.token, member_arg, sheet or None, int(header_line)
                    )
                except GridplanError as err:
                    show_error(err)
                    shown = None
                if shown is not None:
                    st.caption(_("The sheet's first lines as they are:"))
                    show_table(_as_text(shown["top"]).reset_index(), key="w_roster_top")
                    st.caption(_("The first rows as gridplan reads them:"))
                    show_table(_as_text(shown["head"]).reset_index(), key="w_roster_head")
                    st.caption(_("Field mapping of these columns:"))
                    show_table(mapping_frame(shown["mapping"]), key="w_roster_mapping")
                    if not {"address", "building_id"} & set(shown["mapping"].values()):
                        st.warning(
                            _(
                                "No column of this header names an address or a building id, "
                                "so no row can be matched to a building: choose another sheet "
                                "or header line, or map a column below."
                            )
                        )
                if st.button(
                    _("Read the roster from this sheet and line"),
                    disabled=not may_upload,
                    help=auth.why_not("upload"),
                    key="w_roster_apply",
                ):
                    overrides = src.overrides_dict()
                    kept = dict(overrides.get(cache.READ_OPTIONS, {}))
                    kept.update({"sheet": sheet, "header_line": str(int(header_line))})
                    overrides[cache.READ_OPTIONS] = {k: v for k, v in kept.items() if v}
                    _read_again(overrides, "roster sheet and header")

if opened is not None:
    layers = opened.layers()
    summary = pd.DataFrame(
        [
            {  # the planner's word, and the layer's name in the files
                "layer": f"{layer_label(name)} ({name})" if layer_label(name) != name else name,
                "features": len(frame),
                "crs": opened.source_crs.get(name, "EPSG:4490"),
            }
            for name, frame in layers.items()
        ]
    )
    show_table(summary, key="w_layers")
    if opened.notes:
        with st.expander(_("What the reader detected or repaired"), expanded=False):
            for note in opened.notes:
                st.write("• " + note.render(lang))

    # -- field mapping ----------------------------------------------------------------------
    st.subheader(_("Field mapping"))
    for name, mapping in opened.mapping.items():
        with st.expander(_("Layer {layer}").format(layer=layer_label(name)), expanded=False):
            show_table(mapping_frame(mapping), key=f"w_mapping_{name}")
    if src.is_sample:
        st.caption(
            _(
                "The bundled samples are OpenStreetMap exports mapped by the reader; upload your own files to change a mapping."
            )
        )
    else:
        editable = [
            name
            for name in ("buildings", "communities", "compounds", "roads", "service_centres")
            if name in layers
        ]
        if opened.roster is not None:
            editable.append("roster")
        if editable:
            with st.form("mapping_form"):
                layer = st.selectbox(
                    _("Fix the mapping of layer"),
                    editable,
                    format_func=layer_label,
                    key=wkey("w_map_layer"),
                )
                frame = opened.roster if layer == "roster" else layers[layer]
                current = opened.mapping.get(layer, {})
                inverse = {v: k for k, v in current.items()}
                originals = [inverse.get(c, c) for c in frame.columns if c != "geometry"]
                chosen: dict[str, str] = {}
                defaults: dict[str, str] = {}
                cols = st.columns(3)
                for i, field in enumerate(ALIASES.get(layer, {})):
                    options = [_NONE, *originals]
                    default = defaults[field] = inverse.get(
                        field, field if field in originals else _NONE
                    )
                    with cols[i % 3]:
                        chosen[field] = st.selectbox(
                            field,
                            options,
                            index=options.index(default) if default in options else 0,
                            format_func=lambda o: _("— none —") if o == _NONE else o,
                            key=wkey(f"w_map_{layer}_{field}_{src.token}"),
                        )
                apply_mapping = st.form_submit_button(
                    _("Read again with this mapping"),
                    disabled=not may_upload,
                    help=auth.why_not("upload"),
                )
            if apply_mapping:
                project.require("upload", target=src.name, detail=f"field mapping of {layer}")
                overrides = src.overrides_dict()
                # a project keeps its mapping: only the choices made now are sent
                picked = {} if src.kind == "project" else dict(overrides.get(layer, {}))
                for field, original in chosen.items():
                    if original == defaults[field]:
                        continue  # as the reader mapped it
                    if original:
                        picked[original] = field
                    elif defaults[field] and defaults[field] not in picked:
                        picked[defaults[field]] = (
                            ""  # unmapped: ignored, so no alias takes it again
                        )
                if src.kind == "project":  # saved into the project as a new version
                    err = project.remap(layer, picked) if picked else None
                else:
                    overrides[layer] = picked
                    err = project.set_source(src.with_overrides(overrides))
                if err is None:
                    st.rerun()
                show_error(err)

# -- validation and households ----------------------------------------------------------------
if error is None:
    st.subheader(_("Validation report"))
    report = loaded.report.to_frame(lang)
    if report.empty:
        st.success(_("No problems found."))
    else:
        show_table(report, key="w_report")
    estimated = loaded.estimated_rows()
    st.info(
        _(
            "{n} of {total} buildings' households are estimated from footprint × floors ({m} of them with assumed floors)."
        ).format(n=estimated, total=len(loaded.buildings), m=loaded.assumed_floor_rows())
    )
    st.subheader(_("Households accounted for"))
    books = loaded.accounting()
    st.markdown(
        _(
            "Households: {households_in} in the data, {added} estimated, {in_totals} in the "
            "totals, {excluded} left out (see the warnings)."
        ).format(**books)
    )
    warnings = loaded.warnings(lang)
    if warnings:
        show_table(
            pd.DataFrame(
                [
                    {
                        _("kind"): w["kind"],
                        _("count"): w["count"],
                        _("households left out"): w["households"],
                        _("message"): w["message"],
                        _("rows"): ", ".join(map(str, w["rows"][:10])),
                    }
                    for w in warnings
                ]
            ),
            key="w_warnings",
        )

# -- roster template ----------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=4)
def _roster_template(language: str) -> bytes:
    import tempfile

    from gis.export.roster import write_roster_template

    with tempfile.TemporaryDirectory(prefix="gridplan-roster-") as tmp:
        out = write_roster_template(Path(tmp) / "roster.xlsx", lang=language)
        return out.read_bytes()


st.download_button(
    _("Download the roster template (花名册模板.xlsx)"),
    data=_roster_template(lang),
    file_name=_("roster template") + ".xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    help=_(
        "The columns gridplan reads (地址, 楼栋编号, 单元, 楼层, 房号, 常住人口, 民政对象), checked as "
        "they are typed, with an example row: give it to the community office to fill."
    ),
    key="w_roster_template",
)

# -- keep the upload as a project -----------------------------------------------------------
if error is None and src.kind == "upload":
    st.subheader(_("Keep it as a project"))
    with st.form("w_save_project"):
        name = st.text_input(_("Project name"), placeholder="海淀-清华园")
        keep = st.form_submit_button(
            _("Save as a new project"), disabled=not may_upload, help=auth.why_not("upload")
        )
    if keep and name:
        from planning.projects import create_project

        try:
            create_project(
                project.workspace(),
                name,
                src.path,
                author=auth.user().label,
                rules=project.rules(),
                lang=lang,
                user=auth.user(),
                note=project.reading_note(src),
                **cache.read_arguments(src.overrides),
            )
        except GridplanError as err:
            show_error(err)
        else:
            project.open_project(name.strip())
            st.rerun()

# -- rules ----------------------------------------------------------------------------------
st.subheader(_("Rules"))
rule_editor()
with st.expander(_("Rules and their sources")):
    show_table(pd.DataFrame(project.rules().sources(lang=lang)), key="w_rule_sources")
