"""From buildings to communities: assignment by location and per-community totals.

Where a project has no community layer (like the bundled samples) the whole study area
is one community, so the threshold check can still say whether it should be split.

Examples
--------
>>> from gis import datasets
>>> plan = load(datasets.get_path("beijing"))
>>> row = plan.communities.iloc[0]
>>> row["community_id"], int(row["households"]), row["status"]
('000000000000', 9762, 'may_split')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.accounting import DataWarning, households_added, households_excluded
from gis.crs import STORAGE_CRS, to_metric
from gis.geometry import points_in_areas
from gis.i18n import N_
from gis.io import Project, read_project
from gis.numerals import parse_counts
from gis.validate import Problem, ValidationReport, validate_project
from planning.grids import community_conflicts
from planning.households import fill_households, implausible_warning, match_roster
from planning.rules import RuleSet, get_preset
from planning.thresholds import check_communities

__all__ = [
    "STUDY_AREA_ID",
    "Loaded",
    "assign_by_location",
    "load",
    "prepare",
    "render_warnings",
    "summarize",
]

STUDY_AREA_ID = "000000000000"
"""``community_id`` of the single community made from a study area with no community layer."""


@dataclass(frozen=True)
class Loaded:
    """A project ready for planning: buildings with households, communities with totals."""

    project: Project
    communities: gpd.GeoDataFrame
    report: ValidationReport
    rules: RuleSet
    data_warnings: tuple[DataWarning, ...] = field(default=())
    """Everything left out, guessed or repaired, with the households concerned (SCHEMA.md)."""
    households_in: int = 0
    """Households given in the input: on buildings and in roster rows."""

    def accounting(self) -> dict[str, int]:
        """Households in the input, added by estimates, in the totals and left out (reported).

        ``households_in + added == in_totals + excluded`` holds for every project.
        """
        return {
            "households_in": self.households_in,
            "added": households_added(self.data_warnings),
            "in_totals": int(self.communities["households_buildings"].sum()),
            "excluded": households_excluded(self.data_warnings),
        }

    @property
    def buildings(self) -> gpd.GeoDataFrame:
        """The buildings, with households and community/compound ids."""
        return self.project.buildings

    def warnings(self, lang: str | None = "en") -> list[dict[str, Any]]:
        """The ``warnings`` of ``check --json`` (SCHEMA.md): ``kind``, ``count``,
        ``message`` in ``lang``, ``rows`` (at most 50 ids) and ``households`` (left out of
        the totals) per warning: the layers' repairs, the roster, the estimates and the
        planning checks (``implausible_building``) alike."""
        return [w.to_dict(lang) for w in self.data_warnings]

    def estimated_rows(self) -> int:
        """How many buildings' households rest on an estimate."""
        return int((self.buildings["households_source"] == "estimated").sum())

    def assumed_floor_rows(self) -> int:
        """How many estimated buildings also rest on assumed floors."""
        b = self.buildings
        return int(
            (
                (b["households_source"] == "estimated") & (b["floors_source"] == "assumed_default")
            ).sum()
        )


def _study_area_community(project: Project) -> gpd.GeoDataFrame:
    area = project.study_area
    metric = to_metric(project.buildings)
    footprints = shapely.union_all(metric.geometry.values)
    if area is None:
        hull = shapely.buffer(shapely.convex_hull(footprints), 30.0)
        area = gpd.GeoSeries([hull], crs=metric.crs).to_crs(STORAGE_CRS).iloc[0]
    else:
        # Buildings that cross the study area's edge (an OSM export keeps whole ways) are
        # kept whole: the area grows to the hull of both, so every building has territory.
        area_m = gpd.GeoSeries([area], crs=STORAGE_CRS).to_crs(metric.crs).iloc[0]
        if not shapely.covers(area_m, footprints):
            grown = shapely.convex_hull(shapely.union_all([area_m, footprints]))
            area = gpd.GeoSeries([grown], crs=metric.crs).to_crs(STORAGE_CRS).iloc[0]
    return gpd.GeoDataFrame(
        {"community_id": [STUDY_AREA_ID], "name": ["研究区 Study area"], "staff": [pd.NA]},
        geometry=[area],
        crs=STORAGE_CRS,
    )


