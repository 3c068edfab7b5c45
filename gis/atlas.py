"""Old path of :mod:`gis.export.atlas`, kept for scripts."""

from gis.export.atlas import (
    FONT_CANDIDATES,
    AtlasFont,
    FontMissingError,
    find_cjk_font,
    write_atlas,
)

__all__ = ["FONT_CANDIDATES", "AtlasFont", "FontMissingError", "find_cjk_font", "write_atlas"]
