"""Small shared widgets: errors, translated tables, the community picker, the rule editor,
the confirmation dialog before a decision or a destructive action."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from gis.errors import GridplanError, PlanConflictError
from gis.i18n import LANGUAGES, N_
from planning.rules import PRESETS, RuleSet, get_preset, preset_names
from ui import auth, project, session
from ui.i18n import gettext as _
from ui.tables import report_view

__all__ = [
    "Confirm",
    "action_label",
    "ask",
    "asked",
    "author_label",
    "basemap_picker",
    "column_label",
    "community_picker",
    "confirm_dialog",
    "label_columns",
    "language_picker",
    "layer_label",
    "note_label",
    "mapping_frame",
    "rule_editor",
    "rule_label",
    "show_error",
    "show_table",
    "wkey",
]

# Column labels (gettext msgids); the field names already translated as labels in the
# catalog (households, residents, staff, required_staff, …) are used as they are.
_LABELS: dict[str, str] = {
    "community_id": N_("community code"),
    "street": N_("street"),
    "district_code": N_("district code"),
    "name": N_("name"),
    "status": N_("status"),
    "reasons": N_("reasons"),
    "reason": N_("reason"),
    "households": "households",
    "residents": "residents",
    "staff": "staff",
    "required_staff": "required_staff",
    "shortfall": "shortfall",
    "households_per_worker": "households_per_worker",
    "residents_per_worker": "residents_per_worker",
    "funds_yuan": "funds_yuan",
    "min_grids": "min_grids",
    "max_grids": "max_grids",
    "service_space_m2": N_("service space (m²)"),
    "special_service_households": N_("special-service households"),
    "n_buildings": N_("buildings"),
    "estimated_buildings": N_("buildings with estimated households"),
    "grid_code": N_("grid code"),
    "workload": N_("workload"),
    "patch_id": N_("patch"),
    "n_grids": N_("grids"),
    "building_id": N_("building"),
    "unit_from": N_("from unit"),
    "unit_to": N_("to unit"),
    "floor_from": N_("from floor"),
    "floor_to": N_("to floor"),
    "parts": N_("parts"),
    "how": N_("divided by"),
    "proposal_id": N_("proposal"),
    "part": N_("part"),
    "deviation": N_("deviation from the mean"),
    "parent_community_id": N_("parent community"),
    "from_community_id": N_("from community"),
    "to_community_id": N_("to community"),
    "severity": N_("severity"),
    "layer": N_("layer"),
    "code": N_("code"),
    "message": N_("message"),
    "rows": N_("rows"),
    "rule": N_("rule"),
    "value": N_("value"),
    "source": N_("source"),
    "by": N_("by"),
    "at": N_("at"),
    "comment": N_("comment"),
    "version": N_("version"),
    "metric": N_("measure"),
    "before": N_("before"),
    "after": N_("after"),
    "change": N_("change"),
    "plan": N_("plan"),
    "grids": N_("grids"),
    "dedicated_grids": N_("dedicated grids"),
    "households_per_grid": N_("households per grid"),
    "special_service_per_worker": N_("special-service households per worker"),
    "largest_community_households": N_("households of the largest community"),
    "mean_distance_m": N_("mean distance to the service centre (m)"),
    "mean_walk_m": N_("mean walk to the service centre along the roads (m)"),
    "share_within_5min": N_("share of households within a 5-minute walk"),
    "share_within_10min": N_("share of households within a 10-minute walk"),
    "share_within_15min": N_("share of households within a 15-minute walk"),
    "p90_walk_m": N_("walk of the farthest tenth (m)"),
    "straight_mean_m": N_("mean straight-line distance (m)"),
    "centre_source": N_("service centre"),
    "communities": N_("communities"),
    "original": N_("column in the file"),
    "field": N_("gridplan field"),
    "features": N_("features"),
    "crs": N_("coordinate system"),
    "origin": N_("made by"),
    "created_at": N_("saved at"),
    "created_by": N_("saved by"),
    "patches": N_("patches"),
    "user": N_("user"),
    "role": N_("role"),
    "action": N_("action"),
    "target": N_("target"),
    "allowed": N_("allowed"),
    "detail": N_("detail"),
    "note": N_("note"),
    "author": N_("by"),
    "households_a": N_("households (from)"),
    "households_b": N_("households (to)"),
    "grids_a": N_("grids (from)"),
    "grids_b": N_("grids (to)"),
}

# What made a project's version (the ``action`` word the store keeps), as the History and
# Projects pages say it.
_ACTION_LABELS: dict[str, str] = {
    "create": N_("created"),
    "data": N_("new data"),
    "mapping": N_("field mapping"),
    "rules": N_("rules changed"),
    "split": N_("split run"),
    "proposal": N_("split proposal"),
    "grids": N_("grids generated"),
    "edit": N_("grids edited"),
    "assign": N_("workers assigned"),
    "regrid": N_("grids made again"),
    "import": N_("grids imported"),
    "review": N_("review"),
    "restore": N_("version restored"),
}


_LAYER_LABELS: dict[str, str] = {
    "buildings": N_("Buildings"),
    "communities": N_("Communities"),
    "compounds": N_("Compounds"),
    "roads": N_("Roads"),
    "waterways": N_("Waterways"),
    "barriers": N_("Walls and fences"),
    "service_centres": N_("Service centres"),
    "roster": N_("Roster"),
    "landuse": N_("Land use"),
    "grids": N_("Grids"),
    "grid_members": N_("Buildings of each grid"),
    "patches": N_("Worker patches"),
    "divided_buildings": N_("Divided buildings"),
    "proposals": N_("Split proposals"),
    "lineage": N_("Where the households go"),
    "review_trail": N_("Review trail"),
    "compare_whole": N_("Before and after: the whole area"),
    "compare_per_community": N_("Before and after: per community"),
}

_RULE_LABELS: dict[str, str] = {
    "min_households": N_("min_households"),
    "split_households": N_("split_households"),
    "must_split_residents": N_("must_split_residents"),
    "grid_min_households": N_("grid_min_households"),
    "grid_max_households": N_("grid_max_households"),
    "households_per_worker": N_("households_per_worker"),
    "funds_yuan_per_1000_households": N_("funds_yuan_per_1000_households"),
    "service_space_m2_per_100_households": N_("service_space_m2_per_100_households"),
    "patch_households": N_("patch_households"),
    "area_per_dwelling_m2": N_("area_per_dwelling_m2"),
    "default_floors": N_("default_floors"),
    "storey_height_m": N_("storey_height_m"),
    "special_service_weight": N_("special_service_weight"),
    "persons_per_household": N_("persons_per_household"),
}


def action_label(action: str) -> str:
    """What made a project's version, in the session's language (``grids`` → 生成网格);
    an action word gridplan does not know is shown as it is."""
    msgid = _ACTION_LABELS.get(str(action))
    return _(msgid) if msgid else str(action)


_RESTORED = re.compile(r"restored version (\d+)")
#: Notes gridplan itself writes into a project's history, stored in English so that any
#: planner's session can read them; shown in the session's language (old projects too).
_OWN_NOTES: tuple[tuple[frozenset[str] | None, re.Pattern[str], str], ...] = (
    # (the actions whose notes gridplan writes so, or None for any; the note; its msgid)
    (frozenset({"restore"}), re.compile(r"restored version (?P<version>\d+)"),
     N_("restored version {version}")),
    (None, re.compile(r"copy of (?P<name>.+), version (?P<version>\d+)"),
     N_("copy of {name}, version {version}")),
    (frozenset({"create"}), re.compile(r"bundled sample"), N_("bundled sample")),
    (frozenset({"grids"}), re.compile(r"snapped to the other system"),
     N_("snapped to the other system")),
    (frozenset({"data", "mapping"}), re.compile(r"sample (?P<name>[^()]+?)(?P<rest> \(.*\))?"),
     N_("sample {name}")),
)
#: Who signed when no name was given: the local planner (:data:`gis.users.LOCAL_USER`),
#: stored as ``planner`` (or, by older versions, in the session's language).
_PLANNER_NAMES = frozenset({"planner", "规划人员"})


def note_label(action: str, note: object) -> object:
    """A version's note in the session's language where gridplan wrote it.

    gridplan's own notes are stored in English (a restore's ``restored version N``, from
    :meth:`gis.store.workspace.Project.restore`; ``copy of NAME, version N``; ``bundled
    sample``; ``sample NAME``; ``snapped to the other system``) and shown translated. A
    planner's own note is shown as written.

    Examples
    --------
    >>> note_label("restore", "restored version 3")
    '恢复自版本 3'
    >>> note_label("create", "copy of 清华园, version 4")
    '清华园第 4 版的副本'
    >>> note_label("grids", "沿河划界")
    '沿河划界'
    """
    text = str(note)
    for actions, pattern, msgid in _OWN_NOTES:
        found = pattern.fullmatch(text)
        if found is None or (actions is not None and str(action) not in actions):
            continue
        fields = found.groupdict()
        rest = fields.pop("rest", None) or ""
        return _(msgid).format(**fields) + rest
    return note


def author_label(author: object) -> object:
    """Who made a version or signed a review, with the local planner's placeholder name
    shown in the session's language (a planner's own name as written).

    Examples
    --------
    >>> author_label("planner")
    '规划人员'
    >>> author_label("王芳")
    '王芳'
    """
    return _("planner") if str(author) in _PLANNER_NAMES else author


def layer_label(layer: str) -> str:
    """A contract layer's name in the session's language (``buildings`` → 楼栋)."""
    msgid = _LAYER_LABELS.get(layer)
    return _(msgid) if msgid else layer


def rule_label(rule: str) -> str:
    """A rule's label: its name in the session's language, with the key for reference."""
    msgid = _RULE_LABELS.get(rule)
    text = _(msgid) if msgid else rule
    return text if text == rule else f"{text} ({rule})"


def column_label(column: str) -> str:
    """A column's label in the session's language (the column itself when unknown)."""
    msgid = _LABELS.get(column)
    return _(msgid) if msgid else column


def label_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with translated column headers."""
    return frame.rename(columns={c: column_label(str(c)) for c in frame.columns})