def assign_by_location(
    buildings: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, *, id_column: str
) -> pd.Series:
    """Return the id of the area holding each building (aligned to buildings; NA: none).

    The rule of the grid engine (:func:`planning.grids.buildings_by_community`), so ``check``
    and ``grids`` count every building in the same community: the area holding the
    building's representative point, the first of them when the point lies on a shared
    edge; for a point in no area, the area the footprint overlaps most.
    """
    if len(buildings) == 0 or len(areas) == 0:
        return pd.Series(pd.NA, index=buildings.index, dtype=object)
    geoms = areas.geometry.values
    points = buildings.geometry.representative_point().values
    out = np.full(len(buildings), -1, dtype=np.int64)
    idx_point, idx_area = points_in_areas(points, geoms)
    first = np.r_[True, idx_point[1:] != idx_point[:-1]] if len(idx_point) else np.zeros(0, bool)
    out[idx_point[first]] = idx_area[first]
    footprints = buildings.geometry.values
    for i in np.flatnonzero(out < 0):
        overlaps = shapely.area(shapely.intersection(footprints[i], geoms))
        if len(overlaps) and overlaps.max() > 0:
            out[i] = int(np.argmax(overlaps))
    ids = areas[id_column].to_numpy(dtype=object)
    values = [ids[k] if k >= 0 else pd.NA for k in out]
    return pd.Series(values, index=buildings.index, dtype=object)


def summarize(
    buildings: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    households_from: Literal["official", "buildings"] = "official",
) -> gpd.GeoDataFrame:
    """Add per-community totals of households, residents and special-service households.

    ``households_buildings`` is the sum over the community's buildings; where the community
    layer gives its own count it is kept as ``households_official``, and
    ``households_from`` chooses which of the two is ``households`` (``households_source``
    says which one it is).
    """
    totals = buildings.groupby("community_id").agg(
        households=("households", "sum"),
        residents=("residents", "sum"),
        special_service_households=("special_service_households", "sum"),
        n_buildings=("households", "size"),
        estimated_buildings=("households_source", lambda s: int((s == "estimated").sum())),
    )
    official = (
        pd.to_numeric(communities["households"], errors="coerce").to_numpy()
        if "households" in communities
        else None
    )
    out = communities.drop(
        columns=[
            c
            for c in [*totals.columns, "households_official", "households_buildings"]
            if c in communities and c != "residents"
        ],
        errors="ignore",
    )
    given_residents = (
        pd.to_numeric(out["residents"], errors="coerce") if "residents" in out else None
    )
    out = out.drop(columns=["residents"], errors="ignore").merge(
        totals, left_on="community_id", right_index=True, how="left"
    )
    if given_residents is not None:
        out["residents"] = given_residents.where(given_residents.notna(), out["residents"]).values
    for column in totals.columns:
        out[column] = out[column].fillna(0).astype(int)
    out["households_buildings"] = out["households"]
    out["households_source"] = "buildings"
    if official is not None:
        known = pd.Series(official, index=out.index)
        out["households_official"] = known.round().astype("Int64")
        if households_from == "official":
            use = known.notna()
            out.loc[use, "households"] = known[use].round().astype(int)
            out.loc[use, "households_source"] = "official"
    return gpd.GeoDataFrame(out, geometry="geometry", crs=communities.crs)


def _as_id(values: pd.Series) -> pd.Series:
    """Return ids as text, so that 1, 1.0 and "1" (from shapefiles, GPKG, CSV) all match."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.round().astype("Int64")
    return values.astype("string")


_FROM_VALIDATION = {
    "empty_geometry",
    "bad_coordinates",
    "geometry_collection",
    "wrong_geometry_dropped",
    "unusable_geometry",
    "invalid_geometry",
    "duplicate_building",
    "duplicate_id",
    "overlap_repaired",
    "gap_repaired",
    "gap",
    "mixed_crs",
    "gcj02_suspected",
}
"""Validation warnings that go into the planner's warnings list (by their ``code``)."""


