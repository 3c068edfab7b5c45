"""Field aliases: a planner's own column names (Chinese or English) → gridplan's contract.

The contract is in SCHEMA.md. Matching ignores case, spaces, underscores, hyphens and
full-width punctuation, so ``户 数``, ``HOUSEHOLDS`` and ``house_holds`` all map to
``households``. The mapping chosen is returned so it can be shown to the planner and
overridden by hand.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"楼栋编号": ["1"], "户数": [48], "层数": [6], "备注": ["x"]})
>>> mapped, mapping = map_fields(df, layer="buildings")
>>> mapping
{'楼栋编号': 'building_id', '户数': 'households', '层数': 'floors'}
>>> list(mapped.columns)
['building_id', 'households', 'floors', '备注']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import numpy as np
import pandas as pd

from gis.errors import FieldError
from gis.i18n import N_

__all__ = [
    "ALIASES",
    "LAYER_ALIASES",
    "NUMERIC_FIELDS",
    "canonical_layer",
    "map_fields",
    "numeric_column",
]

# canonical field -> aliases (English and Chinese), per layer.
_COMMON: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "名字", "mc"),
    "community_id": (
        "community_id",
        "community_code",
        "社区编码",
        "社区代码",
        "社区编号",
        "sqbm",
        "sqdm",
    ),
    "compound_id": ("compound_id", "小区编码", "小区编号", "小区代码", "xqbm"),
}

_LAND_USE: tuple[str, ...] = (
    "land_use",
    "landuse",
    "用地性质",
    "用地类型",
    "用地分类",
    "用地代码",
    "用途",
    "土地用途",
)
"""A land-use field (a campus, hospital, enterprise, park: see :mod:`planning.landuse`)."""

ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "buildings": {
        "building_id": (
            "building_id",
            "bldg_id",
            "楼栋编号",
            "楼栋编码",
            "楼栋代码",
            "建筑编号",
            "ldbh",
            "osm_id",
        ),
        "households": (
            "households",
            "hh",
            "households_n",
            "户数",
            "住户数",
            "总户数",
            "居民户数",
            "hs",
        ),
        "residents": (
            "residents",
            "population",
            "pop",
            "人口",
            "常住人口",
            "人数",
            "居住人口",
            "rk",
        ),
        "floors": (
            "floors",
            "levels",
            "building:levels",
            "storeys",
            "层数",
            "楼层",
            "楼层数",
            "地上层数",
            "cs",
        ),
        "height": ("height", "高度", "建筑高度"),
        "units": ("units", "单元数", "单元", "dys"),
        "name": ("name", "楼栋名称", "楼号", "楼栋号", "建筑名称", "名称"),
        "address": ("address", "addr", "地址", "门牌", "门牌地址"),
        "compound_id": _COMMON["compound_id"],
        "compound_name": ("compound_name", "小区名称", "小区", "所属小区"),
        "community_id": _COMMON["community_id"],
        "community_name": ("community_name", "社区名称", "所属社区"),
        "special_service_households": (
            "special_service_households",
            "special_service",
            "民政对象",
            "民政对象户数",
            "重点服务对象",
            "特殊群体户数",
        ),
        "is_residential": ("is_residential", "residential", "住宅", "是否住宅", "是否为住宅"),
        "use": (
            "use",
            "building_use",
            "用途",
            "建筑用途",
            "房屋用途",
            "规划用途",
            "使用性质",
            "性质",
            "建筑性质",
            "房屋性质",
            "building",
            "kind_detail",
            "building_type",
            "建筑类型",
            "房屋类型",
        ),
    },
    "communities": {
        "community_id": _COMMON["community_id"],
        "name": ("name", "社区名称", "社区", "名称", "community_name"),
        "street": ("street", "街道", "街道名称", "所属街道", "乡镇街道"),
        "street_code": ("street_code", "街道编码", "街道代码"),
        "district_code": ("district_code", "区县编码", "行政区划代码", "区划代码", "adcode"),
        "staff": (
            "staff",
            "workers",
            "社区工作者",
            "社工人数",
            "工作人员数",
            "社区工作者人数",
            "在编人数",
        ),
        "residents": ("residents", "population", "人口", "常住人口", "居民人数"),
        "households": ("households", "户数", "总户数"),
    },
    "compounds": {
        "compound_id": _COMMON["compound_id"],
        "name": ("name", "小区名称", "小区", "名称"),
        "land_use": _LAND_USE,
    },
    "landuse": {
        "land_use": _LAND_USE,
        "name": ("name", "单位名称", "地块名称", "用地名称", "名称"),
    },
    "roads": {
        "name": ("name", "道路名称", "路名", "名称"),
        "road_class": ("road_class", "highway", "kind_detail", "道路等级", "等级", "class"),
        "width_m": ("width_m", "width", "道路宽度", "宽度", "路宽"),
    },
    "waterways": {"name": ("name", "河流名称", "水系名称", "名称")},
    "barriers": {"kind": ("kind", "barrier", "类型", "围墙类型")},
    "service_centres": {
        "community_id": _COMMON["community_id"],
        "name": ("name", "名称", "服务中心名称"),
        "floor_area_m2": ("floor_area_m2", "floor_area", "建筑面积", "面积", "用房面积"),
    },
    "deliveries": {
        "year": (
            "year",
            "delivery_year",
            "completion_year",
            "交付年份",
            "预计交付",
            "预计交付年份",
            "交付时间",
            "竣工年份",
            "年份",
        ),
        "households": ("households", "户数", "住宅户数", "套数", "住宅套数", "新增户数"),
        "residents": ("residents", "人口", "新增人口"),
        "community_id": _COMMON["community_id"],
        "name": ("name", "项目名称", "楼盘名称", "名称"),
    },
    "grids": {
        "grid_code": ("grid_code", "code", "网格编码", "网格代码", "网格编号", "编码"),
        "name": ("name", "grid_name", "网格名称", "名称"),
        "worker": ("worker", "网格员", "网格长", "负责人"),
        "phone": ("phone", "tel", "联系电话", "电话", "手机"),
        "community_id": _COMMON["community_id"],
    },
    "roster": {
        "address": ("address", "地址", "门牌地址", "住址"),
        "building_id": ("building_id", "楼栋编号", "楼栋编码", "楼号"),
        "unit": ("unit", "单元", "单元号"),
        "floor": ("floor", "楼层", "层"),
        "room": ("room", "房号", "室", "门牌号"),
        "residents": ("residents", "人口", "人数", "家庭人口", "常住人口"),
        "households": ("households", "户数"),
        "special_service": ("special_service", "民政对象", "是否民政对象", "重点人群"),
    },
}

NUMERIC_FIELDS: dict[str, tuple[str, ...]] = {
    "buildings": (
        "households",
        "residents",
        "floors",
        "height",
        "units",
        "special_service_households",
    ),
    "communities": ("staff", "residents", "households"),
    "roads": ("width_m",),
    "service_centres": ("floor_area_m2",),
    "roster": ("residents", "households", "floor"),
    "deliveries": ("year", "households", "residents"),
}
"""Columns that must hold numbers ≥ 0 after aliasing."""

LAYER_ALIASES: dict[str, tuple[str, ...]] = {
    "buildings": ("buildings", "building", "楼栋", "建筑", "建筑物", "房屋", "楼宇", "bldg", "jzw"),
    "communities": ("communities", "community", "社区", "社区边界", "社区范围", "居委会"),
    "compounds": ("compounds", "compound", "小区", "小区边界", "residential_areas", "住宅小区"),
    "landuse": (
        "landuse",
        "land_use",
        "landuse_areas",
        "other_areas",
        "用地",
        "用地性质",
        "土地利用",
        "用地现状",
        "地块",
    ),
    "roads": ("roads", "road", "道路", "路网", "streets"),
    "waterways": ("waterways", "waterway", "rivers", "river", "河流", "水系", "water_areas"),
    "barriers": ("barriers", "barrier", "walls", "wall", "围墙", "landuse_lines"),
    "service_centres": (
        "service_centres",
        "service_centers",
        "党群服务中心",
        "服务中心",
        "社区服务中心",
    ),
    "roster": ("roster", "花名册", "住户", "households"),
    "grids": ("grids", "grid", "网格", "网格边界", "网格范围"),
}


_UNIT_SUFFIX = re.compile(r"[(\[【]\s*[^()\[\]【】]{1,8}\s*[)\]】]\s*$")
"""A unit in brackets after a column name: ``户数(户)``, ``层数（层）``, ``面积[m²]``."""


def _key(name: str) -> str:
    name = unicodedata.normalize("NFKC", str(name)).strip().lower()
    name = _UNIT_SUFFIX.sub("", name) or name
    return re.sub(r"[\s_\-:：()（）]+", "", name)


def _has_values(column: pd.Series) -> bool:
    """Whether a column holds anything (an all-blank ``households`` must not hide ``户数``)."""
    values = column.dropna()
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        values = values[values.astype(str).str.strip() != ""]
    return not values.empty


_PLACE_ENDINGS = ("省", "市", "区", "县", "旗", "镇", "乡", "街道", "村", "社区")
"""A layer named ``海淀区楼栋`` is the buildings of a place: the alias follows a place name."""
_NAME_SEPARATORS = re.compile(r"[\s_\-.·,，、()（）\[\]【】]+")


def canonical_layer(name: str) -> str | None:
    """Return the contract layer a file or layer name stands for, or ``None``.

    A name matches an alias as a whole (case, spaces and punctuation aside), as one of its
    words (``海淀区_楼栋``, ``2024_社区边界``), or as the end of a place name followed by the
    alias (``海淀区楼栋``, ``学院路街道社区``). A name that merely contains an alias is another
    thing: ``社区卫生服务中心`` (a clinic) is not the communities, ``小区出入口`` (gates) not
    the compounds.

    Examples
    --------
    >>> canonical_layer("楼栋"), canonical_layer("Residential_Areas"), canonical_layer("x")
    ('buildings', 'compounds', None)
    >>> canonical_layer("海淀区_楼栋"), canonical_layer("海淀区楼栋"), canonical_layer("社区卫生服务中心")
    ('buildings', 'buildings', None)
    >>> canonical_layer("小区出入口"), canonical_layer("学院路街道社区")
    (None, 'communities')
    """
    key = _key(name)
    keys = {layer: {_key(a) for a in aliases} for layer, aliases in LAYER_ALIASES.items()}
    for layer, known in keys.items():
        if key in known:
            return layer
    words = [_key(w) for w in _NAME_SEPARATORS.split(unicodedata.normalize("NFKC", str(name)))]
    words = [w.strip("0123456789") for w in words if w.strip("0123456789")]
    for word in reversed(words):  # "海淀区_楼栋_2024": the last word that is a layer
        for layer, known in keys.items():
            if word in known:
                return layer
    for word in reversed(words):
        for layer, known in keys.items():
            for alias in sorted(known, key=len, reverse=True):
                if alias.isascii() or len(alias) < 2 or not word.endswith(alias):
                    continue
                place = word[: -len(alias)]
                if place.endswith(_PLACE_ENDINGS):
                    return layer
    return None


def map_fields(
    df: pd.DataFrame,
    *,
    layer: str,
    overrides: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename a layer's columns to the contract and report the mapping.

    Parameters
    ----------
    df
        The layer as read.
    layer
        The contract layer (``buildings``, ``communities``, …).
    overrides
        ``{original column: contract field}`` chosen by the planner; these win over the
        aliases. Map a column to ``""`` to ignore it. Column names match as aliases do
        (case, spaces and punctuation aside).

    Returns
    -------
    (DataFrame, dict)
        The renamed frame (other columns kept as they came) and ``{original: canonical}``
        for every renamed column.

    Raises
    ------
    FieldError
        If ``overrides`` names a column the layer does not have.
    """
    aliases = ALIASES.get(layer, {})
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    overrides = dict(overrides or {})
    by_key = {_key(c): c for c in df.columns if c != "geometry"}
    ignored: set[str] = set()
    for original, target in overrides.items():
        column = original if original in df.columns else by_key.get(_key(original))
        if column is None:
            msg = N_(
                "The field mapping names a column {column!r} that the {layer} layer does not have "
                "(its columns: {columns}). Choose one of its columns."
            )
            columns = ", ".join(str(c) for c in df.columns if c != "geometry") or "none"
            raise FieldError(msg, column=original, layer=layer, columns=columns)
        if target:
            mapping[column] = target
            taken.add(target)
        else:
            ignored.add(column)
    by_key = {}
    for c in df.columns:  # the first column of a key; a later one with values wins over a blank
        if c == "geometry":
            continue
        k = _key(c)
        if k not in by_key or (not _has_values(df[by_key[k]]) and _has_values(df[c])):
            by_key[k] = c
    for canonical, names in aliases.items():
        if canonical in taken:
            continue
        candidates = []
        for alias in names:
            original = by_key.get(_key(alias))
            if original is None or original in mapping or original in ignored:
                continue
            candidates.append(original)
        if candidates:
            # The first alias that holds values: an empty "households" column does not win
            # over a filled 户数.
            filled = [c for c in candidates if _has_values(df[c])]
            original = (filled or candidates)[0]
            mapping[original] = canonical
            taken.add(canonical)
    _map_cut_names(df, aliases, mapping, taken, ignored)
    # Columns already named like a contract field but shadowed by a mapped alias are kept
    # under a suffixed name so nothing is lost.
    renamed = df.rename(
        columns={
            c: f"{c}_original"
            for c in df.columns
            if c in taken and c not in mapping and c != "geometry"
        }
    )
    renamed = renamed.rename(columns=mapping)
    return renamed, {k: v for k, v in mapping.items() if k != v}


