"""What belongs to one browser session: language, base map, uploads, a drawing in progress.

Typed accessors over ``st.session_state``; every key of the session is named here. None
of this is part of the planner's project (that is :mod:`ui.project`, which the next
issue persists): it lasts as long as the browser tab, and a new project does not change
it, except that a drawing and the split shown are forgotten (:func:`forget_drawing`).
The sidebar widgets that set it are in :mod:`ui.widgets`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from gis.i18n import DEFAULT_LANGUAGE
from ui import auth
from ui.i18n import language

__all__ = [
    "BASEMAPS",
    "BASEMAP_KIND",
    "BASEMAP_TK",
    "BASEMAP_URL",
    "LANG_WIDGET",
    "Basemap",
    "basemap",
    "bump_draw_map",
    "clear_uploads",
    "draw_map_version",
    "drawing",
    "drawing_community",
    "forget_drawing",
    "init",
    "language",
    "reviewer",
    "session_dir",
    "set_drawing",
    "set_language",
    "set_reviewer",
    "set_split_request",
    "split_request",
    "upload_dir",
]

# -- session keys ----------------------------------------------------------------------
_LANG = "lang"  # read by ui.i18n.language (the translator of every page)
_UPLOAD_DIR = "upload_dir"
_SPLIT_REQUEST = "split_request"
_DRAWING = "drawing"
_DRAWING_COMMUNITY = "drawing_community"
_DRAW_MAP_VERSION = "draw_map_version"
_REVIEWER = "reviewer"
# -- widget keys owned by the entry point (kept across pages) --------------------------
BASEMAP_KIND = "basemap_kind"  # app data; the selectbox's key is per language (see basemap_picker)
BASEMAP_URL = "w_basemap_url"
BASEMAP_TK = "w_basemap_tk"
LANG_WIDGET = "w_lang"


def init() -> None:
    """Initialise this session's keys once: language, base map, drawing map, reviewer."""
    st.session_state.setdefault(_LANG, DEFAULT_LANGUAGE)
    st.session_state.setdefault(_DRAW_MAP_VERSION, 0)
    st.session_state.setdefault(_REVIEWER, "")
    st.session_state.setdefault(BASEMAP_KIND, "osm")
    st.session_state.setdefault(BASEMAP_URL, "")
    st.session_state.setdefault(BASEMAP_TK, "")


def set_language(lang: str) -> None:
    """Use ``lang`` from now on (the project's texts follow: :func:`ui.project.set_language`)."""
    st.session_state[_LANG] = lang


def session_dir(key: str, *, prefix: str) -> Path:
    """A temporary folder owned by this session, deleted when the session ends.

    The folder is a :class:`tempfile.TemporaryDirectory` kept in the session's state:
    when Streamlit drops a closed session, the object is collected and its finalizer
    removes the folder (and at the latest when the server stops).
    """
    held = st.session_state.get(key)
    if not isinstance(held, tempfile.TemporaryDirectory) or not Path(held.name).is_dir():
        held = tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True)
        st.session_state[key] = held
    return Path(held.name)


def upload_dir() -> Path:
    """This session's own temporary folder for uploaded files."""
    return session_dir(_UPLOAD_DIR, prefix="gridplan-upload-")


def clear_uploads(keep: Path | None = None) -> None:
    """Delete earlier uploads of this session (all but ``keep``)."""
    root = upload_dir()
    for child in root.iterdir():
        if keep is None or child != keep:
            shutil.rmtree(child, ignore_errors=True)


@dataclass(frozen=True)
class Basemap:
    """The base map: ``osm``, ``none`` (offline), ``custom`` (a tile URL), ``tianditu`` or
    ``tianditu_imagery`` (vector or imagery, with labels), ``amap`` or ``amap_satellite``."""

    kind: str = "osm"
    url: str = ""
    tk: str = ""

    @property
    def gcj02(self) -> bool:
        """Whether the tiles are in GCJ-02 (AMap), so display copies must be shifted."""
        return self.kind in {"amap", "amap_satellite"}

    @property
    def needs_key(self) -> bool:
        """Whether the tiles need a Tianditu key (tk)."""
        return self.kind in {"tianditu", "tianditu_imagery"}


BASEMAPS: tuple[str, ...] = (
    "osm",
    "none",
    "custom",
    "tianditu",
    "tianditu_imagery",
    "amap",
    "amap_satellite",
)


def basemap() -> Basemap:
    """The base map chosen in the sidebar."""
    return Basemap(
        kind=str(st.session_state.get(BASEMAP_KIND, "osm")),
        url=str(st.session_state.get(BASEMAP_URL, "") or "").strip(),
        tk=str(st.session_state.get(BASEMAP_TK, "") or "").strip(),
    )


def split_request() -> dict[str, Any] | None:
    """The last split the planner ran: ``community_id``, ``parts``, ``follow``."""
    return st.session_state.get(_SPLIT_REQUEST)


def set_split_request(request: dict[str, Any] | None) -> None:
    """Remember the split to show (``None`` to forget it)."""
    if request is None:
        st.session_state.pop(_SPLIT_REQUEST, None)
    else:
        st.session_state[_SPLIT_REQUEST] = dict(request)


def drawing() -> list[dict[str, Any]]:
    """The shapes drawn on the split map, as GeoJSON Features in WGS84 lon/lat."""
    return list(st.session_state.get(_DRAWING) or [])


def drawing_community() -> str | None:
    """The community the drawing divides."""
    return st.session_state.get(_DRAWING_COMMUNITY)


def set_drawing(features: list[dict[str, Any]] | None, community_id: str | None = None) -> None:
    """Keep drawn shapes (copied from ``st_folium``'s ``all_drawings``, or injected by a test)."""
    st.session_state[_DRAWING] = list(features or [])
    if community_id is not None:
        st.session_state[_DRAWING_COMMUNITY] = community_id


def draw_map_version() -> int:
    """Bumped to remount the drawing map (clearing what Leaflet still shows)."""
    return int(st.session_state.get(_DRAW_MAP_VERSION, 0))


def bump_draw_map() -> None:
    """Remount the drawing map on the next run."""
    st.session_state[_DRAW_MAP_VERSION] = draw_map_version() + 1


def forget_drawing() -> None:
    """Forget the split shown and the shapes drawn (another project was opened)."""
    for key in (_SPLIT_REQUEST, _DRAWING, _DRAWING_COMMUNITY):
        st.session_state.pop(key, None)


def reviewer() -> str:
    """The name the planner signs proposals and reviews with.

    The signed-in planner's when sign-in is on; otherwise the name typed on the Review page.
    """
    if auth.enabled():
        return auth.user().label
    return str(st.session_state.get(_REVIEWER, "") or "")


def set_reviewer(name: str) -> None:
    """Remember the reviewer's name (ignored when sign-in is on: the signed-in name is used)."""
    st.session_state[_REVIEWER] = name.strip()
