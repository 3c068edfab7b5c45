"""Split: the engine's ranked alternatives side by side, and a boundary drawn by hand.

A drawn polygon is snapped to the split's atoms (planning.manual.snap_to_atoms), so the
drawn parts tile the community exactly; their figures update as soon as the drawing
changes. The drawing is read from session state (``session.drawing()``), into which the
map's ``all_drawings`` are copied — a test injects its drawing the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from gis.crs import reproject
from gis.draw import drawings_to_gdf, drawn_polygons
from gis.errors import GridplanError
from gis.gcj import frame_from_gcj, frame_to_gcj
from planning.manual import (
    ManualSplit,
    from_labels,
    labels_from_parts,
    reassign,
    snap_to_atoms,
)
from ui import auth, cache, maps, project, session
from ui.i18n import gettext as _
from ui.widgets import (
    Confirm,
    ask,
    asked,
    community_picker,
    confirm_dialog,
    layer_label,
    show_error,
    show_table,
)

_PART_COLUMNS = ["part", "households", "residents", "special_service_households", "required_staff"]


def _part_figures(split: ManualSplit, *, key: str, drawing: bool) -> None:
    """Each part's households, residents, staff and deviation, then the split's reasons.

    Parameters
    ----------
    split
        An adjusted or drawn split.
    key
        The figures' container key (the tests read the metrics inside it).
    drawing
        Label the parts "drawn" and "the rest" (a boundary drawn by hand) instead of by
        number only (an adjusted split).
    """
    with st.container(key=key):
        for _i, part in split.parts.iterrows():
            cols = st.columns(5)
            if not drawing:
                label = _("Part {part}")
            elif part["drawn"]:
                label = _("Part {part} (drawn)")
            else:
                label = _("Part {part} (the rest)")
            cols[0].markdown("**" + label.format(part=int(part["part"])) + "**")
            cols[1].metric(_("households"), f"{int(part['households']):,}")
            cols[2].metric(_("residents"), f"{int(part['residents']):,}")
            cols[3].metric(_("required_staff"), f"{int(part['required_staff']):,}")
            cols[4].metric(_("deviation from the mean"), f"{part['deviation']:+.1%}")
    for reason in split.reasons(rules=rules, lang=lang)[1:]:
        st.caption("• " + reason)


def _save_proposal(
    *, origin: str, parts: gpd.GeoDataFrame, lineage: pd.DataFrame, label: str
) -> None:
    """Save a division of community ``cid`` as a project proposal and say under which id.

    Parameters
    ----------
    origin
        ``engine`` (an alternative) or ``drawn`` (adjusted or drawn by hand).
    parts
        Its parts (the proposals layer's rows).
    lineage
        Which building goes to which part.
    label
        ``R<rank>`` for an alternative, ``D`` for a drawn split (see
        :func:`ui.project.add_proposal`).
    """
    try:
        saved = project.add_proposal(
            community_id=cid, origin=origin, parts=parts, lineage=lineage, label=label
        )
    except GridplanError as err:
        show_error(err)
    else:
        st.success(
            _("Saved as {proposal}; review it on the Review page.").format(
                proposal=saved.proposal_id
            )
        )

loaded = project.loaded()
rules = project.rules()
lang = session.language()
basemap = session.basemap()
token = project.token()
table = loaded.communities
st.title(_("Split"))
if not auth.allowed("run"):
    st.info(auth.why_not("run") or "")

# -- what to split ----------------------------------------------------------------------------
oversized = (
    table[table["status"].isin(["may_split", "must_split"])]["community_id"].astype(str).tolist()
)
request = session.split_request()
default = request["community_id"] if request else (oversized[0] if oversized else None)
available = [
    name for name in cache.FOLLOW_LAYERS if getattr(loaded.project, name, None) is not None
]
with st.form("split_form"):
    cols = st.columns([3, 1, 3])
    with cols[0]:
        community_id = community_picker(
            _("Community to split"), key="w_split_community", default=default
        )
    with cols[1]:
        parts = st.number_input(
            _("Parts (0 = as the rules say)"),
            min_value=0,
            max_value=12,
            value=int(request["parts"] or 0) if request else 0,
        )
    with cols[2]:
        follow = st.multiselect(
            _("New boundaries follow"),
            available,
            default=[f for f in (request["follow"] if request else available) if f in available],
            format_func=layer_label,
        )
    run = st.form_submit_button(
        _("Propose splits"),
        type="primary",
        disabled=not auth.allowed("run"),
        help=auth.why_not("run"),
    )
if run and community_id is not None:
    project.require("run", target=f"split {community_id}")
    session.set_split_request(
        {"community_id": community_id, "parts": int(parts) or None, "follow": tuple(follow)}
    )
    request = session.split_request()

if not request:
    st.info(
        _(
            "Choose a community and press “Propose splits”. Communities above the split threshold come first."
        )
    )
    st.stop()

cid = str(request["community_id"])
try:
    with st.spinner(_("Dividing the community into blocks and balancing the parts…")):
        result, dropped, first_error = cache.run_split(
            token, cid, rules, request["parts"], tuple(request["follow"]), lang, _loaded=loaded
        )
except GridplanError as err:
    show_error(err)
    st.stop()

if dropped:
    st.warning(
        _("The split could not follow {layers} ({error}); these proposals ignore them.").format(
            layers=", ".join(layer_label(d) for d in dropped), error=first_error
        )
    )
for note in result.notes:
    st.caption(note)

community = table[table["community_id"].astype(str) == cid]
bounds = reproject(community, 4326).total_bounds
outline = cache.display_copy(
    f"{token}:community:{cid}", community, columns=("name",), gcj02=basemap.gcj02
)

# -- the engine's alternatives, side by side ----------------------------------------------------
st.subheader(_("Ranked alternatives"))
st.caption(
    _("{k} parts; each alternative keeps compounds whole where it can. Best first.").format(
        k=result.k
    )
)
proposals = result.proposals()
columns = st.columns(len(result.alternatives))
for column, alt in zip(columns, result.alternatives, strict=True):
    with column:
        st.markdown("**" + _("Alternative {rank}").format(rank=alt.rank) + "**")
        parts_display = cache.display_copy(
            f"{token}:split:{cid}:{request}:alt{alt.rank}",
            alt.parts,
            columns=("part", "households"),
            coverage=True,
            gcj02=basemap.gcj02,
        )
        m = maps.base_map(bounds, basemap=basemap, compact=True)
        maps.add_polygons(
            m,
            parts_display,
            colour=lambda p: maps.PALETTE[(int(p["part"]) - 1) % len(maps.PALETTE)],
            fill_opacity=0.35,
            tooltip={"part": _("part"), "households": _("households")},
        )
        maps.show(m, key=f"split_alt_{alt.rank}", height=260)
        a, b = st.columns(2)
        a.metric(_("largest deviation"), f"{alt.max_deviation:.1%}")
        b.metric(
            _("boundary on roads/rivers/walls"),
            f"{alt.barrier_share:.0%}",
            help=_(
                "Counted by class (a service road or a footway counts less than a street), "
                "{score:.0%}: the alternatives are ranked by this."
            ).format(score=alt.boundary_score),
        )
        a.metric(_("compactness"), f"{alt.compactness:.2f}")
        b.metric(_("compounds divided"), f"{alt.compounds_cut}")
        show_table(alt.parts[_PART_COLUMNS], key=f"w_alt_parts_{alt.rank}")
        for reason in alt.reasons:
            st.caption("• " + reason)
        if st.button(
            _("Save as proposal"),
            key=f"w_save_alt_{alt.rank}",
            disabled=not auth.allowed("save"),
            help=auth.why_not("save"),
        ):
            _save_proposal(
                origin="engine",
                parts=proposals[proposals["rank"] == alt.rank],
                lineage=result.lineage(alt.rank),
                label=f"R{alt.rank}",
            )

if maps.attribution(basemap):
    st.caption(maps.attribution(basemap))


# -- an alternative or a saved proposal, adjusted by hand ---------------------------------------
_ADJUST = "split_adjust"  # session key: the adjusted division being edited
_PICK = "split_adjust_pick"  # session key: the adjusting map it came from and its click/drawings


def _picked_atoms(atoms: object, value: dict | None) -> list[int]:
    """The atoms a planner picked on the adjusting map: the one clicked, or those whose
    representative point lies in a drawn rectangle or polygon (lon/lat, GCJ-02 on AMap)."""
    if not isinstance(value, dict):
        return []
    points = atoms.geometry.representative_point()  # type: ignore[attr-defined]
    features = value.get("all_drawings") or []
    if features:
        try:
            drawn = drawn_polygons(features)
            if basemap.gcj02 and len(drawn):
                drawn = frame_from_gcj(drawn)
        except GridplanError as err:
            show_error(err)
            return []
        if len(drawn):
            area = shapely.union_all(reproject(drawn, atoms.crs).geometry.values)  # type: ignore[attr-defined]
            return np.flatnonzero(shapely.intersects(area, points.values)).tolist()
    click = value.get("last_object_clicked")
    if isinstance(click, dict) and "lat" in click and "lng" in click:
        where = shapely.Point(float(click["lng"]), float(click["lat"]))
        if basemap.gcj02:
            from gis.gcj import gcj_to_wgs

            where = gcj_to_wgs(where)
        import geopandas as gpd

        point = reproject(gpd.GeoSeries([where], crs="EPSG:4326"), atoms.crs).iloc[0]  # type: ignore[attr-defined]
        hit = np.flatnonzero(shapely.contains(atoms.geometry.values, point))  # type: ignore[attr-defined]
        return hit[:1].tolist()
    return []


@st.fragment
def _adjust_section() -> None:
    st.subheader(_("Adjust an alternative by hand"))
    if not st.toggle(_("Open an alternative or a saved proposal to adjust"), key="w_adjust_on"):
        return
    st.caption(
        _(
            "Start from an alternative or a saved proposal and move blocks and compounds between "
            "its parts: click one on the map, or draw a rectangle or polygon around several, then "
            "choose the part they go to. The parts stay whole blocks and tile the community exactly."
        )
    )
    atoms = result.atoms
    sources: dict[str, str] = {
        f"R{alt.rank}": _("Alternative {rank}").format(rank=alt.rank) for alt in result.alternatives
    }
    saved = [p for p in project.proposals() if p.community_id == cid]
    sources.update({p.proposal_id: p.proposal_id for p in saved})
    source = st.selectbox(
        _("Start from"), list(sources), format_func=sources.get, key="w_adjust_source"
    )
    ident = f"{cid}:{request}:{source}"
    state = st.session_state.get(_ADJUST)
    if not isinstance(state, dict) or state.get("ident") != ident:
        if source.startswith("R") and source[1:].isdigit():
            alt = result.alternatives[int(source[1:]) - 1]
            labels, k = np.asarray(alt.labels, dtype=int), len(alt.parts)
        else:
            chosen = next(p for p in saved if p.proposal_id == source)
            labels, k = labels_from_parts(atoms, chosen.parts), len(chosen.parts)
        state = {"ident": ident, "labels": labels.tolist(), "k": k, "undo": [], "rev": 0}
        st.session_state[_ADJUST] = state
    split = from_labels(
        atoms, state["labels"], k=state["k"], rules=rules, community_id=cid, source=sources[source]
    )
    digest = hashlib.sha1(json.dumps(state["labels"]).encode()).hexdigest()[:12]
    shown = atoms.assign(part=split.labels + 1)
    atoms_display = cache.display_copy(
        f"{token}:split:{cid}:{request}:adjust:{digest}",
        shown,
        columns=("part", "households"),
        coverage=True,
        tolerance_m=0.5,
        gcj02=basemap.gcj02,
    )
    m = maps.base_map(bounds, basemap=basemap)
    maps.add_polygons(
        m,
        atoms_display,
        colour=lambda p: maps.PALETTE[(int(p["part"]) - 1) % len(maps.PALETTE)],
        weight=0.6,
        fill_opacity=0.35,
        tooltip={"part": _("part"), "households": _("households")},
    )
    maps.add_polygons(m, outline, colour="#333333", weight=3, fill_opacity=0.0)
    if auth.allowed("draw"):
        maps.draw_control(m)
    map_key = f"split_adjust_{cid}_{state['rev']}"

    def _copy_pick() -> None:
        """Keep the map's click and drawings for this map (a test injects its own the same way)."""
        st.session_state[_PICK] = {"map": map_key, "value": st.session_state.get(map_key)}

    with st.container(key="adjust_map"):
        maps.show(
            m,
            key=map_key,
            height=520,
            returned_objects=("last_object_clicked", "all_drawings"),
            on_change=_copy_pick,
        )

    def _current_pick() -> list[int]:
        pick = st.session_state.get(_PICK)
        if not isinstance(pick, dict) or pick.get("map") != map_key:
            return []
        return _picked_atoms(atoms, pick.get("value"))

    picked = _current_pick()
    households = atoms["households"].to_numpy(dtype=float)
    if picked:
        now = sorted({int(split.labels[i]) + 1 for i in picked})
        st.markdown(
            _("{n} blocks selected ({households} households) in part {parts}.").format(
                n=len(picked),
                households=f"{int(households[picked].sum()):,}",
                parts=", ".join(str(p) for p in now),
            )
        )
    else:
        st.info(_("Click a block on the map, or draw a rectangle or polygon around several."))
    def _move() -> None:
        chosen = _current_pick()
        if not chosen:
            return
        moved = reassign(split, atoms, chosen, int(st.session_state["w_adjust_target"]), rules=rules)
        state["undo"].append(list(state["labels"]))
        state["labels"] = moved.labels.tolist()
        state["rev"] += 1  # a new map: the selection is cleared

    def _undo() -> None:
        if state["undo"]:
            state["labels"] = state["undo"].pop()
            state["rev"] += 1

    cols = st.columns([2, 1, 1])
    cols[0].selectbox(
        _("Move them to part"), list(range(1, state["k"] + 1)), key="w_adjust_target"
    )
    cols[1].button(
        _("Move"), type="primary", key="w_adjust_move", on_click=_move,
        disabled=not picked or not auth.allowed("draw"),
    )
    cols[2].button(_("Undo"), key="w_adjust_undo", on_click=_undo, disabled=not state["undo"])
    _part_figures(split, key="adjust_stats", drawing=False)
    if not split.contiguous:
        st.warning(
            _("A part is in several pieces: move the blocks between its pieces to join it again.")
        )
    if (split.parts["households"] == 0).any():
        st.warning(_("A part holds no households."))
    if st.button(
        _("Save the adjusted split as a proposal"),
        key="w_save_adjusted",
        disabled=not auth.allowed("save") or not state["undo"],
        help=auth.why_not("save"),
    ):
        _save_proposal(
            origin="drawn",
            parts=split.proposals(f"{cid}-D", rules=rules, lang=lang),
            lineage=split.lineage(atoms),
            label="D",
        )


_adjust_section()


# -- a boundary drawn by hand --------------------------------------------------------------------
# A fragment: drawing on the map reruns only this section, not the alternatives' maps above.
@st.fragment
def _draw_section() -> None:
    st.subheader(_("Draw a boundary by hand"))
    st.caption(
        _(
            "Draw a polygon (or rectangle) around the part to split off. It snaps to whole blocks "
            "and compounds: part 1 is what the polygon holds, the last part is the rest of the "
            "community."
        )
    )
    map_key = f"split_draw_{cid}_{session.draw_map_version()}"

    def _copy_drawing() -> None:
        """Copy the map's drawings into the session's state (back from GCJ-02 on AMap)."""
        if not auth.allowed("draw"):
            return
        value = st.session_state.get(map_key) or {}
        features = value.get("all_drawings")
        if features is None:
            return
        if basemap.gcj02 and features:
            # a bad drawing is reported when it is read below
            with contextlib.suppress(GridplanError):
                back = frame_from_gcj(drawings_to_gdf(features))
                features = json.loads(back.to_json(drop_id=True))["features"]
        session.set_drawing(features, community_id=cid)

    drawing = session.drawing() if session.drawing_community() in (None, cid) else []
    snapped = None
    snap_error: GridplanError | None = None
    drawn = None
    if drawing:
        try:
            drawn = drawn_polygons(drawing)
            if len(drawn):
                snapped = snap_to_atoms(result.atoms, drawn, rules=rules, community_id=cid)
        except GridplanError as err:
            snap_error = err

    atoms_display = cache.display_copy(
        f"{token}:split:{cid}:{request}:atoms",
        result.atoms,
        columns=("households",),
        coverage=True,
        tolerance_m=0.5,
        gcj02=basemap.gcj02,
    )
    m = maps.base_map(bounds, basemap=basemap)
    maps.add_polygons(m, outline, colour="#333333", weight=3, fill_opacity=0.0)
    maps.add_polygons(
        m,
        atoms_display,
        colour="#777777",
        weight=0.6,
        fill_opacity=0.03,
        tooltip={"households": _("households")},
    )
    if auth.allowed("draw"):
        maps.draw_control(m)
    preview = folium.FeatureGroup(name=_("Snapped parts"))
    if snapped is not None:
        digest = hashlib.sha1(json.dumps(drawing, sort_keys=True).encode()).hexdigest()[:12]
        parts_display = cache.display_copy(
            f"{token}:split:{cid}:{request}:snap:{digest}",
            snapped.parts,
            columns=("part", "households"),
            coverage=True,
            gcj02=basemap.gcj02,
        )
        maps.add_polygons(
            preview,
            parts_display,
            colour=lambda p: maps.PALETTE[(int(p["part"]) - 1) % len(maps.PALETTE)],
            fill_opacity=0.35,
            weight=2,
            tooltip={"part": _("part"), "households": _("households")},
        )
    if drawn is not None and len(drawn):
        shown = frame_to_gcj(drawn) if basemap.gcj02 else drawn
        maps.add_polygons(
            preview, shown[["geometry"]], colour="#000000", weight=2, fill_opacity=0.0, dash="6 4"
        )
    with st.container(key="draw_map"):
        maps.show(
            m,
            key=map_key,
            height=520,
            returned_objects=("all_drawings",),  # a selected shape (last_active_drawing) is read by nobody: no rerun
            feature_group=preview,
            on_change=_copy_drawing,
        )

    if snap_error is not None:
        show_error(snap_error)
    elif snapped is None:
        st.info(_("No boundary drawn yet: use the polygon tool at the top left of the map."))
    else:
        st.markdown("**" + _("Drawn split (snapped to blocks and compounds)") + "**")
        _part_figures(snapped, key="drawn_stats", drawing=True)
        if not snapped.contiguous:
            st.warning(
                _("A part is in several pieces. Draw the boundary again so each part is one piece.")
            )
        if (snapped.parts["households"] == 0).any():
            st.warning(_("A drawn part holds no households."))
        save_col, clear_col = st.columns(2)
        if save_col.button(
            _("Save the drawn split as a proposal"),
            type="primary",
            key="w_save_drawn",
            disabled=not auth.allowed("save"),
            help=auth.why_not("save"),
        ):
            _save_proposal(
                origin="drawn",
                parts=snapped.proposals(f"{cid}-D", rules=rules, lang=lang),
                lineage=snapped.lineage(result.atoms),
                label="D",
            )
        clear_col.button(
            _("Clear the drawing"),
            key="w_clear_drawing",
            disabled=not auth.allowed("draw"),
            on_click=ask,
            args=("clear", cid),
        )
        if asked("clear") == cid:  # asked until answered or closed
            confirm_dialog(
                "clear",
                Confirm(
                    title=_("Discard the drawing?"),
                    text=_(
                        "The boundary drawn on community {community} is thrown away. Save it "
                        "as a proposal first if you may want it again."
                    ).format(community=cid),
                    confirm=_("Discard"),
                ),
                lambda _comment, cid=cid: _clear_drawing(cid),
            )


def _clear_drawing(cid: str) -> None:
    """Throw away the boundary drawn by hand on ``cid`` (it is not saved anywhere)."""
    session.set_drawing([], community_id=cid)
    session.bump_draw_map()


_draw_section()