def _map_cut_names(
    df: pd.DataFrame,
    aliases: Mapping[str, tuple[str, ...]],
    mapping: dict[str, str],
    taken: set[str],
    ignored: set[str],
) -> None:
    """Map names cut short by the shapefile's 10-byte limit (``楼栋编`` for ``楼栋编号``,
    ``community_`` for ``community_id``).

    A Chinese column name (three characters or more, not itself an alias) that starts the
    aliases of exactly one contract field still free is mapped to it. An ASCII name of
    exactly 10 bytes (the cut) is mapped to the free field one of whose longer aliases it
    is the first 10 characters of; when several fields' aliases cut alike, the field whose
    own name cuts so wins (``community_``: ``community_id``, not ``community_name``).

    Examples
    --------
    >>> df = pd.DataFrame({"community_": ["110108001001"], "building_i": ["B1"], "special_se": [2]})
    >>> map_fields(df, layer="buildings")[1]
    {'community_': 'community_id', 'building_i': 'building_id', 'special_se': 'special_service_households'}
    >>> map_fields(df.assign(community_=["荷清苑社区"]), layer="buildings")[1]["community_"]
    'community_name'
    """
    known = {_key(a) for names in aliases.values() for a in names}
    for original in df.columns:
        if original == "geometry" or original in mapping or original in ignored:
            continue
        key = _key(original)
        if key in known:
            continue
        if str(original).isascii():
            canonical = _ascii_cut(str(original), aliases, taken, df[original])
            if canonical is not None:
                mapping[original] = canonical
                taken.add(canonical)
            continue
        if len(key) < 3:
            continue
        hits = {
            canonical
            for canonical, names in aliases.items()
            if canonical not in taken and any(_key(a).startswith(key) for a in names)
        }
        if len(hits) == 1:
            (canonical,) = hits
            mapping[original] = canonical
            taken.add(canonical)


