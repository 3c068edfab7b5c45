"""``gridplan projects create|list|history`` on a workspace folder (SCHEMA.md "Projects")."""

from __future__ import annotations

import json

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
