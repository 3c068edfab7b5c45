"""What belongs to the planner's project: layers, rules, proposals, grids, reviews, the plan store.

Typed accessors over ``st.session_state``; every key of the project is named here, apart
from widget keys, so it survives page switches (a widget on a page loses its state when
the page is left). Pages read and write the project only through these functions. The
next issue persists this state; what lasts only as long as the browser tab (language,
base map, a drawing in progress) is in :mod:`ui.session`.

Actions on the project are checked and audited by :func:`require` (the role rules are in
:mod:`gis.users`, the signed-in planner in :mod:`ui.auth`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import streamlit as st

from gis.errors import GridplanError
from gis.i18n import N_
from gis.store import PlanStore
from gis.store.workspace import SAMPLE_PREFIX
from gis.users import GuardedStore, PermissionDenied, User, authorize
from planning.communities import Loaded
from planning.grids import GridResult
from planning.projects import project_rules
from planning.rules import RuleSet, get_preset
from ui import auth, cache, session
from ui.i18n import gettext as _
from ui.session import language, reviewer, session_dir

if TYPE_CHECKING:
    from gis.store.postgis import PostGISPlanStore
    from gis.store.workspace import Project as WorkProject
    from gis.store.workspace import Workspace


__all__ = [
    "PROJECT_PARAM",
    "REVIEW_ACTIONS",
    "SAMPLE_TITLES",
    "TRAIL_COLUMNS",
    "Proposal",
    "Source",
    "add_proposal",
    "audit",
    "close_project",
    "communities",
    "comparison",
    "current",
    "display_name",
    "grids",
    "init",
    "is_pending",
    "open_project",
    "project_name",
    "saved_label",
    "workspace",
    "load_error",
    "loaded",
    "loaded_source",
    "plan_store",
    "proposal",
    "proposals",
    "reading_note",
    "record",
    "remap",
    "require",
    "restore",
    "rules",
    "set_comparison",
    "set_grids",
    "set_language",
    "set_rules",
    "set_source",
    "set_status",
    "show_grids",
    "source",
    "source_label",
    "status_of",
    "token",
    "trail",
    "unloaded",
]

# -- project keys ----------------------------------------------------------------------
_RULES = "rules"
_LOADED = "loaded"
_SOURCE = "source"
_LOADED_SOURCE = "loaded_source"
_LOAD_ERROR = "load_error"
_PROPOSALS = "proposals"
_STORE_PATH = "plan_store_path"
_COMPARISON = "comparison"
_GRIDS = "grids"
_GRIDS_SCOPE = "grids_scope"
_GRIDS_HELD = "grids_held"  # ((project, version holding the grids), result, scope) last read or saved
_GRIDS_SHOWN = "grids_shown"  # (project, result, scope): grids edited here, their save under way
_PROJECT = "project_name"  # the project open in this tab (its work lives in the project)
_SAVED = "project_saved"  # (version, HH:MM) of this tab's last save
_SEEN = "project_seen"  # the project's latest version when this run began (what it shows)
_BASE = "project_base"  # the version the previous run showed: this run's saves start from it
_HELD = "project_held"  # (project, version holding its data, its stamp) of the data loaded
_PENDING = "loaded_pending"  # a project opened but not loaded yet (loaded() loads it)
_UNLOADED = "project_unloaded"  # the open project that failed to load: (name, error)
PROJECT_PARAM = "project"
"""The URL parameter that opens a project directly: ``?project=NAME``."""

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


def _held(name: str) -> tuple[str, int, str]:
    """Which data project ``name`` holds: its name, the version holding its buildings'
    rows and when that version was saved (with the workspace, a key no other project,
    nor a later one of the same name, shares)."""
    with _workspace().open(name) as proj:
        return _held_in(proj)


def _held_in(proj: WorkProject) -> tuple[str, int, str]:
    """:func:`_held` of an open project."""
    info = proj.info()
    held = int(info["layers"].get("buildings", {}).get("same_as", info["version"]) or 0)
    saved = info if held == int(info["version"]) else proj.info(held)
    return proj.name, held, f"{_workspace()!r} {saved['created_at']}"


def _load(src: Source, rules_: RuleSet, lang: str) -> Loaded:
    if src.kind == "project":
        held = _held(src.name)
        loaded_ = cache.load_project(*held, rules_, lang, _workspace=_workspace())
        st.session_state[_HELD] = held
        return loaded_
    if src.is_sample:
        return cache.load_sample(src.name, rules_, lang)
    return cache.load_upload(src.path, src.token, src.overrides, rules_, lang)


def _reset_derived() -> None:
    """Forget what was computed on the previous project."""
    for key in (_GRIDS, _GRIDS_SCOPE, _GRIDS_HELD, _GRIDS_SHOWN, _COMPARISON):
        st.session_state.pop(key, None)
    session.forget_drawing()
    st.session_state[_PROPOSALS] = []
    st.session_state.pop(_STORE_PATH, None)  # a new project, a new plan store


def init() -> None:
    """Initialise the session's keys once (:func:`ui.session.init`), the rules and the sample."""
    session.init()
    st.session_state.setdefault(_RULES, get_preset("default"))
    st.session_state.setdefault(_PROPOSALS, [])
    wanted = st.query_params.get(PROJECT_PARAM)  # ?project=NAME: a shared link opens it
    opened: GridplanError | None = None
    if wanted and wanted != st.session_state.get(_PROJECT):
        # the project alone is loaded (not the sample first): a city opens once
        opened = open_project(str(wanted))
        st.session_state[_LOAD_ERROR] = opened
    if _LOADED not in st.session_state and _PENDING not in st.session_state:
        src = Source()
        st.session_state[_SOURCE] = src
        st.session_state[_LOADED] = _load(src, rules(), language())
        st.session_state[_LOADED_SOURCE] = src
        st.session_state[_LOAD_ERROR] = opened
    _follow_project()