def numeric_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name`` as floats, NaN where a value is not a number or the column is absent.

    Parameters
    ----------
    frame : pandas.DataFrame
        A layer's table after :func:`map_fields`.
    name : str
        A contract field, e.g. ``"staff"`` or ``"residents"``.

    Returns
    -------
    pandas.Series
        On ``frame``'s index; an absent column gives all NaN, so the caller fills it
        from a rule and says so, rather than failing.

    Examples
    --------
    >>> import pandas as pd
    >>> numeric_column(pd.DataFrame({"staff": ["12", "无", None]}), "staff").tolist()
    [12.0, nan, nan]
    >>> numeric_column(pd.DataFrame({"households": [1]}), "staff").tolist()
    [nan]
    """
    if name not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[name], errors="coerce").astype(float)


_DBF_NAME_BYTES = 10
"""A shapefile's field names are cut to 10 bytes (dBASE III)."""


_CJK = re.compile(r"[\u3400-\u9fff]")


def _ascii_cut(
    original: str,
    aliases: Mapping[str, tuple[str, ...]],
    taken: set[str],
    values: pd.Series,
) -> str | None:
    """The free contract field whose alias a 10-byte ASCII name is the cut of, or ``None``.

    When an id and a name cut alike (``community_`` of ``community_id`` and
    ``community_name``), the column's values decide: Chinese text is the name, else the id.
    """
    if len(original.encode("utf-8")) != _DBF_NAME_BYTES:
        return None
    cut = original.lower()
    hits = {
        canonical
        for canonical, names in aliases.items()
        if canonical not in taken
        and any(
            len(a.encode("utf-8")) > _DBF_NAME_BYTES and a.lower()[:_DBF_NAME_BYTES] == cut
            for a in names
        )
    }
    if len(hits) > 1:  # the field whose own name cuts so wins over another's alias
        hits = {c for c in hits if len(c) > _DBF_NAME_BYTES and c.lower()[:_DBF_NAME_BYTES] == cut}
    if len(hits) > 1 and any(c.endswith("_name") for c in hits):
        text = values.dropna().astype(str)
        chinese = bool(len(text)) and text.map(lambda v: bool(_CJK.search(v))).mean() > 0.5
        hits = {c for c in hits if c.endswith("_name") == chinese}
    return next(iter(hits)) if len(hits) == 1 else None
