"""Typed accessors over ``st.session_state``; every key is named here.

App data (the project, the rules, proposals, the review trail, grids) lives under the
keys below, apart from widget keys, so it survives page switches (a widget on a page
loses its state when the page is left). Pages read and write it only through these
functions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from gis.users import GuardedStore, User
from gis.errors import GridplanError
from gis.i18n import DEFAULT_LANGUAGE, LANGUAGES
from gis.store import PlanStore
from planning.communities import Loaded
from planning.grids import GridResult
from planning.rules import RuleSet, get_preset
from ui import auth, cache
from ui.i18n import gettext as _

if TYPE_CHECKING:
    from gis.store.postgis import PostGISPlanStore

__all__ = [
    "BASEMAPS",
    "Basemap",
    "Proposal",
    "Source",
    "add_proposal",
    "audit",
    "basemap",
    "basemap_picker",
    "bump_draw_map",
    "comparison",
    "draw_map_version",
    "drawing",
    "drawing_community",
    "grids",
    "init",
    "language",
    "language_picker",
    "load_error",
    "loaded",
    "loaded_source",
    "plan_store",
    "proposal",
    "proposals",
    "record",
    "reviewer",
    "rules",
    "set_comparison",
    "set_drawing",
    "set_grids",
    "set_reviewer",
    "set_rules",
    "set_source",
    "set_split_request",
    "set_status",
    "source",
    "source_label",
    "split_request",
    "status_of",
    "token",
    "trail",
    "upload_dir",
]

# -- app data keys ---------------------------------------------------------------------
_LANG = "lang"
_RULES = "rules"
_LOADED = "loaded"
_SOURCE = "source"
_LOADED_SOURCE = "loaded_source"
_LOAD_ERROR = "load_error"
_UPLOAD_DIR = "upload_dir"
_SPLIT_REQUEST = "split_request"
_DRAWING = "drawing"
_DRAWING_COMMUNITY = "drawing_community"
_DRAW_MAP_VERSION = "draw_map_version"
_PROPOSALS = "proposals"
_STORE_PATH = "plan_store_path"
_COMPARISON = "comparison"
_REVIEWER = "reviewer"
_GRIDS = "grids"
_GRIDS_SCOPE = "grids_scope"
# -- widget keys owned by the entry point (kept across pages) --------------------------
BASEMAP_KIND = "basemap_kind"  # app data; the selectbox's key is per language (see basemap_picker)
BASEMAP_URL = "w_basemap_url"
BASEMAP_TK = "w_basemap_tk"
LANG_WIDGET = "w_lang"

TRAIL_COLUMNS = ["proposal_id", "status", "by", "at", "comment"]


# --------------------------------------------------------------------------------------
# where the project comes from
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """Where the session's project comes from: a bundled sample or the planner's upload.

    ``overrides`` is the hand-chosen field mapping, ``{layer: {original: contract}}``,
    kept as sorted tuples so a Source can be hashed and compared.
    """

    kind: str = "sample"
    name: str = "beijing"
    path: str = ""
    digest: str = ""
    overrides: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    @property
    def token(self) -> str:
        """A short key for caches: the same files and mapping give the same token."""
        raw = json.dumps([self.kind, self.name, self.digest, self.overrides], ensure_ascii=False)
        return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:16]

    def overrides_dict(self) -> dict[str, dict[str, str]]:
        """The field mapping chosen by hand, as ``read_project`` takes it."""
        return {layer: dict(pairs) for layer, pairs in self.overrides}

    def with_overrides(self, overrides: dict[str, dict[str, str]]) -> Source:
        """Return a copy with a new hand-chosen field mapping."""
        frozen = tuple(
            sorted(
                (layer, tuple(sorted(pairs.items()))) for layer, pairs in overrides.items() if pairs
            )
        )
        return replace(self, overrides=frozen)

    @property
    def is_sample(self) -> bool:
        """Whether this is a bundled sample."""
        return self.kind == "sample"


def _load(src: Source, rules_: RuleSet, lang: str) -> Loaded:
    if src.is_sample:
        return cache.load_sample(src.name, rules_, lang)
    return cache.load_upload(src.path, src.token, src.overrides, rules_, lang)


def _reset_derived() -> None:
    """Forget what was computed on the previous project."""
    for key in (_SPLIT_REQUEST, _DRAWING, _DRAWING_COMMUNITY, _GRIDS, _GRIDS_SCOPE, _COMPARISON):
        st.session_state.pop(key, None)
    st.session_state[_PROPOSALS] = []
    st.session_state.pop(_STORE_PATH, None)  # a new project, a new plan store


def init() -> None:
    """Initialise this session's keys once: language, rules and the bundled sample."""
    st.session_state.setdefault(_LANG, DEFAULT_LANGUAGE)
    st.session_state.setdefault(_RULES, get_preset("default"))
    st.session_state.setdefault(_PROPOSALS, [])
    st.session_state.setdefault(_DRAW_MAP_VERSION, 0)
    st.session_state.setdefault(_REVIEWER, "")
    st.session_state.setdefault(BASEMAP_KIND, "osm")
    st.session_state.setdefault(BASEMAP_URL, "")
    st.session_state.setdefault(BASEMAP_TK, "")
    if _LOADED not in st.session_state:
        src = Source()
        st.session_state[_SOURCE] = src
        st.session_state[_LOADED] = _load(src, rules(), language())
        st.session_state[_LOADED_SOURCE] = src
        st.session_state[_LOAD_ERROR] = None