def _follow_project() -> None:
    """Note the version this run shows, and follow the team's saves since the last run.

    The saves of this run start from the version the previous run showed (``_BASE``), so
    a save made from an outdated page is refused (:class:`gis.errors.PlanConflictError`)
    rather than laid over a teammate's work. When someone else saved meanwhile, their
    rules and data are taken up (proposals, grids and reviews are read afresh anyway).
    """
    name = project_name()
    if name is None:
        return
    try:
        with _workspace().open(name) as proj:
            latest = proj.latest_version()
            stored = project_rules(proj) if latest != st.session_state.get(_SEEN) else None
    except GridplanError:  # archived or renamed meanwhile: the page says so when it saves
        return
    st.session_state[_BASE] = st.session_state.get(_SEEN, latest)
    st.session_state[_SEEN] = latest
    if stored is None or _loaded_source().kind != "project":
        return
    if is_pending():  # not loaded yet: it will load with the rules in force then
        st.session_state[_RULES] = stored
        return
    if stored != rules():
        if _reload(_loaded_source(), stored, language()) is None:
            st.session_state[_RULES] = stored
    elif st.session_state.get(_HELD) != _held(name):
        _reload(_loaded_source(), rules(), language())  # a teammate saved new data


def rules() -> RuleSet:
    """The rule set in use in this session."""
    return st.session_state[_RULES]


def loaded(*, fallback: bool = False) -> Loaded:
    """The project in use in this session (the last one that loaded without errors).

    A project just opened is loaded here, when a page first needs its buildings (a whole
    city is not prepared to show its list of communities, see :func:`communities`). If it
    cannot be, the error is kept (:func:`load_error`, :func:`unloaded`) and the page stops
    with a message saying so: the data still in memory (the bundled sample, or the project
    open before) are not this project's, and are not shown as if they were.

    Parameters
    ----------
    fallback
        Return the data still in memory even when the open project failed to load (the
        Data page, which shows the error and the means to fix it).
    """
    pending = st.session_state.get(_PENDING)
    if pending is not None:
        err = _reload(pending, rules(), language())
        st.session_state.pop(_PENDING, None)
        if err is not None:
            st.session_state[_UNLOADED] = (pending.name, err)
            if _LOADED not in st.session_state:
                sample = Source()
                st.session_state[_LOADED] = _load(sample, rules(), language())
                st.session_state[_LOADED_SOURCE] = sample
                st.session_state[_LOAD_ERROR] = err
    failed = unloaded()
    if failed is not None and not fallback:
        name, err = failed
        st.error(
            _(
                "Project {name} could not be prepared: {error} Its figures are not shown, "
                "because those on screen would be another project's. Fix its data on the Data "
                "page, or open another project on the Projects page."
            ).format(name=name, error=err.render(language()))
        )
        st.stop()
    return st.session_state[_LOADED]