def _from_problem(problem: Problem) -> DataWarning:
    return DataWarning(
        problem.code,
        problem.what,
        problem.rows,
        households_excluded=problem.households,
        params=problem.params,
        layer=problem.layer,
        fix=problem.fix,
    )


def render_warnings(warnings: tuple[DataWarning, ...], lang: str | None) -> list[dict[str, Any]]:
    """Return the warnings as SCHEMA.md records, their messages in ``lang``."""
    return [w.to_dict(lang) for w in warnings]


def _left_out(
    buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, report: ValidationReport
) -> list[DataWarning]:
    """Buildings in no community of the layer: their households, with the reason."""
    known = set(communities["community_id"].dropna().astype(str))
    ids = buildings["community_id"]
    out: list[DataWarning] = []
    outside = ids.isna()
    unknown = ids.notna() & ~ids.astype(str).isin(known)
    labels = buildings["building_id"] if "building_id" in buildings else buildings.index.to_series()
    for kind, mask, msgid in (
        (
            "outside",
            outside,
            N_(
                "{count} buildings ({households} households) lie outside every community and are "
                "left out of community totals"
            ),
        ),
        (
            "unknown_community",
            unknown,
            N_(
                "{count} buildings ({households} households) name a community_id that no "
                "community has and are left out of community totals"
            ),
        ),
    ):
        if mask.any():
            out.append(
                DataWarning(
                    kind,
                    msgid,
                    tuple(labels[mask]),
                    households_excluded=int(buildings.loc[mask, "households"].sum()),
                    layer="buildings",
                    fix=N_(
                        "Extend the community boundaries to cover them, correct their "
                        "community_id, or delete buildings outside the study area"
                    ),
                )
            )
    return out


def _named_elsewhere(
    buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, given: np.ndarray
) -> list[DataWarning]:
    """Buildings counted in the community their ``community_id`` names, though they lie
    outside it: the attribute governs (in ``check`` and in the grid engine), the planner
    is told."""
    conflict = community_conflicts(buildings, communities) & given
    if not conflict.any():
        return []
    labels = buildings["building_id"] if "building_id" in buildings else buildings.index.to_series()
    return [
        DataWarning(
            "community_id_differs",
            N_(
                "{count} buildings ({households} households) lie outside the community their "
                "community_id names; they are counted (and gridded) in the community named"
            ),
            tuple(labels[conflict]),
            params={"households": int(buildings.loc[conflict, "households"].sum())},
            layer="buildings",
            fix=N_(
                "Check each building's community_id against the map: correct the attribute, "
                "or the community boundary"
            ),
        )
    ]


