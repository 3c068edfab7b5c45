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
from shapely.errors import GEOSException

from gis.crs import to_metric
from gis.errors import GridplanError
from gis.fields import NUMERIC_FIELDS
from gis.geometry import points_in_areas
from gis.i18n import N_, translator
from gis.io import Project
from gis.numerals import parse_counts

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
    households: int = 0
    """Households (as given in the data) of the rows this problem leaves out of the totals."""

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


_STRAY_SHARE = 0.1
"""Features of the wrong geometry type are dropped (with a warning) when they are at most this
share of a layer (a stray point among buildings); more of them means the wrong layer or export."""

CHINA_HOUSEHOLDS = 494_157_423
"""All family households of China (7th national census, 2020): no count in a layer can exceed it."""


def _as_numbers(raw: pd.Series) -> pd.Series:
    """Parse counts as planners type them: full-width digits, separators, 十二, blanks."""
    return parse_counts(raw)


def _given_households(frame: pd.DataFrame, mask: np.ndarray | pd.Series) -> int:
    """Households given in the data for the rows of ``mask`` (what leaving them out loses)."""
    if "households" not in frame:
        return 0
    values = _as_numbers(frame.loc[np.asarray(mask, dtype=bool), "households"])
    values = values[(values >= 0) & (values <= CHINA_HOUSEHOLDS)]
    return int(round(float(values.sum())))


