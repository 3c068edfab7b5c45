"""Deterministic synthetic Chinese urban districts for tests and benchmarks.

:func:`make_district` builds a plausible, fully synthetic urban district of a
Chinese city -- arterial/secondary road grid, street blocks, walled compounds
(小区), residential and non-residential buildings, communities (社区) grouped
into sub-districts (街道) and one party-and-mass service centre
(党群服务中心) per community -- and :func:`write_district` stores it as a
GeoPackage.  The data are meant to exercise the grid engine (which tiles
communities into 30–50-household grids) and the community split engine on
realistic inputs: towers of several hundred households next to walk-ups whose
household counts sit on a coarse lattice, large and tiny compounds, parks and
schools without households, and communities of very different sizes.

Layout model
------------
All geometry is built in the metric CRS EPSG:4548 (CGCS2000 / 3-degree
Gauss-Kruger CM 117E), with ``origin`` at the south-west corner of the study
area, and every layer is returned in EPSG:4490 (CGCS2000 geographic).

* **Roads.** Arterials (``"primary"``, 30–40 m wide) run every 500–700 m and
  bound *superblocks*; the study-area boundary is an arterial too.  Each
  superblock is cut by its own ``"secondary"``/``"residential"`` roads
  (10–20 m wide) into *street blocks* of roughly 150–300 m, so minor roads end
  in T-junctions on the arterials.  The roads layer holds one LineString per
  centre-line segment between junctions (a noded planar network).  Block
  edges are road centre lines.
* **River.** Usually one full-length interior arterial (or, in a one-superblock
  district, a full-length minor road) is replaced by a river: the
  ``waterways`` layer holds its centre line, no road is emitted along it, and
  the roads crossing it (bridges) continue.
* **Compounds.** The *plot* of a block is the block shrunk by a setback from
  every bounding centre line (half the road width plus a 3 m footway, or half
  the river width plus a 10 m embankment).  The 1–4 compounds of a block tile
  its plot exactly (neighbouring compounds share their boundary).  Walled
  compounds get one closed ``"wall"`` LineString along their boundary in the
  ``barriers`` layer, so a wall shared by two walled compounds appears twice.
* **Buildings.** Rectangular, east-west oriented footprints in rows
  (行列式 layout) set back 5–10 m from the compound boundary, with sunlight
  spacing between rows; footprints never overlap and never cross their
  compound's boundary.
* **Communities.** Contiguous groups of whole blocks obtained by recursive
  household-weighted bisection, first into sub-districts (街道, about eight
  communities each) and then into communities, whose sizes are then brought
  close to randomly drawn targets by moving boundary blocks between
  neighbours.  They tile the study area exactly and share vertices along
  common edges (a valid polygon coverage).

Household model
---------------
``tower`` (18–33 floors, 2–4 units, 2–4 households per floor and unit, at
most 12 per floor, so 72–396 households), ``slab`` (9–12 floors, 2–4 units,
2 per floor and unit), ``walkup`` (5–7 floors, 1–4 units, 2 per floor and
unit) and ``lowrise`` (2–3 floors, 6–30 households) buildings are drawn
first; the study-area size is chosen so that their total is within 5 % of
the requested number of households, and the total is then matched exactly by
adding or removing whole floors, adjusting low-rise households, and -- only
for the last few households -- turning a few ground-floor flats of towers
and slabs into lobbies or shops.  Walk-up and slab household counts therefore
always stay on their lattice (``2 × units × floors``).  If no attempt can be
matched exactly (possible only for small districts), the closest total is
returned.

Everything is drawn from a single :func:`numpy.random.default_rng` stream
seeded with ``seed``, so a seed always reproduces identical frames.
"""

from __future__ import annotations

import itertools
import math
import os
import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer

__all__ = [
    "GEOGRAPHIC_CRS",
    "LAYER_NAMES",
    "METRIC_CRS",
    "make_city",
    "make_district",
    "make_fishnet",
    "write_district",
]

METRIC_CRS: Final = "EPSG:4548"
"""CRS in which the district is laid out (CGCS2000 / 3-degree GK CM 117E)."""

GEOGRAPHIC_CRS: Final = "EPSG:4490"
"""CRS of every returned layer (CGCS2000 geographic)."""

LAYER_NAMES: Final = (
    "buildings",
    "communities",
    "compounds",
    "roads",
    "waterways",
    "barriers",
    "service_centres",
)
"""Keys of the mapping returned by :func:`make_district`, in order."""

_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]
_BoolArray = npt.NDArray[np.bool_]
_Rect = tuple[float, float, float, float]  # x0, y0, x1, y1

# --------------------------------------------------------------------------
# Parameters of the synthetic city (all immutable)
# --------------------------------------------------------------------------

_HOUSEHOLDS_PER_COMMUNITY: Final = 5_300
_MIN_HOUSEHOLDS: Final = 1_000
_ZONE_LONGITUDES: Final = (115.5, 118.5)  # validity of EPSG:4548

# Households per m² of study area (roads, parks and schools included) used for
# the first guess of the study-area size; the size is then corrected.
_STUDY_AREA_DENSITY: Final = 0.0155
_SIZE_TOLERANCE: Final = 0.05  # accepted |natural / requested - 1|
_MAX_SIZE_ATTEMPTS: Final = 40

_ARTERIAL_SPACING: Final = (500.0, 700.0)
_MIN_SUPERBLOCK_SIDE: Final = 150.0  # a partial superblock at the study-area edge
_MINOR_ROAD_SPACING: Final = (170.0, 260.0)  # mean block side range, before jitter
_BLOCK_JITTER: Final = 0.12  # relative; blocks come out at about 150–290 m
_ROAD_CLASSES: Final = ("primary", "secondary", "residential")
_RIVER: Final = 3  # line-class code of the river
_LINE_WIDTHS: Final = ((30, 40), (14, 20), (10, 14), (20, 40))  # per class
_LINE_SETBACKS: Final = (3.0, 3.0, 3.0, 10.0)  # footway / embankment
_SECONDARY_SHARE: Final = 0.35
_RIVER_PROBABILITY: Final = 0.7

_NON_RESIDENTIAL_BLOCK_SHARE: Final = 0.10
_SMALL_COMPOUND_SHARE: Final = 0.12  # of residential blocks (at least one)
_COMPOUND_AREA: Final = 15_000.0  # m² of plot per possible compound
_MIN_COMPOUND_SIDE: Final = 45.0
_NON_RESIDENTIAL_COMPOUND_SHARE: Final = 0.12

_RESIDENTS_PER_HOUSEHOLD: Final = (2.4, 2.8)
_SPECIAL_SERVICE_SHARE: Final = 0.03
_HOUSEHOLDS_PER_STAFF: Final = (300.0, 400.0)
_COMMUNITIES_PER_STREET: Final = 8
_LOWRISE_HOUSEHOLDS: Final = (6, 30)
_LOWRISE_FLOOR_AREA: Final = (25.0, 50.0)  # m² of floor area per household


@dataclass(frozen=True, slots=True)
class _Kind:
    """Building kind: storeys, units and footprint/spacing rules (metres)."""

    name: str
    residential: bool
    floors: tuple[int, int]
    units: tuple[int, int]  # 0 for non-residential buildings
    per_unit: tuple[int, int]  # households per floor and unit
    width: tuple[float, float]  # per unit, or whole building if units == 0
    depth: tuple[float, float]
    gap_x: tuple[float, float]  # between neighbours in a row
    gap_y: tuple[float, float]  # to the next row north (sunlight spacing)
    max_flats: int = 0  # households per floor (units × per_unit); 0: no cap


_KINDS: Final = (
    _Kind("tower", True, (18, 33), (2, 4), (2, 4), (9.5, 10.5), (15, 20), (25, 40), (55, 80), 12),
    _Kind("slab", True, (9, 12), (2, 4), (2, 2), (11.5, 13.0), (12, 14), (10, 18), (32, 42)),
    _Kind("walkup", True, (5, 7), (1, 4), (2, 2), (11.5, 13.0), (10, 12), (8, 14), (26, 32)),
    _Kind("lowrise", True, (2, 3), (1, 1), (0, 0), (15.0, 30.0), (8, 12), (4, 8), (6, 10)),
    _Kind("school", False, (3, 5), (0, 0), (0, 0), (45.0, 80.0), (15, 20), (15, 25), (25, 40)),
    _Kind("shop", False, (1, 3), (0, 0), (0, 0), (15.0, 40.0), (10, 15), (6, 10), (15, 25)),
    _Kind("office", False, (5, 20), (0, 0), (0, 0), (30.0, 60.0), (18, 25), (15, 25), (20, 35)),
)
_KIND_CODE: Final = MappingProxyType({kind.name: code for code, kind in enumerate(_KINDS)})
_TOWER, _SLAB, _WALKUP, _LOWRISE = (_KIND_CODE[k] for k in ("tower", "slab", "walkup", "lowrise"))


@dataclass(frozen=True, slots=True)
class _CompoundType:
    """Programme of a compound: the building kinds of its rows and its wall."""

    name: str
    residential: bool
    row_kinds: tuple[str, ...]
    row_weights: tuple[float, ...]
    walled_probability: float
    setback: tuple[float, float]
    max_buildings: int = 0  # 0: as many as fit
    max_units: int = 0  # 0: as the building kind allows
    lowrise_max_households: int = _LOWRISE_HOUSEHOLDS[1]


