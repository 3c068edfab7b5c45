"""Review: accept, reject or send back each saved proposal, with a comment; the status trail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gis.i18n import N_
from gis.users import ACTIONS, ROLE_LABELS
from ui import auth, cache, maps, project, session
from ui.i18n import gettext as _
from ui.widgets import Confirm, ask, asked, author_label, confirm_dialog, show_table

_STATUS_LABELS = {
    "proposed": _("proposed"),
    "accepted": _("accepted"),
    "rejected": _("rejected"),
    "draft": _("sent back"),
}

basemap = session.basemap()
st.title(_("Review"))
st.caption(_("Every decision is kept, with who made it and when, in this session's plan store."))
if auth.enabled():
    st.caption(_("Your reviews are signed {name}.").format(name=session.reviewer()))
else:
    name = st.text_input(
        _("Your name (signs your reviews)"), value=session.reviewer(), key="w_reviewer"
    )
    if name.strip() != session.reviewer():
        session.set_reviewer(name)
may_review = auth.allowed("review")
if not may_review:
    st.info(auth.why_not("review") or "")

saved = project.proposals()
if not saved:
    st.info(_("No proposals yet: save one on the Split page."))
    st.stop()

# Fragments: a map's events rerun only its map (and the maps return nothing, so panning
# reruns nothing), and a review button reruns only its proposal's buttons; the comment is
# typed in the dialog the button opens, itself a fragment, so no map is drawn again.
@st.fragment
def _proposal_map(prop: project.Proposal) -> None:
    shown = cache.display_copy(
        f"review:{prop.proposal_id}:{prop.version}",
        prop.parts,
        columns=("part", "households"),
        coverage=True,
        gcj02=basemap.gcj02,
    )
    m = maps.base_map(prop.parts.to_crs(4326).total_bounds, basemap=basemap, compact=True)
    maps.add_polygons(
        m,
        shown,
        colour=lambda p: maps.PALETTE[(int(p["part"]) - 1) % len(maps.PALETTE)],
        fill_opacity=0.35,
        tooltip={"part": _("part"), "households": _("households")},
    )
    maps.show(m, key=f"review_map_{prop.proposal_id}", height=260)
    st.caption(maps.attribution(basemap))


_DECISIONS = {
    # action: (button, dialog title, what it does, confirm button)
    "accepted": (
        N_("Accept"),
        N_("Accept {proposal}?"),
        N_(
            "{proposal} is marked accepted, signed {name}, with your comment. The decision is "
            "kept in the status trail; a later decision can change it."
        ),
        N_("Accept"),
    ),
    "rejected": (
        N_("Reject"),
        N_("Reject {proposal}?"),
        N_(
            "{proposal} is marked rejected, signed {name}, with your comment (say why, so its "
            "author can do better). The decision is kept in the status trail."
        ),
        N_("Reject"),
    ),
    "returned": (
        N_("Send back"),
        N_("Send {proposal} back?"),
        N_(
            "{proposal} goes back to its author as a draft, signed {name}, with your comment "
            "saying what should change."
        ),
        N_("Send back"),
    ),
}


@st.fragment
def _review_form(prop: project.Proposal) -> None:
    pid = prop.proposal_id
    denied = {"disabled": not may_review, "help": auth.why_not("review")}
    for col, (action, (button, *_rest)) in zip(st.columns(3), _DECISIONS.items(), strict=True):
        key = {"accepted": "w_accept", "rejected": "w_reject", "returned": "w_return"}[action]
        col.button(
            _(button),
            key=f"{key}_{pid}",
            type="primary" if action == "accepted" else "secondary",
            on_click=ask,
            args=("review", (pid, action)),
            **denied,
        )
    wanted = asked("review")
    if not (isinstance(wanted, tuple) and wanted[0] == pid and may_review):
        return
    action = str(wanted[1])
    _button, title, text, confirm = _DECISIONS[action]

    def _decide(comment: str) -> None:
        project.set_status(pid, action, comment=comment)

    confirm_dialog(
        "review",
        Confirm(
            title=_(title).format(proposal=pid),
            text=_(text).format(proposal=pid, name=session.reviewer() or _("planner")),
            confirm=_(confirm),
            comment=_("Comment"),
            comment_key=f"w_comment_{pid}",
            comment_required=(
                _("Say in the comment what should change before sending it back.")
                if action == "returned"
                else ""
            ),
        ),
        _decide,
    )


for prop in saved:
    status = project.status_of(prop.proposal_id)
    origin = _("drawn by hand") if prop.origin == "drawn" else _("split engine")
    header = _("{proposal} — {status} ({origin})").format(
        proposal=prop.proposal_id, status=_STATUS_LABELS.get(status, status), origin=origin
    )
    with st.expander(header, expanded=status in {"proposed", "draft"}):
        left, right = st.columns([3, 2])
        with left:
            _proposal_map(prop)
        with right:
            show_table(
                prop.parts[
                    [
                        "part",
                        "households",
                        "residents",
                        "required_staff",
                        "special_service_households",
                    ]
                ],
                key=f"w_review_parts_{prop.proposal_id}",
            )
            reasons = (
                str(prop.parts["reasons"].iloc[0])
                if "reasons" in prop.parts and len(prop.parts)
                else ""
            )
            for reason in filter(None, reasons.split("; ")):
                st.caption("• " + reason)
            _review_form(prop)

st.subheader(_("Status trail"))
trail = project.trail()
trail["status"] = trail["status"].map(lambda s: _STATUS_LABELS.get(s, s))
trail["by"] = trail["by"].map(author_label)
show_table(pd.DataFrame(trail), key="w_trail")

with st.expander(_("Audit: who did or tried what")):
    audit = project.audit()
    audit["action"] = audit["action"].map(lambda a: _(ACTIONS[a].label) if a in ACTIONS else a)
    audit["role"] = audit["role"].map(lambda r: _(ROLE_LABELS[r]) if r in ROLE_LABELS else r)
    audit["allowed"] = audit["allowed"].map(lambda ok: _("yes") if ok else _("refused"))
    show_table(audit, key="w_audit")