def _drop(
    layer: str,
    gdf: gpd.GeoDataFrame,
    mask: np.ndarray,
    problems: list[Problem],
    code: str,
    what: str,
    fix: str,
    params: dict[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """Leave out the rows of ``mask`` and report them (with the households they had)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return gdf
    problems.append(
        Problem(
            code,
            layer,
            "warning",
            what,
            fix,
            _labels(gdf, mask, _ID_COLUMN.get(layer)),
            dict(params or {}),
            households=_given_households(gdf, mask) if layer == "buildings" else 0,
        )
    )
    return gdf.loc[~mask].copy()


def _expected_parts(geom: shapely.Geometry, expected: set[str]) -> shapely.Geometry | None:
    """The parts of a GeometryCollection of the expected types, or ``None`` if it has none."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in expected and not g.is_empty]
    if not parts:
        return None
    if expected is _POLYGONAL:
        return shapely.union_all(parts)
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _check_geometry(layer: str, gdf: gpd.GeoDataFrame, problems: list[Problem]) -> gpd.GeoDataFrame:
    id_column = _ID_COLUMN.get(layer)
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    gdf = _drop(
        layer,
        gdf,
        missing,
        problems,
        "empty_geometry",
        N_("{n} features have no or empty geometry and were left out"),
        N_("Draw their shapes or delete the rows in your GIS."),
    )
    if gdf.empty:
        return gdf
    coords, owner = shapely.get_coordinates(gdf.geometry.values, return_index=True)
    nonfinite = np.zeros(len(gdf), dtype=bool)
    nonfinite[owner[~np.isfinite(coords).all(axis=1)]] = True
    gdf = _drop(
        layer,
        gdf,
        nonfinite,
        problems,
        "bad_coordinates",
        N_("{n} features have infinite or missing (NaN) coordinates and were left out"),
        N_("Correct their vertices in your GIS (a vertex with no value or far off the map)."),
    )
    if gdf.empty:
        return gdf
    expected = _EXPECTED.get(layer)
    if expected is not None:
        collections = (gdf.geom_type == "GeometryCollection").to_numpy()
        if collections.any():
            parts = [_expected_parts(g, expected) for g in gdf.geometry.values[collections]]
            kept = np.array([p is not None for p in parts])
            gdf = gdf.copy()
            rows = gdf.index[collections][kept]
            gdf.loc[rows, gdf.geometry.name] = gpd.GeoSeries(
                [p for p in parts if p is not None], index=rows, crs=gdf.crs
            )
            if kept.any():
                problems.append(
                    Problem(
                        "geometry_collection",
                        layer,
                        "warning",
                        N_("{n} features were geometry collections; only their {expected} parts were kept"),
                        N_("Check these shapes in your GIS."),
                        _labels(gdf, gdf.index.isin(rows), id_column),
                        {"expected": "/".join(sorted(expected))},
                    )
                )
        geom_types = gdf.geom_type
        bad_type = ~geom_types.isin(expected).to_numpy()
        if bad_type.any():
            found = "/".join(sorted(set(geom_types[bad_type])))
            if bad_type.mean() <= _STRAY_SHARE:
                gdf = _drop(
                    layer,
                    gdf,
                    bad_type,
                    problems,
                    "wrong_geometry_dropped",
                    N_("{n} features are {found} among the {expected} of this layer and were left out"),
                    N_("Draw them as {expected} in your GIS, or delete them if they are not part of the layer."),
                    {"found": found, "expected": "/".join(sorted(expected))},
                )
            else:
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
                        {"found": found, "expected": "/".join(sorted(expected))},
                    )
                )
                return gdf
    geoms = gdf.geometry.values
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = shapely.make_valid(geoms[invalid])
        if expected is _POLYGONAL:
            repaired = np.array([_polygonal_part(g) for g in repaired], dtype=object)
        gdf = gdf.copy()
        gdf.loc[gdf.index[invalid], gdf.geometry.name] = repaired
        unusable = np.zeros(len(gdf), dtype=bool)
        unusable[invalid] = shapely.is_empty(repaired) | (
            (shapely.area(repaired) == 0) if expected is _POLYGONAL else False
        )
        if (invalid & ~unusable).any():
            problems.append(
                Problem(
                    "invalid_geometry",
                    layer,
                    "warning",
                    N_(
                        "{n} features had invalid geometry (self-intersections or bad rings) and were repaired"
                    ),
                    N_("Check the repaired shapes; fix them in your GIS if they look wrong."),
                    _labels(gdf, invalid & ~unusable, id_column),
                )
            )
        gdf = _drop(
            layer,
            gdf,
            unusable,
            problems,
            "unusable_geometry",
            N_("{n} features have no area (a line or a point drawn as a polygon) and were left out"),
            N_("Redraw these shapes in your GIS."),
        )
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
        numbers = _as_numbers(raw)  # "inf" is not a count
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
        huge = numbers > CHINA_HOUSEHOLDS
        if huge.any():
            examples = ", ".join(f"{v:.6g}" for v in numbers[huge].unique()[:3])
            problems.append(
                Problem(
                    "impossible_count",
                    layer,
                    "error",
                    N_(
                        "column {column} has values larger than all the households of China "
                        "({examples}; 494 million in the 2020 census)"
                    ),
                    N_("Correct {column} in these rows (a unit or an id in the wrong column?)."),
                    _labels(frame, huge.fillna(False), id_column),
                    {"column": column, "examples": examples},
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


def _check_duplicate_shapes(
    layer: str, frame: gpd.GeoDataFrame, problems: list[Problem], *, same_share: float
) -> gpd.GeoDataFrame:
    """Leave out buildings drawn twice (footprints that overlap by ``same_share`` or more).

    The first of each group is kept, with or without the same id, so its households count once.
    """
    if layer != "buildings" or len(frame) < 2:
        return frame
    geoms = frame.geometry.values
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return frame
    inter = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    union = shapely.area(geoms[left]) + shapely.area(geoms[right]) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        same = (union > 0) & (inter / union >= same_share)
    dropped = np.zeros(len(frame), dtype=bool)
    for i, j in zip(left[same], right[same], strict=True):
        if not dropped[i]:
            dropped[j] = True
    return _drop(
        layer,
        frame,
        dropped,
        problems,
        "duplicate_building",
        N_(
            "{n} buildings are drawn twice (the same footprint as another building); the copies "
            "were left out so their households count once"
        ),
        N_("Delete the copies in your GIS (or correct the footprint if they are different buildings)."),
    )


_NOISE_M2 = 1.0
"""Overlaps and holes under 1 m² along a shared boundary are reprojection noise, not data."""


def _community_ids(communities: gpd.GeoDataFrame) -> list[str]:
    if "community_id" in communities:
        return [
            str(v) if pd.notna(v) else f"#{i}" for i, v in enumerate(communities["community_id"])
        ]
    return [f"#{i}" for i in range(len(communities))]


def _repair_coverage(
    communities: gpd.GeoDataFrame, problems: list[Problem], *, sliver_max_m2: float
) -> gpd.GeoDataFrame:
    """Repair sliver overlaps and gaps between communities; report them and larger ones.

    An overlap of at most ``sliver_max_m2`` is given to the first of the two communities
    (cut from the second); a hole between communities of at most ``sliver_max_m2`` is given
    to the neighbour that shares most of its edge. Larger overlaps are errors, larger gaps
    warnings.
    """
    metric = to_metric(communities)
    geoms = np.array(metric.geometry.values, dtype=object)
    original = geoms.copy()
    ids = _community_ids(communities)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    overlaps: list[tuple[int, int, float]] = []
    repaired: list[tuple[int, int, float]] = []
    shapely.prepare(geoms)
    left, right = left[keep], right[keep]
    # Neighbours that only touch (most pairs) need no overlay; prepared, the test is quick.
    touching = shapely.touches(geoms[left], geoms[right])
    for i, j in zip(left[~touching], right[~touching], strict=True):
        piece = shapely.intersection(geoms[i], geoms[j])
        area = float(shapely.area(piece))
        if area <= _NOISE_M2:
            continue
        if area <= sliver_max_m2:
            # j minus (i ∩ j) is j minus i; cutting the whole neighbour is the same set and
            # 6x quicker than cutting the sliver (thousands of needle-thin parts along a
            # surveyed boundary that the overlay must node again).
            geoms[j] = _polygonal_part(shapely.make_valid(shapely.difference(geoms[j], geoms[i])))
            repaired.append((i, j, area))
        else:
            overlaps.append((i, j, area))
    if repaired:
        problems.append(
            Problem(
                "overlap_repaired",
                "communities",
                "warning",
                N_(
                    "{n} sliver overlaps between communities (at most {limit:.0f} m² each) were "
                    "given to the first community of each pair"
                ),
                N_("Check the boundaries; fix them in your GIS if the repair is not what you want."),
                tuple(f"{ids[i]}×{ids[j]} ({a:.0f} m²)" for i, j, a in repaired),
                {"limit": sliver_max_m2},
            )
        )
    if overlaps or repaired:
        # Overlapping or repaired: not a clean coverage, the coverage union would refuse it.
        # Cutting an overlap from one community leaves it covered by the other, so the union
        # (wanted for its holes, the gaps) is the union of the layer as given: the repaired
        # shapes, noded along each other's slivers, took the overlay 7x longer (3 s of the
        # 200,000-vertex benchmark's 4 s CPU).
        union = shapely.union_all(original)
    if overlaps:
        problems.append(
            Problem(
                "overlap",
                "communities",
                "error",
                N_("{n} pairs of communities overlap"),
                N_("Each place must belong to one community: remove the overlaps in your GIS."),
                tuple(f"{ids[i]}×{ids[j]} ({a:.0f} m²)" for i, j, a in overlaps),
            )
        )
    if not (overlaps or repaired):
        # Without overlaps the layer is a coverage: dissolving shared edges is linear in the
        # vertices (a general union with snap-rounding took a minute on survey boundaries).
        try:
            union = shapely.make_valid(shapely.coverage_union_all(geoms))
        except GEOSException:  # boundaries not noded alike (a vertex on one side only)
            union = shapely.union_all(geoms)
    holes = [
        shapely.Polygon(ring)
        for poly in shapely.get_parts(union)
        if poly.geom_type == "Polygon"
        for ring in poly.interiors
    ]
    holes = [h for h in holes if h.area > _NOISE_M2]
    small = [h for h in holes if h.area <= sliver_max_m2]
    gaps = [h for h in holes if h.area > sliver_max_m2]
    filled = []
    for hole in small:
        near = tree.query(hole, predicate="intersects")
        if not len(near):
            continue
        shared = shapely.length(shapely.intersection(geoms[near], hole.exterior))
        k = int(near[int(np.argmax(shared))])
        geoms[k] = _polygonal_part(shapely.make_valid(shapely.union(geoms[k], hole)))
        filled.append((k, hole))
    if filled:
        problems.append(
            Problem(
                "gap_repaired",
                "communities",
                "warning",
                N_(
                    "{n} sliver gaps between communities (at most {limit:.0f} m² each) were given "
                    "to a neighbouring community"
                ),
                N_("Check the boundaries; fix them in your GIS if the repair is not what you want."),
                tuple(f"{ids[k]} (+{h.area:.0f} m²)" for k, h in filled),
                {"limit": sliver_max_m2},
            )
        )
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
    if not repaired and not filled:
        return communities
    # only the repaired communities go back to the layer's CRS (a surveyed boundary's
    # 200,000 vertices are not transformed twice for nothing)
    changed = np.flatnonzero([g is not o for g, o in zip(geoms, original, strict=True)])
    back = np.array(communities.geometry.values, dtype=object)
    back[changed] = gpd.GeoSeries(geoms[changed], crs=metric.crs).to_crs(communities.crs).values
    series = gpd.GeoSeries(back, index=communities.index, crs=communities.crs)
    return communities.set_geometry(series.rename(communities.geometry.name))


_GCJ_SAMPLE = 2000
"""Buildings looked at to tell a GCJ-02 offset (enough for a share, quick to shift)."""


def _straddling(footprints: np.ndarray, areas: np.ndarray) -> int:
    """How many footprints lie in no single community (crossing a boundary, or outside).

    Each community is the one prepared geometry testing the footprints it may contain, so
    a surveyed boundary of 200,000 vertices is indexed once, not once per building.
    """
    areas = np.array(areas, dtype=object)
    shapely.prepare(areas)
    covered = shapely.STRtree(footprints).query(areas, predicate="contains")
    return len(footprints) - len(np.unique(covered[1]))


def _check_gcj_offset(project: Project, problems: list[Problem]) -> None:
    """Say so when the buildings fit the communities far better shifted back from GCJ-02.

    Buildings traced on AMap (高德) but labelled WGS84 sit 100–700 m off real boundaries;
    the offset shows as many buildings crossing community boundaries or outside them,
    which shifting them back from GCJ-02 removes.
    """
    from gis.gcj import gcj_to_wgs

    if project.source_crs.get("buildings") not in {"EPSG:4326", "EPSG:4490"}:
        return
    buildings, communities = project.buildings, project.communities
    if communities is None or len(buildings) < 5:
        return
    sample = buildings.geometry.values
    if len(sample) > _GCJ_SAMPLE:
        sample = sample[np.linspace(0, len(sample) - 1, _GCJ_SAMPLE).astype(int)]
    areas = communities.geometry.values
    before = _straddling(sample, areas)
    if before < max(5, 0.05 * len(sample)):
        return
    after = _straddling(gcj_to_wgs(sample), areas)
    if after * 3 > before:
        return
    problems.append(
        Problem(
            "gcj02_suspected",
            "buildings",
            "warning",
            N_(
                "{crossing} of {checked} buildings cross a community boundary or lie outside "
                "every community, but only {after} do when shifted back from GCJ-02 (AMap's "
                "offset): the buildings were probably traced on AMap (高德)"
            ),
            N_(
                "If they were, read them with --crs buildings=GCJ-02 (the buildings only); "
                "otherwise check the communities' boundaries."
            ),
            (),
            {"crossing": before, "checked": len(sample), "after": after},
        )
    )


def _check_communities(
    project: Project, problems: list[Problem], *, sliver_max_m2: float
) -> Project:
    communities = project.communities
    if communities is None or len(communities) == 0:
        return project
    communities = _repair_coverage(communities, problems, sliver_max_m2=sliver_max_m2)
    project = project.replace(communities=communities)
    buildings = project.buildings
    # In no community: neither its representative point (edges included) nor any part of
    # its footprint in one (the rule by which check and grids place a building).
    areas = communities.geometry.values
    points = buildings.geometry.representative_point().values
    placed = np.zeros(len(buildings), dtype=bool)
    placed[points_in_areas(points, areas)[0]] = True
    if not placed.all():
        rest = np.flatnonzero(~placed)
        hits = points_in_areas(buildings.geometry.values[rest], areas)
        pairs = shapely.area(
            shapely.intersection(
                buildings.geometry.values[rest][hits[0]], communities.geometry.values[hits[1]]
            )
        )
        placed[rest[np.unique(hits[0][pairs > 0])]] = True
    if not placed.all():
        mask = ~placed
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
                households=_given_households(buildings, mask),
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
                    households=_given_households(buildings, unknown),
                )
            )
    return project