_COMPOUND_TYPES: Final = (
    _CompoundType("tower", True, ("tower",), (1.0,), 0.9, (8, 12)),
    _CompoundType("slab", True, ("slab",), (1.0,), 0.85, (7, 10)),
    _CompoundType("walkup", True, ("walkup",), (1.0,), 0.75, (6, 9)),
    _CompoundType("mixed", True, ("tower", "slab", "walkup"), (0.4, 0.25, 0.35), 0.85, (7, 10)),
    _CompoundType("lowrise", True, ("lowrise",), (1.0,), 0.4, (5, 7)),
    # Tiny walled work-unit compound (单位大院): one small building, < 30 households.
    _CompoundType(
        "small",
        True,
        ("walkup", "lowrise"),
        (0.6, 0.4),
        1.0,
        (5, 7),
        max_buildings=1,
        max_units=2,
        lowrise_max_households=24,
    ),
    _CompoundType("school", False, ("school",), (1.0,), 1.0, (6, 10), max_buildings=3),
    _CompoundType("office", False, ("office",), (1.0,), 0.3, (6, 10)),
    _CompoundType("commercial", False, ("shop",), (1.0,), 0.0, (5, 8)),
    _CompoundType("park", False, (), (), 0.15, (5, 8)),
)
_TYPE_CODE: Final = MappingProxyType({t.name: code for code, t in enumerate(_COMPOUND_TYPES)})

# Residential compound types by neighbourhood character of the superblock.
_RESIDENTIAL_TYPES: Final = ("tower", "slab", "walkup", "mixed", "lowrise")
_CHARACTER_MIX: Final = (
    (0.05, 0.10, 0.55, 0.15, 0.15),  # old: 1980s walk-ups and 平房
    (0.25, 0.15, 0.25, 0.30, 0.05),  # mixed
    (0.55, 0.20, 0.05, 0.20, 0.00),  # new: high-rise estates
)
_CHARACTER_WEIGHTS: Final = (0.35, 0.35, 0.30)
_NON_RESIDENTIAL_BLOCK_TYPES: Final = (("park", "school", "office"), (0.4, 0.35, 0.25))
_NON_RESIDENTIAL_COMPOUND_TYPES: Final = (("school", "office", "commercial"), (0.4, 0.3, 0.3))
_STRIP_TYPES: Final = (("commercial", "walkup"), (0.5, 0.5))

# Names -------------------------------------------------------------------
# fmt: off
_STEMS: Final = (
    "学院", "成府", "清华", "双清", "学清", "志新", "荷清", "展春", "文华", "知春", "花园", "明光",
    "塔院", "健德", "蓟门", "牡丹", "北沙", "西土", "东升", "安宁", "清河", "毛纺", "小营", "永泰",
    "林萃", "育新", "北苑", "上地", "信息", "后厂", "永丰", "万泉", "芙蓉", "青龙", "稻香", "丰秀",
    "紫竹", "板井", "田村", "玉泉", "永定", "翠微", "羊坊", "甘家", "增光", "车公", "阜成", "定慧",
    "恩济", "世纪", "八里", "金沟", "北洼", "巴沟", "苏州", "人民", "魏公", "白石", "大柳", "五福",
    "康乐", "和平", "建设", "友谊", "红旗", "光明", "幸福", "民主", "团结", "长青", "松林", "枫林",
    "桃园", "杏林", "梨园", "柳荫", "荷花", "兰亭", "竹园", "梅园", "锦绣", "华清", "嘉和", "泰和",
    "祥和", "瑞景", "华严", "育才", "文慧", "知音", "燕园", "蓝旗", "西苑", "颐和", "香山", "百旺",
    "马连", "圆明", "畅春", "中关",
)
_WORK_UNITS: Final = (
    "林业局", "电力", "水利", "铁道", "邮电", "机床厂", "印刷厂", "气象局", "粮食局", "供电局",
    "地质", "冶金", "纺织",
)
_COMMUNITY_SUFFIXES: Final = (
    "园", "苑", "里", "村", "庄", "北里", "南里", "东里", "西里", "新村", "家园",
)
# fmt: on
_ROAD_SUFFIXES: Final = (  # by line class: primary, secondary, residential
    ("路", "大街", "东路", "西路", "北路", "南路"),
    ("路", "街", "中路"),
    ("街", "巷", "胡同", "东街", "西街", "北街", "南街"),
)
_COMPOUND_SUFFIXES: Final = MappingProxyType(
    {
        "residential": ("小区", "家园", "花园", "新村", "苑", "嘉园", "公寓", "北里", "南里"),
        "small": ("宿舍", "家属院", "大院"),
        "school": ("小学", "中学", "实验小学", "第一小学", "外国语学校"),
        "office": ("科技园", "大厦", "产业园", "办公区"),
        "commercial": ("商业街", "购物中心", "市场", "商城"),
        "park": ("公园", "绿地", "游园", "体育公园"),
    }
)
_BUILDING_SUFFIXES: Final = MappingProxyType(
    {"school": "号教学楼", "shop": "号商业楼", "office": "号办公楼"}
)
_RIVER_NAMES: Final = ("小清河", "万泉河", "清河", "南长河", "土城沟", "永引渠", "稻田河")
_NUMERALS: Final = ("", *"二三四五六七八九十")  # infix of repeated names

_GEOMETRY_TYPES: Final = MappingProxyType(
    {
        "buildings": "Polygon",
        "communities": "Polygon",
        "compounds": "Polygon",
        "roads": "LineString",
        "waterways": "LineString",
        "barriers": "LineString",
        "service_centres": "Point",
    }
)


# --------------------------------------------------------------------------
# Intermediate containers (local metric coordinates, origin at (0, 0))
# --------------------------------------------------------------------------


@dataclass(slots=True)
class _Grid:
    """Road/river centre lines and the street blocks between them."""

    vertical: _BoolArray  # per line
    coord: _FloatArray  # x of a vertical line, y of a horizontal one
    lo: _FloatArray  # extent along the line
    hi: _FloatArray
    line_class: _IntArray  # index into _ROAD_CLASSES, or _RIVER
    line_width: _IntArray
    blocks: _FloatArray  # (n, 4): x0, y0, x1, y1 between centre lines
    block_lines: _IntArray  # (n, 4): lines bounding left, bottom, right, top
    block_character: _IntArray  # neighbourhood character (index of _CHARACTER_MIX)

    @property
    def extent(self) -> tuple[float, float]:
        """Width and height of the study area."""
        return float(self.blocks[:, 2].max()), float(self.blocks[:, 3].max())

    def plots(self) -> _FloatArray:
        """Blocks shrunk by the road and river setbacks, shape ``(n, 4)``."""
        half = self.line_width / 2.0 + np.asarray(_LINE_SETBACKS)[self.line_class]
        setback = half[self.block_lines]
        return self.blocks + setback * np.array([1.0, 1.0, -1.0, -1.0])


@dataclass(slots=True)
class _Layout:
    """Compounds and buildings placed in a grid, with their households."""

    grid: _Grid
    compounds: _FloatArray  # (m, 4)
    compound_block: _IntArray
    compound_type: _IntArray
    buildings: _FloatArray  # (b, 4)
    building_compound: _IntArray
    kind: _IntArray
    units: _IntArray
    per_unit: _IntArray  # households per floor and unit (0 if not stepped)
    floors: _IntArray
    households: _IntArray
    lowrise_max: _IntArray  # household cap of low-rise buildings

    @property
    def stepped(self) -> _BoolArray:
        """Buildings whose households are ``floors × units × per_unit``."""
        return np.isin(self.kind, (_TOWER, _SLAB, _WALKUP))

    def capacity(self) -> tuple[int, int]:
        """Smallest and largest household total reachable by changing floors."""
        lo, hi = _floor_range(self.kind)
        step = np.where(self.stepped, self.units * self.per_unit, 0)
        lowrise = self.kind == _LOWRISE
        smallest = (lo * step).sum() + _LOWRISE_HOUSEHOLDS[0] * lowrise.sum()
        largest = (hi * step).sum() + self.lowrise_max[lowrise].sum()
        return int(smallest), int(largest)


