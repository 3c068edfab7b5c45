"""History: every version of the open project (who, when, what); restore one; compare two."""

from __future__ import annotations

import streamlit as st

from ui import auth, project
from ui.i18n import gettext as _
from ui.widgets import (
    Confirm,
    action_label,
    ask,
    asked,
    author_label,
    confirm_dialog,
    note_label,
    show_table,
)

st.title(_("History"))
proj = project.current()
if proj is None:
    st.info(_("Open a project on the Projects page: its history is kept there."))
    st.stop()

history = proj.history()
st.caption(project.saved_label())
# the contract's column names: show_table translates the headers (ui.widgets.column_label)
# and formats the cells as a report (ui.tables); the words in the cells are translated here
shown = history.iloc[::-1].rename(columns={"author": "by"})
shown["note"] = [note_label(a, n) for a, n in zip(shown["action"], shown["note"], strict=True)]
shown["by"] = shown["by"].map(author_label)
shown["action"] = shown["action"].map(action_label)
shown["status"] = shown["status"].map(lambda s: _(str(s)) if s else s)
show_table(
    shown[["version", "action", "by", "at", "note", "status", "n_grids"]],
    key="w_history_table",
)
versions = history["version"].astype(int).tolist()


left, right = st.columns(2)
with left:
    st.subheader(_("Restore"))
    old = st.selectbox(_("Version"), versions[::-1], key="w_history_restore")
    if st.button(
        _("Restore as a new version"),
        disabled=not auth.allowed("save") or old == versions[-1],
        help=auth.why_not("save"),
        key="w_history_restore_go",
    ):
        ask("restore", int(old))
    latest = int(versions[-1])
    wanted = asked("restore")
    if wanted in versions[:-1]:  # asked until answered or closed

        def _restore(_comment: str, old: int = int(wanted)) -> str:  # type: ignore[arg-type]
            new = project.restore(old)
            return _("Version {old} restored as version {new}.").format(old=old, new=new)

        confirm_dialog(
            "restore",
            Confirm(
                title=_("Restore an old version?"),
                text=_(
                    "The project will look as it did in version {old}: its data, proposals "
                    "and grids replace those of version {latest} as a new version. Version "
                    "{latest} stays in the history and can be restored the same way."
                ).format(old=wanted, latest=latest),
                confirm=_("Restore"),
            ),
            _restore,
        )
with right:
    st.subheader(_("Compare two versions"))
    a = st.selectbox(_("From"), versions, index=max(len(versions) - 2, 0), key="w_history_a")
    b = st.selectbox(_("To"), versions, index=len(versions) - 1, key="w_history_b")
    diff = proj.compare(int(a), int(b))
    st.write(
        _("Grids changed: {grids} · buildings changed: {buildings}").format(
            grids=diff.grids_changed, buildings=diff.buildings_changed
        )
    )
    st.write(
        _("Households in grids: {a} → {b}").format(
            a=diff.households["grids"]["a"], b=diff.households["grids"]["b"]
        )
    )
    changes = {"added": _("added"), "removed": _("removed"), "changed": _("changed")}
    if len(diff.grids):
        show_table(
            diff.grids.assign(change=diff.grids["change"].map(lambda c: changes.get(c, c))),
            key="w_history_grids",
        )
    if len(diff.buildings):
        show_table(
            diff.buildings.assign(change=diff.buildings["change"].map(lambda c: changes.get(c, c))),
            key="w_history_buildings",
        )