_SAME_DATUM = {"EPSG:4326": "EPSG:4490"}
"""WGS84 and CGCS2000 longitude/latitude agree within a metre: not "different systems"."""


def _check_crs(project: Project, problems: list[Problem], source_crs: dict[str, str]) -> None:
    if len({_SAME_DATUM.get(c, c) for c in source_crs.values()}) > 1:
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
    sliver_max_m2: float = 1000.0,
    same_footprint_share: float = 0.95,
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
    sliver_max_m2
        Overlaps and gaps between communities up to this area are repaired and reported
        (the rule ``community_sliver_max_m2``); larger overlaps are errors.
    same_footprint_share
        Two buildings whose footprints overlap by this share of their union are one
        building drawn twice (the rule ``duplicate_footprint_share``).

    Returns
    -------
    (Project, ValidationReport)
        The repaired project (numbers coerced, invalid geometry repaired, empty features
        left out, sliver overlaps and gaps between communities repaired) and the report
        listing every problem; each problem that leaves rows out says how many households
        they had (``Problem.households``).
    """
    problems: list[Problem] = []
    if project.communities is not None and len(project.communities) == 0:
        problems.append(
            Problem(
                "empty_layer",
                "communities",
                "error",
                N_("the communities layer has no features"),
                N_(
                    "Export it again with its communities (check that no selection or filter was "
                    "active), or leave it out to treat the whole area as one community."
                ),
            )
        )
    layers = {"buildings": project.buildings, **project.layers()}
    repaired: dict[str, Any] = {}
    for name, gdf in layers.items():
        if checks is not None and name not in checks:
            continue
        had = len(gdf)
        gdf = _check_geometry(name, gdf, problems)
        gdf = _check_numbers(name, gdf, problems)
        gdf = _check_duplicate_shapes(name, gdf, problems, same_share=same_footprint_share)
        gdf = _check_duplicates(name, gdf, problems)
        if name == "communities" and had and gdf.empty:
            problems.append(
                Problem(
                    "no_communities",
                    "communities",
                    "error",
                    N_("no community has a usable shape"),
                    N_("Check the communities layer is the right file and has polygons."),
                )
            )
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
    elif not any(
        p.layer == "communities" and p.code in {"geometry_type", "empty_layer", "no_communities"}
        for p in problems
    ):
        project = _check_communities(project, problems, sliver_max_m2=sliver_max_m2)
        _check_gcj_offset(project, problems)
    _check_crs(project, problems, source_crs or dict(project.source_crs))
    return project, ValidationReport(tuple(problems))