def unloaded() -> tuple[str, GridplanError] | None:
    """The open project and why it failed to load, while it has not loaded since."""
    failed = st.session_state.get(_UNLOADED)
    if failed is None or failed[0] != project_name():
        return None
    return failed


def is_pending() -> bool:
    """Whether the open project's data are not loaded yet (see :func:`loaded`)."""
    return _PENDING in st.session_state


def communities() -> pd.DataFrame:
    """Every community with its totals and status under the rules in force.

    For a project not loaded yet, read from its community table without a building
    (:func:`planning.projects.community_table`), so a whole city's list shows at once.
    """
    pending = st.session_state.get(_PENDING)
    if pending is None:
        return loaded().communities
    return cache.community_table(*_held(pending.name), rules(), language(), _workspace=_workspace())


def source() -> Source:
    """Where the planner last asked the project to come from (it may have failed to load)."""
    return st.session_state[_SOURCE]


def token() -> str:
    """A cache key for the project in use and the rules it was prepared with."""
    # a project's token follows its data version too: new data saved into it (an upload,
    # a mapping) are not drawn from the maps and tables kept for the old data
    held = st.session_state.get(_HELD) if _loaded_source().kind == "project" else None
    raw = json.dumps(
        [_loaded_source().token, rules().values(), held], sort_keys=True, default=str
    )
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
    st.session_state.pop(_PENDING, None)
    failed = st.session_state.get(_UNLOADED)
    if failed is not None and src.kind == "project" and src.name == failed[0]:
        st.session_state.pop(_UNLOADED)  # it loads now (another source loading does not count)
    if project_changed:
        _reset_derived()
    return None


def set_source(src: Source) -> GridplanError | None:
    """Switch to other data; on failure keep the current data and return the error.

    With a project open, data that load (an upload, read again with other options or
    another field mapping, or a bundled sample) are saved into the project at once as a
    new version (``data``) and the project goes on with them.
    """
    st.session_state[_SOURCE] = src
    name = project_name()
    if name is None or src.kind == "project":
        return _reload(src, rules(), language())
    try:
        prepared = _load(src, rules(), language())
    except GridplanError as err:
        st.session_state[_LOAD_ERROR] = err
        return err
    from planning.projects import save_data

    proj = current()
    assert proj is not None
    what = src.name if src.kind != "sample" else f"sample {src.name}"
    if reading_note(src):
        what = f"{what} ({reading_note(src)})"
    try:
        version = save_data(
            proj,
            prepared,
            author=reviewer() or auth.user().label,
            note=what,
            base_version=_base(),
            rules=rules(),
        )
    except GridplanError as err:
        st.session_state[_LOAD_ERROR] = err
        return err
    _saved(version)
    back = Source(kind="project", name=name)
    st.session_state[_SOURCE] = back
    return _reload(back, rules(), language())


_ROLE_WORDS = {"": N_("left out"), "roster": N_("roster (花名册)")}


def reading_note(src: Source) -> str:
    """The reading choices made on the Data page, for the project's history ("" when none)."""
    args = cache.read_arguments(src.overrides)
    parts = []
    if args["crs"]:
        parts.append(_("coordinates: {crs}").format(crs=args["crs"]))
    if args["encoding"]:
        parts.append(_("encoding: {encoding}").format(encoding=args["encoding"]))
    for where, role in (args["roles"] or {}).items():
        word = _(_ROLE_WORDS[role]) if role in _ROLE_WORDS else role
        parts.append(_("{layer} read as {role}").format(layer=where, role=word))
    if args["sheet"] or args["header_line"]:
        parts.append(
            _("roster: sheet {sheet}, header line {line}").format(
                sheet=args["sheet"] or "—", line=args["header_line"] or "—"
            )
        )
    if any(args["overrides"].values()):
        parts.append(_("field mapping chosen by hand"))
    return "; ".join(parts)


