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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from gis.crs import STORAGE_CRS, to_metric
from gis.io import Project, read_project
from gis.validate import ValidationReport, validate_project
from planning.households import apply_roster, estimate_households, implausible_warning
from planning.rules import RuleSet, get_preset
from planning.thresholds import check_communities

__all__ = ["STUDY_AREA_ID", "Loaded", "assign_by_location", "load", "prepare", "summarize"]

STUDY_AREA_ID = "000000000000"
"""``community_id`` of the single community made from a study area with no community layer."""


@dataclass(frozen=True)
class Loaded:
    """A project ready for planning: buildings with households, communities with totals."""

    project: Project
    communities: gpd.GeoDataFrame
    report: ValidationReport
    rules: RuleSet

    @property
    def buildings(self) -> gpd.GeoDataFrame:
        """The buildings, with households and community/compound ids."""
        return self.project.buildings

    def warnings(self, lang: str | None = "en") -> list[dict[str, Any]]:
        """The ``warnings`` of ``check --json`` (SCHEMA.md): ``kind``, ``count``,
        ``message`` in ``lang`` and ``rows`` (at most 50 ids) per warning of the report,
        the layers' repairs and the planning checks (``implausible_building``) alike."""
        return [p.as_warning(lang) for p in self.report.warnings]

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
    """Return the id of the area each building's representative point lies in (aligned to buildings)."""
    points = gpd.GeoDataFrame(geometry=buildings.geometry.representative_point(), crs=buildings.crs)
    joined = gpd.sjoin(points, areas[[id_column, "geometry"]], predicate="within", how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined[id_column].reindex(buildings.index)


def summarize(buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add per-community totals of households, residents and special-service households."""
    totals = buildings.groupby("community_id").agg(
        households=("households", "sum"),
        residents=("residents", "sum"),
        special_service_households=("special_service_households", "sum"),
        n_buildings=("households", "size"),
        estimated_buildings=("households_source", lambda s: int((s == "estimated").sum())),
    )
    out = communities.drop(
        columns=[c for c in totals.columns if c in communities and c != "residents"],
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
    return gpd.GeoDataFrame(out, geometry="geometry", crs=communities.crs)


def _as_id(values: pd.Series) -> pd.Series:
    """Return ids as text, so that 1, 1.0 and "1" (from shapefiles, GPKG, CSV) all match."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.round().astype("Int64")
    return values.astype("string")


def prepare(project: Project, *, rules: RuleSet | None = None, lang: str = "en") -> Loaded:
    """Validate, fill households and check every community against the rules.

    A roster is applied before the estimate, so residents and special-service counts
    follow the roster's households rather than the estimate it replaces.
    """
    rules = rules or get_preset()
    project, report = validate_project(project)
    report.raise_for_errors()
    buildings = project.buildings
    if project.roster is not None:
        buildings, _ = apply_roster(buildings, project.roster)
    buildings = estimate_households(buildings, rules=rules)
    implausible = implausible_warning(buildings, rules=rules)
    if implausible is not None:
        report = ValidationReport(report.problems + (implausible,))
    communities = project.communities
    if communities is None or communities.empty:
        communities = _study_area_community(project)
    else:
        communities = communities.copy()
        if "community_id" not in communities:
            communities["community_id"] = [f"{i + 1:012d}" for i in range(len(communities))]
        communities["community_id"] = _as_id(communities["community_id"])
    if "community_id" in buildings:
        buildings["community_id"] = _as_id(buildings["community_id"])
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
    if (
        project.compounds is not None
        and len(project.compounds)
        and ("compound_id" not in buildings or buildings["compound_id"].isna().all())
    ):
        compounds = project.compounds.copy()
        if "compound_id" not in compounds:
            compounds["compound_id"] = [f"C{i + 1:04d}" for i in range(len(compounds))]
        buildings["compound_id"] = assign_by_location(buildings, compounds, id_column="compound_id")
    summary = summarize(buildings, communities)
    checked = check_communities(summary, rules=rules, lang=lang)
    project = project.replace(buildings=buildings, communities=communities)
    return Loaded(project=project, communities=checked, report=report, rules=rules)


def load(
    source: str | Path | Any,
    *,
    rules: RuleSet | None = None,
    lang: str = "en",
    **read_options: Any,
) -> Loaded:
    """Read, validate and prepare a project in one call (see :func:`gis.io.read_project`)."""
    return prepare(read_project(source, **read_options), rules=rules, lang=lang)
