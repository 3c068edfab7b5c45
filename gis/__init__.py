"""gridplan's geodata layer: reading a planner's files, CRSs, validation, exports.

=============  ===========================================================
``io``         read layers and whole projects (GPKG, SHP zip, GeoJSON, KML…)
``fields``     Chinese/English field aliases → the data contract
``crs``        CGCS2000 storage and Gauss–Krüger measurement
``validate``   one report listing every problem in a project
``datasets``   bundled samples and synthetic districts
``errors``     the error hierarchy with translatable messages
``i18n``       gettext catalogs (zh-CN default, en)
=============  ===========================================================
"""

from gis import crs, datasets, errors, fields, i18n, io, validate

__all__ = ["crs", "datasets", "errors", "fields", "i18n", "io", "validate"]
