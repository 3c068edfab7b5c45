"""gridplan's geodata layer: reading a planner's files, plans and their stores, exports, users.

Reading (modules)
=================  ===========================================================
``io``             read layers and whole projects (GPKG, SHP zip, GeoJSON, KML…),
                   and a shapefile-zip export back
``fields``         Chinese/English field aliases → the data contract
``crs``            CGCS2000 storage and Gauss–Krüger measurement
``gcj``            GCJ-02 (Chinese web maps) ⇄ WGS84
``zipsafe``        unpack a planner's zip without zip bombs or path tricks
``validate``       one report listing every problem in a project
``geometry``       point-in-area lookups fast on survey-grade boundaries
``numerals``       Chinese numerals in names and counts (三号楼 = 3号楼, 十二)
``draw``           shapes drawn on the map → a GeoDataFrame
``cad``            DXF drawings in (a layer map says which CAD layer is what) and out
``datasets``       bundled samples and synthetic districts
``layers``         a plan layer as a plain table and back (used by stores and exports)
``accounting``     warnings that account for every household left out, guessed or repaired
=================  ===========================================================

Plans, outputs and people (packages and modules)
=================  ===========================================================
``store``          versioned, crash-safe plan stores: GeoPackage (``store.gpkg``),
                   PostGIS (``store.postgis``), atomic file writes (``store.files``)
``export``         one module per format: ``gpkg``, ``shp``, ``geojson``, ``kml``,
                   ``xlsx``, ``atlas`` (the PDF atlas with Chinese labels)
``users``          users, roles (viewer, editor, approver) and the audited store
``errors``         the error hierarchy with translatable messages
``i18n``           gettext catalogs (zh-CN default, en)
=================  ===========================================================

The old module paths ``gis.plan``, ``gis.pgstore``, ``gis.atlas`` and ``gis.auth`` still
import (thin re-exports of the modules above).
"""

from gis import crs, datasets, errors, fields, i18n, io, validate

__all__ = [
    "accounting",
    "cad",
    "crs",
    "datasets",
    "draw",
    "errors",
    "export",
    "fields",
    "gcj",
    "geometry",
    "i18n",
    "io",
    "layers",
    "numerals",
    "store",
    "users",
    "validate",
    "zipsafe",
]


_LAZY = frozenset(
    {
        "store", "export", "users", "accounting", "cad", "draw", "gcj", "zipsafe", "layers",
        "geometry", "numerals",
    }
)  # fmt: skip
_OLD_PATHS = frozenset({"plan", "pgstore", "atlas", "auth"})


def __getattr__(name: str) -> object:
    # store, export, users (and the old paths) pull in sqlite/matplotlib/SQLAlchemy/argon2:
    # imported on first use
    if name in _LAZY | _OLD_PATHS:
        import importlib

        return importlib.import_module(f"gis.{name}")
    raise AttributeError(name)