def show_table(
    frame: pd.DataFrame, *, key: str | None = None, height: int | None = None, **kwargs: object
) -> object:
    """A full-width table that reads like a report (``ui.tables``): translated headers, no
    geometry column, blanks as "—", thousands separators, codes as text."""
    extra = {"height": height} if height else {}
    try:  # the browser's time zone, for the moments in ``at`` columns
        tz = st.context.timezone
    except Exception:  # noqa: BLE001 - no browser (a bare run): as stored
        tz = None
    return st.dataframe(
        report_view(frame, rename=column_label, tz=tz),
        hide_index=True,
        width="stretch",
        key=key,
        **extra,
        **kwargs,
    )


def wkey(name: str) -> str:
    """A widget key that names the language.

    A keyed selectbox keeps showing its options' labels in the language it was created
    in; a key per language makes a new widget when the language changes.
    """
    return f"{name}.{session.language()}"


def show_error(err: GridplanError) -> None:
    """Show a planner's error in their language (never a traceback).

    A save refused because a teammate saved first also says what to do in the app: the
    page now shows their version; do the change again on top of it.
    """
    st.error(err.render(session.language()))
    if isinstance(err, PlanConflictError):
        st.info(
            _(
                "The page now shows version {latest}, with their changes. Look them over, "
                "then make your change again: it will be saved on top of theirs."
            ).format(latest=err.params.get("latest", ""))
        )


