"""gridplan's Streamlit entry point: page config, per-session state, sidebar, navigation."""

import streamlit as st

from ui import auth, grid_edit, project, timing, widgets
from ui.i18n import gettext as _

st.set_page_config(page_title="gridplan", page_icon=":material/map:", layout="wide")
with timing.run("app") as run_info:  # GRIDPLAN_TIMING=file.jsonl: one line per run
    project.init()
    grid_edit.flush()  # a hand edit shown on the Grids page whose save did not run yet
    widgets.language_picker()
    auth.gate()  # sign-in, when turned on by settings (off by default)
    auth.sidebar()
    widgets.basemap_picker()

    pages = [
        st.Page(
            "ui/pages/projects.py",
            title=_("Projects"),
            icon=":material/folder_open:",
            default=project.project_name() is None,
        ),
        st.Page(
            "ui/pages/overview.py",
            title=_("Communities"),
            icon=":material/location_city:",
            default=project.project_name() is not None,
        ),
        st.Page("ui/pages/data.py", title=_("Data"), icon=":material/upload_file:"),
        st.Page("ui/pages/split.py", title=_("Split"), icon=":material/content_cut:"),
        st.Page("ui/pages/review.py", title=_("Review"), icon=":material/fact_check:"),
        st.Page("ui/pages/grids.py", title=_("Grids"), icon=":material/grid_on:"),
        st.Page("ui/pages/compare.py", title=_("Compare"), icon=":material/compare_arrows:"),
        st.Page("ui/pages/analyses.py", title=_("Analyses"), icon=":material/insights:"),
        st.Page("ui/pages/export.py", title=_("Export"), icon=":material/download:"),
        st.Page("ui/pages/history.py", title=_("History"), icon=":material/history:"),
    ]
    navigation = st.navigation(pages)
    run_info["page"] = navigation.url_path or "projects"
    rules = project.rules()
    st.sidebar.caption(
        _("Project: {source} · rules: {rules}").format(source=project.source_label(), rules=rules.name)
    )
    timing.mark("app: sidebar and navigation")
    navigation.run()
    if project.project_name() is not None:  # after the page: its saves are counted
        st.sidebar.caption(project.saved_label())