def set_rules(new: RuleSet, *, note: str = "") -> GridplanError | None:
    """Plan with other rules; on failure keep the current ones and return the error.

    With a project open the rules are saved into it at once as a new version (``rules``,
    ``note`` saying what changed), so it opens with them tomorrow.
    """
    if new == rules():
        return None
    old = rules()
    err = _reload(_loaded_source(), new, language())
    if err is not None:
        return err
    if current() is not None:
        try:
            _project_save({}, action="rules", note=note or new.name, rule_set=new)
        except GridplanError as failed:
            _reload(_loaded_source(), old, language())
            return failed
    st.session_state[_RULES] = new
    st.session_state.pop(_GRIDS, None)  # grids depend on the band
    st.session_state.pop(_GRIDS_SCOPE, None)
    return None


def remap(layer: str, chosen: dict[str, str]) -> GridplanError | None:
    """Map fields of the open project's layer again (``{original column: field}``) and save
    it as a new version (``mapping``); on failure nothing is saved and the error returned."""
    from planning.projects import remap_data

    proj = current()
    if proj is None:
        return None
    try:
        version = remap_data(
            proj,
            {layer: chosen},
            rules=rules(),
            lang=language(),
            author=reviewer() or auth.user().label,
            base_version=_base(),
        )
    except GridplanError as err:
        return err
    _saved(version)
    return _reload(Source(kind="project", name=proj.name), rules(), language())


def _loaded_source() -> Source:
    """Where the project in use came from (the last source that loaded)."""
    return st.session_state.get(_LOADED_SOURCE) or Source()


def loaded_source() -> Source:
    """Where the project in use came from."""
    return _loaded_source()


#: The bundled samples' titles (gettext msgids), by sample name.
SAMPLE_TITLES: dict[str, str] = {
    "beijing_district": N_("Beijing district (illustrative)"),
    "beijing": N_("Beijing, OpenStreetMap as is"),
    "shanghai": N_("Shanghai, Lujiazui"),
}


def display_name(name: str | None) -> str:
    """A project's name as the planner reads it: a bundled sample (``sample:beijing``) by
    its title in the session's language, any other project by its own name."""
    if name is None:
        return ""
    if str(name).startswith(SAMPLE_PREFIX):
        sample = str(name)[len(SAMPLE_PREFIX) :]
        return _(SAMPLE_TITLES[sample]) if sample in SAMPLE_TITLES else sample
    return str(name)


def source_label() -> str:
    """A short name for the project in use: the sample's name or the uploaded file's."""
    src = _loaded_source()
    if src.kind == "project":
        return display_name(src.name)
    if src.is_sample:
        if src.name in SAMPLE_TITLES:  # the sample's title, as on the Projects page
            return _(SAMPLE_TITLES[src.name])
        return _("sample {name}").format(name=src.name)
    return Path(src.path).name or src.path


