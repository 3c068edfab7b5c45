"""Translations for gridplan's messages (gettext catalogs, zh-CN by default).

The catalogs are plain ``.po`` files under ``gis/locale`` managed with Babel
(``pybabel extract`` / ``pybabel update``). They are compiled in memory when first
used, so there is no build step and nothing is installed process-wide: every caller
asks for the translator of its own language (one Streamlit process serves many
planners, each with their own language).

Examples
--------
>>> from gis.i18n import translator
>>> translator("zh_CN").gettext("households")
'户数'
>>> translator("en").gettext("households")
'households'
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "N_", "normalize_language", "translator"]

DOMAIN = "gridplan"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES: tuple[str, ...] = ("zh_CN", "en")


def N_(message: str) -> str:  # noqa: N802 - gettext convention
    """Mark ``message`` for extraction without translating it now."""
    return message


def normalize_language(lang: str | None) -> str:
    """Map a locale string (``zh-CN``, ``zh_Hans``, ``en-US`` …) to a catalog name.

    Examples
    --------
    >>> normalize_language("zh-CN"), normalize_language("en-GB"), normalize_language(None)
    ('zh_CN', 'en', 'zh_CN')
    """
    if not lang:
        return DEFAULT_LANGUAGE
    lang = lang.replace("-", "_").lower()
    if lang.startswith("zh"):
        return "zh_CN"
    if lang.startswith("en") or lang in {"c", "posix"}:
        return "en"
    return DEFAULT_LANGUAGE


@functools.cache
def translator(lang: str | None = None) -> gettext.NullTranslations:
    """Return the (immutable, shared) translations for ``lang``.

    English is the source language, so ``en`` returns the messages unchanged.
    """
    lang = normalize_language(lang)
    if lang == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
