"""``gridplan users``: add, remove or list the users who may sign in to the app."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from cli._output import display_width, emit
from gis.errors import GridplanError
from gis.i18n import N_, translator

__all__ = ["run_users"]


def _users_file(args: argparse.Namespace) -> Path:
    return args.file or Path(os.environ.get("GRIDPLAN_USERS") or "users.toml")


def _read_password(args: argparse.Namespace) -> str:
    """Read the new password: one line on stdin, or typed twice at a hidden prompt."""
    tr = translator(args.lang).gettext
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(tr(N_("Password for {name}: ")).format(name=args.name))
    if getpass.getpass(tr(N_("The same password again: "))) != first:
        raise GridplanError(N_("The two passwords differ. Run the command again."))
    return first


def run_users(args: argparse.Namespace) -> int:
    """Add, remove or list the users of the app's users file."""
    from gis.users import ROLE_LABELS, add_user, load_users, remove_user

    path = _users_file(args)
    tr = translator(args.lang).gettext
    if args.users_command == "add":
        user = add_user(
            path,
            args.name,
            role=args.role,
            password=_read_password(args),
            display_name=args.display_name or "",
        )
        payload: dict[str, Any] = {"file": str(path), "name": user.name, "role": user.role}
        emit(
            args,
            payload,
            lambda: tr(N_("{name} is now {role} in {file}.")).format(
                name=user.label, role=tr(ROLE_LABELS[user.role]), file=path
            ),
        )
        return 0
    if args.users_command == "remove":
        user = remove_user(path, args.name)
        payload = {"file": str(path), "removed": user.name}
        emit(
            args,
            payload,
            lambda: tr(N_("{name} was removed from {file}.")).format(name=user.label, file=path),
        )
        return 0
    accounts = load_users(path)
    users = [
        {"name": a.user.name, "display_name": a.user.display_name, "role": a.user.role}
        for a in accounts.values()
    ]

    def human() -> str:
        if not users:
            return tr(N_("{file} has no users yet.")).format(file=path)
        width = max(display_width(u["name"]) for u in users)
        return "\n".join(
            f"{u['name']}{' ' * (width - display_width(u['name']))}  {tr(ROLE_LABELS[u['role']])}"
            + (f"  {u['display_name']}" if u["display_name"] else "")
            for u in users
        )

    emit(args, {"file": str(path), "users": users}, human)
    return 0
