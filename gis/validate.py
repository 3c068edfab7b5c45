"""Validate a project: one report listing every problem at once, each with the fix.

Like OSMnx's validation, every check runs before anything is raised, so a planner sees
all the problems of a file in one pass. Problems that can be repaired safely (invalid
rings, empty shapes, duplicate building ids) are repaired and reported as warnings;
problems that need the planner (text in a households column, overlapping communities…)
are errors.

Examples
--------
>>> from gis import datasets
>>> from gis.io import read_project
>>> project, report = validate_project(read_project(datasets.get_path("beijing")))
>>> report.ok
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import to_metric
from gis.errors import GridplanError
from gis.fields import NUMERIC_FIELDS
from gis.i18n import N_, translator
from gis.io import Project

__all__ = ["Problem", "ValidationError", "ValidationReport", "validate_project"]

Severity = Literal["error", "warning"]
_MAX_ROWS_SHOWN = 10
_MAX_WARNING_ROWS = 50  # ids listed in a warning of `check --json` (SCHEMA.md)
_POLYGONAL = {"Polygon", "MultiPolygon"}
_LINEAR = {"LineString", "MultiLineString", "Polygon", "MultiPolygon"}
_EXPECTED: dict[str, set[str]] = {
    "buildings": _POLYGONAL,
    "communities": _POLYGONAL,
    "compounds": _POLYGONAL,
    "roads": _LINEAR,
    "barriers": _LINEAR,
    "waterways": _LINEAR,
    "service_centres": {"Point", "MultiPoint", *_POLYGONAL},
}


@dataclass(frozen=True)
class Problem:
    """One problem found in a layer: what, which rows, how to fix it."""

    code: str
    layer: str
    severity: Severity
    what: str
    fix: str
    rows: tuple[Any, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = "en") -> str:
        """Return ``layer: what (rows …). fix`` in ``lang``."""
        tr = translator(lang).gettext
        text = tr(self.what).format(**self.params, n=len(self.rows))
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:_MAX_ROWS_SHOWN])
            more = len(self.rows) - _MAX_ROWS_SHOWN
            suffix = tr(" and {more} more").format(more=more) if more > 0 else ""
            text += " " + tr("(rows: {rows}{more})").format(rows=shown, more=suffix)
        return f"{self.layer}: {text}. {tr(self.fix).format(**self.params)}"

    def as_warning(self, lang: str | None = "en") -> dict[str, Any]:
        """Return the record of ``warnings`` in ``check --json`` (SCHEMA.md).

        ``kind`` is the problem's code, ``count`` the number of rows it concerns,
        ``message`` what is wrong and how to fix it in ``lang`` (without the row list), and
        ``rows`` the ids of at most 50 of them.

        Examples
        --------
        >>> p = Problem("households_estimated", "buildings", "warning",
        ...             "{n} buildings' households are estimated", "Add a households column.",
        ...             ("B1", "B2"))
        >>> p.as_warning("en")["message"], p.as_warning("en")["count"]
        ("buildings: 2 buildings' households are estimated. Add a households column.", 2)
        """
        tr = translator(lang).gettext
        what = tr(self.what).format(**self.params, n=len(self.rows))
        return {
            "kind": self.code,
            "count": len(self.rows),
            "message": f"{self.layer}: {what}. {tr(self.fix).format(**self.params)}",
            "rows": [r.item() if isinstance(r, np.generic) else r for r in self.rows][
                :_MAX_WARNING_ROWS
            ],
        }


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found in a project."""

    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings are allowed)."""
        return not self.errors

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that stop planning until fixed."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems that were repaired or can be lived with."""
        return tuple(p for p in self.problems if p.severity == "warning")

    def to_frame(self, lang: str | None = "en") -> pd.DataFrame:
        """Return one row per problem, for a table in the app."""
        return pd.DataFrame(
            [
                {
                    "severity": p.severity,
                    "layer": p.layer,
                    "code": p.code,
                    "message": p.render(lang),
                    "rows": list(p.rows),
                }
                for p in self.problems
            ],
            columns=["severity", "layer", "code", "message", "rows"],
        )

    def raise_for_errors(self) -> None:
        """Raise :class:`ValidationError` listing every error, if there is any."""
        if self.errors:
            raise ValidationError(self)


