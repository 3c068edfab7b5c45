"""A planner's layers as a project keeps them, and back: create a project, open it to plan.

:class:`gis.store.workspace.Workspace` keeps projects; this module knows what a project's
first version holds and how to plan on it again:

- ``buildings``: the buildings as read (field mapping applied, in EPSG:4490), with the
  ``community_id`` and ``compound_id`` found by location. Households are **not** frozen:
  they are filled again from the data, the roster or the estimate with the rules in
  force whenever the project is opened, so a rule edit re-estimates them.
- ``communities``: the communities as read (or the study area, when there are none),
  with their ids.
- ``community_summary``: per community ``households``, ``residents``,
  ``special_service_households``, ``n_buildings``, ``estimated_buildings`` (as of the
  last data change), so a whole city's community list opens without reading a building.
- the other layers that came with the data (``compounds``, ``roads``, ``waterways``,
  ``barriers``, ``service_centres``) and the ``roster``.

Examples
--------
>>> import tempfile
>>> from gis.datasets import get_path
>>> ws = workspace(tempfile.mkdtemp())
>>> project = create_project(ws, "清华园", get_path("beijing"), author="王芳")
>>> table = community_table(project)
>>> table[["community_id", "households", "status"]].to_dict("records")
[{'community_id': '000000000000', 'households': 9762, 'status': 'may_split'}]
>>> int(open_loaded(project).communities["households"].sum())
9762
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.i18n import N_
from gis.io import LAYERS, Project as LayerSet
from gis.io import read_project
from planning.communities import Loaded, prepare
from planning.rules import RuleSet, get_preset
from planning.thresholds import check_communities

if TYPE_CHECKING:
    from gis.users import User
    from gis.store.workspace import Project, Workspace

__all__ = [
    "INPUT_LAYERS",
    "SUMMARY_COLUMNS",
    "add_proposals",
    "chosen_split",
    "community_table",
    "create_project",
    "open_loaded",
    "project_layers",
    "project_rules",
    "remap_data",
    "sample_layers",
    "save_data",
    "workspace",
]

INPUT_LAYERS: tuple[str, ...] = (*LAYERS, "roster", "community_summary")
"""The layers that hold the planner's data (the rest are results: grids, proposals…)."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "community_id",
    "households",
    "residents",
    "special_service_households",
    "n_buildings",
    "estimated_buildings",
)
"""The columns of the ``community_summary`` layer."""

_DERIVED = ("households_source", "floors_source", "footprint_m2")


def project_layers(loaded: Loaded) -> dict[str, pd.DataFrame]:
    """Return the layers a project keeps for ``loaded`` (see the module notes).

    Examples
    --------
    >>> from gis.datasets import get_path
    >>> from planning.communities import load
    >>> layers = project_layers(load(get_path("beijing")))
    >>> sorted(layers)
    ['barriers', 'buildings', 'communities', 'community_summary', 'compounds', 'landuse', 'roads', 'waterways']
    """
    project = loaded.project
    buildings = loaded.buildings
    # the estimate is redone on opening: estimated households (and the residents and
    # floors assumed with them) are kept empty, so a rule edit (area per dwelling,
    # default floors, persons per household) changes them
    estimated = (buildings["households_source"] == "estimated").to_numpy()
    assumed = (buildings["floors_source"] == "assumed_default").to_numpy()
    raw = buildings.drop(columns=[c for c in _DERIVED if c in buildings]).copy()
    raw["households"] = raw["households"].astype("Int64").mask(estimated)
    raw["residents"] = raw["residents"].astype("Int64").mask(estimated)
    raw["floors"] = raw["floors"].astype("Int64").mask(assumed)
    out: dict[str, pd.DataFrame] = {"buildings": raw}
    communities = project.communities  # with their ids (or the study area)
    assert communities is not None  # prepare() always gives communities
    out["communities"] = communities
    out["community_summary"] = pd.DataFrame(
        loaded.communities[list(SUMMARY_COLUMNS)]
    ).reset_index(drop=True)
    for name in LAYERS:
        if name in {"buildings", "communities"}:
            continue
        layer = getattr(project, name, None)
        if layer is not None and len(layer):
            out[name] = layer
    if project.roster is not None:
        out["roster"] = project.roster
    return out