def _floor_range(kind: _IntArray) -> tuple[_IntArray, _IntArray]:
    """Fewest and most floors allowed for buildings of each kind code."""
    lo, hi = np.array([k.floors for k in _KINDS]).T
    return lo[kind], hi[kind]


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def make_district(
    households: int = 12_000,
    *,
    n_communities: int | None = None,
    seed: int = 0,
    district_code: str = "110108",
    origin: tuple[float, float] = (116.30, 39.98),
) -> dict[str, gpd.GeoDataFrame]:
    """Generate a synthetic urban district of a Chinese city.

    Parameters
    ----------
    households : int, default 12_000
        Total number of households of all buildings, matched exactly.  At
        least 1,000.  The study area grows with it (about 15,000–30,000
        households per km² of residential block).
    n_communities : int, optional
        Number of communities (社区).  Defaults to
        ``max(1, round(households / 5300))``.  Every community holds at least
        one residential block, so it cannot exceed their number.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; equal seeds give identical
        frames.
    district_code : str, default "110108"
        Six-digit administrative code of the district (区), prefix of every
        ``community_id``.
    origin : tuple of float, default (116.30, 39.98)
        Longitude and latitude (EPSG:4490) of the south-west corner of the
        study area; the longitude must lie in the EPSG:4548 zone
        (115.5°E–118.5°E).

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Layers in EPSG:4490, keyed as in :data:`LAYER_NAMES`:

        ``"buildings"`` (Polygon)
            ``building_id`` ("B000001"), ``kind`` ("tower", "slab",
            "walkup", "lowrise", "school", "shop", "office"), ``floors``,
            ``units`` (单元), ``households``, ``residents``,
            ``special_service_households``, ``is_residential``,
            ``compound_id``, ``community_id``, ``name`` ("3号楼"),
            ``households_source`` ("roster").
        ``"communities"`` (Polygon)
            ``community_id`` (district 6 + street 3 + community 3 digits),
            ``name``, ``street``, ``street_code``, ``district_code``,
            ``households``, ``residents``, ``staff``.
        ``"compounds"`` (Polygon)
            ``compound_id`` ("C0001"), ``name``, ``kind`` (programme:
            "tower", "slab", "walkup", "mixed", "lowrise", "small", "school",
            "office", "commercial", "park"), ``walled``, ``households``,
            ``block_id``, ``community_id``.
        ``"roads"`` (LineString)
            ``road_id``, ``name``, ``road_class`` ("primary", "secondary",
            "residential"), ``width_m``; one centre-line segment between
            consecutive junctions per row.
        ``"waterways"`` (LineString)
            ``waterway_id``, ``name``, ``kind`` ("river"), ``width_m``; zero
            or one row.
        ``"barriers"`` (LineString)
            ``barrier_id``, ``kind`` ("wall"), ``compound_id``; the closed
            boundary of each walled compound.
        ``"service_centres"`` (Point)
            ``community_id``, ``name`` ("XX社区党群服务中心"),
            ``floor_area_m2``.

    Raises
    ------
    ValueError
        If an argument is out of range, or `n_communities` exceeds the
        number of residential blocks.

    See Also
    --------
    write_district : Store the layers in a GeoPackage.

    Notes
    -----
    Geometry is laid out in EPSG:4548 (see the module documentation for the
    layout and household model); project back with
    ``frame.to_crs("EPSG:4548")`` for metric work.  Buildings lie strictly
    inside their compound, compounds inside one block and hence one
    community, and communities form a gap-free, overlap-free coverage of the
    study area.  Most communities hold 3,000–6,000 households; a few are
    oversized (7,000–9,000, for the split engine) and a few small
    (2,000–3,000) -- at least one of each once there are four communities.
    About 10 % of the blocks hold no households (parks, schools, offices), and
    every district has at least one walled compound of fewer than 30
    households (a work-unit dormitory, 单位宿舍).

    Examples
    --------
    >>> layers = make_district(3_000, seed=1)
    >>> int(layers["buildings"]["households"].sum())
    3000
    >>> list(layers) == list(LAYER_NAMES)
    True
    >>> layers["communities"].crs.to_epsg()
    4490
    >>> layers["communities"][["community_id", "households"]].to_dict("records")
    [{'community_id': '110108001001', 'households': 3000}]
    """
    _validate(households, n_communities, district_code, origin)
    households = int(households)
    rng = np.random.default_rng(seed)
    layout = _matched_layout(rng, households)

    grid = layout.grid
    block_households = np.bincount(
        layout.compound_block[layout.building_compound],
        weights=layout.households,
        minlength=len(grid.blocks),
    ).astype(np.int64)
    residential_block = np.zeros(len(grid.blocks), dtype=bool)
    residential_block[layout.compound_block[layout.building_compound[layout.households > 0]]] = True
    n_communities = n_communities or max(1, round(households / _HOUSEHOLDS_PER_COMMUNITY))
    street_of_block, community_of_block = _partition(
        rng, grid.blocks, block_households, residential_block, n_communities
    )

    offset = _projected_origin(origin)
    return _assemble(
        rng, layout, street_of_block, community_of_block, n_communities, district_code, offset
    )


