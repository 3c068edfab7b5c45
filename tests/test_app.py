"""Smoke test of the Streamlit app with AppTest: first run, then switching to English."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gis.i18n import DEFAULT_LANGUAGE, translator

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(monkeypatch):
    monkeypatch.chdir(REPO)  # st.Page paths are relative to the repo root
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()


def _communities_table(at: AppTest):
    tables = [t.value for t in at.dataframe if "status" in t.value.columns]
    assert len(tables) == 1
    return tables[0]


def test_first_run(app):
    assert not app.exception
    assert app.session_state["lang"] == DEFAULT_LANGUAGE == "zh_CN"
    assert [t.value for t in app.title] == [translator("zh_CN").gettext("Communities")]
    radio = app.sidebar.radio[0]
    assert radio.value == "zh_CN"
    assert list(radio.options) == ["中文", "English"]
    table = _communities_table(app)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["community_id"] == "000000000000"
    assert row["households"] == 9762
    assert row["status"] == translator("zh_CN").gettext("may_split")
    assert row["required_staff"] == 40


def test_switch_to_english(app):
    app.sidebar.radio[0].set_value("en").run()
    assert not app.exception
    assert app.session_state["lang"] == "en"
    assert app.sidebar.radio[0].value == "en"
    assert [t.value for t in app.title] == ["Communities"]
    row = _communities_table(app).iloc[0]
    assert row["status"] == "may_split"
    assert row["reasons"].startswith(
        "9762 households is more than 5000: the community may be split (Kunming 2024"
    )
    assert any("153 buildings' households are estimated" in info.value for info in app.info)