class ValidationError(GridplanError):
    """A project with errors; ``report`` holds every problem."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        first = report.errors[0]
        msgid = N_("{first} ({n} problems in all)") if len(report.errors) > 1 else N_("{first}")
        super().__init__(msgid, first=first.render("en"), n=len(report.errors))

    def render(self, lang: str | None = None) -> str:
        """Return the first error and the count in ``lang``."""
        first = self.report.errors[0].render(lang)
        if len(self.report.errors) == 1:
            return first
        return (
            translator(lang)
            .gettext("{first} ({n} problems in all)")
            .format(first=first, n=len(self.report.errors))
        )


def _labels(
    frame: pd.DataFrame, mask: np.ndarray | pd.Series, id_column: str | None
) -> tuple[Any, ...]:
    mask = np.asarray(mask, dtype=bool)
    if id_column and id_column in frame:
        values = frame.loc[mask, id_column].tolist()
        return tuple(
            v if pd.notna(v) else f"#{i}" for v, i in zip(values, np.flatnonzero(mask), strict=True)
        )
    return tuple(f"#{i}" for i in np.flatnonzero(mask))


_ID_COLUMN = {
    "buildings": "building_id",
    "communities": "community_id",
    "compounds": "compound_id",
    "service_centres": "name",
}


def _check_geometry(layer: str, gdf: gpd.GeoDataFrame, problems: list[Problem]) -> gpd.GeoDataFrame:
    id_column = _ID_COLUMN.get(layer)
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        problems.append(
            Problem(
                "empty_geometry",
                layer,
                "warning",
                N_("{n} features have no or empty geometry and were left out"),
                N_("Draw their shapes or delete the rows in your GIS."),
                _labels(gdf, missing, id_column),
            )
        )
        gdf = gdf.loc[~missing].copy()
        geoms = gdf.geometry.values
    if gdf.empty:
        return gdf
    expected = _EXPECTED.get(layer)
    if expected is not None:
        geom_types = gdf.geom_type
        bad_type = ~geom_types.isin(expected).to_numpy()
        if bad_type.any():
            problems.append(
                Problem(
                    "geometry_type",
                    layer,
                    "error",
                    N_("{n} features are {found}, but this layer needs {expected}"),
                    N_(
                        "Export the layer with the right geometry type (polygons for areas, lines for roads)."
                    ),
                    _labels(gdf, bad_type, id_column),
                    {
                        "found": "/".join(sorted(set(geom_types[bad_type]))),
                        "expected": "/".join(sorted(expected)),
                    },
                )
            )
            return gdf
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = shapely.make_valid(geoms[invalid])
        if expected is _POLYGONAL:
            repaired = np.array([_polygonal_part(g) for g in repaired], dtype=object)
        gdf = gdf.copy()
        gdf.loc[gdf.index[invalid], gdf.geometry.name] = repaired
        problems.append(
            Problem(
                "invalid_geometry",
                layer,
                "warning",
                N_(
                    "{n} features had invalid geometry (self-intersections or bad rings) and were repaired"
                ),
                N_("Check the repaired shapes; fix them in your GIS if they look wrong."),
                _labels(gdf, invalid, id_column),
            )
        )
        still_empty = shapely.is_empty(gdf.geometry.values)
        if still_empty.any():
            gdf = gdf.loc[~still_empty].copy()
    return gdf


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    if geom.geom_type in _POLYGONAL:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in _POLYGONAL]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _check_numbers(layer: str, frame: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
    id_column = _ID_COLUMN.get(layer)
    frame = frame.copy()
    for column in NUMERIC_FIELDS.get(layer, ()):
        if column not in frame:
            continue
        raw = frame[column]
        # NFKC turns full-width digits typed with a Chinese input method (４８) into 48.
        text = raw.astype("string").str.normalize("NFKC").str.strip()
        numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
        numbers = numbers.where(np.isfinite(numbers.astype(float)))  # "inf" is not a count
        not_number = numbers.isna() & text.notna() & text.ne("")
        if not_number.any():
            examples = ", ".join(repr(v) for v in text[not_number].unique()[:3])
            problems.append(
                Problem(
                    "not_numeric",
                    layer,
                    "error",
                    N_("column {column} holds text that is not a number ({examples})"),
                    N_(
                        "Write plain numbers in {column} (no units or words); leave a cell empty if unknown."
                    ),
                    _labels(frame, not_number, id_column),
                    {"column": column, "examples": examples},
                )
            )
        negative = numbers < 0
        if negative.any():
            problems.append(
                Problem(
                    "negative",
                    layer,
                    "error",
                    N_("column {column} has negative values"),
                    N_("Counts cannot be negative: correct {column} in these rows."),
                    _labels(frame, negative.fillna(False), id_column),
                    {"column": column},
                )
            )
        frame[column] = numbers
    return frame


def _check_duplicates(
    layer: str, frame: gpd.GeoDataFrame, problems: list[Problem]
) -> gpd.GeoDataFrame:
    id_column = _ID_COLUMN.get(layer)
    if id_column is None or id_column not in frame or layer == "service_centres":
        return frame
    ids = frame[id_column]
    if layer == "communities" and ids.isna().any():
        problems.append(
            Problem(
                "missing_id",
                layer,
                "error",
                N_("{n} communities have no {column}, so no building can be counted in them"),
                N_("Fill in {column} for these rows, or delete the column to have ids generated."),
                _labels(frame, ids.isna(), "name"),
                {"column": id_column},
            )
        )
    duplicated = ids.notna() & ids.duplicated(keep=False)
    if not duplicated.any():
        return frame
    values = tuple(sorted({str(v) for v in ids[duplicated]}))
    if layer == "buildings":
        frame = frame.copy()
        counter = frame.groupby(id_column).cumcount()
        frame.loc[duplicated, id_column] = (
            frame.loc[duplicated, id_column].astype(str)
            + "-"
            + (counter[duplicated] + 1).astype(str)
        )
        problems.append(
            Problem(
                "duplicate_id",
                layer,
                "warning",
                N_("{count} ids are used by more than one building; they were numbered -1, -2…"),
                N_("Give every building its own id if the renumbering is not what you want."),
                values,
                {"count": len(values)},
            )
        )
        return frame
    problems.append(
        Problem(
            "duplicate_id",
            layer,
            "error",
            N_("{count} ids are used by more than one feature"),
            N_("Give every feature in {layer} its own {column}."),
            values,
            {"count": len(values), "layer": layer, "column": id_column},
        )
    )
    return frame


def _check_communities(project: Project, problems: list[Problem]) -> None:
    communities = project.communities
    if communities is None or len(communities) == 0:
        return
    metric = to_metric(communities)
    geoms = metric.geometry.values
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    pairs = []
    for i, j in zip(left[keep], right[keep], strict=True):
        area = shapely.area(shapely.intersection(geoms[i], geoms[j]))
        if area > 1.0:
            pairs.append((i, j, area))
    if pairs:
        ids = communities.get("community_id", pd.Series(range(len(communities))))
        rows = tuple(f"{ids.iloc[i]}×{ids.iloc[j]} ({a:.0f} m²)" for i, j, a in pairs)
        problems.append(
            Problem(
                "overlap",
                "communities",
                "error",
                N_("{n} pairs of communities overlap"),
                N_("Each place must belong to one community: remove the overlaps in your GIS."),
                rows,
            )
        )
    union = shapely.union_all(geoms, grid_size=0.01)
    holes = [shapely.Polygon(ring) for poly in shapely.get_parts(union) for ring in poly.interiors]
    gaps = [h for h in holes if h.area > 1.0]
    if gaps:
        rows = tuple(
            f"{g.area:.0f} m² @ {g.representative_point().x:.0f},{g.representative_point().y:.0f}"
            for g in gaps
        )
        problems.append(
            Problem(
                "gap",
                "communities",
                "warning",
                N_("{n} gaps lie between communities (places no community covers)"),
                N_("Extend a neighbouring community over each gap so the coverage is seamless."),
                rows,
            )
        )
    buildings = project.buildings
    points = gpd.GeoDataFrame(geometry=buildings.geometry.representative_point(), crs=buildings.crs)
    joined = gpd.sjoin(points, communities[["geometry"]], predicate="within", how="left")
    outside_index = joined.index[joined["index_right"].isna()].unique()
    if len(outside_index):
        mask = buildings.index.isin(outside_index)
        problems.append(
            Problem(
                "outside",
                "buildings",
                "warning",
                N_(
                    "{n} buildings lie outside every community and are left out of community totals"
                ),
                N_(
                    "Extend the community boundaries to cover them, or delete buildings outside the study area."
                ),
                _labels(buildings, mask, "building_id"),
            )
        )
    if "community_id" in buildings and "community_id" in communities:
        known = set(communities["community_id"].dropna().astype(str))
        given = buildings["community_id"]
        unknown = given.notna() & ~given.astype(str).isin(known)
        if unknown.any():
            problems.append(
                Problem(
                    "unknown_community",
                    "buildings",
                    "warning",
                    N_(
                        "{n} buildings name a community_id that no community has ({ids}) and are "
                        "left out of community totals"
                    ),
                    N_("Correct their community_id, or add the missing community."),
                    _labels(buildings, unknown, "building_id"),
                    {"ids": ", ".join(sorted(set(given[unknown].astype(str)))[:5])},
                )
            )


def _check_crs(project: Project, problems: list[Problem], source_crs: dict[str, str]) -> None:
    if len(set(source_crs.values())) > 1:
        rows = tuple(f"{layer}: {crs}" for layer, crs in source_crs.items())
        problems.append(
            Problem(
                "mixed_crs",
                "project",
                "warning",
                N_(
                    "the layers came in different coordinate systems; all were converted to EPSG:4490"
                ),
                N_("Check the layers line up on the map; if one is off, declare its real CRS."),
                rows,
            )
        )


def validate_project(
    project: Project,
    *,
    source_crs: dict[str, str] | None = None,
    checks: Sequence[str] | None = None,
) -> tuple[Project, ValidationReport]:
    """Check every layer of a project and repair what can be repaired.

    Parameters
    ----------
    project
        The project as read by :func:`gis.io.read_project`.
    source_crs
        ``{layer: CRS as it came}``, to report layers in different CRSs; taken from the
        project when omitted.
    checks
        Limit to some layers (all by default).

    Returns
    -------
    (Project, ValidationReport)
        The repaired project (numbers coerced, invalid geometry repaired, empty features
        left out) and the report listing every problem.
    """
    problems: list[Problem] = []
    layers = {"buildings": project.buildings, **project.layers()}
    repaired: dict[str, Any] = {}
    for name, gdf in layers.items():
        if checks is not None and name not in checks:
            continue
        gdf = _check_geometry(name, gdf, problems)
        gdf = _check_numbers(name, gdf, problems)
        gdf = _check_duplicates(name, gdf, problems)
        repaired[name] = gdf
    if project.roster is not None:
        repaired["roster"] = _check_numbers("roster", project.roster, problems)
    project = project.replace(**repaired)
    if project.buildings.empty:
        problems.append(
            Problem(
                "no_buildings",
                "buildings",
                "error",
                N_("no building has a usable shape"),
                N_("Check the buildings layer is the right file and has polygons."),
            )
        )
    elif not any(p.code == "geometry_type" and p.layer == "communities" for p in problems):
        _check_communities(project, problems)
    _check_crs(project, problems, source_crs or dict(project.source_crs))
    return project, ValidationReport(tuple(problems))