def make_city(
    households: int = 1_000_000,
    *,
    n_communities: int = 200,
    seed: int = 0,
    communities_per_district: int = 10,
    city_code: str = "1101",
    origin: tuple[float, float] = (116.30, 39.98),
    gap_m: float = 50.0,
) -> dict[str, gpd.GeoDataFrame]:
    """Generate a synthetic city: many districts side by side, each a :func:`make_district`.

    Parameters
    ----------
    households : int, default 1_000_000
        Total households, matched exactly (shared out evenly among the districts).
    n_communities : int, default 200
        Total communities (社区), shared out evenly among the districts.
    seed : int, default 0
        Seeds every district (district ``d`` draws from ``SeedSequence([seed, d])``).
    communities_per_district : int, default 10
        About how many communities each district holds; sets the number of districts
        (at most 99).
    city_code : str, default "1101"
        Four-digit prefix of the district codes: district ``d`` is ``city_code`` + ``d``
        (``"110101"``, ``"110102"``…), so community ids and grid codes stay distinct.
    origin : tuple of float, default (116.30, 39.98)
        Longitude and latitude of the city's south-west corner (in the EPSG:4548 zone).
    gap_m : float, default 50.0
        Metres between neighbouring districts.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        The layers of :func:`make_district` for the whole city, in EPSG:4490. Ids that
        repeat between districts (``building_id``, ``compound_id``, ``road_id``,
        ``barrier_id``, ``waterway_id``) are prefixed with the district code
        (``"110101-B000001"``).

    Raises
    ------
    ValueError
        If an argument is out of range (see :func:`make_district`).

    Examples
    --------
    >>> city = make_city(6_000, n_communities=4, communities_per_district=2, seed=1)
    >>> int(city["buildings"]["households"].sum()), len(city["communities"])
    (6000, 4)
    >>> sorted(city["communities"]["district_code"].unique())
    ['110101', '110102']
    """
    if int(n_communities) != n_communities or n_communities < 1:
        raise ValueError(f"n_communities must be a positive integer, got {n_communities!r}")
    if not (isinstance(city_code, str) and len(city_code) == 4 and city_code.isdigit()):
        raise ValueError(f"city_code must be four digits, got {city_code!r}")
    n_districts = max(
        1, min(round(n_communities / max(1, communities_per_district)), n_communities)
    )
    if n_districts > 99:
        raise ValueError(f"a city has at most 99 districts, got {n_districts}")
    if households < _MIN_HOUSEHOLDS * n_districts:
        raise ValueError(
            f"households must be at least {_MIN_HOUSEHOLDS} per district, got {households!r}"
        )
    shares = np.full(n_districts, households // n_districts)
    shares[: households % n_districts] += 1
    counts = np.full(n_districts, n_communities // n_districts)
    counts[: n_communities % n_districts] += 1
    columns = math.ceil(math.sqrt(n_districts))
    to_lonlat = Transformer.from_crs(METRIC_CRS, GEOGRAPHIC_CRS, always_xy=True)
    x0, y0 = _projected_origin(origin)
    x, y, row_height = x0, y0, 0.0
    frames: dict[str, list[gpd.GeoDataFrame]] = {name: [] for name in LAYER_NAMES}
    for d in range(n_districts):
        if d and d % columns == 0:  # next row of districts
            x, y, row_height = x0, y + row_height + gap_m, 0.0
        code = f"{city_code}{d + 1:02d}"
        district_seed = int(np.random.SeedSequence([seed, d]).generate_state(1)[0])
        layers = make_district(
            int(shares[d]),
            n_communities=int(counts[d]),
            seed=district_seed,
            district_code=code,
            origin=to_lonlat.transform(x, y),
        )
        xmin, ymin, xmax, ymax = layers["communities"].to_crs(METRIC_CRS).total_bounds
        x = xmax + gap_m
        row_height = max(row_height, ymax - y)
        for name, frame in layers.items():
            frame = frame.copy()
            for column in ("building_id", "compound_id", "road_id", "barrier_id", "waterway_id"):
                if column in frame:
                    frame[column] = code + "-" + frame[column].astype(str)
            frames[name].append(frame)
    return {
        name: gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=GEOGRAPHIC_CRS)
        for name, parts in frames.items()
    }


def write_district(
    layers: Mapping[str, gpd.GeoDataFrame], path: str | os.PathLike[str]
) -> pathlib.Path:
    """Write district layers to one GeoPackage, one layer per key.

    Parameters
    ----------
    layers : mapping of str to geopandas.GeoDataFrame
        Layers as returned by :func:`make_district`.
    path : str or os.PathLike
        Target file; an existing file is replaced.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, pyogrio
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     gpkg = write_district(make_district(3_000), pathlib.Path(tmp) / "d.gpkg")
    ...     sorted(pyogrio.list_layers(gpkg)[:, 0]) == sorted(LAYER_NAMES)
    True
    """
    target = pathlib.Path(path)
    target.unlink(missing_ok=True)
    for name, frame in layers.items():
        geometry_type = _GEOMETRY_TYPES.get(name, "Unknown") if frame.empty else None
        frame.to_file(target, layer=name, driver="GPKG", geometry_type=geometry_type)
    return target


# --------------------------------------------------------------------------
# Study area, roads and blocks
# --------------------------------------------------------------------------


def _validate(
    households: int,
    n_communities: int | None,
    district_code: str,
    origin: tuple[float, float],
) -> None:
    if int(households) != households or households < _MIN_HOUSEHOLDS:
        raise ValueError(f"households must be an integer >= {_MIN_HOUSEHOLDS}, got {households!r}")
    if n_communities is not None and (int(n_communities) != n_communities or n_communities < 1):
        raise ValueError(f"n_communities must be a positive integer, got {n_communities!r}")
    if not (isinstance(district_code, str) and len(district_code) == 6 and district_code.isdigit()):
        raise ValueError(f"district_code must be six digits, got {district_code!r}")
    lon, lat = origin
    if not (_ZONE_LONGITUDES[0] <= lon <= _ZONE_LONGITUDES[1] and -80.0 < lat < 80.0):
        raise ValueError(
            f"origin {origin!r} lies outside the EPSG:4548 zone "
            f"({_ZONE_LONGITUDES[0]}°E–{_ZONE_LONGITUDES[1]}°E)"
        )


def _matched_layout(rng: np.random.Generator, households: int) -> _Layout:
    """Lay out districts until one holds exactly `households` households.

    Each attempt sizes the study area from the household density pooled over
    the previous attempts.  The first attempt whose natural total is within
    ``_SIZE_TOLERANCE`` of `households` and can be matched exactly (see
    :func:`_match_households`) is returned.  Failing that, the other attempts
    that can reach `households` are matched, closest first, and the one with
    the smallest residual is returned.
    """
    aspect = rng.uniform(0.8, 1.25)
    laid_out, natural_total = 0.0, 0.0
    density = _STUDY_AREA_DENSITY
    reserve: list[tuple[float, int, _Layout]] = []  # (miss, attempt, layout)
    best: tuple[int, _Layout] | None = None  # (|residual|, layout)
    for attempt in range(_MAX_SIZE_ATTEMPTS):
        area = households / density
        grid = _build_grid(rng, math.sqrt(area * aspect), math.sqrt(area / aspect))
        layout = _lay_out(rng, grid)
        natural = max(int(layout.households.sum()), 1)
        smallest, largest = layout.capacity()
        if smallest <= households <= largest:
            miss = abs(math.log(natural / households))
            if miss > math.log1p(_SIZE_TOLERANCE):
                reserve.append((miss, attempt, layout))
            else:
                residual = abs(_match_households(rng, layout, households))
                if residual == 0:
                    return layout
                if best is None or residual < best[0]:
                    best = (residual, layout)
        width, height = grid.extent
        laid_out += width * height
        natural_total += natural
        density = natural_total / laid_out
    for _, _, layout in sorted(reserve, key=lambda item: item[:2]):
        residual = abs(_match_households(rng, layout, households))
        if residual == 0:
            return layout
        if best is None or residual < best[0]:
            best = (residual, layout)
    if best is None:  # pragma: no cover - guarded by _MIN_HOUSEHOLDS
        raise RuntimeError(f"could not lay out a district of {households} households")
    return best[1]


def _arterial_offsets(rng: np.random.Generator, length: float) -> _FloatArray:
    """Arterial positions along one axis, both study-area edges included."""
    cuts = [0.0]
    while length - cuts[-1] > _ARTERIAL_SPACING[1] + _MIN_SUPERBLOCK_SIDE:
        cuts.append(cuts[-1] + round(rng.uniform(*_ARTERIAL_SPACING)))
    cuts.append(cuts[-1] + max(round(length - cuts[-1]), _MIN_SUPERBLOCK_SIDE))
    return np.asarray(cuts, dtype=np.float64)


def _block_offsets(rng: np.random.Generator, start: float, stop: float) -> _FloatArray:
    """Positions of the minor roads splitting ``[start, stop]`` into blocks."""
    length = stop - start
    shortest, longest = _MINOR_ROAD_SPACING
    n = max(1, min(math.ceil(length / longest), math.floor(length / shortest)))
    weights = rng.uniform(1 - _BLOCK_JITTER, 1 + _BLOCK_JITTER, n)
    return start + np.round(np.cumsum(weights)[:-1] / weights.sum() * length)


def _build_grid(rng: np.random.Generator, width: float, height: float) -> _Grid:
    """Arterial superblocks subdivided by minor roads; optionally one river."""
    xs, ys = _arterial_offsets(rng, width), _arterial_offsets(rng, height)
    lines: list[tuple[bool, float, float, float, int]] = []  # vertical, coord, lo, hi, class
    v_arterial = [len(lines) + i for i in range(len(xs))]
    lines += [(True, x, 0.0, ys[-1], 0) for x in xs]
    h_arterial = [len(lines) + i for i in range(len(ys))]
    lines += [(False, y, 0.0, xs[-1], 0) for y in ys]

    blocks: list[_Rect] = []
    block_lines: list[tuple[int, int, int, int]] = []
    block_character: list[int] = []
    characters = rng.choice(
        len(_CHARACTER_WEIGHTS), (len(xs) - 1, len(ys) - 1), p=_CHARACTER_WEIGHTS
    )
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            x_cuts = _block_offsets(rng, xs[i], xs[i + 1])
            y_cuts = _block_offsets(rng, ys[j], ys[j + 1])
            minor_class = np.where(rng.random(len(x_cuts) + len(y_cuts)) < _SECONDARY_SHARE, 1, 2)
            x_ids = [v_arterial[i]]
            for x, cls in zip(x_cuts, minor_class[: len(x_cuts)], strict=True):
                x_ids.append(len(lines))
                lines.append((True, float(x), ys[j], ys[j + 1], int(cls)))
            x_ids.append(v_arterial[i + 1])
            y_ids = [h_arterial[j]]
            for y, cls in zip(y_cuts, minor_class[len(x_cuts) :], strict=True):
                y_ids.append(len(lines))
                lines.append((False, float(y), xs[i], xs[i + 1], int(cls)))
            y_ids.append(h_arterial[j + 1])
            x_edges = np.concatenate(([xs[i]], x_cuts, [xs[i + 1]]))
            y_edges = np.concatenate(([ys[j]], y_cuts, [ys[j + 1]]))
            for a in range(len(x_edges) - 1):
                for b in range(len(y_edges) - 1):
                    blocks.append((x_edges[a], y_edges[b], x_edges[a + 1], y_edges[b + 1]))
                    block_lines.append((x_ids[a], y_ids[b], x_ids[a + 1], y_ids[b + 1]))
                    block_character.append(int(characters[i, j]))

    vertical, coord, lo, hi, line_class = (
        np.asarray(column) for column in zip(*lines, strict=True)
    )
    line_class = line_class.astype(np.int64)
    _add_river(rng, vertical, coord, lo, hi, line_class, xs[-1], ys[-1])
    bounds = np.asarray(_LINE_WIDTHS)[line_class]
    line_width = rng.integers(bounds[:, 0] // 2, bounds[:, 1] // 2 + 1) * 2
    return _Grid(
        vertical=vertical.astype(bool),
        coord=coord.astype(np.float64),
        lo=lo.astype(np.float64),
        hi=hi.astype(np.float64),
        line_class=line_class,
        line_width=line_width.astype(np.int64),
        blocks=np.asarray(blocks, dtype=np.float64),
        block_lines=np.asarray(block_lines, dtype=np.int64),
        block_character=np.asarray(block_character, dtype=np.int64),
    )


def _add_river(
    rng: np.random.Generator,
    vertical: _BoolArray,
    coord: _FloatArray,
    lo: _FloatArray,
    hi: _FloatArray,
    line_class: _IntArray,
    width: float,
    height: float,
) -> None:
    """Turn one full-length interior line (arterials first) into a river."""
    side = np.where(vertical, width, height)
    span = np.where(vertical, height, width)
    candidates = (coord > 0) & (coord < side) & (lo == 0) & (hi == span)
    if (candidates & (line_class == 0)).any():
        candidates &= line_class == 0
    if candidates.any() and rng.random() < _RIVER_PROBABILITY:
        line_class[rng.choice(np.flatnonzero(candidates))] = _RIVER


def _junctions(grid: _Grid) -> tuple[_IntArray, _IntArray]:
    """Index pairs (vertical line, horizontal line) of all crossings."""
    v, h = np.flatnonzero(grid.vertical), np.flatnonzero(~grid.vertical)
    meet = (
        (grid.lo[v, None] <= grid.coord[None, h])
        & (grid.coord[None, h] <= grid.hi[v, None])
        & (grid.lo[None, h] <= grid.coord[v, None])
        & (grid.coord[v, None] <= grid.hi[None, h])
    )
    vi, hi = np.nonzero(meet)
    return v[vi], h[hi]


def _road_segments(grid: _Grid) -> tuple[list[shapely.LineString], _IntArray]:
    """Noded centre-line segments of all roads and the line of each."""
    v, h = _junctions(grid)
    stops = np.concatenate((grid.coord[h], grid.coord[v]))  # position along each line
    owner = np.concatenate((v, h))
    segments: list[shapely.LineString] = []
    segment_line: list[int] = []
    for line in np.flatnonzero(grid.line_class != _RIVER):
        along = np.unique(stops[owner == line])
        c = grid.coord[line]
        for a, b in itertools.pairwise(along):
            ends = [(c, a), (c, b)] if grid.vertical[line] else [(a, c), (b, c)]
            segments.append(shapely.LineString(ends))
            segment_line.append(int(line))
    return segments, np.asarray(segment_line, dtype=np.int64)


def _block_polygons(grid: _Grid) -> npt.NDArray[np.object_]:
    """Block polygons carrying every junction on their boundary as a vertex.

    Neighbouring blocks therefore share identical vertices along common
    edges, which makes unions of blocks a valid polygon coverage.
    """
    v, h = _junctions(grid)
    px, py = grid.coord[v], grid.coord[h]
    polygons = np.empty(len(grid.blocks), dtype=object)
    for index, (x0, y0, x1, y1) in enumerate(grid.blocks):
        inside = (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)
        on_edge = inside & ((px == x0) | (px == x1) | (py == y0) | (py == y1))
        x, y = px[on_edge], py[on_edge]
        w, hgt = x1 - x0, y1 - y0
        # Position along the counter-clockwise perimeter from (x0, y0).
        t = np.select(
            [y == y0, x == x1, y == y1],
            [x - x0, w + (y - y0), w + hgt + (x1 - x)],
            2 * w + hgt + (y1 - y),
        )
        order = np.unique(t, return_index=True)[1]
        polygons[index] = shapely.Polygon(np.column_stack((x[order], y[order])))
    return polygons


# --------------------------------------------------------------------------
# Compounds and buildings
# --------------------------------------------------------------------------


def _guillotine(rng: np.random.Generator, plot: _Rect, pieces: int) -> list[_Rect]:
    """Cut a rectangle into up to `pieces` by repeatedly splitting the largest piece."""
    out = [plot]
    while len(out) < pieces:
        areas = [(r[2] - r[0]) * (r[3] - r[1]) for r in out]
        x0, y0, x1, y1 = out.pop(int(np.argmax(areas)))
        along_x = x1 - x0 >= y1 - y0
        length = (x1 - x0) if along_x else (y1 - y0)
        fraction = rng.uniform(0.35, 0.65)
        if length * min(fraction, 1 - fraction) < _MIN_COMPOUND_SIDE:
            out.append((x0, y0, x1, y1))
            break
        if along_x:
            cut = round(x0 + fraction * length)
            out += [(x0, y0, cut, y1), (cut, y0, x1, y1)]
        else:
            cut = round(y0 + fraction * length)
            out += [(x0, y0, x1, cut), (x0, cut, x1, y1)]
    return out


def _with_small_compound(rng: np.random.Generator, plot: _Rect) -> list[tuple[_Rect, str]]:
    """Carve a roadside strip holding a tiny compound off a plot's south side."""
    x0, y0, x1, y1 = plot
    depth = round(rng.uniform(35, 50))
    length = round(rng.uniform(35, 55))
    if rng.random() < 0.5:  # small compound at the west or east end of the strip
        small, strip = (x0, y0, x0 + length, y0 + depth), (x0 + length, y0, x1, y0 + depth)
    else:
        small, strip = (x1 - length, y0, x1, y0 + depth), (x0, y0, x1 - length, y0 + depth)
    strip_type = rng.choice(_STRIP_TYPES[0], p=_STRIP_TYPES[1])
    rest = _guillotine(rng, (x0, y0 + depth, x1, y1), int(rng.integers(1, 3)))
    return [(small, "small"), (strip, str(strip_type)), *((r, "") for r in rest)]


def _compound_plan(
    rng: np.random.Generator, grid: _Grid
) -> tuple[_FloatArray, _IntArray, _IntArray]:
    """Compound rectangles, their block and their programme (type code)."""
    plots = grid.plots()
    n_blocks = len(plots)
    non_residential = np.zeros(n_blocks, dtype=bool)
    n_open = round(_NON_RESIDENTIAL_BLOCK_SHARE * n_blocks)
    non_residential[rng.choice(n_blocks, n_open, replace=False)] = True
    sides = np.minimum(plots[:, 2] - plots[:, 0], plots[:, 3] - plots[:, 1])
    hosts = np.flatnonzero(~non_residential & (plots[:, 3] - plots[:, 1] >= 120) & (sides >= 100))
    n_small = min(len(hosts), max(1, int(rng.binomial(len(hosts), _SMALL_COMPOUND_SHARE))))
    small_hosts = set(rng.choice(hosts, n_small, replace=False).tolist()) if n_small else set()

    rects: list[tuple[float, float, float, float]] = []
    block: list[int] = []
    types: list[str] = []
    for b, plot in enumerate(plots):
        if non_residential[b]:
            names, weights = _NON_RESIDENTIAL_BLOCK_TYPES
            planned = [(tuple(plot), str(rng.choice(names, p=weights)))]
        elif b in small_hosts:
            planned = _with_small_compound(rng, plot)
        else:
            area = (plot[2] - plot[0]) * (plot[3] - plot[1])
            most = int(np.clip(area // _COMPOUND_AREA, 1, 4))
            planned = [(r, "") for r in _guillotine(rng, plot, int(rng.integers(1, most + 1)))]
        mix = _CHARACTER_MIX[grid.block_character[b]]
        has_home = any(t and _COMPOUND_TYPES[_TYPE_CODE[t]].residential for _, t in planned)
        for rect, programme in planned:
            if not programme:
                if has_home and rng.random() < _NON_RESIDENTIAL_COMPOUND_SHARE:
                    names, weights = _NON_RESIDENTIAL_COMPOUND_TYPES
                    programme = str(rng.choice(names, p=weights))
                else:
                    programme = str(rng.choice(_RESIDENTIAL_TYPES, p=mix))
                    has_home = True
            rects.append(rect)
            block.append(b)
            types.append(programme)
    return (
        np.asarray(rects, dtype=np.float64),
        np.asarray(block, dtype=np.int64),
        np.asarray([_TYPE_CODE[t] for t in types], dtype=np.int64),
    )


@dataclass(slots=True)
class _Row:
    """Buildings of one row of a compound (east-west)."""

    kind: int
    x0: _FloatArray
    x1: _FloatArray
    y0: float
    y1: float
    units: _IntArray
    per_unit: int


def _place_row(
    rng: np.random.Generator,
    kind: _Kind,
    ctype: _CompoundType,
    x0: float,
    x1: float,
    y0: float,
    depth: float,
    limit: int,
) -> _Row | None:
    """Fill ``[x0, x1]`` with buildings of one kind, evenly spread.

    Multi-unit buildings share one unit width per row and have at most as
    many units as fit; other kinds share one building width per row.
    """
    span = x1 - x0
    per_unit = int(rng.integers(kind.per_unit[0], kind.per_unit[1] + 1))
    unit_lo, unit_hi = kind.units
    if kind.units[1] > 1:
        unit_width = rng.uniform(*kind.width)
        unit_hi = min(unit_hi, int(span // unit_width))
    elif kind.width[0] <= span:
        unit_width = rng.uniform(kind.width[0], min(kind.width[1], span))
    else:
        return None
    if ctype.max_units:
        unit_hi = min(unit_hi, ctype.max_units)
    if kind.max_flats:
        unit_hi = min(unit_hi, kind.max_flats // per_unit)
    if unit_hi < unit_lo:
        return None
    n_max = int((span + kind.gap_x[0]) // (max(unit_lo, 1) * unit_width + kind.gap_x[0])) + 1
    units = rng.integers(unit_lo, unit_hi + 1, n_max)
    width = np.floor(np.maximum(units, 1) * unit_width * 10.0) / 10.0  # never wider than fits
    gaps = rng.uniform(*kind.gap_x, n_max)
    right = np.cumsum(width + gaps) - gaps
    n = int(np.searchsorted(right, span, side="right"))
    if limit:
        n = min(n, limit)
    if n == 0:
        return None
    spread = (span - right[n - 1]) / (n + 1) * np.arange(1, n + 1)
    right = x0 + right[:n] + spread
    return _Row(
        _KIND_CODE[kind.name], right - width[:n], right, y0, y0 + depth, units[:n], per_unit
    )


def _place_buildings(
    rng: np.random.Generator, rect: Sequence[float], ctype: _CompoundType
) -> list[_Row]:
    """Rows of buildings inside a compound, south to north, vertically centred."""
    if not ctype.row_kinds:
        return []
    setback = round(rng.uniform(*ctype.setback), 1)
    x0, y0, x1, y1 = rect[0] + setback, rect[1] + setback, rect[2] - setback, rect[3] - setback
    rows: list[_Row] = []
    y, placed = y0, 0
    while True:
        kind = _KINDS[_KIND_CODE[str(rng.choice(ctype.row_kinds, p=ctype.row_weights))]]
        depth = round(rng.uniform(*kind.depth), 1)
        if y + depth > y1:
            break
        limit = ctype.max_buildings - placed if ctype.max_buildings else 0
        row = _place_row(rng, kind, ctype, x0, x1, y, depth, limit)
        if row is not None:
            rows.append(row)
            placed += len(row.units)
        if ctype.max_buildings and placed >= ctype.max_buildings:
            break
        y += depth + rng.uniform(*kind.gap_y)
    if ctype.residential and not rows and y1 - y0 >= _KINDS[_LOWRISE].depth[0]:
        # Too small for its programme: fall back to a single low-rise row.
        lowrise = _KINDS[_LOWRISE]
        row = _place_row(rng, lowrise, ctype, x0, x1, y0, min(lowrise.depth[1], y1 - y0), 1)
        rows += [row] if row is not None else []
    if rows:
        shift = (y1 - rows[-1].y1) / 2.0
        for row in rows:
            row.y0, row.y1 = row.y0 + shift, row.y1 + shift
    return rows


def _concat(parts: Sequence[npt.NDArray[np.generic]]) -> npt.NDArray[np.generic]:
    """:func:`numpy.concatenate` that accepts an empty sequence."""
    return np.concatenate(parts) if parts else np.empty(0)


def _lay_out(rng: np.random.Generator, grid: _Grid) -> _Layout:
    """Compounds, building footprints and their natural household counts."""
    compounds, compound_block, compound_type = _compound_plan(rng, grid)
    rows_of = [
        _place_buildings(rng, rect, _COMPOUND_TYPES[t])
        for rect, t in zip(compounds, compound_type, strict=True)
    ]
    rows = [row for rows in rows_of for row in rows]
    sizes = np.array([len(row.units) for row in rows], dtype=np.int64)
    building_compound = np.repeat(
        np.repeat(np.arange(len(compounds)), [len(r) for r in rows_of]), sizes
    )
    bounds = np.column_stack(
        (
            _concat([row.x0 for row in rows]),
            np.repeat([row.y0 for row in rows], sizes),
            _concat([row.x1 for row in rows]),
            np.repeat([row.y1 for row in rows], sizes),
        )
    )
    kind = np.repeat([row.kind for row in rows], sizes).astype(np.int64)
    units = _concat([row.units for row in rows]).astype(np.int64)
    per_unit = np.repeat([row.per_unit for row in rows], sizes).astype(np.int64)

    # Floors: one height level per compound, jittered per building.
    lo, hi = _floor_range(kind)
    level = rng.random(len(compounds))[building_compound]
    jitter = rng.integers(-1, 2, len(kind)) * np.maximum(1, (hi - lo) // 6)
    floors = np.clip(lo + np.round(level * (hi - lo)).astype(np.int64) + jitter, lo, hi)

    lowrise_max = np.array([t.lowrise_max_households for t in _COMPOUND_TYPES])[
        compound_type[building_compound]
    ]
    area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    lowrise_households = np.round(area * floors / rng.uniform(*_LOWRISE_FLOOR_AREA, len(kind)))
    households = np.where(
        np.isin(kind, (_TOWER, _SLAB, _WALKUP)),
        floors * units * per_unit,
        np.where(
            kind == _LOWRISE,
            np.clip(lowrise_households, _LOWRISE_HOUSEHOLDS[0], lowrise_max),
            0,
        ),
    ).astype(np.int64)
    return _Layout(
        grid=grid,
        compounds=compounds,
        compound_block=compound_block,
        compound_type=compound_type,
        buildings=bounds,
        building_compound=building_compound,
        kind=kind,
        units=units,
        per_unit=per_unit,
        floors=floors,
        households=households,
        lowrise_max=lowrise_max.astype(np.int64),
    )


# --------------------------------------------------------------------------
# Exact household total
# --------------------------------------------------------------------------


def _water_fill(capacity: _IntArray, need: int) -> _IntArray:
    """Take `need` from `capacity` in order, each item up to its capacity."""
    before = np.cumsum(capacity) - capacity
    return np.clip(need - before, 0, capacity)


def _match_households(rng: np.random.Generator, layout: _Layout, target: int) -> int:
    """Change floors and households in place so that they total `target`.

    Whole floors are added or removed first (one per building and pass, in a
    random order), then low-rise households are adjusted, and a residual of
    fewer households than one floor is absorbed by ground-floor flats of
    towers and slabs given over to lobbies or shops.  Returns the households
    still missing (negative: in excess), normally 0.
    """
    kind, floors, households = layout.kind, layout.floors, layout.households
    stepped = layout.stepped
    step = np.where(stepped, layout.units * layout.per_unit, 0)
    lo, hi = _floor_range(kind)
    order = rng.permutation(len(kind))
    deficit = target - int(households.sum())

    while deficit:
        sign = 1 if deficit > 0 else -1
        room = (floors < hi) if sign > 0 else (floors > lo)
        candidates = order[(stepped & room)[order]]
        chosen = candidates[np.cumsum(step[candidates]) <= abs(deficit)]
        if chosen.size == 0:
            break
        floors[chosen] += sign
        households[chosen] += sign * step[chosen]
        deficit -= sign * int(step[chosen].sum())

    lowrise = order[(kind == _LOWRISE)[order]]
    if deficit > 0:
        added = _water_fill(layout.lowrise_max[lowrise] - households[lowrise], deficit)
        households[lowrise] += added
        deficit -= int(added.sum())
    while deficit > 0:  # overshoot by one floor, then give flats back below
        candidates = order[(stepped & (floors < hi))[order]]
        if candidates.size == 0:
            break
        fits = candidates[step[candidates] >= deficit]
        pick = fits[np.argmin(step[fits])] if fits.size else candidates[np.argmax(step[candidates])]
        floors[pick] += 1
        households[pick] += step[pick]
        deficit -= int(step[pick])
    if deficit < 0:
        elevator = order[np.isin(kind, (_TOWER, _SLAB))[order]]
        donors = np.concatenate((lowrise, elevator))
        spare = np.concatenate(
            (
                households[lowrise] - _LOWRISE_HOUSEHOLDS[0],
                np.where(floors[elevator] > lo[elevator], step[elevator] - 1, 0),
            )
        )
        taken = _water_fill(spare, -deficit)
        households[donors] -= taken
        deficit += int(taken.sum())
    return deficit


# --------------------------------------------------------------------------
# Communities and streets
# --------------------------------------------------------------------------


def _community_targets(rng: np.random.Generator, n: int) -> _FloatArray:
    """Relative community sizes: mostly normal, some oversized, some small."""
    size = rng.choice(3, n, p=(0.08, 0.80, 0.12))  # small, normal, oversized
    if n >= 4:
        size[:2] = (2, 0)
    ranges = np.array([(0.35, 0.55), (0.75, 1.05), (1.3, 1.6)])[size]
    weights = rng.uniform(ranges[:, 0], ranges[:, 1])
    return rng.permutation(weights)


def _bisect(
    members: _IntArray,
    targets: _FloatArray,
    needs: _IntArray,
    blocks: _FloatArray,
    weight: _FloatArray,
    residential: _BoolArray,
) -> list[_IntArray]:
    """Recursive coordinate bisection of blocks into ``len(targets)`` parts.

    Each cut runs across the longer side of the current group of blocks, at
    the household share of the targets on either side, such that part ``k``
    keeps at least ``needs[k]`` residential blocks.
    """
    if len(targets) == 1:
        return [members]
    half = len(targets) // 2
    box = blocks[members]
    axis = 0 if np.ptp(box[:, [0, 2]]) >= np.ptp(box[:, [1, 3]]) else 1
    centre = (box[:, :2] + box[:, 2:]) / 2.0
    ordered = members[np.lexsort((centre[:, 1 - axis], centre[:, axis]))]
    cum_weight = np.cumsum(weight[ordered])
    cum_homes = np.cumsum(residential[ordered])
    left_homes = cum_homes[:-1]  # left part = ordered[: k + 1]
    valid = (left_homes >= needs[:half].sum()) & (cum_homes[-1] - left_homes >= needs[half:].sum())
    if not valid.any():
        raise ValueError(
            f"cannot give {int(needs.sum())} communities a residential block each; "
            "lower n_communities or raise households"
        )
    desired = cum_weight[-1] * targets[:half].sum() / targets.sum()
    cuts = np.flatnonzero(valid)
    cut = cuts[np.argmin(np.abs(cum_weight[cuts] - desired))] + 1
    left = _bisect(ordered[:cut], targets[:half], needs[:half], blocks, weight, residential)
    right = _bisect(ordered[cut:], targets[half:], needs[half:], blocks, weight, residential)
    return left + right


def _neighbours(blocks: _FloatArray) -> list[list[tuple[int, float]]]:
    """Blocks sharing an edge of positive length with each block, and its length."""
    boxes = shapely.box(*blocks.T)
    i, j = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    overlap_x = np.minimum(blocks[i, 2], blocks[j, 2]) - np.maximum(blocks[i, 0], blocks[j, 0])
    overlap_y = np.minimum(blocks[i, 3], blocks[j, 3]) - np.maximum(blocks[i, 1], blocks[j, 1])
    shared = np.where(overlap_y == 0, overlap_x, np.where(overlap_x == 0, overlap_y, 0.0))
    out: list[list[tuple[int, float]]] = [[] for _ in range(len(blocks))]
    for a, b, length in zip(i.tolist(), j.tolist(), shared.tolist(), strict=True):
        if a != b and length > 0:
            out[a].append((b, length))
    return out


def _pieces(nodes: Sequence[int], neighbours: Sequence[list[tuple[int, float]]]) -> list[list[int]]:
    """Split `nodes` into the connected pieces of the subgraph they induce."""
    remaining = set(nodes)
    pieces = []
    for start in nodes:
        if start not in remaining:
            continue
        remaining.discard(start)
        stack, piece = [start], []
        while stack:
            node = stack.pop()
            piece.append(node)
            for other, _ in neighbours[node]:
                if other in remaining:
                    remaining.discard(other)
                    stack.append(other)
        pieces.append(sorted(piece))
    return pieces


def _make_contiguous(
    label: _IntArray,
    members: _IntArray,
    neighbours: Sequence[list[tuple[int, float]]],
    weight: _FloatArray,
) -> None:
    """Give detached pieces of a label to the neighbour they share most edge with.

    Works in place on ``label[members]``; each label keeps its heaviest piece.
    """
    inside = set(members.tolist())
    changed = True
    while changed:
        changed = False
        for lab in np.unique(label[members]).tolist():
            pieces = _pieces(members[label[members] == lab].tolist(), neighbours)
            pieces.sort(key=lambda piece: (-weight[piece].sum(), piece[0]))
            for piece in pieces[1:]:
                border: dict[int, float] = {}
                for node in piece:
                    for other, length in neighbours[node]:
                        if other in inside and label[other] != lab:
                            border[int(label[other])] = border.get(int(label[other]), 0.0) + length
                if border:
                    label[piece] = max(sorted(border), key=border.__getitem__)
                    changed = True


def _refine(
    label: _IntArray,
    members: _IntArray,
    neighbours: Sequence[list[tuple[int, float]]],
    weight: _FloatArray,
    residential: _BoolArray,
    target: _FloatArray,
) -> None:
    """Move boundary blocks between labels to bring their totals to `target`.

    Greedy: each step applies the move that most reduces the summed squared
    deviation from the targets while keeping every label contiguous and with
    a residential block.  Works in place on ``label[members]``.
    """
    inside = set(members.tolist())
    size = np.bincount(label[members], weight[members], minlength=len(target))
    homes = np.bincount(label[members], residential[members], minlength=len(target))
    deviation = size - target
    for _ in range(len(members)):
        moves = []
        for a in members[weight[members] > 0].tolist():
            src, w = int(label[a]), float(weight[a])
            for dst in {int(label[b]) for b, _ in neighbours[a] if b in inside} - {src}:
                gain = 2 * w * (deviation[src] - deviation[dst] - w)  # drop in squared deviation
                if gain > 0:
                    moves.append((-gain, a, dst))
        for _, a, dst in sorted(moves):
            src = int(label[a])
            if residential[a] and homes[src] == 1:
                continue
            rest = [m for m in members[label[members] == src].tolist() if m != a]
            if len(_pieces(rest, neighbours)) != 1:
                continue
            label[a] = dst
            deviation[src] -= weight[a]
            deviation[dst] += weight[a]
            homes[src] -= residential[a]
            homes[dst] += residential[a]
            break
        else:
            return


def _partition(
    rng: np.random.Generator,
    blocks: _FloatArray,
    block_households: _IntArray,
    residential: _BoolArray,
    n_communities: int,
) -> tuple[_IntArray, _IntArray]:
    """Street (街道) and community (社区) index of every block.

    Streets come from a recursive bisection of all blocks; each street is
    then bisected into its communities, whose sizes are refined towards
    their targets.  Communities are numbered consecutively street by street.
    """
    weight = block_households.astype(np.float64)
    shares = _community_targets(rng, n_communities)
    n_streets = math.ceil(n_communities / _COMMUNITIES_PER_STREET)
    per_street = np.array_split(np.arange(n_communities), n_streets)
    neighbours = _neighbours(blocks)
    everything = np.arange(len(blocks))

    street = np.empty(len(blocks), dtype=np.int64)
    street_shares = np.array([shares[ids].sum() for ids in per_street])
    street_needs = np.array([len(ids) for ids in per_street])
    parts = _bisect(everything, street_shares, street_needs, blocks, weight, residential)
    for s, part in enumerate(parts):
        street[part] = s
    _make_contiguous(street, everything, neighbours, weight)

    community = np.empty(len(blocks), dtype=np.int64)
    for s, ids in enumerate(per_street):
        members = np.flatnonzero(street == s)
        needs = np.ones(len(ids), dtype=np.int64)
        parts = _bisect(members, shares[ids], needs, blocks, weight, residential)
        for c, part in zip(ids, parts, strict=True):
            community[part] = c
        _make_contiguous(community, members, neighbours, weight)
        target = np.zeros(n_communities)
        target[ids] = shares[ids] / shares[ids].sum() * weight[members].sum()
        _refine(community, members, neighbours, weight, residential, target)
    return street, community


# --------------------------------------------------------------------------
# Names and output frames
# --------------------------------------------------------------------------


def _numeral(cycle: int) -> str:
    """Infix telling apart the `cycle`-th repeat of a name ("", "二", "三", …)."""
    return _NUMERALS[cycle] if cycle < len(_NUMERALS) else str(cycle + 1)


def _names(
    rng: np.random.Generator, n: int, stems: Sequence[str], suffixes: Sequence[str]
) -> list[str]:
    """Draw `n` distinct ``stem + suffix`` names; repeats get a numeral infix."""
    combos = len(stems) * len(suffixes)
    picks = rng.permutation(combos)
    out = []
    for i in range(n):
        cycle, r = divmod(i, combos)
        s, f = divmod(int(picks[r]), len(suffixes))
        out.append(stems[s] + _numeral(cycle) + suffixes[f])
    return out


def _road_names(rng: np.random.Generator, line_class: _IntArray) -> list[str]:
    """Draw one distinct name per centre line, with a suffix fitting its class."""
    stems = rng.permutation(len(_STEMS))
    names = []
    for i, cls in enumerate(line_class.tolist()):
        cycle, r = divmod(i, len(_STEMS))
        suffixes = _ROAD_SUFFIXES[min(cls, len(_ROAD_SUFFIXES) - 1)]
        suffix = suffixes[int(rng.integers(len(suffixes)))]
        names.append(_STEMS[stems[r]] + _numeral(cycle) + suffix)
    return names


def _compound_names(rng: np.random.Generator, layout: _Layout) -> list[str]:
    """Draw compound names; residential compounds of one block share a stem."""
    groups = [
        "residential" if t.residential and t.name != "small" else t.name
        for t in (_COMPOUND_TYPES[code] for code in layout.compound_type)
    ]
    pools = {
        group: iter(
            _names(
                rng,
                groups.count(group),
                _WORK_UNITS if group == "small" else _STEMS,
                _COMPOUND_SUFFIXES[group],
            )
        )
        for group in dict.fromkeys(groups)
    }
    home_count = np.bincount(
        layout.compound_block[[g == "residential" for g in groups]],
        minlength=len(layout.grid.blocks),
    )
    names: list[str] = []
    per_block: dict[int, tuple[str, int]] = {}
    for block, group in zip(layout.compound_block.tolist(), groups, strict=True):
        if group != "residential" or home_count[block] == 1:
            names.append(next(pools[group]))
            continue
        stem, k = per_block.get(block) or (next(pools[group]), 0)
        per_block[block] = (stem, k + 1)
        names.append(f"{stem}{_numeral(k) or '一'}区")
    return names


def _ids(prefix: str, n: int, width: int) -> list[str]:
    """Return ``prefix`` + 1-based zero-padded serial numbers."""
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def _projected_origin(origin: tuple[float, float]) -> tuple[float, float]:
    """Return the EPSG:4548 easting and northing of a (lon, lat) in EPSG:4490."""
    transformer = Transformer.from_crs(GEOGRAPHIC_CRS, METRIC_CRS, always_xy=True)
    easting, northing = transformer.transform(*origin)
    return float(easting), float(northing)


@dataclass(frozen=True, slots=True)
class _Output:
    """What every layer builder needs: the layout, its partition and placement."""

    layout: _Layout
    community_of_block: _IntArray
    community_ids: npt.NDArray[np.str_]
    offset: tuple[float, float]

    def frame(self, columns: Mapping[str, object], geometry: object) -> gpd.GeoDataFrame:
        """Build a layer from local metric geometry, returned in EPSG:4490."""
        shift = np.asarray(self.offset)
        shifted = shapely.transform(np.asarray(geometry, dtype=object), lambda xy: xy + shift)
        frame = gpd.GeoDataFrame(dict(columns), geometry=gpd.GeoSeries(shifted, crs=METRIC_CRS))
        return frame.to_crs(GEOGRAPHIC_CRS)


def _assemble(
    rng: np.random.Generator,
    layout: _Layout,
    street_of_block: _IntArray,
    community_of_block: _IntArray,
    n_communities: int,
    district_code: str,
    offset: tuple[float, float],
) -> dict[str, gpd.GeoDataFrame]:
    """Build all layers, keyed as :data:`LAYER_NAMES`."""
    # Communities are numbered street by street, so the first block of each
    # community tells its street and its rank within the street.
    first_block = np.array(
        [np.flatnonzero(community_of_block == c)[0] for c in range(n_communities)]
    )
    community_street = street_of_block[first_block]
    rank = np.arange(n_communities) - np.searchsorted(community_street, community_street)
    community_ids = np.array(
        [
            f"{district_code}{s + 1:03d}{r + 1:03d}"
            for s, r in zip(community_street.tolist(), rank.tolist(), strict=True)
        ]
    )
    out = _Output(layout, community_of_block, community_ids, offset)
    buildings = _buildings_frame(rng, out)
    compounds, barriers = _compound_frames(rng, out)
    roads, waterways = _network_frames(rng, out)
    communities, service_centres = _community_frames(
        rng, out, buildings, community_street, district_code
    )
    return {
        "buildings": buildings,
        "communities": communities,
        "compounds": compounds,
        "roads": roads,
        "waterways": waterways,
        "barriers": barriers,
        "service_centres": service_centres,
    }


def _buildings_frame(rng: np.random.Generator, out: _Output) -> gpd.GeoDataFrame:
    """Build the buildings layer: footprints with their household roster."""
    layout = out.layout
    n = len(layout.kind)
    kinds = np.array([k.name for k in _KINDS])[layout.kind]
    households = layout.households
    residents = households * rng.uniform(*_RESIDENTS_PER_HOUSEHOLD, n)
    block = layout.compound_block[layout.building_compound]
    number = np.arange(n) - np.searchsorted(layout.building_compound, layout.building_compound)
    return out.frame(
        {
            "building_id": _ids("B", n, 6),
            "kind": kinds,
            "floors": layout.floors,
            "units": layout.units,
            "households": households,
            "residents": np.round(residents).astype(np.int64),
            "special_service_households": rng.binomial(households, _SPECIAL_SERVICE_SHARE),
            "is_residential": np.array([k.residential for k in _KINDS])[layout.kind],
            "compound_id": np.array(_ids("C", len(layout.compounds), 4))[layout.building_compound],
            "community_id": out.community_ids[out.community_of_block[block]],
            "name": [
                f"{k + 1}{_BUILDING_SUFFIXES.get(kind, '号楼')}"
                for k, kind in zip(number.tolist(), kinds.tolist(), strict=True)
            ],
            "households_source": np.full(n, "roster"),
        },
        shapely.box(*layout.buildings.T),
    )


def _compound_frames(
    rng: np.random.Generator, out: _Output
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Build the compounds layer and one closed wall line per walled compound."""
    layout = out.layout
    n = len(layout.compounds)
    compound_ids = np.array(_ids("C", n, 4))
    walled_probability = np.array([t.walled_probability for t in _COMPOUND_TYPES])
    walled = rng.random(n) < walled_probability[layout.compound_type]
    boxes = shapely.box(*layout.compounds.T)
    compounds = out.frame(
        {
            "compound_id": compound_ids,
            "name": _compound_names(rng, layout),
            "kind": np.array([t.name for t in _COMPOUND_TYPES])[layout.compound_type],
            "walled": walled,
            "households": np.bincount(layout.building_compound, layout.households, n).astype(
                np.int64
            ),
            "block_id": layout.compound_block + 1,
            "community_id": out.community_ids[out.community_of_block[layout.compound_block]],
        },
        boxes,
    )
    n_walls = int(walled.sum())
    barriers = out.frame(
        {
            "barrier_id": _ids("BR", n_walls, 4),
            "kind": np.full(n_walls, "wall"),
            "compound_id": compound_ids[walled],
        },
        [shapely.LineString(ring.coords) for ring in shapely.get_exterior_ring(boxes[walled])],
    )
    return compounds, barriers


def _network_frames(
    rng: np.random.Generator, out: _Output
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Build the road segments and the river centre line, if there is one."""
    grid = out.layout.grid
    line_names = _road_names(rng, grid.line_class)
    segments, segment_line = _road_segments(grid)
    roads = out.frame(
        {
            "road_id": _ids("R", len(segments), 4),
            "name": [line_names[i] for i in segment_line.tolist()],
            "road_class": np.array(_ROAD_CLASSES)[grid.line_class[segment_line]],
            "width_m": grid.line_width[segment_line],
        },
        segments,
    )
    river = np.flatnonzero(grid.line_class == _RIVER)
    ends = np.column_stack((grid.lo[river], grid.hi[river]))
    fixed = np.repeat(grid.coord[river, None], 2, axis=1)
    xy = np.where(
        grid.vertical[river, None, None], np.dstack((fixed, ends)), np.dstack((ends, fixed))
    )
    waterways = out.frame(
        {
            "waterway_id": _ids("WW", len(river), 2),
            "name": [str(rng.choice(_RIVER_NAMES)) for _ in river],
            "kind": np.full(len(river), "river"),
            "width_m": grid.line_width[river],
        },
        [shapely.LineString(line) for line in xy],
    )
    return roads, waterways


def _community_frames(
    rng: np.random.Generator,
    out: _Output,
    buildings: gpd.GeoDataFrame,
    community_street: _IntArray,
    district_code: str,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Build the community polygons (unions of blocks) and service centres."""
    grid = out.layout.grid
    n = len(out.community_ids)
    label = out.community_of_block
    street_names = [
        stem + "街道" for stem in _names(rng, int(community_street.max()) + 1, _STEMS, ("",))
    ]
    names = [name + "社区" for name in _names(rng, n, _STEMS, _COMMUNITY_SUFFIXES)]
    block_polygons = _block_polygons(grid)
    polygons = [shapely.coverage_union_all(block_polygons[label == c]) for c in range(n)]
    layout = out.layout
    member = label[layout.compound_block[layout.building_compound]]
    households = np.bincount(member, buildings["households"].to_numpy(), n).astype(np.int64)
    residents = np.bincount(member, buildings["residents"].to_numpy(), n).astype(np.int64)
    staff = np.maximum(1, np.round(households / rng.uniform(*_HOUSEHOLDS_PER_STAFF, n)))
    communities = out.frame(
        {
            "community_id": out.community_ids,
            "name": names,
            "street": [street_names[s] for s in community_street.tolist()],
            "street_code": [f"{s + 1:03d}" for s in community_street.tolist()],
            "district_code": np.full(n, district_code),
            "households": households,
            "residents": residents,
            "staff": staff.astype(np.int64),
        },
        polygons,
    )

    # Service centre: the centre of the community's block nearest its centroid.
    block_centre = (grid.blocks[:, :2] + grid.blocks[:, 2:]) / 2.0
    centroids = shapely.get_coordinates(shapely.centroid(polygons))
    distance = np.hypot(*(block_centre[None, :, :] - centroids[:, None, :]).transpose(2, 0, 1))
    distance[label[None, :] != np.arange(n)[:, None]] = np.inf
    service_centres = out.frame(
        {
            "community_id": out.community_ids,
            "name": [name + "党群服务中心" for name in names],
            "floor_area_m2": rng.integers(35, 101, n) * 10,
        },
        shapely.points(block_centre[np.argmin(distance, axis=1)]),
    )
    return communities, service_centres


def make_fishnet(
    extent: gpd.GeoDataFrame,
    *,
    size_m: float = 300.0,
    angle_deg: float = 0.0,
    prefix: str = "CG",
    id_column: str = "单元编码",
) -> gpd.GeoDataFrame:
    """Square cells over a layer's extent: a stand-in for another grid system.

    Urban management (城管单元网格) and other systems often draw regular cells that follow
    no road; this makes such a layer to try :mod:`planning.overlap` on.

    Parameters
    ----------
    extent
        Any layer; the cells cover its bounds (plus one cell around), turned by
        ``angle_deg`` about its centre.
    size_m
        Side of a cell in metres.
    angle_deg
        Rotation, counter-clockwise.
    prefix, id_column
        The unit codes (``CG000``, ``CG001``…) and their column.

    Returns
    -------
    geopandas.GeoDataFrame
        In the CRS of ``extent``.

    Examples
    --------
    >>> from shapely import box
    >>> area = gpd.GeoDataFrame(geometry=[box(0, 0, 500, 500)], crs=METRIC_CRS)
    >>> len(make_fishnet(area, size_m=250))
    16
    """
    from gis.crs import to_metric

    metric = to_metric(extent)
    x0, y0, x1, y1 = metric.total_bounds
    xs = np.arange(x0 - size_m, x1 + size_m, size_m)
    ys = np.arange(y0 - size_m, y1 + size_m, size_m)
    cells = [shapely.box(x, y, x + size_m, y + size_m) for x in xs for y in ys]
    out = gpd.GeoDataFrame(
        {id_column: [f"{prefix}{i:03d}" for i in range(len(cells))]},
        geometry=cells,
        crs=metric.crs,
    )
    if angle_deg:
        out["geometry"] = out.geometry.rotate(angle_deg, origin=((x0 + x1) / 2, (y0 + y1) / 2))
    return out.to_crs(extent.crs)
