"""The gettext catalogs: every message in the code is translated, placeholders survive.

The messages are extracted from the code in-process with Babel, using the same mapping
(``babel.cfg``) and keywords as ``scripts/i18n.sh``, so a message added to the code
without a zh_CN translation fails here (run ``scripts/i18n.sh`` and translate it).
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from gis.errors import CRSError, GridplanError
from gis.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, normalize_language, translator

ROOT = Path(__file__).resolve().parents[1]
PO_PATH = ROOT / "gis" / "locale" / "zh_CN" / "LC_MESSAGES" / "gridplan.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "_": None, "gettext": None}  # as scripts/i18n.sh


def _extract() -> dict[tuple[str, str | None], list[str]]:
    """Return ``{(msgid, context): ["file:line", …]}`` for every message in the code."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[tuple[str, str | None], list[str]]:
    return _extract()


@pytest.fixture(scope="module")
def catalog():
    with PO_PATH.open("rb") as fh:
        return read_po(fh, locale="zh_CN")


def _translated(message) -> list[str]:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return [s for s in strings]


def _placeholders(text: str) -> set[str]:
    """Return every ``{name!conv:spec}`` replacement field of a format string, as written."""
    fields = set()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        fields.add(
            "{"
            + name
            + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "")
            + "}"
        )
    return fields


def _dummy(spec: str) -> object:
    return 1.5 if re.search(r"[eEfFgG%]$", spec) else (1 if re.search(r"[bcdoxXn]$", spec) else "x")


def _dummy_values(text: str) -> dict[str, object]:
    return {
        name: _dummy(spec or "")
        for _literal, name, spec, _conversion in string.Formatter().parse(text)
        if name
    }


# -- (a) every message in the code is translated ---------------------------------------------
def test_extraction_finds_the_messages(extracted):
    ids = {msgid for msgid, _ in extracted}
    files = {where.split(":")[0] for places in extracted.values() for where in places}
    # Errors (gis/), reasons (planning/) and the CLI's labels are all extracted.
    assert any(f.startswith("gis/") for f in files)
    assert any(f.startswith("planning/") for f in files)
    assert any(f.startswith("cli/") for f in files)
    assert {"households", "required_staff", "ok", "small", "may_split", "must_split"} <= ids
    assert "{households} households" in ids


def test_every_message_in_the_code_has_a_zh_cn_translation(extracted, catalog):
    missing = []
    for (msgid, context), where in sorted(extracted.items(), key=lambda kv: kv[0][0]):
        message = catalog.get(msgid, context=context)
        if message is None or not all(s.strip() for s in _translated(message)):
            missing.append(f"{msgid!r} ({', '.join(where)})")
    assert not missing, (
        f"{len(missing)} message(s) have no zh_CN translation; run scripts/i18n.sh and translate "
        "them in gis/locale/zh_CN/LC_MESSAGES/gridplan.po:\n" + "\n".join(missing)
    )


def test_no_translation_is_fuzzy(catalog):
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, (
        f"fuzzy entries are ignored at run time; review them and drop the flag: {fuzzy}"
    )


def test_catalog_translations_are_chinese(catalog):
    # Catch a msgstr pasted as English; messages with no words outside their placeholders
    # ("{first}", "{proposal} ({status})") have nothing to translate.
    untranslated = [
        m.id
        for m in catalog
        if m.id
        and re.search(r"[A-Za-z]", re.sub(r"\{[^}]*\}", "", m.id if isinstance(m.id, str) else m.id[0]))
        and m.string  # missing translations are reported by the test above
        and not any("\u4e00" <= ch <= "\u9fff" for ch in "".join(_translated(m)))
    ]
    assert not untranslated


# -- (b) placeholders are kept exactly -----------------------------------------------------------
def test_translations_keep_exactly_the_placeholders(catalog):
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        msgids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        expected = _placeholders(msgids[0])
        for text in _translated(message):
            if text and _placeholders(text) != expected:
                wrong.append(f"{msgids[0]!r}: {sorted(expected)} ≠ {sorted(_placeholders(text))}")
    assert not wrong, "\n".join(wrong)


def test_translations_format_without_error(catalog):
    for message in catalog:
        if not message.id or not message.string:
            continue
        values = _dummy_values(message.id if isinstance(message.id, str) else message.id[0])
        for text in _translated(message):
            text.format(**values)  # no stray braces, specs valid for the msgid's values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", set()),
        ("{a} and {b}", {"{a}", "{b}"}),
        ("{x:.0f} {value!r} {{literal}}", {"{x:.0f}", "{value!r}"}),
    ],
)
def test_placeholder_parser(text, expected):
    assert _placeholders(text) == expected


