"""gridplan's Streamlit entry point: page config, per-session state, navigation."""

import streamlit as st

from ui import state
from ui.i18n import gettext as _

st.set_page_config(page_title="gridplan", page_icon="🗺️", layout="wide")
state.init()
state.language_picker()

pages = [
    st.Page("ui/pages/overview.py", title=_("Communities"), icon="🏘️", default=True),
]
st.navigation(pages).run()
