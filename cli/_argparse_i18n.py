"""argparse's own words ("usage:", "options:", "the following arguments are required" …) in
the planner's language.

argparse looks its messages up with the module-level ``gettext``/``ngettext`` it imported
(the process-wide default domain, which gridplan never installs). :func:`argparse_language`
lends argparse the translator of one language (gridplan's own catalog, where the messages
below are translated) for the length of a ``with`` block and puts the originals back after,
so nothing stays installed; the CLI builds, parses and prints help inside such a block
(``cli._parser.ArgumentParser``). The CLI runs one command per process, in one thread.

Examples
--------
>>> import argparse
>>> with argparse_language("zh_CN"):
...     parser = argparse.ArgumentParser(prog="gridplan", add_help=False)
...     parser.format_usage()
'用法：gridplan\\n'
>>> argparse._("usage: ")  # put back
'usage: '
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from gis.i18n import N_, translator

__all__ = ["ARGPARSE_MESSAGES", "argparse_language"]

#: argparse's messages a planner can meet (Python 3.11–3.13), marked for the catalog.
ARGPARSE_MESSAGES: tuple[str, ...] = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("optional arguments"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unexpected option string: %s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("%(prog)s: error: %(message)s\n"),
)


def _plural_messages() -> None:  # never called: marks argparse's plural message for extraction
    def ngettext(singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    ngettext("expected %s argument", "expected %s arguments", 2)


@contextlib.contextmanager
def argparse_language(lang: str) -> Iterator[None]:
    """Within the block, argparse speaks ``lang`` (``zh_CN`` or ``en``).

    Parameters
    ----------
    lang
        A catalog name; English leaves argparse's own words as they are.
    """
    tr = translator(lang)
    saved = (argparse._, argparse.ngettext)  # type: ignore[attr-defined]
    argparse._ = tr.gettext  # type: ignore[attr-defined]
    argparse.ngettext = tr.ngettext
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]