def set_language(lang: str) -> None:
    """Switch the session to ``lang`` and prepare the project's texts in it."""
    session.set_language(lang)
    err = _reload(_loaded_source(), rules(), lang)
    if err is None:
        st.session_state[_LOAD_ERROR] = None


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
    name = project_name()
    if name is not None:
        return _workspace().open(name).store
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
    """Saved proposals, oldest first (with a project open: every proposal of the project)."""
    proj = current()
    if proj is not None:
        return _project_proposals(proj)
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
    author = reviewer() or "planner"  # stored as the local user; shown by ui.widgets.author_label
    proj = current()
    if proj is not None:  # the project keeps every proposal; this version adds one
        kept = proj.load(layers=["proposals", "lineage"])
        old_parts, old_lineage = kept.get("proposals"), kept.get("lineage")
        tagged = lineage.assign(proposal_id=pid)
        all_parts = parts if old_parts is None else pd.concat([old_parts, parts], ignore_index=True)
        all_lineage = (
            tagged
            if old_lineage is None or "proposal_id" not in old_lineage
            else pd.concat([old_lineage, tagged], ignore_index=True)
        )
        version = _project_save(
            {
                "proposals": gpd.GeoDataFrame(all_parts, geometry="geometry", crs=parts.crs),
                "lineage": all_lineage,
            },
            action="proposal",
            note=pid,
            status="proposed",
        )
        return Proposal(pid, community_id, origin, parts, lineage, version, _now(), author)
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
    proj = current()
    if proj is not None:
        proj.review(
            prop.version,
            REVIEW_ACTIONS[action],
            author=reviewer() or auth.user().label,
            comment=comment,
        )
        return
    with GuardedStore(plan_store(), auth.user(), author=reviewer() or "planner") as store:
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


def require(action: str, *, target: str = "", detail: str = "") -> User:
    """Check ``action`` before doing it and record the attempt in the plan store's audit.

    A refused action shows the planner why (``st.error``) and stops the page.
    """
    who = auth.user()
    try:
        authorize(who, action)
    except PermissionDenied as err:
        record(action, who, allowed=False, target=target, detail=detail)
        st.error(err.render(language()))
        st.stop()
    record(action, who, allowed=True, target=target, detail=detail)
    return who


# --------------------------------------------------------------------------------------
# grids
# --------------------------------------------------------------------------------------
def grids() -> tuple[GridResult | None, tuple[str, ...] | None]:
    """The last grids generated and the communities they cover (``None`` = all).

    With a project open: the project's latest grids, whoever generated them.
    """
    proj = current()
    if proj is not None and proj.read_only and st.session_state.get(_GRIDS) is not None:
        return st.session_state[_GRIDS], st.session_state.get(_GRIDS_SCOPE)  # a sample's, unsaved
    if proj is not None:
        shown = st.session_state.get(_GRIDS_SHOWN)
        if shown is not None and shown[0] == proj.name:
            return shown[1], shown[2]  # edited here: shown before their save is done
        if proj.version is None:
            return None, None
        info = proj.info()
        names = info["layers"]
        if "grids" not in names:
            return None, None
        # the grids are read once per version holding them (a save of other layers, a
        # proposal, keeps them), and an edit made here hands its grids over (set_grids)
        held = (proj.name, int(names["grids"].get("same_as") or info["version"]))
        kept = st.session_state.get(_GRIDS_HELD)
        if kept is not None and kept[0] == held:
            return kept[1], kept[2]
        wanted = [n for n in ("grids", "grid_members", "patches") if n in names]
        layers = proj.load(layers=wanted)
        patches = layers.get("patches")
        result = GridResult(
            grids=layers["grids"],
            grid_members=layers.get("grid_members", pd.DataFrame()),
            patches=patches if patches is not None else gpd.GeoDataFrame(geometry=[], crs=4490),
        )
        scope = tuple(sorted(set(layers["grids"]["community_id"].astype(str))))
        everything = set(loaded().communities["community_id"].astype(str))
        covered = None if set(scope) >= everything else scope
        st.session_state[_GRIDS_HELD] = (held, result, covered)
        return result, covered
    return st.session_state.get(_GRIDS), st.session_state.get(_GRIDS_SCOPE)