def language() -> str:
    """The session's language."""
    return str(st.session_state[_LANG])


def rules() -> RuleSet:
    """The rule set in use in this session."""
    return st.session_state[_RULES]


def loaded() -> Loaded:
    """The project in use in this session (the last one that loaded without errors)."""
    return st.session_state[_LOADED]


def source() -> Source:
    """Where the planner last asked the project to come from (it may have failed to load)."""
    return st.session_state[_SOURCE]


def token() -> str:
    """A cache key for the project in use and the rules it was prepared with."""
    raw = json.dumps([_loaded_source().token, rules().values()], sort_keys=True, default=str)
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def load_error() -> GridplanError | None:
    """Why the last source or rule change did not load (``None`` when it did)."""
    return st.session_state.get(_LOAD_ERROR)


def _reload(src: Source, rules_: RuleSet, lang: str) -> GridplanError | None:
    try:
        result = _load(src, rules_, lang)
    except GridplanError as err:
        st.session_state[_LOAD_ERROR] = err
        return err
    project_changed = src.token != _loaded_source().token
    st.session_state[_LOADED] = result
    st.session_state[_LOADED_SOURCE] = src
    st.session_state[_LOAD_ERROR] = None
    if project_changed:
        _reset_derived()
    return None


def set_source(src: Source) -> GridplanError | None:
    """Switch to another project; on failure keep the current one and return the error."""
    st.session_state[_SOURCE] = src
    return _reload(src, rules(), language())


def set_rules(new: RuleSet) -> GridplanError | None:
    """Plan with other rules; on failure keep the current ones and return the error."""
    if new == rules():
        return None
    err = _reload(_loaded_source(), new, language())
    if err is None:
        st.session_state[_RULES] = new
        st.session_state.pop(_GRIDS, None)  # grids depend on the band
        st.session_state.pop(_GRIDS_SCOPE, None)
    return err


def _loaded_source() -> Source:
    """Where the project in use came from (the last source that loaded)."""
    return st.session_state.get(_LOADED_SOURCE) or Source()


def loaded_source() -> Source:
    """Where the project in use came from."""
    return _loaded_source()


def source_label() -> str:
    """A short name for the project in use: the sample's name or the uploaded file's."""
    src = _loaded_source()
    if src.is_sample:
        return _("sample {name}").format(name=src.name)
    return Path(src.path).name or src.path


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


# --------------------------------------------------------------------------------------
# sidebar: language and base map
# --------------------------------------------------------------------------------------
def language_picker() -> None:
    """A sidebar language switch (zh-CN / English); the project's texts follow it."""
    labels = {"zh_CN": "中文", "en": "English"}
    current = language()
    choice = st.sidebar.radio(
        _("Language"),
        LANGUAGES,
        index=LANGUAGES.index(current),
        format_func=labels.__getitem__,
        horizontal=True,
    )
    if choice != current:
        st.session_state[_LANG] = choice
        err = _reload(_loaded_source(), rules(), choice)
        if err is None:
            st.session_state[_LOAD_ERROR] = None
        st.rerun()


@dataclass(frozen=True)
class Basemap:
    """The base map: ``osm``, ``none`` (offline), ``custom`` (a tile URL), ``tianditu`` or ``amap``."""

    kind: str = "osm"
    url: str = ""
    tk: str = ""

    @property
    def gcj02(self) -> bool:
        """Whether the tiles are in GCJ-02 (AMap), so display copies must be shifted."""
        return self.kind == "amap"


BASEMAPS: tuple[str, ...] = ("osm", "none", "custom", "tianditu", "amap")


def basemap() -> Basemap:
    """The base map chosen in the sidebar."""
    return Basemap(
        kind=str(st.session_state.get(BASEMAP_KIND, "osm")),
        url=str(st.session_state.get(BASEMAP_URL, "") or "").strip(),
        tk=str(st.session_state.get(BASEMAP_TK, "") or "").strip(),
    )