def community_picker(
    label: str,
    *,
    key: str,
    ids: Iterable[str] | None = None,
    allow_all: bool = False,
    default: str | None = None,
) -> str | None:
    """A selectbox of communities (``None`` = all, when allowed), shown as "name (code, households)"."""
    table = project.communities()  # a project just opened: without loading its buildings
    names = dict(zip(table["community_id"].astype(str), table["name"].astype(str), strict=True))
    households = dict(
        zip(table["community_id"].astype(str), table["households"].astype(int), strict=True)
    )
    options: list[str | None] = list(ids) if ids is not None else list(names)
    if allow_all:
        options = [None, *options]
    index = options.index(default) if default in options else 0

    def fmt(cid: str | None) -> str:
        if cid is None:
            return _("All communities")
        return _("{name} ({code}, {households} households)").format(
            name=names.get(cid, cid), code=cid, households=households.get(cid, 0)
        )

    return st.selectbox(label, options, index=index, format_func=fmt, key=wkey(key))


def _number_input(rule: str, value: float | int, key: str, help_text: str) -> float | int:
    label = rule_label(rule)
    if isinstance(value, int) and not isinstance(value, bool):
        return st.number_input(
            label, value=int(value), step=1, format="%d", key=key, help=help_text
        )
    return st.number_input(label, value=float(value), step=0.1, key=key, help=help_text)