def set_grids(
    result: GridResult | None,
    scope: tuple[str, ...] | None,
    *,
    action: str = "grids",
    note: str | None = None,
) -> None:
    """Keep generated (``action="grids"``), hand-edited (``"edit"``) or staffed
    (``"assign"``: names, workers, phones) grids; with a project open they are saved as a
    new version at once.

    Raises
    ------
    GridplanError
        When the project cannot take the save (a teammate saved first:
        :class:`gis.errors.PlanConflictError`; read-only; no right to save). Grids
        generated on a read-only project (a bundled sample) are kept in the tab instead.
    """
    proj = current()
    if result is not None and proj is not None and proj.read_only and action == "grids":
        # a bundled sample is read-only: its grids are kept in this tab to look at
        st.session_state[_GRIDS] = result
        st.session_state[_GRIDS_SCOPE] = scope
        return
    if result is not None and proj is not None:
        version = _project_save(
            {"grids": result.grids, "grid_members": result.grid_members, "patches": result.patches},
            action=action,
            note=note if note is not None else (", ".join(scope) if scope is not None else ""),
        )
        # the grids just saved are the ones shown next: not read back from the project
        st.session_state[_GRIDS_HELD] = ((proj.name, int(version)), result, scope)
        st.session_state.pop(_GRIDS_SHOWN, None)
        return
    st.session_state[_GRIDS] = result
    st.session_state[_GRIDS_SCOPE] = scope


def show_grids(result: GridResult | None, scope: tuple[str, ...] | None) -> None:
    """Show ``result`` as the grids from now on, before :func:`set_grids` saves them.

    A hand edit is shown at once and saved right after (``ui.grid_edit``); ``None``
    forgets the grids shown (their save was refused): the project's are shown again.
    Without a project (a sample) the grids are kept in the tab, as :func:`set_grids` does.
    """
    proj = current()
    if proj is None:
        if result is not None:
            st.session_state[_GRIDS] = result
            st.session_state[_GRIDS_SCOPE] = scope
        return
    if result is None:
        st.session_state.pop(_GRIDS_SHOWN, None)
        return
    st.session_state[_GRIDS_SHOWN] = (proj.name, result, scope)


# --------------------------------------------------------------------------------------
# the last comparison (for the exports)
# --------------------------------------------------------------------------------------
def comparison() -> dict[str, pd.DataFrame]:
    """The last before/after tables shown on the Compare page (empty until it is opened)."""
    return dict(st.session_state.get(_COMPARISON) or {})


def set_comparison(**tables: pd.DataFrame) -> None:
    """Keep the before/after tables for the exports."""
    st.session_state[_COMPARISON] = dict(tables)


# --------------------------------------------------------------------------------------
# the project this tab works on (gis.store.workspace): everything saved as it happens
# --------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _shared_workspace(home: str, db: str) -> Workspace:
    """One workspace object per server: it keeps no project state, only whether its
    database's schema was checked (once per server, not on every page)."""
    from planning.projects import workspace as make

    return make(home or None, db=db or None) if (home or db) else make()


def _workspace() -> Workspace:
    """The workspace of ``GRIDPLAN_HOME`` / ``GRIDPLAN_DB`` (or ``[gridplan] db`` in secrets)."""
    db = os.environ.get("GRIDPLAN_DB", "").strip()
    if not db:
        try:
            db = str(st.secrets["gridplan"]["db"]).strip()
        except (KeyError, TypeError, FileNotFoundError):
            db = ""
    return _shared_workspace(os.environ.get("GRIDPLAN_HOME", "").strip(), db)


def workspace() -> Workspace:
    """The workspace the app's projects live in."""
    return _workspace()


def project_name() -> str | None:
    """The project open in this tab (``None``: the tab works on a sample, unsaved)."""
    name = st.session_state.get(_PROJECT)
    return None if name is None else str(name)


def current() -> WorkProject | None:
    """The open project, acting as the signed-in planner (``None`` when none is open)."""
    name = project_name()
    if name is None:
        return None
    return _workspace().open(name, user=auth.user())


def open_project(name: str) -> GridplanError | None:
    """Open project ``name`` in this tab; on failure keep the current work and return why."""
    try:
        with _workspace().open(name) as proj:
            name = proj.name
            stored = project_rules(proj)  # planned with its own rules, loaded once
            held = _held_in(proj)
    except GridplanError as err:
        return err
    st.session_state[_HELD] = held
    src = Source(kind="project", name=name)
    # the data load when a page first needs them (loaded()): the list of communities
    # shows from the project's community table, without preparing a whole city
    st.session_state[_PROJECT] = name
    st.session_state[_RULES] = stored
    st.session_state[_SOURCE] = src
    if src.token != _loaded_source().token:
        _reset_derived()
    st.session_state[_LOADED_SOURCE] = src
    st.session_state[_PENDING] = src
    st.session_state[_LOAD_ERROR] = None
    st.session_state.pop(_UNLOADED, None)
    st.session_state.pop(_SAVED, None)
    st.session_state.pop(_SEEN, None)
    _follow_project()  # the project's own rules, and the version the saves start from
    st.query_params[PROJECT_PARAM] = name
    return None