def _stats(loaded: Loaded) -> dict[str, dict[str, Any]]:
    """The list's numbers for a project's data (from the prepared buildings)."""
    households = int(loaded.buildings["households"].sum())
    return {"buildings": {"rows": len(loaded.buildings), "households": households}}


def create_project(
    workspace: Workspace,
    name: str,
    source: str | Path | Mapping[str, str | Path],
    *,
    author: str,
    rules: RuleSet | None = None,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    encoding: str | None = None,
    crs: Any = None,
    lang: str = "en",
    note: str = "",
    user: User | None = None,
    **read_options: Any,
) -> Project:
    """Read a planner's data and keep it as a new project (version 1, action ``create``).

    The data are read and checked as :func:`planning.communities.load` does, so a file
    that cannot be planned on is refused before the project exists.

    Parameters
    ----------
    workspace
        Where the project goes.
    name
        Its name (see :func:`gis.store.workspace.check_project_name`).
    source
        What :func:`gis.io.read_project` reads: a GeoPackage, a zip or folder of layers,
        one buildings file, or ``{layer: file}``.
    author
        Who creates it.
    rules
        The rules to plan with (the default preset when ``None``).
    overrides, encoding, crs
        Passed to :func:`gis.io.read_project`.
    lang
        The language of the check's messages.
    note
        A note for the first version.
    user
        The signed-in planner (needs the ``upload`` right).
    **read_options
        More of :func:`gis.io.read_project`'s options chosen on reading (``roles``,
        ``sheet``, ``header_line``, ``layer_map``, ``limits``); kept with the version
        (``meta["read_options"]``, with ``crs`` and ``encoding``) so the reading can be
        repeated.
    """
    rules = rules or get_preset("default")
    project = read_project(source, overrides=overrides, encoding=encoding, crs=crs, **read_options)
    loaded = prepare(project, rules=rules, lang=lang)
    kept = {"crs": crs, "encoding": encoding, **read_options}
    meta = {
        "source": Path(str(source)).name if not isinstance(source, Mapping) else "",
        "mapping": project.mapping,
        "stats": _stats(loaded),
        "read_options": {
            k: (dict(v) if isinstance(v, Mapping) else v)
            for k, v in kept.items()
            if v is not None and k != "limits" and isinstance(v, str | int | float | Mapping)
        },
    }
    return workspace.create(
        name,
        layers=project_layers(loaded),
        author=author,
        note=note,
        rules=rules,
        meta=meta,
        user=user,
    )


def save_data(
    project: Project,
    loaded: Loaded,
    *,
    author: str | None = None,
    note: str = "",
    base_version: int | None = None,
    rules: RuleSet | None = None,
    action: str = "data",
) -> int:
    """Save new data (another upload, another field mapping) as a new version.

    ``action`` names the version in the history: ``data`` for new files, ``mapping`` for
    the same files with another field mapping. ``base_version`` is checked as in
    :meth:`gis.store.workspace.Project.save`.
    """
    return project.save(
        layers=project_layers(loaded),
        action=action,
        author=author,
        note=note,
        rules=rules or loaded.rules,
        base_version=base_version,
        meta={"mapping": loaded.project.mapping, "stats": _stats(loaded)},
    )


