"""``st.cache_data`` wrappers around library calls (each caller gets its own copy)."""

from __future__ import annotations

import streamlit as st

from gis import datasets
from planning.communities import Loaded, load
from planning.rules import RuleSet

__all__ = ["load_sample"]


@st.cache_data(show_spinner=False)
def load_sample(name: str, rules: RuleSet, lang: str) -> Loaded:
    """Load a bundled sample, prepared under ``rules``."""
    return load(datasets.get_path(name), rules=rules, lang=lang)