def basemap_picker() -> None:
    """A sidebar choice of base map, with the custom URL or Tianditu key when needed."""
    labels = {
        "osm": _("OpenStreetMap"),
        "none": _("None (offline)"),
        "custom": _("Custom tile URL"),
        "tianditu": _("Tianditu (needs a key)"),
        "amap": _("AMap (GCJ-02)"),
    }
    # The widget's key names the language: a selectbox keyed alone keeps showing the labels
    # of the language it was created in. Its value is copied to the app's own key.
    widget = f"w_basemap_kind_{language()}"
    current = str(st.session_state.get(BASEMAP_KIND, "osm"))

    def _copy() -> None:
        st.session_state[BASEMAP_KIND] = st.session_state[widget]

    kind = st.sidebar.selectbox(
        _("Base map"),
        BASEMAPS,
        index=BASEMAPS.index(current) if current in BASEMAPS else 0,
        format_func=labels.__getitem__,
        key=widget,
        on_change=_copy,
    )
    st.session_state[BASEMAP_KIND] = kind
    if kind == "custom":
        st.sidebar.text_input(
            _("Tile URL"),
            key=BASEMAP_URL,
            placeholder="https://tiles.example.gov.cn/{z}/{x}/{y}.png",
            help=_(
                "An XYZ tile address with {z}, {x} and {y}, e.g. your province's Tianditu node."
            ),
        )
    elif kind == "tianditu":
        st.sidebar.text_input(
            _("Tianditu key (tk)"),
            key=BASEMAP_TK,
            type="password",
            help=_(
                "A browser-type key from the Tianditu console; it is visible to the browser, so restrict it to this site."
            ),
        )
    elif kind == "amap":
        st.sidebar.caption(
            _(
                "AMap tiles are in GCJ-02: the layers are shifted to match them, and drawings are shifted back."
            )
        )


# --------------------------------------------------------------------------------------
# the split page: the request, the drawing
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# proposals and their review (kept in a per-session plan store, gis.store.PlanStore)
# --------------------------------------------------------------------------------------
REVIEW_ACTIONS: dict[str, str] = {
    "accepted": "accepted",
    "rejected": "rejected",
    "returned": "draft",
}
"""Review actions → plan-store statuses; a proposal sent back goes back to ``draft``."""


@dataclass
class Proposal:
    """A saved way to divide a community: the engine's alternative or a hand-drawn one.

    Its layers are also a version of this session's plan store (``version``), where the
    review trail is kept.
    """

    proposal_id: str
    community_id: str
    origin: str  # "engine" or "drawn"
    parts: gpd.GeoDataFrame = field(repr=False)  # proposals layer, EPSG:4490
    lineage: pd.DataFrame = field(repr=False)
    version: int = 0
    created_at: str = ""
    created_by: str = ""


def plan_store() -> PlanStore | PostGISPlanStore:
    """The plan store: the team's PostGIS database when one is configured, else this session's.

    The database URL comes from the ``GRIDPLAN_DB`` environment variable or from
    ``[gridplan] db = "postgresql://…"`` in Streamlit's ``secrets.toml``; the plan is
    ``st.session_state["plan_id"]`` (``"app"`` by default). Without a URL the store is a
    GeoPackage in the session's temporary folder.
    """
    url = os.environ.get("GRIDPLAN_DB", "").strip()
    if not url:
        try:
            url = str(st.secrets["gridplan"]["db"]).strip()
        except (KeyError, TypeError, FileNotFoundError):  # no secrets file, section or key
            url = ""
    if url:
        return _database_store(url, str(st.session_state.get("plan_id", "app")))
    return PlanStore(session_dir(_STORE_PATH, prefix="gridplan-plan-") / "proposals.gpkg")


@st.cache_resource(show_spinner=False)
def _database_store(url: str, plan_id: str) -> PlanStore | PostGISPlanStore:
    """One store object per database plan for the whole server: opening one checks PostGIS
    and the tables, which need not happen on every rerun. (The store keeps no session
    state; each call opens its own connection.)"""
    from gis.store import open_store

    return open_store(url, plan_id=plan_id)


def proposals() -> list[Proposal]:
    """Saved proposals, oldest first."""
    return list(st.session_state.get(_PROPOSALS, []))


