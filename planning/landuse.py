"""Land use: which non-residential areas become dedicated grids, and of what kind.

A campus, school, hospital, enterprise or park named by the input layers (a ``landuse``
layer, or a land-use field on the compounds layer) becomes a **dedicated grid**
(专属网格) of its own kind when it is at least ``dedicated_land_use_min_area_m2``
(Gaoping 2024 names special-purpose grids for enterprises and schools). The grid's
``kind`` column then names what it is (``campus``, ``school``, ``hospital``,
``enterprise``, ``park``); ``dedicated`` stays for large land without households whose
use the layers do not say.

Values are read from planners' fields in Chinese or English, from the classes of
GB 50137-2011 (``A31`` higher education, ``A33`` schools, ``A5`` medical, ``B1``/``B2``
commerce and business, ``M`` industry, ``G1`` parks) and from OpenStreetMap tags
(``amenity=university``, ``landuse=industrial``, ``leisure=park``…).

Examples
--------
>>> [land_use_kind(v) for v in ("教育科研用地（高等院校）", "A33", "hospital", "工业用地", "公园绿地", "居住用地")]
['campus', 'school', 'hospital', 'enterprise', 'park', None]
>>> kind_label("campus", "zh_CN"), kind_label("campus", "en")
('校园专属网格', 'campus grid')
"""

from __future__ import annotations

import re
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.kinds import GRID_KINDS, kind_label

__all__ = [
    "GRID_KINDS",
    "LAND_USE_COLUMNS",
    "LAND_USE_KINDS",
    "kind_label",
    "land_use_areas",
    "land_use_kind",
]

LAND_USE_KINDS: tuple[str, ...] = ("campus", "school", "hospital", "enterprise", "park")
"""The kinds of dedicated grid the layers' land use can name (:data:`gis.kinds.GRID_KINDS`)."""

LAND_USE_COLUMNS: tuple[str, ...] = ("land_use", "amenity", "leisure", "landuse", "kind")
"""Columns read for the land use, in order (the first value that names a kind wins)."""

# (pattern, kind): Chinese words, GB 50137-2011 codes, OpenStreetMap / Tilezen values.
# Checked in order; the residential and natural words come first so that 居住用地 or
# 林地 never count as a dedicated unit.
_RULES: tuple[tuple[str, str | None], ...] = (
    (r"^(r\d*\b|居住|住宅|residential|apartments|house)", None),
    (r"(居住用地|住宅用地|居住区|住宅区)", None),
    (r"^(a31|a32)\b", "campus"),
    (r"^(a33|a34)\b", "school"),
    (r"^a5\d*\b", "hospital"),
    (r"^(b1|b2|b\d{2}|m\d*)\b", "enterprise"),
    (r"^g1\d*\b", "park"),
    (r"(高等院校|高校|大学|学院|科研|研究院|研究所|university|college|research)", "campus"),
    (r"(中小学|中学|小学|幼儿园|学校|school|kindergarten)", "school"),
    (r"(医院|医疗|卫生院|hospital|clinic)", "hospital"),
    (
        r"(工业|厂|企业|商业|商务|办公|产业园|科技园|市场|commercial|industrial|retail|office|"
        r"business|marketplace)",
        "enterprise",
    ),
    (r"(公园|游园|广场|park|garden|recreation_ground|zoo|theme_park)", "park"),
)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip().lower()


def land_use_kind(value: object) -> str | None:
    """The dedicated-grid kind a land-use value names, or ``None`` (residential, natural
    land, or a use that is no unit of its own).

    Examples
    --------
    >>> land_use_kind("university"), land_use_kind("B2 商务用地"), land_use_kind("forest")
    ('campus', 'enterprise', None)
    >>> land_use_kind("R2"), land_use_kind(None)
    (None, None)
    """
    text = _text(value)
    if not text:
        return None
    for pattern, kind in _RULES:
        if re.search(pattern, text):
            return kind
    return None


def land_use_areas(*frames: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The non-residential areas of some layers: ``kind``, ``name``, ``geometry``.

    Each frame is a land-use layer or a compounds layer with a land-use field; a row's
    kind is the first of :data:`LAND_USE_COLUMNS` that names one (:func:`land_use_kind`).
    Rows naming none are left out; ``None`` when nothing is left.

    Examples
    --------
    >>> from shapely import box
    >>> layer = gpd.GeoDataFrame({"用途": ["医院", "居住"], "land_use": ["医院", "居住"]},
    ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4490)
    >>> land_use_areas(layer)[["kind"]].to_dict("records")
    [{'kind': 'hospital'}]
    """
    parts = []
    for frame in frames:
        if frame is None or frame.empty:
            continue
        columns = [c for c in LAND_USE_COLUMNS if c in frame]
        if not columns:
            continue
        kinds = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        for column in columns:
            found = frame[column].map(land_use_kind)
            kinds = kinds.where(kinds.notna(), found)
        keep = kinds.notna().to_numpy() & frame.geometry.notna().to_numpy()
        keep &= frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        if not keep.any():
            continue
        name = frame["name"] if "name" in frame else pd.Series(None, index=frame.index, dtype=object)
        parts.append(
            gpd.GeoDataFrame(
                {"kind": kinds[keep].to_numpy(), "name": name[keep].to_numpy()},
                geometry=frame.geometry.values[keep],
                crs=frame.crs,
            )
        )
    if not parts:
        return None
    crs = parts[0].crs
    return gpd.GeoDataFrame(
        pd.concat([p.to_crs(crs) for p in parts], ignore_index=True), geometry="geometry", crs=crs
    )