def _official_differs(
    communities: gpd.GeoDataFrame, rules: RuleSet, governs: str
) -> list[DataWarning]:
    if "households_official" not in communities:
        return []
    official = communities["households_official"].astype("Float64")
    summed = communities["households_buildings"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (official - summed).abs() / official.where(official > 0)
    differs = official.notna() & (
        share.fillna(np.inf) > rules.official_households_tolerance
    ) & ~((official == 0) & (summed == 0))
    differs = differs.fillna(False).astype(bool)
    if not differs.any():
        return []
    rows = tuple(
        f"{cid}: {int(o)} / {int(b)}"
        for cid, o, b in zip(
            communities.loc[differs, "community_id"], official[differs], summed[differs], strict=True
        )
    )
    return [
        DataWarning(
            "official_households_differ",
            N_(
                "{count} communities have an official household count that differs from the sum "
                "of their buildings by more than {share:.0%} (official / buildings); the "
                "{governs} count is used"
            ),
            rows,
            params={"share": rules.official_households_tolerance, "governs": governs},
            layer="communities",
            fix=N_(
                "Check the buildings' counts and the official figure; choose which governs with "
                "--households-from official|buildings"
            ),
        )
    ]


def prepare(
    project: Project,
    *,
    rules: RuleSet | None = None,
    lang: str = "en",
    households_from: Literal["official", "buildings"] = "official",
) -> Loaded:
    """Validate, fill households and check every community against the rules.

    A roster is applied before the estimate, so residents and special-service counts
    follow the roster's households rather than the estimate it replaces. Every household
    of the input ends in a community's total or in :attr:`Loaded.warnings` with its reason.

    Parameters
    ----------
    project
        As read by :func:`gis.io.read_project`.
    rules
        The rule set (default preset when omitted).
    lang
        The language of the reasons.
    households_from
        Where the community layer gives its own household count (户数), whether that
        official count (``"official"``, the default) or the sum of the buildings
        (``"buildings"``) is the community's ``households``; both are kept.
    """
    rules = rules or get_preset()
    households_in = _input_households(project)
    project, report = validate_project(
        project,
        sliver_max_m2=rules.community_sliver_max_m2,
        same_footprint_share=rules.duplicate_footprint_share,
    )
    report.raise_for_errors()
    warnings: list[DataWarning] = [
        _from_problem(p) for p in report.warnings if p.code in _FROM_VALIDATION
    ]
    buildings = project.buildings
    if project.roster is not None:
        buildings, roster_warnings = match_roster(buildings, project.roster)
        warnings.extend(roster_warnings)
    buildings, fill_warnings = fill_households(buildings, rules=rules)
    warnings.extend(fill_warnings)
    implausible = implausible_warning(buildings, rules=rules)
    if implausible is not None:
        report = ValidationReport(report.problems + (implausible,))
        warnings.append(_from_problem(implausible))
    communities = project.communities
    if communities is None or communities.empty:
        communities = _study_area_community(project)
    else:
        communities = communities.copy()
        if "community_id" not in communities:
            communities["community_id"] = [f"{i + 1:012d}" for i in range(len(communities))]
        communities["community_id"] = _as_id(communities["community_id"])
    given = None
    if "community_id" in buildings:
        buildings["community_id"] = _as_id(buildings["community_id"])
        given = buildings["community_id"].notna().to_numpy()
    if (
        "community_id" not in buildings
        or buildings["community_id"].isna().any()
        or len(communities) == 1
    ):
        located = assign_by_location(buildings, communities, id_column="community_id")
        if "community_id" in buildings and len(communities) > 1:
            located = buildings["community_id"].fillna(located)
        buildings["community_id"] = located
        if len(communities) == 1:
            buildings["community_id"] = buildings["community_id"].fillna(
                communities["community_id"].iloc[0]
            )
    warnings.extend(_left_out(buildings, communities, report))
    if given is not None and len(communities) > 1:
        warnings.extend(_named_elsewhere(buildings, communities, given))
    if (
        project.compounds is not None
        and len(project.compounds)
        and ("compound_id" not in buildings or buildings["compound_id"].isna().all())
    ):
        compounds = project.compounds.copy()
        if "compound_id" not in compounds:
            compounds["compound_id"] = [f"C{i + 1:04d}" for i in range(len(compounds))]
        buildings["compound_id"] = assign_by_location(buildings, compounds, id_column="compound_id")
    summary = summarize(buildings, communities, households_from=households_from)
    warnings.extend(_official_differs(summary, rules, households_from))
    checked = check_communities(summary, rules=rules, lang=lang)
    project = project.replace(buildings=buildings, communities=communities)
    return Loaded(
        project=project,
        communities=checked,
        report=report,
        rules=rules,
        data_warnings=tuple(warnings),
        households_in=households_in,
    )


def _input_households(project: Project) -> int:
    """Households given in the input: the buildings' counts and the roster's rows."""
    total = 0.0
    for frame, column, default in (
        (project.buildings, "households", None),
        (project.roster, "households", 1.0),
    ):
        if frame is None:
            continue
        if column in frame:
            values = parse_counts(frame[column])
            values = values[np.isfinite(values) & (values >= 0)]
            total += float(np.floor(values + 0.5).sum())
        elif default is not None:
            total += default * len(frame)
    return int(total)


def load(
    source: str | Path | Any,
    *,
    rules: RuleSet | None = None,
    lang: str = "en",
    **read_options: Any,
) -> Loaded:
    """Read, validate and prepare a project in one call (see :func:`gis.io.read_project`)."""
    households_from = read_options.pop("households_from", "official")
    return prepare(
        read_project(source, **read_options),
        rules=rules,
        lang=lang,
        households_from=households_from,
    )