def close_project() -> None:
    """Leave the project (it stays as it was saved) and go back to the bundled sample."""
    for key in (_PROJECT, _SAVED, _SEEN, _BASE):
        st.session_state.pop(key, None)
    if PROJECT_PARAM in st.query_params:
        del st.query_params[PROJECT_PARAM]
    set_source(Source())


def saved_label() -> str:
    """“saved, version N, HH:MM” for the open project; empty without one."""
    proj = current()
    if proj is None:
        return ""
    mine = st.session_state.get(_SAVED)
    latest = proj.latest_version()
    if mine is not None and mine[0] == latest:
        version, at = mine
    else:
        row = proj.history().iloc[-1]
        version, at = int(row["version"]), str(row["at"])[11:16]
    return _("saved, version {version}, {at}").format(version=version, at=at)


def _base() -> int | None:
    """The version this run's saves start from (what the page showed the planner)."""
    base = st.session_state.get(_BASE)
    return None if base is None else int(base)


def _saved(version: int) -> None:
    """Note this tab's save: the sidebar shows it, and the next save starts from it."""
    st.session_state[_SAVED] = (int(version), datetime.now().astimezone().strftime("%H:%M"))
    st.session_state[_BASE] = st.session_state[_SEEN] = int(version)


def _project_save(
    layers: dict[str, pd.DataFrame],
    *,
    action: str,
    note: str = "",
    status: str = "draft",
    rule_set: RuleSet | None = None,
) -> int:
    """Save ``layers`` as a new version of the open project, as the signed-in planner.

    The save starts from the version the page showed: if a teammate saved since, it is
    refused (:class:`gis.errors.PlanConflictError`) and nothing is written.
    """
    proj = current()
    assert proj is not None
    version = proj.save(
        layers=layers,
        action=action,
        author=reviewer() or auth.user().label,
        note=note,
        rules=rule_set or rules(),
        status=status,
        base_version=_base(),
    )
    _saved(version)
    return version


def restore(version: int) -> int:
    """Restore ``version`` of the open project as a new version; return its number.

    Raises :class:`gis.errors.PlanConflictError` when a teammate saved after the page
    was shown, and :class:`gis.store.workspace.ProjectError` when read-only.
    """
    proj = current()
    assert proj is not None
    new = proj.restore(int(version), author=reviewer() or auth.user().label, base_version=_base())
    _saved(new)
    restored = project_rules(proj, new)
    if restored != rules() and _reload(_loaded_source(), restored, language()) is None:
        st.session_state[_RULES] = restored
    else:
        _reload(_loaded_source(), rules(), language())
    return new


def _project_proposals(proj: WorkProject) -> list[Proposal]:
    """Every proposal saved in the project, whoever made it, oldest first."""
    history = proj.history()
    made = history[history["action"] == "proposal"]
    if made.empty:
        return []
    layers = proj.load(layers=["proposals", "lineage"])
    parts_all, lineage_all = layers.get("proposals"), layers.get("lineage")
    if parts_all is None:
        return []
    out = []
    for row in made.itertuples(index=False):
        pid = str(row.note)
        parts = parts_all[parts_all["proposal_id"] == pid]
        if parts.empty:
            continue
        lineage = (
            lineage_all[lineage_all["proposal_id"] == pid].drop(columns="proposal_id")
            if lineage_all is not None and "proposal_id" in lineage_all
            else pd.DataFrame()
        )
        community = str(parts["parent_community_id"].iloc[0])
        origin = "drawn" if pid.startswith(f"{community}-D") else "engine"
        out.append(
            Proposal(
                pid, community, origin, parts, lineage, int(row.version), str(row.at), str(row.author)
            )
        )
    return out
