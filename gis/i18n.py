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

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "normalize_language",
    "render_citation",
    "translator",
]

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


_PLANNER_SET = "{rule} = {value} (set by the planner)"


def render_citation(text: str, lang: str | None = None) -> str:
    """A rule's source as stored with a plan (English), in ``lang``.

    A plan keeps its rules' sources as :meth:`planning.rules.RuleSet.sources` wrote them,
    ``"source: statement"`` or ``"rule = value (set by the planner)"`` in English; a report
    shows them in the planner's language, as ``Citation.render(lang)`` does. A text the
    catalog does not know is returned as it is.

    Examples
    --------
    >>> text = "Kunming 2024: a normal urban community has at least 3,000 households"
    >>> render_citation(text, "en") == text
    True
    >>> render_citation(text, "zh_CN").startswith("昆明")
    True
    >>> render_citation("grid_max_households = 60 (set by the planner)", "zh_CN")
    'grid_max_households = 60（规划人员设定）'
    """
    tr = translator(lang).gettext
    whole = tr(text)
    if whole != text:
        return whole
    rule, equals, rest = text.partition(" = ")
    if equals and rest.endswith(" (set by the planner)"):
        value = rest[: -len(" (set by the planner)")]
        return tr(_PLANNER_SET).format(rule=rule, value=value)
    source, colon, statement = text.partition(": ")
    if colon:
        return f"{tr(source)}: {tr(statement)}"
    return text
