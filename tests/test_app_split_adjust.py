"""The Split page: an engine alternative opened and adjusted by hand (issue 18, point 4).

The planner picks a block of part 2 next to part 1 on the map (a click, injected into the
session as the map's ``on_change`` copies it) and moves it to part 1: the live figures
change by the block's households, the parts still hold all 9,762, undo brings them back,
and the adjusted split is saved as a proposal whose parts tile the community.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from gis.i18n import translator

REPO = Path(__file__).resolve().parents[1]


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


@pytest.fixture
def app(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRIDPLAN_DB", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=240).run()
    return at.switch_page("ui/pages/overview.py").run()


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _households(at: AppTest) -> list[int]:
    return [int(m.value.replace(",", "")) for m in at.metric if m.label == zh("households")]


def test_an_alternative_adjusted_by_hand_on_the_split_page(app):
    from planning.communities import load
    from planning.split import propose_splits

    app.switch_page("ui/pages/split.py").run()
    next(b for b in app.button if b.label == zh("Propose splits")).click().run()
    _ok(app)
    assert not _households(app)  # closed until the planner opens it
    next(t for t in app.toggle if t.key == "w_adjust_on").set_value(True).run()
    _ok(app)
    start = _households(app)
    assert len(start) >= 2 and sum(start) == 9762
    # the same split as the page's (the sample, default rules): a block of part 2 touching part 1
    from gis import datasets

    loaded = load(datasets.get_path("beijing"))
    from ui.cache import FOLLOW_LAYERS

    layers = {
        name: getattr(loaded.project, name)
        for name in FOLLOW_LAYERS
        if getattr(loaded.project, name, None) is not None
    }
    result = propose_splits(
        loaded.buildings, community=loaded.communities.iloc[0], lang="zh_CN", **layers
    )
    labels = result.alternatives[0].labels
    assert [int(p.households) for p in result.alternatives[0].parts.itertuples()] == start
    atoms = result.atoms
    part1 = shapely.union_all(atoms.geometry.values[labels == 0])
    hh = atoms["households"].to_numpy()
    candidates = [
        i for i in np.flatnonzero((labels == 1) & (hh > 0))
        if atoms.geometry.values[i].intersection(part1).length > 1
    ]
    block = max(candidates, key=lambda i: hh[i])
    point = atoms.to_crs(4326).geometry.representative_point().values[block]
    app.session_state["split_adjust_pick"] = {
        "map": "split_adjust_000000000000_0",
        "value": {"last_object_clicked": {"lat": point.y, "lng": point.x}},
    }
    app.run()
    _ok(app)
    assert any(zh("{n} blocks selected ({households} households) in part {parts}.").format(
        n=1, households=f"{int(hh[block]):,}", parts=2) in m.value for m in app.markdown)
    next(s for s in app.selectbox if s.key == "w_adjust_target").set_value(1)
    next(b for b in app.button if b.key == "w_adjust_move").click().run()
    _ok(app)
    moved = _households(app)
    assert moved[0] == start[0] + hh[block] and moved[1] == start[1] - hh[block]
    assert sum(moved) == 9762
    next(b for b in app.button if b.key == "w_adjust_undo").click().run()
    _ok(app)
    assert _households(app) == start
    # again, and save: the proposal's parts are the adjusted ones and tile the community
    app.session_state["split_adjust_pick"] = {
        "map": "split_adjust_000000000000_2",
        "value": {"last_object_clicked": {"lat": point.y, "lng": point.x}},
    }
    app.run()
    next(s for s in app.selectbox if s.key == "w_adjust_target").set_value(1)
    next(b for b in app.button if b.key == "w_adjust_move").click().run()
    _ok(app)
    assert _households(app) == moved
    next(b for b in app.button if b.key == "w_save_adjusted").click().run()
    _ok(app)
    saved = app.session_state["proposals"][-1]
    assert saved.proposal_id == "000000000000-D1"
    assert saved.parts["households"].tolist() == moved
    assert zh("adjusted by hand from {source}").format(
        source=zh("Alternative {rank}").format(rank=1)) in saved.parts["reasons"].iloc[0]
    community = loaded.communities.to_crs(4548).geometry.iloc[0]
    parts = saved.parts.to_crs(4548).geometry
    assert community.symmetric_difference(shapely.union_all(parts.values)).area < 1.0
    assert parts.area.sum() - shapely.union_all(parts.values).area < 1.0
    assert int(saved.lineage["households"].sum()) == 9762
