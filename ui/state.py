"""Typed accessors over ``st.session_state``; every key is named here."""

from __future__ import annotations

import streamlit as st

from gis.i18n import DEFAULT_LANGUAGE, LANGUAGES
from planning.communities import Loaded
from planning.rules import RuleSet, get_preset
from ui.cache import load_sample
from ui.i18n import gettext as _

__all__ = ["init", "language_picker", "loaded", "rules"]

_LANG = "lang"
_RULES = "rules"
_LOADED = "loaded"
_SOURCE = "source_name"


def init() -> None:
    """Initialise this session's keys once: language, rules and the bundled sample."""
    st.session_state.setdefault(_LANG, DEFAULT_LANGUAGE)
    st.session_state.setdefault(_RULES, get_preset("default"))
    if _LOADED not in st.session_state:
        st.session_state[_LOADED] = load_sample("beijing", rules(), st.session_state[_LANG])
        st.session_state[_SOURCE] = "beijing"


def rules() -> RuleSet:
    """The rule set in use in this session."""
    return st.session_state[_RULES]


def loaded() -> Loaded:
    """The project in use in this session."""
    return st.session_state[_LOADED]


def language_picker() -> None:
    """A sidebar language switch (zh-CN / English)."""
    labels = {"zh_CN": "中文", "en": "English"}
    current = st.session_state[_LANG]
    choice = st.sidebar.radio(
        _("Language"), LANGUAGES, index=LANGUAGES.index(current), format_func=labels.__getitem__, horizontal=True
    )
    if choice != current:
        st.session_state[_LANG] = choice
        if st.session_state.get(_SOURCE) == "beijing":
            st.session_state[_LOADED] = load_sample("beijing", rules(), choice)
        st.rerun()
