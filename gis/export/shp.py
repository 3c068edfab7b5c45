"""Shapefile-zip export: a shapefile per layer, field names cut to 10 bytes in the encoding.

A ``.dbf`` alone for tables, a ``.cpg`` (UTF-8 by default, GBK on request),
``field_names.csv`` mapping each short name to the full one and its label, and
``plan.json`` with the column types, so :func:`gis.io.read_shapefile_zip` reads the plan
back as it was.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from gis.errors import FieldError, GridplanError
from gis.export._common import (
    _DBF_TEXT_BYTES,
    _SHORT_NAMES,
    ENCODINGS,
    _plans_row,
    column_label,
)
from gis.export.qgis import write_qml
from gis.i18n import N_, translator
from gis.kinds import kind_labels
from gis.layers import encode_layer
from gis.store.files import atomic_path

__all__ = ["shorten_field_names", "to_shp_zip"]


def _cut(text: str, encoding: str, limit: int) -> str:
    """Return the longest prefix of ``text`` that is at most ``limit`` bytes in ``encoding``."""
    out = ""
    for ch in text:
        if len((out + ch).encode(encoding)) > limit:
            break
        out += ch
    return out


def shorten_field_names(
    columns: Sequence[str], *, encoding: str = "utf-8", limit: int = 10
) -> dict[str, str]:
    """Map column names to unique DBF field names of at most ``limit`` bytes in ``encoding``.

    Known long plan columns get readable abbreviations; other names are cut on a
    character boundary (a Chinese character is 2 bytes in GBK and 3 in UTF-8) and made
    unique (ignoring case) with a number.

    Examples
    --------
    >>> columns = ["special_service_households", "households", "楼栋名称及地址"]
    >>> shorten_field_names(columns, encoding="gbk")
    {'special_service_households': 'special_hh', 'households': 'households', '楼栋名称及地址': '楼栋名称及'}
    >>> shorten_field_names(["楼栋名称及地址"], encoding="utf-8")
    {'楼栋名称及地址': '楼栋名'}
    >>> shorten_field_names(["population_2020", "population_2021"])
    {'population_2020': 'population', 'population_2021': 'populati_2'}
    """
    codec = ENCODINGS.get(encoding.lower().replace("_", "-"), encoding)
    taken: set[str] = set()
    out: dict[str, str] = {}
    for column in columns:
        column = str(column)
        wanted = column if len(column.encode(codec)) <= limit else _SHORT_NAMES.get(column, column)
        short = _cut(wanted, codec, limit) or "field"
        n = 1
        while short.lower() in taken:
            n += 1
            suffix = f"_{n}"
            short = _cut(wanted, codec, limit - len(suffix)) + suffix
        taken.add(short.lower())
        out[column] = short
    return out


def _check_encodable(frame: pd.DataFrame, layer: str, codec: str) -> None:
    for column in frame.columns:
        if frame[column].dtype != object and not pd.api.types.is_string_dtype(frame[column]):
            continue
        for value in [column, *frame[column].dropna().tolist()]:
            if not isinstance(value, str):
                continue
            try:
                value.encode(codec)
            except UnicodeEncodeError:
                msg = N_(
                    "Text in layer {layer} ({example!r}) cannot be written in {encoding}. Export "
                    "with the UTF-8 encoding (--encoding utf-8), or correct the text."
                )
                raise FieldError(msg, layer=layer, example=value[:40], encoding=codec) from None


def to_shp_zip(
    plan: Mapping[str, pd.DataFrame],
    out: str | Path,
    *,
    encoding: str = "utf-8",
    lang: str | None = "zh_CN",
) -> Path:
    """Write one zip with a shapefile per layer, a ``.cpg`` each and ``field_names.csv``.

    Styled layers (grids, patches, communities, proposals) carry a ``.qml`` beside them,
    so QGIS opens them coloured and labelled (:mod:`gis.export.qgis`).

    Parameters
    ----------
    plan
        ``{layer: frame}``; tables (``grid_members``, ``lineage``) become a ``.dbf`` alone.
    out
        The ``.zip`` to write.
    encoding
        ``utf-8`` (default; QGIS, ArcGIS Pro) or ``gbk`` (older ArcMap and Chinese
        platforms). Field names are cut to 10 bytes in this encoding.
    lang
        Language of the labels in ``field_names.csv``.

    Raises
    ------
    FieldError
        If some text cannot be written in ``encoding`` (use UTF-8).

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = to_shp_zip({"grids": grids}, folder / "plan.zip", encoding="gbk")
    >>> import zipfile
    >>> sorted(zipfile.ZipFile(out).namelist())[:4]
    ['field_names.csv', 'grids.cpg', 'grids.dbf', 'grids.prj']
    """
    key = encoding.lower().replace("_", "-")
    if key not in ENCODINGS:
        msg = N_("{encoding!r} is not a shapefile encoding gridplan writes. Use utf-8 or gbk.")
        raise GridplanError(msg, encoding=encoding)
    codec = ENCODINGS[key]
    out = Path(out)
    tr = translator(lang).gettext
    mapping_rows: list[dict[str, str]] = []
    manifest: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="gridplan-shp-") as tmp_dir, atomic_path(out) as tmp:
        folder = Path(tmp_dir)
        for name, frame in plan.items():
            if name in {"plans", "reviews"}:
                continue
            prepared, entry = encode_layer(name, kind_labels(frame, lang) if name == "grids" else frame)
            manifest[name] = entry
            _check_encodable(prepared, name, codec)
            spatial = isinstance(prepared, gpd.GeoDataFrame)
            columns = [c for c in prepared.columns if not (spatial and c == prepared.geometry.name)]
            short = shorten_field_names(columns, encoding=codec)
            notes: dict[str, str] = {}
            for column in columns:
                series = prepared[column]
                if series.dtype == object or pd.api.types.is_string_dtype(series):
                    too_long = series.map(
                        lambda v: isinstance(v, str) and len(v.encode(codec)) > _DBF_TEXT_BYTES
                    )
                    if too_long.any():
                        prepared[column] = [
                            _cut(v, codec, _DBF_TEXT_BYTES) if isinstance(v, str) else v
                            for v in series
                        ]
                        notes[column] = tr(
                            N_("text longer than 254 bytes was cut (see the GeoPackage)")
                        )
            renamed = prepared.rename(columns=short)
            file = f"{name}.shp" if spatial else f"{name}.dbf"
            if spatial:
                pyogrio.write_dataframe(
                    renamed, folder / file, driver="ESRI Shapefile", encoding=codec
                )
                write_qml(folder / file, name, lang=lang, columns=columns, rename=short)
            else:
                pyogrio.write_dataframe(
                    pd.DataFrame(renamed), folder / file, driver="ESRI Shapefile", encoding=codec
                )
            for column in columns:
                mapping_rows.append(
                    {
                        "layer": name,
                        "file": file,
                        "field": short[column],
                        "name": column,
                        "label": column_label(column, lang),
                        "note": notes.get(column, ""),
                    }
                )
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=["layer", "file", "field", "name", "label", "note"]
        )
        writer.writeheader()
        writer.writerows(mapping_rows)
        meta = {"encoding": codec, "layers": manifest, "plan": _plans_row(plan)}
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for written in sorted(folder.iterdir()):
                zf.write(written, arcname=written.name)
            zf.writestr(
                "field_names.csv", "\ufeff" + buffer.getvalue()
            )  # BOM: Excel/WPS read UTF-8
            zf.writestr("plan.json", json.dumps(meta, ensure_ascii=False, indent=1, default=str))
    return out
