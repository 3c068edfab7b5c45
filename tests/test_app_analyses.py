"""The Analyses page with AppTest: walking access, the other grid system, growth by year.

Maps are custom components (``UnknownElement`` here); the tables and metrics are checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gis.datasets.synthetic import make_fishnet
from gis.i18n import translator

zh = translator("zh_CN").gettext

REPO = Path(__file__).resolve().parents[1]
PAGE = "ui/pages/analyses.py"


@pytest.fixture
def app(monkeypatch):
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=240).run()


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_walking_access_and_growth_on_the_sample(app):
    _ok(app.switch_page(PAGE).run())
    walk = zh("mean walk to the service centre along the roads (m)")  # a translated header
    tables = [t.value for t in app.dataframe if walk in t.value.columns]
    assert tables, "no walking table"
    row = tables[0].iloc[0]
    assert 9762 in row.to_numpy() and zh("recommended") in row.to_numpy()
    assert any("党群服务中心" in i.value for i in app.info)  # said in the planner's language
    assert any(zh("No deliveries yet.") in i.value for i in app.info)


def test_other_grid_system_after_grids(app):
    app.switch_page("ui/pages/grids.py").run()
    next(b for b in app.button if b.label == zh("Generate grids")).click().run()
    _ok(app)
    grids = app.session_state["grids"].grids
    app.session_state["analyses_other"] = make_fishnet(grids, size_m=300, angle_deg=10)
    _ok(app.switch_page(PAGE).run())
    label = zh("grids aligned (≥ {share:.0%} in one unit)").format(share=0.9)
    share = next(m.value for m in app.metric if m.label == label)
    assert share.endswith("%") and 0 <= int(share[:-1]) <= 100