def _unmapped(frame: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """Give a kept layer back the column names it was read with (``mapping``:
    ``{original: field}``), and a field name shadowed on reading (``x_original``) its own."""
    back = frame.rename(columns={f: o for o, f in mapping.items() if f in frame and o not in frame})
    shadowed = {
        c: c[: -len("_original")]
        for c in back.columns
        if str(c).endswith("_original") and c[: -len("_original")] not in back
    }
    return back.rename(columns=shadowed)


def remap_data(
    project: Project,
    overrides: Mapping[str, Mapping[str, str]],
    *,
    rules: RuleSet | None = None,
    lang: str = "en",
    author: str | None = None,
    base_version: int | None = None,
) -> int:
    """Map some fields of the project's data again and save it as a new version (``mapping``).

    The kept layers are given back the column names they were read with, mapped again
    with the project's mapping and the planner's choices on top (``overrides``:
    ``{layer: {original column: field}}``, ``""`` to leave a column out), checked as a
    new upload is, and saved; the mapping is kept with the version, so the project opens
    tomorrow with it.

    Raises
    ------
    gis.errors.FieldError
        When a choice names a column the layer does not have.
    gis.validate.ValidationError
        When the data no longer passes the checks with the new mapping (nothing is saved).

    Examples
    --------
    >>> import tempfile
    >>> from gis.datasets import get_path
    >>> p = create_project(workspace(tempfile.mkdtemp()), "清华园", get_path("beijing"),
    ...                    author="王芳")
    >>> p.info()["meta"]["mapping"]["buildings"]["building:levels"]
    'floors'
    >>> remap_data(p, {"buildings": {"building:levels": ""}}, author="王芳")
    2
    >>> "building:levels" in p.info()["meta"]["mapping"]["buildings"]
    False
    >>> p.history()["action"].tolist()
    ['create', 'mapping']
    """
    from gis.fields import map_fields

    rules = rules or project_rules(project)
    names = [n for n in project.layer_names() if n in INPUT_LAYERS and n != "community_summary"]
    layers = project.load(layers=names)
    mapping: dict[str, dict[str, str]] = {
        k: dict(v) for k, v in project.info().get("meta", {}).get("mapping", {}).items()
    }
    for layer, chosen in overrides.items():
        frame = layers.get(layer)
        if frame is None:
            from gis.errors import FieldError

            msg = N_("The project has no {layer} layer to map. Its layers are: {layers}.")
            raise FieldError(msg, layer=layer, layers=", ".join(names))
        old = mapping.get(layer, {})
        taken = {f for f in chosen.values() if f}
        wanted = {o: f for o, f in old.items() if f not in taken and o not in chosen}
        wanted.update(chosen)
        raw = _unmapped(frame, old)
        mapped, mapping[layer] = map_fields(raw, layer=layer, overrides=wanted)
        if isinstance(frame, gpd.GeoDataFrame):
            mapped = gpd.GeoDataFrame(mapped, geometry=frame.geometry.name, crs=frame.crs)
        layers[layer] = mapped
    spatial = {k: v for k, v in layers.items() if k in LAYERS and isinstance(v, gpd.GeoDataFrame)}
    data = LayerSet(**spatial, roster=layers.get("roster"), mapping=mapping, source=project.name)
    loaded = prepare(data, rules=rules, lang=lang)
    note = "; ".join(
        f"{layer}: " + ", ".join(f"{o} → {f or '—'}" for o, f in chosen.items())
        for layer, chosen in overrides.items()
    )
    return save_data(
        project,
        loaded,
        author=author,
        note=note,
        base_version=base_version,
        rules=rules,
        action="mapping",
    )


def add_proposals(
    project: Project, layers: Mapping[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Return ``layers`` with the project's earlier proposals kept beside the new ones.

    A project's ``proposals`` layer holds every proposal made in it (the app's and the
    CLI's); saving a new split must add to it, not replace it. A new proposal whose id is
    taken is renumbered as the app does (``<community>-R1`` → ``<community>-R1-2``…). The
    lineage is kept per proposal (a ``proposal_id`` column): a new lineage without one
    belongs to the rank-1 proposal of its ``from_community_id``.

    Parameters
    ----------
    project
        The project the layers are saved into.
    layers
        The layers to save, with ``proposals`` (and usually ``lineage``).

    Returns
    -------
    dict
        ``layers`` with ``proposals`` (and ``lineage``) holding the earlier rows, then the
        new ones; the new proposals' ids are in their own ``proposal_id`` column.

    Examples
    --------
    >>> import tempfile
    >>> from gis.datasets import get_path
    >>> from planning.split import propose_splits
    >>> ws = workspace(tempfile.mkdtemp())
    >>> project = create_project(ws, "清华园", get_path("beijing"), author="王芳")
    >>> loaded = open_loaded(project)
    >>> result = propose_splits(loaded.project.buildings, community=loaded.communities,
    ...                         alternatives=1)
    >>> new = {"proposals": result.proposals(), "lineage": result.lineage(1)}
    >>> v = project.save(layers=add_proposals(project, new), action="split", author="王芳")
    >>> v = project.save(layers=add_proposals(project, new), action="split", author="王芳")
    >>> sorted(set(project.load(layers=["proposals"])["proposals"]["proposal_id"]))
    ['000000000000-R1', '000000000000-R1-2']
    """
    new = layers["proposals"]
    names = project.layer_names()
    kept = project.load(layers=[n for n in ("proposals", "lineage") if n in names])
    old = kept.get("proposals")
    taken: set[str] = set()
    if old is not None and "proposal_id" in old:
        taken = set(old["proposal_id"].astype(str))
    renamed: dict[str, str] = {}
    for pid in dict.fromkeys(new["proposal_id"].astype(str)):
        fresh, number = pid, 1
        while fresh in taken:
            number += 1
            fresh = f"{pid}-{number}"
        taken.add(fresh)
        renamed[pid] = fresh
    parts = new.assign(proposal_id=new["proposal_id"].astype(str).map(renamed))
    out = dict(layers)
    if old is not None and len(old):
        both = pd.concat([old.to_crs(parts.crs), parts], ignore_index=True)
        out["proposals"] = gpd.GeoDataFrame(both, geometry=parts.geometry.name, crs=parts.crs)
    else:
        out["proposals"] = parts
    lineage = layers.get("lineage")
    if lineage is not None and len(lineage):
        out["lineage"] = pd.concat(
            [
                _tagged_lineage(kept.get("lineage"), old),
                _tagged_lineage(lineage, new, renamed=renamed),
            ],
            ignore_index=True,
        )
    return out


def _tagged_lineage(
    lineage: pd.DataFrame | None,
    parts: pd.DataFrame | None,
    *,
    renamed: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The lineage with its ``proposal_id`` (renamed); untagged rows get their community's
    rank-1 proposal, or none when there is no such proposal."""
    if lineage is None or not len(lineage):
        return pd.DataFrame()
    out = lineage.copy()
    if "proposal_id" not in out and parts is not None and "from_community_id" in out:
        first = parts[parts["rank"] == 1] if "rank" in parts else parts.iloc[0:0]
        by_community = dict(
            zip(
                first["parent_community_id"].astype(str),
                first["proposal_id"].astype(str),
                strict=True,
            )
        )
        out["proposal_id"] = out["from_community_id"].astype(str).map(by_community)
    if renamed and "proposal_id" in out:
        out["proposal_id"] = out["proposal_id"].map(lambda p: renamed.get(str(p), p))
    return out


def chosen_split(
    project: Project, version: int | None = None
) -> tuple[dict[str, pd.DataFrame], list[dict[str, str]]]:
    """Return the split a project stands for, one proposal per community, and which.

    Per community: its accepted proposal (the latest accepted, when several were); a
    community with none accepted takes its best-ranked proposal that was not rejected
    (the engine's rank; drawn proposals after the engine's), as ``gridplan compare`` does
    with a split plan file. Between equally ranked proposals of several engine runs the
    newest run's is taken: a planner who re-ran the engine (with other settings, or on
    edited layers) means the new answer.

    Returns
    -------
    (dict, list)
        ``{"proposals": parts, "lineage": lineage}`` of the chosen proposals (empty when
        the project has none), and one ``{"community_id", "proposal_id", "status"}`` per
        community (``status``: ``accepted``, or ``proposed`` for one not yet reviewed).
    """
    names = project.layer_names(version)
    if "proposals" not in names:
        return {}, []
    layers = project.load(version, layers=[n for n in ("proposals", "lineage") if n in names])
    parts = layers["proposals"]
    if parts.empty:
        return {}, []
    if "proposal_id" not in parts:
        ranks = parts["rank"].astype(int).astype(str) if "rank" in parts else "1"
        parts = parts.assign(proposal_id=parts["parent_community_id"].astype(str) + "-R" + ranks)
    history = project.history()
    made = history[history["action"] == "proposal"]
    status = {str(n): str(s) for n, s in zip(made["note"], made["status"], strict=True)}
    order = list(dict.fromkeys(parts["proposal_id"].astype(str)))
    rank = (
        parts.groupby("proposal_id")["rank"].min() if "rank" in parts else pd.Series(dtype=float)
    )
    chosen: list[dict[str, str]] = []
    for community, group in parts.groupby(parts["parent_community_id"].astype(str), sort=True):
        ids = [i for i in order if i in set(group["proposal_id"].astype(str))]
        accepted = [i for i in ids if status.get(i) == "accepted"]
        if accepted:
            chosen.append({"community_id": community, "proposal_id": accepted[-1], "status": "accepted"})
            continue
        open_ = [i for i in ids if status.get(i, "proposed") != "rejected"]
        if not open_:
            continue
        best = min(
            open_,
            key=lambda i: (float(rank.get(i, np.inf)) if pd.notna(rank.get(i, np.nan)) else np.inf,
                           -open_.index(i)),
        )
        chosen.append({"community_id": community, "proposal_id": best, "status": "proposed"})
    ids = {c["proposal_id"] for c in chosen}
    out: dict[str, pd.DataFrame] = {"proposals": parts[parts["proposal_id"].astype(str).isin(ids)]}
    lineage = layers.get("lineage")
    if lineage is not None and "proposal_id" in lineage:
        out["lineage"] = lineage[lineage["proposal_id"].astype(str).isin(ids)].drop(
            columns="proposal_id"
        )
    return out, chosen


def project_rules(project: Project, version: int | None = None) -> RuleSet:
    """The rule set saved with a version (the default preset when there is none)."""
    from planning.rules import PRESETS

    stored = project.info(version).get("rules") or {}
    values = stored.get("values") if isinstance(stored, Mapping) else None
    name = str(stored.get("name") or "default") if isinstance(stored, Mapping) else "default"
    base = get_preset(name if name in PRESETS else "default")
    return base.with_values(**values) if values else base


def community_table(
    project: Project,
    *,
    rules: RuleSet | None = None,
    lang: str = "en",
    version: int | None = None,
) -> gpd.GeoDataFrame:
    """Return every community with its totals and status, without reading a building.

    The totals are those of the last data change; the status follows ``rules`` (the
    project's own by default).
    """
    rules = rules or project_rules(project, version)
    layers = project.load(version, layers=("communities", "community_summary"))
    communities = layers["communities"]
    summary = layers.get("community_summary")
    if summary is not None:
        communities = communities.drop(
            columns=[c for c in SUMMARY_COLUMNS[1:] if c in communities and c != "residents"]
        ).merge(summary, on="community_id", how="left", suffixes=("_given", ""))
        if "residents_given" in communities:
            given = pd.to_numeric(communities.pop("residents_given"), errors="coerce")
            communities["residents"] = given.fillna(communities["residents"])
    checked = check_communities(communities, rules=rules, lang=lang)
    return gpd.GeoDataFrame(checked, geometry="geometry", crs=layers["communities"].crs)


def open_loaded(
    project: Project,
    *,
    rules: RuleSet | None = None,
    lang: str = "en",
    version: int | None = None,
    community: str | Collection[str] | None = None,
) -> Loaded:
    """Return a project's data ready to plan on (households filled with ``rules``).

    Parameters
    ----------
    project
        The project.
    rules
        The rules (the project's own by default).
    lang
        The language of the check's messages.
    version
        A version (the shown one by default).
    community
        Only this community (or these): a whole city is planned one community at a time.
    """
    rules = rules or project_rules(project, version)
    names = [n for n in project.layer_names(version) if n in INPUT_LAYERS]
    if community is None:
        layers = project.load(version, layers=names)
    else:  # the community's own rows, and the roads, rivers… around it
        own = [n for n in names if n in {"buildings", "communities", "community_summary"}]
        layers = project.load(version, layers=own, community=community)
        area = layers["communities"]
        x0, y0, x1, y1 = area.total_bounds
        pad = 0.005  # degrees, about 500 m: the roads and walls just outside count too
        around = [n for n in names if n not in own]
        if around:
            near = project.load(
                version, layers=around, bbox=(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
            )
            layers.update({k: v for k, v in near.items() if k != "plans"})
    spatial = {k: v for k, v in layers.items() if k in LAYERS and isinstance(v, gpd.GeoDataFrame)}
    info = project.info(version)
    data = LayerSet(
        **spatial,
        roster=layers.get("roster"),
        mapping=dict(info.get("meta", {}).get("mapping", {})),
        source=project.name,
    )
    return prepare(data, rules=rules, lang=lang)


def sample_layers(sample: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Return a bundled sample's layers and meta as a project keeps them."""
    from gis.datasets import get_path
    from planning.communities import load

    loaded = load(get_path(sample))
    meta = {"source": f"sample:{sample}", "mapping": loaded.project.mapping, "stats": _stats(loaded)}
    return project_layers(loaded), meta


def workspace(home: str | Path | None = None, *, db: str | None = None) -> Workspace:
    """Return the workspace at ``home`` (or ``db``), able to open the bundled samples.

    With neither, the workspace of ``GRIDPLAN_HOME`` and ``GRIDPLAN_DB``.
    """
    from gis.store.workspace import Workspace

    if home is None and db is None:
        return Workspace.from_env(samples=sample_layers)
    return Workspace(home, db=db, samples=sample_layers)