def proposal(proposal_id: str) -> Proposal | None:
    """One saved proposal by id."""
    return next((p for p in proposals() if p.proposal_id == proposal_id), None)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def add_proposal(
    *, community_id: str, origin: str, parts: gpd.GeoDataFrame, lineage: pd.DataFrame, label: str
) -> Proposal:
    """Save a proposal as a new ``proposed`` plan-store version.

    Its id is ``<community>-R<rank>`` for the engine's alternatives (``-2``… when saved
    again) and ``<community>-D<n>`` for drawn ones.

    Raises
    ------
    GridplanError
        If the plan store cannot save it; :class:`gis.users.PermissionDenied` if the
        planner's role may not save (the attempt is recorded in the store's audit).
    """
    existing = proposals()
    taken = {p.proposal_id for p in existing}
    number = 1
    pid = f"{community_id}-{label}1" if label == "D" else f"{community_id}-{label}"
    while pid in taken:
        number += 1
        pid = (
            f"{community_id}-{label}{number}"
            if label == "D"
            else f"{community_id}-{label}-{number}"
        )
    parts = parts.copy()
    parts["proposal_id"] = pid
    lineage = lineage.copy()
    author = reviewer() or _("planner")
    with GuardedStore(plan_store(), auth.user(), author=author) as store:
        version = store.save(
            {"proposals": parts, "lineage": lineage},
            status="proposed",
            note=pid,
            rules=rules(),
        )
    prop = Proposal(pid, community_id, origin, parts, lineage, version, _now(), author)
    st.session_state[_PROPOSALS] = [*existing, prop]
    return prop


def set_status(proposal_id: str, action: str, *, comment: str = "") -> None:
    """Record a review (``accepted``, ``rejected`` or ``returned``) of a proposal in the plan store.

    Raises :class:`gis.users.PermissionDenied` (recorded in the audit) unless the planner
    may review.
    """
    prop = proposal(proposal_id)
    if prop is None:
        return
    with GuardedStore(plan_store(), auth.user(), author=reviewer() or _("planner")) as store:
        store.set_status(prop.version, REVIEW_ACTIONS[action], comment=comment)


def trail() -> pd.DataFrame:
    """The review trail: which status who set on which proposal, when, with what comment."""
    by_version = {p.version: p.proposal_id for p in proposals()}
    if not by_version:
        return pd.DataFrame(columns=TRAIL_COLUMNS)
    with plan_store() as store:
        reviews = store.reviews()
    reviews = reviews[reviews["version"].astype(int).isin(by_version)]
    out = pd.DataFrame(
        {
            "proposal_id": reviews["version"].astype(int).map(by_version).to_numpy(),
            "status": reviews["status"].to_numpy(),
            "by": reviews["author"].to_numpy(),
            "at": reviews["at"].to_numpy(),
            "comment": reviews["comment"].to_numpy(),
        },
        columns=TRAIL_COLUMNS,
    )
    # The save's own row carries the proposal id as its note; it says nothing more.
    out.loc[out["comment"] == out["proposal_id"], "comment"] = ""
    return out.reset_index(drop=True)


def status_of(proposal_id: str) -> str:
    """A proposal's latest status (``proposed``, ``accepted``, ``rejected`` or ``draft`` = sent back)."""
    t = trail()
    rows = t[t["proposal_id"] == proposal_id]
    return str(rows["status"].iloc[-1]) if len(rows) else "proposed"


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


def audit() -> pd.DataFrame:
    """The plan store's audit, newest first: who did or tried what, when, and whether allowed."""
    with plan_store() as store:
        if not callable(getattr(store, "audit", None)):
            return pd.DataFrame(columns=["at", "user", "role", "action", "target", "allowed"])
        frame = store.audit()
    columns = ["at", "user", "role", "action", "target", "allowed", "detail"]
    return frame[[c for c in columns if c in frame]].iloc[::-1].reset_index(drop=True)


def record(
    action: str, user: User, *, allowed: bool = True, target: str = "", detail: str = ""
) -> None:
    """Append an attempt (allowed or refused) to the plan store's audit."""
    with plan_store() as store:
        if callable(getattr(store, "record", None)):
            store.record(
                action,
                user=user.name,
                role=user.role,
                allowed=allowed,
                target=target,
                detail=detail,
            )


# --------------------------------------------------------------------------------------
# grids
# --------------------------------------------------------------------------------------
def grids() -> tuple[GridResult | None, tuple[str, ...] | None]:
    """The last grids generated and the communities they cover (``None`` = all)."""
    return st.session_state.get(_GRIDS), st.session_state.get(_GRIDS_SCOPE)


def set_grids(result: GridResult | None, scope: tuple[str, ...] | None) -> None:
    """Keep generated grids."""
    st.session_state[_GRIDS] = result
    st.session_state[_GRIDS_SCOPE] = scope


# --------------------------------------------------------------------------------------
# the last comparison (for the exports)
# --------------------------------------------------------------------------------------
def comparison() -> dict[str, pd.DataFrame]:
    """The last before/after tables shown on the Compare page (empty until it is opened)."""
    return dict(st.session_state.get(_COMPARISON) or {})


def set_comparison(**tables: pd.DataFrame) -> None:
    """Keep the before/after tables for the exports."""
    st.session_state[_COMPARISON] = dict(tables)