# -- (c) the translators -------------------------------------------------------------------------
def test_translators_work_and_differ():
    zh, en = translator("zh_CN"), translator("en")
    msgid = N_("{households} households")
    assert en.gettext(msgid) == msgid
    assert zh.gettext(msgid) != msgid
    assert zh.gettext(msgid).format(households=9762) == "9762 户"
    assert en.gettext("households") == "households"
    assert zh.gettext("households") == "户数"
    assert translator("zh_CN") is zh  # cached and shared
    for spelling in ("zh-CN", "zh_Hans", None):  # normalised; zh_CN is the default
        assert translator(spelling).gettext(msgid) == zh.gettext(msgid)
    assert translator("en-US").gettext(msgid) == msgid
    assert zh.gettext("a message nobody marked") == "a message nobody marked"


def test_every_catalog_message_differs_between_languages(catalog):
    zh, en = translator("zh_CN"), translator("en")
    for message in catalog:
        if (
            message.id
            and message.string
            and message.id != "{first}"
            and isinstance(message.id, str)
        ):
            assert en.gettext(message.id) == message.id
            assert zh.gettext(message.id) == message.string != message.id


@pytest.mark.parametrize(
    ("msgid", "zh"),
    [
        ("ok", "正常"),
        ("small", "规模偏小"),
        ("may_split", "可拆分"),
        ("must_split", "应拆分"),
        ("households", "户数"),
        ("residents", "常住人口"),
        ("staff", "现有工作人员"),
        ("required_staff", "应配工作人员"),
        ("shortfall", "人员缺口"),
        ("households_per_worker", "人均服务户数"),
        ("residents_per_worker", "人均服务人口"),
        ("min_grids", "最少网格数"),
        ("max_grids", "最多网格数"),
    ],
)
def test_labels_are_translated_as_labels(msgid, zh):
    assert translator("zh_CN").gettext(msgid) == zh


def test_errors_render_in_both_languages(catalog):
    for message in catalog:
        if not message.id or not message.string or not isinstance(message.id, str):
            continue
        values = _dummy_values(message.id)
        err = CRSError(message.id, **values)
        assert isinstance(err, GridplanError | ValueError)
        assert str(err) == err.render("en") == message.id.format(**values)
        assert err.render("zh_CN") == err.render() == message.string.format(**values)


# -- (d) normalize_language -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (None, "zh_CN"),
        ("", "zh_CN"),
        ("zh_CN", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh_cn", "zh_CN"),
        ("ZH-cn", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh_Hans", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("zh_CN.UTF-8", "zh_CN"),
        ("en", "en"),
        ("en-US", "en"),
        ("en_GB", "en"),
        ("EN", "en"),
        ("en_US.UTF-8", "en"),
        ("C", "en"),
        ("POSIX", "en"),
        ("fr_FR", "zh_CN"),  # no catalog: the default language
        ("de", "zh_CN"),
    ],
)
def test_normalize_language(lang, expected):
    assert normalize_language(lang) == expected


def test_languages_are_normalised_names():
    assert DEFAULT_LANGUAGE in LANGUAGES
    assert all(normalize_language(lang) == lang for lang in LANGUAGES)


def test_gridplans_own_history_notes_and_signer_shown_in_the_planners_language():
    """Notes gridplan writes into a project's history are stored in English, and the local
    planner signs as ``planner``; the app shows both in the session's language (zh-CN by
    default), old projects' notes too, and a planner's own words as written (#21)."""
    from ui.widgets import author_label, note_label

    assert note_label("restore", "restored version 3") == "恢复自版本 3"
    assert note_label("create", "copy of 清华园, version 4") == "清华园第 4 版的副本"
    assert note_label("create", "bundled sample") == "随附样例"
    assert note_label("grids", "snapped to the other system") == "已按其他部门的网格体系对齐"
    assert note_label("data", "sample beijing (编码：GBK)") == "样例 beijing (编码：GBK)"
    # a planner's note that merely looks like gridplan's stays as written
    assert note_label("grids", "sample of the north gate") == "sample of the north gate"
    assert note_label("grids", "restored version 2") == "restored version 2"
    assert author_label("planner") == "规划人员" and author_label("王芳") == "王芳"
