"""``gridplan projects create|list|history`` on a workspace folder (SCHEMA.md "Projects")."""

from __future__ import annotations

import json

import numpy as np

from cli import main
from planning.communities import load


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_create_list_and_history(tmp_path, capsys, beijing_path):
    home = ["--home", str(tmp_path), "--json", "--lang", "en", "--quiet"]
    expected = int(load(beijing_path).communities["households"].sum())
    assert main(["projects", "create", "清华园", "--from", str(beijing_path), "--author", "王芳",
                 *home]) == 0
    created = _json(capsys)
    assert created == {"name": "清华园", "version": 1, "communities": 1, "households": expected}
    assert main(["projects", "list", *home]) == 0
    (line,) = _json(capsys)["projects"]
    assert (line["name"], line["version"], line["households"], line["grids"]) == (
        "清华园", 1, expected, 0)
    assert line["updated_at"] and line["author"] == "王芳"
    assert main(["projects", "history", "清华园", *home]) == 0
    (version,) = _json(capsys)["versions"]
    assert (version["version"], version["author"], version["action"]) == (1, "王芳", "create")


def test_bad_names_and_missing_projects_end_with_one_line(tmp_path, capsys, beijing_path):
    home = ["--home", str(tmp_path), "--lang", "en", "--quiet"]
    assert main(["projects", "create", "../x", "--from", str(beijing_path), *home]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be a project name" in err[0]
    assert main(["projects", "history", "没有", *home]) == 2
    assert "no project called" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.gpkg"))


def test_grids_and_split_with_project_save_new_versions(tmp_path, capsys, monkeypatch):
    from gis.datasets.synthetic import make_district, write_district

    district = write_district(make_district(1_200, seed=1), tmp_path / "d.gpkg")
    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    opts = ["--json", "--lang", "en", "--quiet"]
    assert main(["projects", "create", "区", "--from", str(district), *opts]) == 0
    created = _json(capsys)
    assert main(["check", "--project", "区", *opts]) == 0
    checked = _json(capsys)
    assert sum(c["households"] for c in checked["communities"]) == created["households"]
    assert main(["grids", "--project", "区", *opts]) == 0
    grids = _json(capsys)
    assert (grids["project"], grids["version"]) == ("区", 2)
    assert main(["projects", "history", "区", *opts]) == 0
    assert [v["action"] for v in _json(capsys)["versions"]] == ["create", "grids"]
    assert main(["projects", "list", *opts]) == 0
    assert _json(capsys)["projects"][0]["grids"] == grids["grids"]
    from planning.projects import open_loaded, workspace

    project = workspace().open("区")
    saved = project.load(layers=["grids"])["grids"]
    assert len(saved) == grids["grids"]
    assert int(saved["households"].sum()) == created["households"]
    # one community opens alone, with the roads around it and not the district's
    first = str(saved["community_id"].iloc[0])
    one = open_loaded(project, community=first)
    assert set(one.buildings["community_id"]) == {first}
    everything = open_loaded(project)
    assert 0 < len(one.project.roads) <= len(everything.project.roads)


def test_compare_and_export_with_project(tmp_path, capsys, monkeypatch, beijing_path):
    """``compare --project`` compares the project's data before and after its split (the
    accepted proposal once reviewed); ``export --project`` exports the project's version,
    and the old ``export --project FILE`` still reads FILE as ``--layers``, with a warning."""
    from gis.store import read_exported
    from planning.communities import load
    from planning.projects import workspace

    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    opts = ["--json", "--lang", "en", "--quiet"]
    assert main(["projects", "create", "清华园", "--from", str(beijing_path), *opts]) == 0
    created = _json(capsys)
    # nothing split yet: after is before, and the note says why
    assert main(["compare", "--project", "清华园", *opts]) == 0
    same = _json(capsys)
    assert same["before"] == same["after"]
    assert any("no split proposal" in n for n in same["notes"])
    assert main(["split", "--project", "清华园", "--alternatives", "2", *opts]) == 0
    split = _json(capsys)
    assert split["version"] == 2
    assert main(["compare", "--project", "清华园", *opts]) == 0
    compared = _json(capsys)
    parent = "000000000000"
    before_ids = {c["community_id"] for c in compared["communities_before"]}
    after_ids = {c["community_id"] for c in compared["communities_after"]}
    assert before_ids == {parent} and parent not in after_ids and len(after_ids) >= 2
    households = sum(c["households"] for c in compared["communities_after"])
    assert households == created["households"]  # nobody lost in the split
    assert any(f"{parent}-R1 (not reviewed yet)" in n for n in compared["notes"])
    # accept the second alternative as the app's Review page does: it becomes the after
    project = workspace().open("清华园")
    parts = project.load(layers=["proposals"])["proposals"]
    second = parts[parts["rank"] == 2].assign(proposal_id=f"{parent}-R2b")
    v = project.save(layers={"proposals": second}, action="proposal", note=f"{parent}-R2b",
                     author="王芳", status="proposed")
    project.review(v, "accepted", author="李强")
    assert main(["compare", "--project", "清华园", *opts]) == 0
    accepted = _json(capsys)
    assert any(f"{parent}-R2b (accepted)" in n for n in accepted["notes"])
    assert len(accepted["communities_after"]) == second["part"].nunique()

    # export: the project's latest version; its data draw nothing here but are not exported
    out = tmp_path / "out.gpkg"
    assert main(["export", "--project", "清华园", "--out", str(out), *opts]) == 0
    back = read_exported(out)
    assert "proposals" in back and "buildings" not in back
    assert set(back["proposals"]["proposal_id"]) == {f"{parent}-R2b"}
    old = tmp_path / "v2.gpkg"
    assert main(["export", "--project", "清华园", "--version", "2", "--out", str(old), *opts]) == 0
    assert set(read_exported(old)["proposals"]["rank"]) == {1, 2}
    # the old meaning of --project: a file of layers for the atlas, read with a warning
    plan = tmp_path / "plan.gpkg"
    assert main(["export", "--project", "清华园", "--out", str(plan), *opts]) == 0
    capsys.readouterr()
    assert main(["export", str(plan), "--project", str(beijing_path), "--out",
                 str(tmp_path / "x.xlsx"), *opts]) == 0
    err = capsys.readouterr().err
    assert "--layers" in err and "now names a project" in err
    assert main(["export", "--project", "没有", "--out", str(tmp_path / "y.gpkg"), *opts]) == 2
    assert "no project called" in capsys.readouterr().err
    assert int(load(beijing_path).communities["households"].sum()) == created["households"]


def test_split_with_project_adds_to_earlier_proposals(tmp_path, capsys, monkeypatch, beijing_path):
    """``split --project`` twice after a proposal drawn in the app: the drawn proposal and the
    first run's alternatives are still in the project, the second run's are renumbered
    (``-R1-2``), and each proposal's lineage is its own."""
    from planning.projects import chosen_split, workspace

    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    opts = ["--json", "--lang", "en", "--quiet"]
    assert main(["projects", "create", "清华园", "--from", str(beijing_path), *opts]) == 0
    created = _json(capsys)
    parent = "000000000000"
    project = workspace().open("清华园")
    # a proposal drawn in the app: the whole community as one part, saved as the app saves it
    community = project.load(layers=["communities"])["communities"]
    drawn = community[["geometry"]].assign(
        proposal_id=f"{parent}-D1", part=1, rank=np.nan, parent_community_id=parent,
        households=created["households"],
    )
    project.save(layers={"proposals": drawn}, action="proposal", note=f"{parent}-D1",
                 author="王芳", status="proposed")
    for run in (1, 2):
        assert main(["split", "--project", "清华园", "--alternatives", "2", *opts]) == 0
        assert _json(capsys)["version"] == 2 + run
    layers = workspace().open("清华园").load(layers=["proposals", "lineage"])
    parts, lineage = layers["proposals"], layers["lineage"]
    assert list(dict.fromkeys(parts["proposal_id"])) == [
        f"{parent}-D1", f"{parent}-R1", f"{parent}-R2", f"{parent}-R1-2", f"{parent}-R2-2"
    ]
    # every alternative still holds every household of the community
    totals = parts.groupby("proposal_id")["households"].sum()
    assert (totals == created["households"]).all(), totals
    # the lineage of each run's first alternative, tagged with its own id
    assert set(lineage["proposal_id"]) == {f"{parent}-R1", f"{parent}-R1-2"}
    for pid in (f"{parent}-R1", f"{parent}-R1-2"):
        rows = lineage[lineage["proposal_id"] == pid]
        assert int(rows["households"].sum()) == created["households"]
        assert set(rows["to_community_id"]) <= {f"{parent}-{k}" for k in range(1, 10)}
    # both runs have a rank-1 proposal: the newest run's is the one the project stands for
    chosen, which = chosen_split(workspace().open("清华园"))
    assert which == [{"community_id": parent, "proposal_id": f"{parent}-R1-2", "status": "proposed"}]
    assert len(chosen["lineage"]) == (lineage["proposal_id"] == f"{parent}-R1-2").sum()
