"""Coordinate reference systems for Chinese planning data.

Data are stored and displayed in CGCS2000 geographic coordinates (EPSG:4490, which is
within a metre of WGS84) and measured in the CGCS2000 3-degree Gauss–Krüger zone that
contains them (EPSG:4534–4554, "CM" eastings). Survey files often come in Gauss–Krüger
with the zone number prefixed to the easting (8-digit X, EPSG:4513–4533 for 3° zones,
EPSG:4491–4501 for 6° zones); those are recognised from the magnitude of the coordinates.

Examples
--------
>>> metric_crs_for((116.30, 39.98, 116.34, 40.01)).to_epsg()
4548
>>> zone_prefixed_crs(39_500_000.0, 4_430_000.0).to_epsg()
4527
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_crs_info
from pyproj.enums import PJType

from gis.errors import CRSError
from gis.i18n import N_

__all__ = [
    "STORAGE_CRS",
    "CRSProposal",
    "crs_choices",
    "propose_crs",
    "ensure_crs",
    "metric_crs_for",
    "reproject",
    "suggest_crs",
    "to_metric",
    "to_storage",
    "zone_prefixed_crs",
]

STORAGE_CRS = CRS.from_epsg(4490)
"""CGCS2000 geographic: how gridplan stores and displays layers."""

_GEOGRAPHIC_OK = {4326, 4490, 4610, 4214}


_GK_CM_FIRST = 4534
"""EPSG:4534 is "CGCS2000 / 3-degree Gauss-Kruger CM 75E"; the 21 codes up to EPSG:4554
(CM 135E) follow in 3° steps (EPSG registry; tests/gis/test_crs.py checks the table
against PROJ's database)."""


def _gk_cm_zones() -> tuple[tuple[int, float], ...]:
    """EPSG codes of the CGCS2000 3° GK "CM" CRSs and their central meridians.

    A table, not a search of PROJ's database (which took half a second on the first
    call of every process, e.g. each time a project opened in a fresh worker).
    """
    return tuple((_GK_CM_FIRST + i, 75.0 + 3.0 * i) for i in range(21))


def metric_crs_for(bounds: tuple[float, float, float, float]) -> CRS:
    """Return the CGCS2000 3° Gauss–Krüger CM zone for lon/lat ``bounds``.

    Falls back to the WGS84 UTM zone outside China.
    """
    lon = (bounds[0] + bounds[2]) / 2
    zones = _gk_cm_zones()
    if zones and zones[0][1] - 1.5 <= lon <= zones[-1][1] + 1.5:
        code, _ = min(zones, key=lambda item: abs(item[1] - lon))
        return CRS.from_epsg(code)
    lat = (bounds[1] + bounds[3]) / 2
    crs_list = query_crs_info(
        auth_name="EPSG",
        pj_types=PJType.PROJECTED_CRS,
        area_of_interest=AreaOfInterest(lon, lat, lon, lat),
        contains=True,
    )
    for info in crs_list:
        if info.name.startswith("WGS 84 / UTM zone"):
            return CRS.from_epsg(int(info.code))
    return CRS.from_epsg(3857)


def zone_prefixed_crs(easting: float, northing: float) -> CRS:
    """Return the zone-prefixed CGCS2000 Gauss–Krüger CRS for an 8-digit easting.

    Zones 25–45 are 3° zones (EPSG:4513–4533); zones 13–23 are 6° zones (EPSG:4491–4501).
    """
    zone = int(easting // 1_000_000)
    if 25 <= zone <= 45:
        return CRS.from_epsg(4513 + zone - 25)
    if 13 <= zone <= 23:
        return CRS.from_epsg(4491 + zone - 13)
    msg = N_(
        "Easting {easting:.0f} starts with zone {zone}, which is not a Gauss–Krüger zone over "
        "China (3° zones 25–45, 6° zones 13–23). Check the X/Y columns are not swapped."
    )
    raise CRSError(msg, easting=easting, zone=zone)


def _looks_like_china_lonlat(bounds: np.ndarray) -> bool:
    """Longitude 73–136°E and latitude 3–54°N: China and its seas, with a margin."""
    return bool(
        70 <= bounds[0] <= 140
        and 70 <= bounds[2] <= 140
        and 3 <= bounds[1] <= 60
        and 3 <= bounds[3] <= 60
    )


_WEB_MERCATOR_CHINA = (8_000_000.0, 15_300_000.0, 300_000.0, 7_200_000.0)
"""x and y range of China in Web Mercator (EPSG:3857) metres."""


def _looks_like_web_mercator(bounds: np.ndarray) -> bool:
    """Web Mercator over China, and not Gauss–Krüger with a zone prefix (6° zones 13–23)."""
    x0, x1, y0, y1 = _WEB_MERCATOR_CHINA
    inside = x0 <= bounds[0] and bounds[2] <= x1 and y0 <= bounds[1] and bounds[3] <= y1
    if not inside:
        return False
    if bounds[0] < 13_000_000:
        return True
    # A zone-prefixed easting keeps within ±350 km of its zone's 500 km false easting.
    offset = bounds[0] % 1_000_000
    return not 150_000 <= offset <= 850_000


def _guess_for_missing(bounds: np.ndarray) -> str:
    """Say which CRS the coordinates probably are in, for the error message."""
    if _looks_like_china_lonlat(bounds):
        return "EPSG:4490"
    if _looks_like_web_mercator(bounds):
        return "EPSG:3857"
    if 10_000_000 <= bounds[0] < 50_000_000 and 1_000_000 <= bounds[1] < 6_000_000:
        try:
            return f"EPSG:{zone_prefixed_crs(bounds[0], bounds[1]).to_epsg()}"
        except CRSError:
            return _UNKNOWN
    if 0 < bounds[0] < 1_000_000 and 1_000_000 <= bounds[1] < 6_000_000:
        return _CM_RANGE
    return _UNKNOWN


_CM_RANGE = "EPSG:4534–4554"
_UNKNOWN = "unknown"


def suggest_crs(bounds: tuple[float, float, float, float] | np.ndarray) -> str:
    """Say which CRS coordinates without one probably are in (for a message).

    Returns an EPSG code (``"EPSG:4490"`` for longitude/latitude over China, the zone of
    zone-prefixed Gauss–Krüger eastings), ``"EPSG:4534–4554"`` for Gauss–Krüger metres
    without a zone prefix (the zone cannot be told from the numbers), or ``"unknown"``
    (a local city or CAD grid).

    Examples
    --------
    >>> suggest_crs((39_441_000, 4_428_000, 39_443_000, 4_430_000))
    'EPSG:4527'
    >>> suggest_crs((441_000, 4_428_000, 443_000, 4_430_000))
    'EPSG:4534–4554'
    >>> suggest_crs((1200, 800, 2400, 1900))
    'unknown'
    """
    return _guess_for_missing(np.asarray(bounds, dtype=float))


@dataclass(frozen=True)
class CRSProposal:
    """The CRS gridplan proposes for coordinates that declare none, and why.

    Attributes
    ----------
    crs
        An EPSG code (``"EPSG:4548"``), or ``None`` when the numbers cannot say.
    reason
        A message id (translate with :meth:`render`).
    params
        The message's values.
    """

    crs: str | None
    reason: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        """The reason in ``lang``."""
        from gis.i18n import translator

        return translator(lang).gettext(self.reason).format(**self.params)


def propose_crs(
    bounds: tuple[float, float, float, float] | np.ndarray, *, near_lon: float | None = None
) -> CRSProposal:
    """Propose a CRS for coordinates without one, with the reason a planner can check.

    Parameters
    ----------
    bounds
        The layer's ``total_bounds`` as read (x0, y0, x1, y1).
    near_lon
        The longitude of something the planner already has in this place (another layer
        with a CRS, the project loaded before). Gauss–Krüger metres without a zone prefix
        do not say their central meridian; this does.

    Examples
    --------
    >>> propose_crs((39_441_000, 4_428_000, 39_443_000, 4_430_000)).crs
    'EPSG:4527'
    >>> propose_crs((441_000, 4_428_000, 443_000, 4_430_000)).crs is None
    True
    >>> propose_crs((441_000, 4_428_000, 443_000, 4_430_000), near_lon=116.3).crs
    'EPSG:4548'
    >>> propose_crs((116.30, 39.98, 116.34, 40.01)).crs
    'EPSG:4490'
    """
    box = np.asarray(bounds, dtype=float)
    x0, y0, x1, y1 = (float(v) for v in box)
    where = {"x0": x0, "y0": y0, "x1": x1, "y1": y1}
    guess = _guess_for_missing(box)
    if guess == "EPSG:4490":
        return CRSProposal(
            guess,
            N_(
                "x {x0:.4f} to {x1:.4f} and y {y0:.4f} to {y1:.4f} are degrees within China: "
                "longitude/latitude, taken as CGCS2000 (choose WGS84, EPSG:4326, for GPS data, "
                "or GCJ-02/BD-09 for points picked on AMap/Baidu)."
            ),
            where,
        )
    if guess == "EPSG:3857":
        return CRSProposal(
            guess,
            N_(
                "x {x0:,.0f} to {x1:,.0f} m and y {y0:,.0f} to {y1:,.0f} m are web-map metres over "
                "China (Web Mercator, as tiles from online maps)."
            ),
            where,
        )
    if guess == _CM_RANGE:
        if near_lon is not None and math.isfinite(near_lon):
            zone = metric_crs_for((near_lon, 0.0, near_lon, 0.0))
            code = zone.to_epsg()
            cm = dict(_gk_cm_zones()).get(code or 0)
            if code is not None and cm is not None:
                return CRSProposal(
                    f"EPSG:{code}",
                    N_(
                        "Eastings {x0:,.0f} to {x1:,.0f} m without a zone prefix are CGCS2000 "
                        "3° Gauss–Krüger metres, but the numbers do not say the central meridian; "
                        "your other data lie near {lon:.1f}°E, so the zone of {cm:.0f}°E is "
                        "proposed. Check it is your city's zone."
                    ),
                    {**where, "lon": near_lon, "cm": cm},
                )
        return CRSProposal(
            None,
            N_(
                "Eastings {x0:,.0f} to {x1:,.0f} m without a zone prefix are CGCS2000 3° "
                "Gauss–Krüger metres, but the numbers do not say the central meridian: choose "
                "your city's zone (Beijing 117°E, EPSG:4548; Shanghai 120°E, EPSG:4549)."
            ),
            where,
        )
    if guess.startswith("EPSG:"):
        zone = int(x0 // 1_000_000)
        return CRSProposal(
            guess,
            N_(
                "Eastings {x0:,.0f} to {x1:,.0f} m have 8 digits starting with {zone}: "
                "Gauss–Krüger zone {zone} with the zone number in front (CGCS2000)."
            ),
            {**where, "zone": zone},
        )
    return CRSProposal(
        None,
        N_(
            "x {x0:,.0f} to {x1:,.0f} and y {y0:,.0f} to {y1:,.0f} are neither longitude/latitude "
            "nor Gauss–Krüger metres: probably a local (CAD or city) grid. Ask the surveyor which "
            "CRS it is, or georeference the layer in your GIS."
        ),
        where,
    )


def crs_choices() -> tuple[tuple[str, str], ...]:
    """The CRSs a planner can choose for data without one, as (code, English name).

    CGCS2000 and WGS84 longitude/latitude, every CGCS2000 3° Gauss–Krüger zone with and
    without the zone prefix (central meridians 75°E–135°E), Web Mercator, and GCJ-02/BD-09
    (points picked on AMap or Baidu; converted on reading).

    >>> dict(crs_choices())["EPSG:4548"]
    'CGCS2000 / 3-degree Gauss-Kruger CM 117E'
    """
    out: list[tuple[str, str]] = [
        ("EPSG:4490", "CGCS2000 (longitude/latitude)"),
        ("EPSG:4326", "WGS 84 (longitude/latitude, GPS)"),
        ("GCJ-02", "GCJ-02 (AMap, Tencent)"),
        ("BD-09", "BD-09 (Baidu)"),
    ]
    out += [(f"EPSG:{code}", CRS.from_epsg(code).name) for code, _cm in _gk_cm_zones()]
    out += [(f"EPSG:{code}", CRS.from_epsg(code).name) for code in range(4513, 4534)]
    out.append(("EPSG:3857", "WGS 84 / Pseudo-Mercator (web maps)"))
    return tuple(out)


def _box(bounds: np.ndarray) -> dict[str, float]:
    """A layer's bounds as an error's values (the Data page proposes a CRS from them)."""
    x0, y0, x1, y1 = (float(v) for v in bounds)
    return {"x0": x0, "y0": y0, "x1": x1, "y1": y1}


def _parse_crs(crs: str | int | CRS, *, layer: str) -> CRS:
    """Parse a CRS declared by the planner, with a message instead of pyproj's error."""
    try:
        return CRS.from_user_input(crs)
    except Exception:  # pyproj raises CRSError, TypeError or ValueError for bad input
        msg = N_(
            "{crs!r} (declared for layer {layer}) is not a coordinate reference system gridplan "
            "knows. Give an EPSG code: EPSG:4490 for CGCS2000 longitude/latitude, or a CGCS2000 "
            "Gauss–Krüger zone such as EPSG:4548 (central meridian 117°E)."
        )
        raise CRSError(msg, crs=str(crs), layer=layer) from None


def ensure_crs(
    gdf: gpd.GeoDataFrame, *, layer: str, crs: str | int | CRS | None = None
) -> gpd.GeoDataFrame:
    """Check and fix a layer's CRS; return it in the storage CRS (EPSG:4490).

    Parameters
    ----------
    gdf
        The layer as read.
    layer
        Its name, for messages.
    crs
        A CRS declared by the planner for a file that has none (``--crs``). A layer that
        has its own CRS keeps it, so one ``--crs`` for a project with a single layer
        without ``.prj`` leaves the other layers alone.

    Raises
    ------
    CRSError
        If the layer has no CRS and none is declared, or its coordinates do not fit its CRS.
    """
    if crs is not None:
        declared = _parse_crs(crs, layer=layer)  # checked even when not needed: a typo is an error
        if gdf.crs is None:
            gdf = gdf.set_crs(declared)
    if gdf.empty:
        return (
            gdf.set_crs(STORAGE_CRS, allow_override=True)
            if gdf.crs is None
            else gdf.to_crs(STORAGE_CRS)
        )
    bounds = np.asarray(gdf.total_bounds, dtype=float)
    if not np.all(np.isfinite(bounds)):
        return gdf if gdf.crs is None else gdf.to_crs(STORAGE_CRS)
    if gdf.crs is None:
        guess = _guess_for_missing(bounds)
        if guess == _UNKNOWN:
            msg = N_(
                "Layer {layer} has no coordinate reference system, and its coordinates (x {x0:.0f} "
                "to {x1:.0f}, y {y0:.0f} to {y1:.0f}) are neither longitude/latitude nor "
                "Gauss–Krüger metres: probably a local (CAD or city) grid. Ask the surveyor which "
                "CRS it is, or georeference the layer in your GIS, then declare the CRS."
            )
            x0, y0, x1, y1 = bounds
            raise CRSError(msg, layer=layer, x0=x0, x1=x1, y0=y0, y1=y1)
        if guess == _CM_RANGE:
            msg = N_(
                "Layer {layer} has no coordinate reference system (no .prj or CRS). Its coordinates "
                "look like metres in a CGCS2000 3-degree Gauss–Krüger zone without zone prefix "
                "({guess}, one code per central meridian: EPSG:4548 is 117°E). Declare the zone of "
                "your city: in the CLI add --crs EPSG:45xx; in the app choose it on the Data page."
            )
            raise CRSError(msg, layer=layer, guess=guess, **_box(bounds))
        msg = N_(
            "Layer {layer} has no coordinate reference system (no .prj or CRS). Declare it: "
            "for longitude/latitude use EPSG:4490 (CGCS2000) or EPSG:4326 (WGS84); these "
            "coordinates look like {guess}. In the CLI add --crs {guess}; in the app choose it on "
            "the Data page."
        )
        raise CRSError(msg, layer=layer, guess=guess, **_box(bounds))
    source = CRS.from_user_input(gdf.crs)
    if source.is_geographic:
        if not _looks_like_china_lonlat(bounds):
            if 10_000 < abs(bounds[0]) or 10_000 < abs(bounds[1]):
                msg = N_(
                    "Layer {layer} says it is in longitude/latitude ({crs}) but its coordinates "
                    "are metres (x from {x:.0f}). Set its real projected CRS in your GIS (QGIS: Set "
                    "Layer CRS; ArcGIS: Define Projection), e.g. a CGCS2000 Gauss–Krüger zone "
                    "(EPSG:4534–4554, or EPSG:4513–4533 with zone-prefixed X)."
                )
                raise CRSError(msg, layer=layer, crs=source.name, x=bounds[0])
            x_ok = bounds[0] >= -180 and bounds[2] <= 180
            if not (x_ok and bounds[1] >= -90 and bounds[3] <= 90):
                msg = N_(
                    "Layer {layer} has coordinates outside the longitude/latitude range (x "
                    "{x0:.4f} to {x1:.4f}, y {y0:.4f} to {y1:.4f}). If X holds the latitude and Y "
                    "the longitude, swap them in your GIS; otherwise declare the layer's real CRS."
                )
                x0, y0, x1, y1 = bounds
                raise CRSError(msg, layer=layer, x0=x0, x1=x1, y0=y0, y1=y1)
        return gdf.to_crs(STORAGE_CRS)
    # Projected, but the numbers are degrees (a .prj copied from another layer).
    if np.all(np.abs(bounds) <= 360):
        lonlat = _looks_like_china_lonlat(bounds)
        msg = N_(
            "Layer {layer} says it is in {crs} (metres), but its coordinates are degrees (x "
            "{x0:.4f} to {x1:.4f}, y {y0:.4f} to {y1:.4f}){hint}. Its .prj does not belong "
            "to it: set its real CRS in your GIS, or delete the .prj and declare --crs {guess}."
        )
        x0, y0, x1, y1 = bounds
        raise CRSError(
            msg,
            layer=layer,
            crs=source.name,
            x0=x0,
            x1=x1,
            y0=y0,
            y1=y1,
            hint=", longitude/latitude over China" if lonlat else "",
            guess="EPSG:4490" if lonlat else "EPSG:4326",
        )
    # Projected: detect a zone prefix declared as a plain CM CRS, or the reverse.
    easting = bounds[0]
    if easting >= 10_000_000 and _is_gauss_kruger(source) and not _false_easting_has_zone(source):
        gdf = gdf.set_crs(zone_prefixed_crs(easting, bounds[1]), allow_override=True)
    elif easting < 1_000_000 and _false_easting_has_zone(source):
        msg = N_(
            "Layer {layer} is declared as {crs}, whose X values carry a zone prefix, but its X "
            "values ({x:.0f}) have none. Declare the matching CM zone instead (EPSG:4534–4554)."
        )
        raise CRSError(msg, layer=layer, crs=source.name, x=easting)
    out = gdf.to_crs(STORAGE_CRS)
    out_bounds = out.total_bounds
    if not _looks_like_china_lonlat(out_bounds):
        msg = N_(
            "Layer {layer} in {crs} lands outside China (longitude {lon:.2f}, latitude {lat:.2f}). "
            "The declared CRS is probably wrong, or X and Y are swapped."
        )
        raise CRSError(msg, layer=layer, crs=source.name, lon=out_bounds[0], lat=out_bounds[1])
    return out


def _is_gauss_kruger(crs: CRS) -> bool:
    """Tell a Transverse Mercator CRS (Gauss–Krüger) from e.g. Web Mercator or Albers."""
    operation = crs.coordinate_operation
    return operation is not None and "transverse mercator" in operation.method_name.lower()


def _false_easting_has_zone(crs: CRS) -> bool:
    for param in getattr(crs.coordinate_operation, "params", []) or []:
        if param.name == "False easting":
            return bool(param.value >= 1_000_000)
    return False


def to_storage(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4490."""
    return gdf.to_crs(STORAGE_CRS)


def to_metric(gdf: gpd.GeoDataFrame, *, crs: CRS | None = None) -> gpd.GeoDataFrame:
    """Return ``gdf`` in a metric CRS (its CGCS2000 3° GK zone unless ``crs`` is given)."""
    if gdf.crs is None:
        msg = N_("A layer has no CRS; it cannot be measured.")
        raise CRSError(msg)
    if crs is None:
        geographic = gdf.to_crs(STORAGE_CRS) if not gdf.crs.is_geographic else gdf
        bounds = geographic.total_bounds
        if not all(math.isfinite(b) for b in bounds):
            return gdf
        crs = metric_crs_for(tuple(bounds))
    return gdf.to_crs(crs)


@functools.lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> Transformer:
    """A transformer between two CRSs (given as WKT), shared by all threads.

    pyproj re-creates a transformer's PROJ object in each new thread, and Streamlit runs
    every rerun in a new thread: from the CRS pair that takes ~50 ms (PROJ searches its
    database for the operation), from the operation's pipeline well under 1 ms. So the
    operation is found once and kept as a pipeline.
    """
    found = Transformer.from_crs(CRS.from_wkt(source), CRS.from_wkt(target), always_xy=True)
    return Transformer.from_pipeline(found.definition) if found.definition else found


def reproject(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: str | int | CRS
) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """``gdf.to_crs(crs)``, with the coordinate operation looked up once per process.

    The same coordinates as :meth:`geopandas.GeoDataFrame.to_crs` (for the 2-D
    operations gridplan uses); for the app's reruns, where ``to_crs`` would search the
    PROJ database again in every new thread.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> pts = gpd.GeoSeries([Point(116.32, 40.0)], crs=4490)
    >>> a = reproject(pts, 4548).iloc[0]; b = pts.to_crs(4548).iloc[0]
    >>> round(a.distance(b), 6)
    0.0
    """
    target = CRS.from_user_input(crs)
    if gdf.crs is None:
        msg = N_("A layer has no CRS; it cannot be measured.")
        raise CRSError(msg)
    if gdf.crs == target:
        return gdf.copy()
    op = _transformer(gdf.crs.to_wkt(), target.to_wkt())
    series = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = op.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    moved = gpd.GeoSeries(shapely.transform(series.values, move), index=series.index, crs=target)
    if isinstance(gdf, gpd.GeoSeries):
        return moved
    out = gdf.copy()
    return out.set_geometry(moved.rename(gdf.geometry.name), crs=target)