def rule_editor() -> None:
    """Choose a rule preset and edit any of its numbers; errors are shown, not raised."""
    current = project.rules()
    names = preset_names()
    base_name = current.name if current.name in PRESETS else "default"
    with st.form("rules_form"):
        preset = st.selectbox(
            _("Rule preset"),
            names,
            index=names.index(base_name),
            format_func=lambda n: f"{n} — {_(PRESETS[n].title)}",
        )
        st.caption(_("Change any number; a changed number no longer cites its published source."))
        values = {k: v for k, v in current.values().items() if k not in {"name", "title"}}
        columns = st.columns(3)
        edited: dict[str, float | int] = {}
        version = project.token()  # fresh inputs whenever the rules in use change
        for i, (rule, value) in enumerate(values.items()):
            with columns[i % 3]:
                edited[rule] = _number_input(
                    rule,
                    value,
                    key=f"w_rule_{rule}_{version}",
                    help_text=current.cite(rule, lang=session.language()),
                )
        submitted = st.form_submit_button(
            _("Apply rules"),
            type="primary",
            disabled=not auth.allowed("edit_rules"),
            help=auth.why_not("edit_rules"),
        )
    if not submitted:
        return
    try:
        if preset != current.name:
            base: RuleSet = get_preset(preset)
            changes = {
                k: v for k, v in edited.items() if v != values[k]
            }  # only what the planner typed
        else:
            base = current
            changes = {k: v for k, v in edited.items() if v != getattr(current, k)}
        new = base.with_values(**changes) if changes else base
    except GridplanError as err:
        show_error(err)
        return
    detail = "; ".join(f"{k}={v}" for k, v in changes.items())
    project.require("edit_rules", target=new.name, detail=detail)
    err = project.set_rules(new, note="; ".join(p for p in (new.name, detail) if p))
    if err is not None:
        show_error(err)
        return
    st.rerun()


def mapping_frame(mapping: Mapping[str, str]) -> pd.DataFrame:
    """A two-column table of a layer's field mapping."""
    return pd.DataFrame(
        [{"original": k, "field": v} for k, v in mapping.items()], columns=["original", "field"]
    )


# --------------------------------------------------------------------------------------
# sidebar: language and base map
# --------------------------------------------------------------------------------------
def language_picker() -> None:
    """A sidebar language switch (zh-CN / English); the project's texts follow it."""
    labels = {"zh_CN": "中文", "en": "English"}
    current = session.language()
    choice = st.sidebar.radio(
        _("Language"),
        LANGUAGES,
        index=LANGUAGES.index(current),
        format_func=labels.__getitem__,
        horizontal=True,
    )
    if choice != current:
        project.set_language(choice)
        st.rerun()


def basemap_picker() -> None:
    """A sidebar choice of base map, with the custom URL or Tianditu key when needed."""
    labels = {
        "osm": _("OpenStreetMap"),
        "none": _("None (offline)"),
        "custom": _("Custom tile URL"),
        "tianditu": _("Tianditu (needs a key)"),
        "tianditu_imagery": _("Tianditu imagery with labels (needs a key)"),
        "amap": _("AMap (GCJ-02)"),
        "amap_satellite": _("AMap satellite (GCJ-02)"),
    }
    # The widget's key names the language: a selectbox keyed alone keeps showing the labels
    # of the language it was created in. Its value is copied to the app's own key.
    widget = f"w_basemap_kind_{session.language()}"
    current = str(st.session_state.get(session.BASEMAP_KIND, "osm"))

    def _copy() -> None:
        st.session_state[session.BASEMAP_KIND] = st.session_state[widget]

    kind = st.sidebar.selectbox(
        _("Base map"),
        session.BASEMAPS,
        index=session.BASEMAPS.index(current) if current in session.BASEMAPS else 0,
        format_func=labels.__getitem__,
        key=widget,
        on_change=_copy,
    )
    st.session_state[session.BASEMAP_KIND] = kind
    if kind == "custom":
        st.sidebar.text_input(
            _("Tile URL"),
            key=session.BASEMAP_URL,
            placeholder="https://tiles.example.gov.cn/{z}/{x}/{y}.png",
            help=_(
                "An XYZ tile address with {z}, {x} and {y}, e.g. your province's Tianditu node."
            ),
        )
    elif kind in {"tianditu", "tianditu_imagery"}:
        st.sidebar.text_input(
            _("Tianditu key (tk)"),
            key=session.BASEMAP_TK,
            type="password",
            help=_(
                "A browser-type key from the Tianditu console; it is visible to the browser, so restrict it to this site."
            ),
        )
    elif kind in {"amap", "amap_satellite"}:
        st.sidebar.caption(
            _(
                "AMap tiles are in GCJ-02: the layers are shifted to match them, and drawings are shifted back."
            )
        )


