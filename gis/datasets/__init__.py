"""Bundled sample data and synthetic districts.

The samples are real OpenStreetMap extracts (© OpenStreetMap contributors, ODbL 1.0; see
``data/PROVENANCE.md``):

====================  ============================================================
``beijing_district``  The Beijing extract as a planner's district: three communities,
                      staff, service centres and a household roster, all
                      **illustrative** (made by ``scripts/beijing_district.py``)
``beijing``           Beijing, Haidian: Tsinghua campus and Wudaokou, as OSM has it
``shanghai``          Shanghai, both banks of the Huangpu around Lujiazui (Tilezen)
``singapore_hdb``     Singapore HDB dwelling counts per block (calibration table)
====================  ============================================================

Examples
--------
>>> get_path("beijing").name
'beijing.gpkg'
>>> sorted(p.name for p in get_path("beijing_district").iterdir())
['beijing_district.gpkg', '花名册.xlsx']
"""

from __future__ import annotations

from pathlib import Path

from gis.errors import LayerReadError
from gis.i18n import N_

__all__ = ["ATTRIBUTION", "DATA_DIR", "SAMPLES", "get_path"]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
SAMPLES: dict[str, str] = {
    "beijing_district": "beijing_district",  # a folder: layers + 花名册.xlsx
    "beijing": "beijing.gpkg",
    "shanghai": "shanghai.gpkg",
    "singapore_hdb": "singapore_hdb.gpkg",
}
ATTRIBUTION: dict[str, str] = {
    "beijing_district": "© OpenStreetMap contributors (ODbL 1.0); communities, staff, service "
    "centres and roster are illustrative, not official",
    "beijing": "© OpenStreetMap contributors (ODbL 1.0)",
    "shanghai": "© OpenStreetMap contributors (ODbL 1.0); vector tiles by Tilezen (Nextzen)",
    "singapore_hdb": "Contains information from HDB Property Information accessed from data.gov.sg "
    "(Singapore Open Data Licence 1.0)",
}


def get_path(name: str = "beijing") -> Path:
    """Return the path of a bundled sample.

    Raises
    ------
    LayerReadError
        If there is no sample of that name.
    """
    try:
        return DATA_DIR / SAMPLES[name]
    except KeyError:
        msg = N_("There is no sample called {name!r}. Choose one of: {names}.")
        raise LayerReadError(msg, name=name, names=", ".join(SAMPLES)) from None
