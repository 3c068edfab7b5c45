"""The CLI's help speaks the planner's language, argparse's own words included."""

from __future__ import annotations

import argparse
import re

import pytest

from cli import main
from cli._parser import build_parser

_ARGPARSE_ENGLISH = ("usage:", "options:", "positional arguments", "show this help message")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _parsers(parser: argparse.ArgumentParser):
    """``parser`` and every sub-command's parser, each once, with its name."""
    seen: set[int] = set()
    todo = [("gridplan", parser)]
    while todo:
        name, each = todo.pop()
        if id(each) in seen:
            continue
        seen.add(id(each))
        yield name, each
        for action in each._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo.extend((f"{name} {n}", p) for n, p in action.choices.items())


def test_every_help_text_is_chinese_in_zh_cn():
    untranslated = []
    for name, parser in _parsers(build_parser("zh_CN")):
        text = parser.format_help()
        untranslated += [f"{name}: {w}" for w in _ARGPARSE_ENGLISH if w in text]
        for action in parser._actions:
            if action.help and action.help != argparse.SUPPRESS and not _CJK.search(action.help):
                untranslated.append(f"{name} {'/'.join(action.option_strings) or action.dest}: {action.help}")
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if choice.help and not _CJK.search(choice.help):
                        untranslated.append(f"{name} {choice.dest}: {choice.help}")
    assert not untranslated, "\n".join(untranslated)


def test_english_help_stays_english():
    for _name, parser in _parsers(build_parser("en")):
        text = parser.format_help()
        assert text.startswith("usage: ") and "options:" in text
        assert not _CJK.search(text.split("\n\n")[0])  # the usage block


@pytest.mark.parametrize(
    ("argv", "zh_words", "en_words"),
    [
        (["grids", "--bogus"], "无法识别的参数", "unrecognized arguments"),
        (["export"], "缺少必需的参数", "the following arguments are required"),
        (["grids", "--min-households", "x"], "值无效", "invalid int value"),
    ],
)
def test_usage_errors_in_the_planner_s_language(capsys, argv, zh_words, en_words):
    assert main([*argv, "--lang", "zh_CN"]) == 2
    assert zh_words in capsys.readouterr().err
    assert main([*argv, "--lang", "en"]) == 2
    assert en_words in capsys.readouterr().err


def test_argparse_is_given_back_its_own_words():
    build_parser("zh_CN").format_help()
    assert argparse._("usage: ") == "usage: "  # nothing stays installed


@pytest.mark.parametrize(
    "argv",
    [
        ["--lang", "en", "staff", "--households", "6373", "--staff", "16"],
        ["staff", "--households", "6373", "--staff", "16", "--lang", "en"],
        ["--lang=en", "staff", "--households", "6373", "--staff", "16"],
        ["--lang", "zh_CN", "staff", "--households", "6373", "--staff", "16", "--lang", "en"],
    ],
)
def test_lang_before_or_after_the_command(capsys, monkeypatch, argv):
    monkeypatch.setenv("GRIDPLAN_LANG", "zh_CN")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "required_staff" in out and "26" in out and "10" in out  # 6,373 / 250 → 26, short 10
    assert not _CJK.search(out), out  # English throughout: the last --lang wins


def test_lang_before_the_command_in_chinese(capsys, monkeypatch):
    monkeypatch.setenv("GRIDPLAN_LANG", "en")
    assert main(["--lang", "zh_CN", "staff", "--households", "6373"]) == 0
    assert _CJK.search(capsys.readouterr().out)


def test_help_takes_its_defaults_from_the_rules(capsys):
    from planning.rules import get_preset, preset_names

    preset = get_preset("default")
    text = build_parser("en")._subparsers._group_actions[0].choices["grids"].format_help()
    flat = " ".join(text.split())
    assert f"grid_min_households: {preset.grid_min_households} in the default preset" in flat
    assert f"grid_max_households: {preset.grid_max_households} in the default preset" in flat
    assert "30 by default" not in flat
    check = build_parser("en")._subparsers._group_actions[0].choices["check"].format_help()
    assert f"rule preset ({', '.join(preset_names())})" in " ".join(check.split())
