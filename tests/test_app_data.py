"""The Data page offers every fix its messages promise: the CRS (proposed, with its reason)
and the text encoding, kept with the project's source."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gis.i18n import translator
from gk_upload import GK_CRS, gk_zip_without_prj

REPO = Path(__file__).resolve().parents[1]


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


@pytest.fixture
def app(monkeypatch):
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()


def test_a_gk_shapefile_without_prj_is_read_with_the_proposed_crs(app, tmp_path):
    path, households = gk_zip_without_prj(tmp_path)
    app.switch_page("ui/pages/data.py").run()
    app.file_uploader[0].set_value((path.name, path.read_bytes(), "application/zip"))
    app.run()
    next(b for b in app.button if b.label == zh("Read the uploaded files")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.error, "the missing CRS is said"
    # the sample that loaded before lies near 116.3°E: the 117°E zone is proposed, with why
    token = app.session_state["source"].token
    picker = app.selectbox(key=f"w_read_crs_pick_{token}.zh_CN")
    assert picker.value == GK_CRS
    assert any("117" in i.value and "°E" in i.value for i in app.info), [i.value for i in app.info]
    encoding = app.selectbox(key=f"w_read_encoding_{token}.zh_CN")
    encoding.set_value("utf-8")
    next(b for b in app.button if b.label == zh("Read again with these settings")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    loaded = app.session_state["loaded"]
    assert len(loaded.communities) == 2
    assert int(loaded.communities["households"].sum()) == households
    # where it lies: Haidian, not the Gulf of Guinea
    minx, miny, maxx, maxy = loaded.communities.to_crs(4326).total_bounds
    assert 116.0 < minx < maxx < 116.7 and 39.8 < miny < maxy < 40.2
    options = app.session_state["source"].overrides_dict()["_read"]
    assert options == {"crs": GK_CRS, "encoding": "utf-8"}  # kept with the project's source
