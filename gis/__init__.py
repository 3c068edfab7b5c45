"""gridplan's geodata layer: reading a planner's files, CRSs, validation, exports.

=============  ===========================================================
``io``         read layers and whole projects (GPKG, SHP zip, GeoJSON, KML…)
``fields``     Chinese/English field aliases → the data contract
``crs``        CGCS2000 storage and Gauss–Krüger measurement
``validate``   one report listing every problem in a project
``datasets``   bundled samples and synthetic districts
``plan``       write and read a plan's layers (one GeoPackage)
``store``      versioned, crash-safe plan store (GeoPackage, WAL, file lock)
``pgstore``    the same plan store in PostgreSQL/PostGIS, for teams
``auth``       users, roles (viewer, editor, approver) and the audit of actions
``export``     GeoPackage, shapefile zip (UTF-8/GBK), GeoJSON, KML/KMZ, Excel, PDF
``atlas``      the printable PDF atlas with Chinese labels
``errors``     the error hierarchy with translatable messages
``i18n``       gettext catalogs (zh-CN default, en)
=============  ===========================================================
"""

from gis import crs, datasets, errors, fields, i18n, io, plan, validate

__all__ = [
    "atlas",
    "auth",
    "crs",
    "datasets",
    "errors",
    "export",
    "fields",
    "i18n",
    "io",
    "pgstore",
    "plan",
    "store",
    "validate",
]


def __getattr__(name: str) -> object:
    # store, export, atlas, pgstore and auth pull in sqlite/matplotlib/SQLAlchemy/argon2:
    # imported on first use
    if name in {"store", "export", "atlas", "pgstore", "auth"}:
        import importlib

        return importlib.import_module(f"gis.{name}")
    raise AttributeError(name)