# --------------------------------------------------------------------------------------
# confirmation dialogs
# --------------------------------------------------------------------------------------
_ASKED = "asked_{name}"  # session key: what the planner asked to do, until they answer


def ask(name: str, subject: Hashable = True) -> None:
    """Open the confirmation dialog ``name`` about ``subject`` (a button's ``on_click``).

    The question stays asked over reruns until it is answered, cancelled or dismissed, so
    the dialog does not vanish when another part of the page reruns.
    """
    st.session_state[_ASKED.format(name=name)] = subject


def asked(name: str) -> Hashable | None:
    """What the dialog ``name`` is asking about (``None`` when it is not open)."""
    return st.session_state.get(_ASKED.format(name=name))


def _forget(name: str) -> None:
    st.session_state.pop(_ASKED.format(name=name), None)


@dataclass(frozen=True)
class Confirm:
    """What a confirmation dialog says and does.

    Attributes
    ----------
    title
        The dialog's title, a question ("Archive the project?").
    text
        What will happen, and whether it can be undone.
    confirm
        The confirm button's label (the action's verb, "Archive").
    comment
        The label of a comment box in the dialog (``""``: no comment box).
    comment_key
        The comment box's widget key (``w_{name}_comment`` when empty).
    comment_required
        The message shown when the comment is empty and the action needs one (``""``: the
        comment may be empty).
    """

    title: str
    text: str
    confirm: str
    comment: str = ""
    comment_key: str = ""
    comment_required: str = ""


def confirm_dialog(name: str, spec: Confirm, act: Callable[[str], str | None]) -> None:
    """Show the dialog ``name`` while it is asked (:func:`ask`); run ``act`` on confirm.

    The dialog (``st.dialog``, itself a fragment: typing a comment reruns only the
    dialog) holds ``spec.text``, the comment box when ``spec.comment`` is set, the confirm
    button (key ``w_{name}_yes``) and Cancel (``w_{name}_no``). On confirm ``act`` is
    called with the comment (stripped; ``""`` without a comment box) and may return a
    sentence saying what was done (shown as a toast); a :class:`gis.errors.GridplanError`
    it raises is shown in the dialog, which stays open; otherwise the whole page reruns to
    show the result. Cancel, the dialog's ✕ and a click
    outside it forget the question.

    Parameters
    ----------
    name
        The dialog's name, unique on the page (the session key and the buttons' keys).
    spec
        What the dialog says (:class:`Confirm`).
    act
        What the confirm button does, given the comment; it returns what to tell the
        planner once done, or ``None``.
    """
    if asked(name) is None:
        return

    def _dismissed() -> None:
        _forget(name)

    @st.dialog(spec.title, on_dismiss=_dismissed)
    def _dialog() -> None:
        st.write(spec.text)
        comment = ""
        if spec.comment:
            comment = st.text_area(
                spec.comment, key=spec.comment_key or f"w_{name}_comment", height=90
            ).strip()
        yes, no = st.columns(2)
        if yes.button(spec.confirm, type="primary", key=f"w_{name}_yes"):
            if spec.comment_required and not comment:
                st.error(spec.comment_required)
                return
            try:
                done = act(comment)
            except GridplanError as err:
                show_error(err)
                return
            _forget(name)
            if done:
                st.toast(done)
            st.rerun()
        if no.button(_("Cancel"), key=f"w_{name}_no"):
            _forget(name)
            st.rerun()

    _dialog()
