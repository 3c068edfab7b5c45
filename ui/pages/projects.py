"""Projects: the list of the workspace's projects; create, open, rename, duplicate, archive.

A project keeps everything (data, rules, proposals, grids, reviews) as it happens, so it is
there tomorrow and for the rest of the team (``GRIDPLAN_HOME`` or ``GRIDPLAN_DB``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gis.errors import GridplanError
from gis.store.workspace import SAMPLE_PREFIX
from ui import auth, project
from gis.i18n import N_
from ui.i18n import gettext as _
from ui.widgets import (
    Confirm,
    action_label,
    ask,
    asked,
    author_label,
    confirm_dialog,
    show_error,
    show_table,
)

st.title(_("Projects"))
ws = project.workspace()
may_change = auth.allowed("upload")
author = auth.user().label
open_now = project.project_name()
if open_now:
    st.success(_("Open: {name} · {saved}").format(name=project.display_name(open_now), saved=project.saved_label()))

lines = ws.list()
samples = [SAMPLE_PREFIX + s for s in ws.sample_names()]

# -- the bundled samples: open one to look around (read-only) ---------------------------------
_SAMPLE_TEXT = {
    "beijing_district": N_(
        "Beijing, Haidian (Tsinghua and Wudaokou): three communities with staff, service "
        "centres and a household roster with special-service households. The buildings are "
        "OpenStreetMap's; the communities, staff, centres and roster are illustrative, not "
        "official."
    ),
    "beijing": N_(
        "The same Beijing extract as OpenStreetMap has it: one study area, households "
        "estimated, no staff, centres or roster."
    ),
    "shanghai": N_(
        "Shanghai, both banks of the Huangpu around Lujiazui (OpenStreetMap via Tilezen): "
        "one study area, households estimated."
    ),
}
st.subheader(_("Bundled samples"))
st.caption(
    _("A sample opens read-only; to work on it, create a new project from it below.")
)
sample_cols = st.columns(len(samples) or 1)
for col, name in zip(sample_cols, ws.sample_names(), strict=False):
    with col, st.container(border=True):
        st.markdown("**" + project.display_name(SAMPLE_PREFIX + name) + "**")
        st.caption(_(_SAMPLE_TEXT[name]) if name in _SAMPLE_TEXT else name)
        opened_here = open_now == SAMPLE_PREFIX + name
        if st.button(
            _("Open the sample"),
            key=f"w_open_sample_{name}",
            type="primary" if name == "beijing_district" else "secondary",
            disabled=opened_here,
        ):
            err = project.open_project(SAMPLE_PREFIX + name)
            if err is not None:
                show_error(err)
            else:
                st.switch_page("ui/pages/overview.py")

st.subheader(_("Your projects"))
if lines:
    table = pd.DataFrame([line.as_dict() for line in lines])
    table["action"] = table["action"].map(action_label)
    table["author"] = table["author"].map(author_label)
    show_table(
        table[["name", "version", "communities", "households", "grids", "area_km2", "author",
               "updated_at", "action"]].rename(
            columns={
                "name": _("name"),
                "version": _("version"),
                "communities": _("communities"),
                "households": _("households"),
                "grids": _("grids"),
                "area_km2": _("area (km²)"),
                "author": _("last change by"),
                "updated_at": _("last change at"),
                "action": _("what"),
            }
        ),
        key="w_projects_table",
    )
else:
    st.info(_("No projects yet: create one from your data or from a bundled sample."))

names = [line.name for line in lines]
left, right = st.columns(2)
with left:
    st.subheader(_("Open"))
    chosen = st.selectbox(
        _("Project"), names + samples, key="w_project_open", index=None,
        placeholder=_("choose a project"),
    )
    if st.button(_("Open"), type="primary", disabled=chosen is None, key="w_project_open_go"):
        err = project.open_project(str(chosen))
        if err is not None:
            show_error(err)
        else:
            st.rerun()
    if open_now and st.button(_("Close the project"), key="w_project_close"):
        project.close_project()
        st.rerun()
with right:
    st.subheader(_("New project"))
    new_name = st.text_input(_("Project name"), key="w_project_new", placeholder="海淀-清华园")
    bases = samples + names
    # the project open now (a sample looked at read-only, to work on) or the plain sample
    start = open_now if open_now in bases else SAMPLE_PREFIX + "beijing"
    base = st.selectbox(
        _("Start from"),
        bases,
        format_func=project.display_name,
        index=bases.index(start) if start in bases else 0,
        key="w_project_base",
        help=_("A bundled sample or one of your projects (its latest version). To start from "
               "your own files, upload them on the Data page and save them as a project there."),
    )
    if st.button(
        _("Create"), disabled=not may_change or not new_name, help=auth.why_not("upload"),
        key="w_project_create",
    ):
        try:
            ws.duplicate(str(base), new_name, author=author, user=auth.user())
        except GridplanError as err:
            show_error(err)
        else:
            project.open_project(new_name.strip())
            st.rerun()



def _archive(_comment: str, target: str) -> None:
    """Archive ``target`` (closed first when it is open here): it leaves the list."""
    if project.project_name() == target:
        project.close_project()
    ws.archive(target, author=author, user=auth.user())


if names:
    st.subheader(_("Rename, duplicate, archive"))
    target = st.selectbox(_("Project"), names, key="w_project_target")
    other = st.text_input(_("New name (rename, duplicate)"), key="w_project_other")
    c1, c2, c3 = st.columns(3)
    try:
        if c1.button(_("Rename"), disabled=not may_change or not other, key="w_project_rename"):
            ws.rename(target, other, author=author, user=auth.user())
            if open_now == target:
                project.open_project(other.strip())
            st.rerun()
        if c2.button(_("Duplicate"), disabled=not may_change or not other, key="w_project_dup"):
            ws.duplicate(target, other, author=author, user=auth.user())
            st.rerun()
        c3.button(
            _("Archive"),
            disabled=not may_change,
            key="w_project_archive",
            on_click=ask,
            args=("archive", target),
        )
    except GridplanError as err:
        show_error(err)
    asked_for = asked("archive")
    if asked_for in names:  # asked until answered (or the dialog closed)
        confirm_dialog(
            "archive",
            Confirm(
                title=_("Archive the project?"),
                text=_(
                    "{name} leaves the list of projects and can no longer be opened or "
                    "changed. Nothing in it is deleted: restore it from the archive at any time."
                ).format(name=asked_for),
                confirm=_("Archive"),
            ),
            lambda comment, target=str(asked_for): _archive(comment, target),
        )

archived = ws.names(archived=True)
if archived:
    with st.expander(_("Archive ({n})").format(n=len(archived))):
        back = st.selectbox(_("Project"), archived, key="w_project_archived")
        if st.button(_("Restore from the archive"), disabled=not may_change, key="w_unarchive"):
            try:
                ws.unarchive(back, author=author, user=auth.user())
            except GridplanError as err:
                show_error(err)
            else:
                st.rerun()
