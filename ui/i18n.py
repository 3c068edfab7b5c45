"""The session's translator: each planner's language lives in their own session state."""

from __future__ import annotations

import streamlit as st

from gis.i18n import DEFAULT_LANGUAGE, translator

__all__ = ["gettext", "language"]


def language() -> str:
    """The current session's language (zh_CN by default)."""
    return str(st.session_state.get("lang", DEFAULT_LANGUAGE))


def gettext(message: str) -> str:
    """Translate ``message`` into the session's language."""
    return translator(language()).gettext(message)
