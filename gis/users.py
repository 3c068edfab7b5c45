"""Who may do what: roles, a local users file with argon2 hashes, and an audited store.

gridplan knows three roles, each allowed everything the one before it may do:

============  ===============================================================
``viewer``    view the plan and export it
``editor``    also upload data, edit the rules, run splits and grids, draw
              boundaries, save proposals and plans
``approver``  also review proposals (accept, reject, send back); a senior
              planner, who may edit too
============  ===============================================================

An editor cannot approve their own work and a viewer cannot save. :func:`authorize`
raises :class:`PermissionDenied` with a message that names the role needed.

Accounts for a standalone install are kept in a TOML users file (written by
``gridplan users add``) holding argon2id hashes, never passwords; an intranet with an
identity provider signs planners in with ``st.login`` instead and maps their e-mail
addresses to roles (:func:`role_for`). :class:`GuardedStore` wraps a plan store
(:class:`gis.store.PlanStore` or :class:`gis.store.postgis.PostGISPlanStore`): it authorizes
every call and records every attempt, allowed or refused, in the store's audit.

The users file::

    [users.wangfang]
    display_name = "王芳"
    role = "editor"
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."

Examples
--------
>>> editor = User("wangfang", "王芳", "editor")
>>> may(editor, "save"), may(editor, "review")
(True, False)
>>> try:
...     authorize(editor, "review")
... except PermissionDenied as err:
...     print(err.render("en"))
王芳 (wangfang) is signed in as editor, which may not review proposals.
Ask an administrator for the approver role.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
import tomllib
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

import filelock
import pandas as pd
import tomli_w
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gis.errors import GridplanError
from gis.i18n import N_, translator
from gis.store.files import atomic_path

__all__ = [
    "ACTIONS",
    "LOCAL_USER",
    "ROLES",
    "Account",
    "Action",
    "AuditedStore",
    "GuardedStore",
    "PermissionDenied",
    "SignInError",
    "SignInThrottle",
    "ThrottleSettings",
    "User",
    "UserFileError",
    "add_user",
    "authorize",
    "hash_password",
    "load_users",
    "may",
    "needed_role",
    "remove_user",
    "role_for",
    "verify_password",
]

ROLES: tuple[str, ...] = ("viewer", "editor", "approver")
"""The roles, from the fewest rights to the most."""

ROLE_LABELS: Mapping[str, str] = MappingProxyType(
    {"viewer": N_("viewer"), "editor": N_("editor"), "approver": N_("approver")}
)
"""Each role's label (a gettext msgid)."""

MIN_PASSWORD_LENGTH = 8
_THROTTLE_NAMES = 10_000  # names a throttle remembers before it forgets the stale ones


@dataclass(frozen=True)
class Action:
    """Something a planner does, who may do it, and how a message names it.

    Parameters
    ----------
    name
        The action's key (``save``, ``review`` …).
    label
        What it is, to complete "… which may not {label}" (a gettext msgid).
    roles
        The roles allowed to do it.
    """

    name: str
    label: str
    roles: frozenset[str]


def _action(name: str, label: str, *roles: str) -> tuple[str, Action]:
    return name, Action(name, label, frozenset(roles))


_ALL = ROLES
_EDITORS = ("editor", "approver")

ACTIONS: Mapping[str, Action] = MappingProxyType(
    dict(
        [
            _action("view", N_("view the plan"), *_ALL),
            _action("export", N_("export the plan"), *_ALL),
            _action("upload", N_("upload data or change the project"), *_EDITORS),
            _action("edit_rules", N_("edit the rules"), *_EDITORS),
            _action("run", N_("run splits and grids"), *_EDITORS),
            _action("draw", N_("draw boundaries"), *_EDITORS),
            _action("save", N_("save proposals and plans"), *_EDITORS),
            _action("review", N_("review proposals"), "approver"),
        ]
    )
)
"""Every action and the roles allowed to do it (read-only)."""


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------
class PermissionDenied(GridplanError):  # noqa: N818 - the name planners and admins know
    """The signed-in planner's role does not allow the action.

    The ``role``, ``action`` and ``needed`` parameters are msgids, translated with the
    message.
    """

    _TRANSLATED: tuple[str, ...] = ("role", "action", "needed")

    def render(self, lang: str | None = None) -> str:
        """Return the message in ``lang`` (zh-CN by default), role and action translated."""
        tr = translator(lang).gettext
        params = {k: tr(v) if k in self._TRANSLATED else v for k, v in self.params.items()}
        return tr(self.msgid).format(**params)


class SignInError(GridplanError):
    """A name and password that do not sign anyone in."""


class UserFileError(GridplanError):
    """A users file that cannot be read or used."""


# --------------------------------------------------------------------------------------
# users and roles
# --------------------------------------------------------------------------------------
def _check_role(role: str) -> None:
    if role not in ROLES:
        msg = N_("{role!r} is not a role. Use one of: {roles}.")
        raise UserFileError(msg, role=role, roles=", ".join(ROLES))


def _check_name(name: str) -> str:
    clean = str(name).strip()
    if not clean or any(unicodedata.category(ch).startswith("C") for ch in clean):
        msg = N_("{name!r} cannot be a user name: it is empty or holds control characters.")
        raise UserFileError(msg, name=name)
    return clean


@dataclass(frozen=True)
class User:
    """A signed-in planner.

    Parameters
    ----------
    name
        The unique sign-in name (or e-mail address).
    display_name
        How the planner is shown (the name itself when empty).
    role
        One of :data:`ROLES`.

    Examples
    --------
    >>> User("wangfang", "王芳", "editor").label
    '王芳 (wangfang)'
    >>> User("lq", "", "viewer").label
    'lq'
    """

    name: str
    display_name: str = ""
    role: str = "viewer"

    def __post_init__(self) -> None:
        _check_role(self.role)

    @property
    def label(self) -> str:
        """The name shown in trails and messages: ``display name (name)``."""
        if self.display_name and self.display_name != self.name:
            return f"{self.display_name} ({self.name})"
        return self.name


LOCAL_USER = User("planner", "", "approver")
"""Everyone, when sign-in is off: a local planner with every right."""


def needed_role(action: str) -> str:
    """Return the least role that may do ``action``.

    Examples
    --------
    >>> needed_role("export"), needed_role("save"), needed_role("review")
    ('viewer', 'editor', 'approver')
    """
    roles = _get_action(action).roles
    return next(role for role in ROLES if role in roles)


def _get_action(action: str) -> Action:
    try:
        return ACTIONS[action]
    except KeyError:
        msg = N_("{action!r} is not an action. Use one of: {actions}.")
        raise GridplanError(msg, action=action, actions=", ".join(ACTIONS)) from None


def may(user: User, action: str) -> bool:
    """Return whether ``user``'s role allows ``action``.

    Examples
    --------
    >>> may(User("lq", role="viewer"), "export"), may(User("lq", role="viewer"), "save")
    (True, False)
    """
    return user.role in _get_action(action).roles


def authorize(user: User, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``user``'s role allows ``action``.

    Raises
    ------
    PermissionDenied
        With a message naming the user, their role, the action and the role needed.

    Examples
    --------
    >>> authorize(User("lq", role="approver"), "review")  # allowed: nothing happens
    >>> authorize(User("lq", role="viewer"), "save")
    Traceback (most recent call last):
    ...
    gis.users.PermissionDenied: lq is signed in as viewer, which may not save proposals and
    plans. Ask an administrator for the editor role.
    """
    if may(user, action):
        return
    msg = N_(
        "{user} is signed in as {role}, which may not {action}. "
        "Ask an administrator for the {needed} role."
    )
    raise PermissionDenied(
        msg,
        user=user.label,
        role=ROLE_LABELS[user.role],
        action=_get_action(action).label,
        needed=ROLE_LABELS[needed_role(action)],
    )


def role_for(email: str | None, roles: Mapping[str, Any] | None, *, default: str = "viewer") -> str:
    """Return the role of a planner signed in by an identity provider.

    Parameters
    ----------
    email
        The address the provider gives (compared without case).
    roles
        ``{email: role}``, e.g. the ``[gridplan.roles]`` table of Streamlit's secrets.
    default
        The role of everyone not listed.

    Raises
    ------
    UserFileError
        If the mapping names a role that does not exist.

    Examples
    --------
    >>> roles = {"Wang.Fang@bureau.gov.cn": "approver"}
    >>> role_for("wang.fang@bureau.gov.cn", roles), role_for("li@bureau.gov.cn", roles)
    ('approver', 'viewer')
    """
    wanted = {str(k).strip().lower(): str(v) for k, v in (roles or {}).items()}
    role = wanted.get(str(email or "").strip().lower(), default)
    _check_role(role)
    return role


# --------------------------------------------------------------------------------------
# passwords and the users file
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    """A user of the users file and their password hash."""

    user: User
    password_hash: str


# A hash of a random password with argon2-cffi's default parameters: an unknown name is
# checked against it so that it takes as long as a wrong password.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$LPaK/P41zthAM6C8qbUy/Q$6ktzetHbwn9SkhglXKjEXJgCRwDCbf/L3Mg++k4OdsU"


def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    """Return the argon2id hash of ``password`` (argon2-cffi's default cost).

    Parameters
    ----------
    password
        At least :data:`MIN_PASSWORD_LENGTH` characters.
    hasher
        Another :class:`argon2.PasswordHasher` (e.g. a cheaper one in tests).

    Raises
    ------
    UserFileError
        If the password is too short.

    Examples
    --------
    >>> from argon2 import PasswordHasher
    >>> hash_password("correct horse", hasher=PasswordHasher(time_cost=1, memory_cost=64))[:9]
    '$argon2id'
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = N_("A password needs at least {n} characters.")
        raise UserFileError(msg, n=MIN_PASSWORD_LENGTH)
    return (hasher or PasswordHasher()).hash(password)


def _users_table(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = N_(
            "The users file {file} does not exist. Create it with: "
            "gridplan users add NAME --role editor --file {file}"
        )
        raise UserFileError(msg, file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = N_("The users file {file} cannot be read ({error}).")
        raise UserFileError(msg, file=str(path), error=str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = N_(
            "The users file {file} is not valid TOML ({error}). Fix it, or write it again "
            "with gridplan users add."
        )
        raise UserFileError(msg, file=path.name, error=str(exc)) from None
    users = data.get("users", {})
    if not isinstance(users, dict):
        msg = N_("The users file {file} needs a [users] table, one [users.NAME] per user.")
        raise UserFileError(msg, file=path.name)
    return users


def load_users(path: str | Path) -> dict[str, Account]:
    r"""Read a users file: ``{name: Account}``.

    Raises
    ------
    UserFileError
        If the file is missing or not TOML, or a user has an unknown role or no argon2
        password hash; the message names the user and how to fix it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "users.toml"
    >>> _ = path.write_text('[users.lq]\nrole = "boss"\npassword_hash = "x"\n')
    >>> load_users(path)
    Traceback (most recent call last):
    ...
    gis.users.UserFileError: User lq in users.toml has the role 'boss', which is not one of:
    viewer, editor, approver.
    """
    path = Path(path)
    out: dict[str, Account] = {}
    for name, entry in _users_table(path).items():
        if not isinstance(entry, dict):
            msg = N_(
                "User {name} in {file} must be a table: [users.{name}] with role and password_hash."
            )
            raise UserFileError(msg, name=name, file=path.name)
        role = str(entry.get("role", ""))
        if role not in ROLES:
            msg = N_("User {name} in {file} has the role {role!r}, which is not one of: {roles}.")
            raise UserFileError(msg, name=name, file=path.name, role=role, roles=", ".join(ROLES))
        digest = entry.get("password_hash")
        if not isinstance(digest, str) or not digest.startswith("$argon2"):
            msg = N_(
                "User {name} in {file} has no argon2 password_hash. Set a password with: "
                "gridplan users add {name} --role {role}"
            )
            raise UserFileError(msg, name=name, file=path.name, role=role)
        user = User(_check_name(name), str(entry.get("display_name", "") or ""), role)
        out[user.name] = Account(user, digest)
    return out


def verify_password(
    users: Mapping[str, Account],
    name: str,
    password: str,
    *,
    hasher: PasswordHasher | None = None,
    throttle: SignInThrottle | None = None,
) -> User:
    """Return the user ``name`` if ``password`` is theirs.

    An unknown name takes as long as a wrong password and gives the same message, so
    neither tells which names exist. With a ``throttle``, a name with too many recent
    failures is refused before its password is checked.

    Raises
    ------
    SignInError
        If the name is unknown, the password wrong, or the name locked by ``throttle``.

    Examples
    --------
    >>> from argon2 import PasswordHasher
    >>> cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    >>> digest = hash_password("s3cret-pw", hasher=cheap)
    >>> users = {"lq": Account(User("lq", "李强", "viewer"), digest)}
    >>> verify_password(users, "lq", "s3cret-pw")
    User(name='lq', display_name='李强', role='viewer')
    >>> verify_password(users, "lq", "guess-123")
    Traceback (most recent call last):
    ...
    gis.users.SignInError: The name or the password is not right. Check both and try again.
    """
    if throttle is None:
        return _check_password(users, name, password, hasher=hasher or PasswordHasher())
    with throttle.attempt(name):
        try:
            user = _check_password(users, name, password, hasher=hasher or PasswordHasher())
        except SignInError:
            throttle.failed(name)
            raise
        throttle.succeeded(name)
        return user


def _check_password(
    users: Mapping[str, Account], name: str, password: str, *, hasher: PasswordHasher
) -> User:
    account = users.get(str(name).strip())
    digest = account.password_hash if account is not None else _DUMMY_HASH
    ok = False
    with contextlib.suppress(VerificationError, InvalidHashError):
        ok = hasher.verify(digest, password)
    if not ok or account is None:
        msg = N_("The name or the password is not right. Check both and try again.")
        raise SignInError(msg)
    return account.user


@dataclass(frozen=True)
class ThrottleSettings:
    """How many failed sign-ins a name may have before it is locked, and for how long.

    ``failures`` failures within ``window_s`` seconds lock the name for ``lockout_s``
    seconds; each further lockout in a row doubles that, up to ``max_lockout_s``.
    """

    failures: int = 5
    window_s: float = 15 * 60
    lockout_s: float = 60
    max_lockout_s: float = 60 * 60


@dataclass
class SignInThrottle:
    """Failed sign-ins per name, shared by every session of one server (thread-safe).

    A locked name is refused before its password is even checked, the right password
    included, so guessing costs the attacker time rather than the server CPU. Attempts on
    one name are taken one at a time (:meth:`attempt`), so guesses sent in parallel meet
    the lock as soon as it is set. Names are counted whether they exist or not (the
    refusal must not tell which ones do). A successful sign-in clears the name's record.

    Examples
    --------
    >>> now = [0.0]
    >>> throttle = SignInThrottle(ThrottleSettings(failures=2), clock=lambda: now[0])
    >>> throttle.failed("lq"); throttle.failed("lq")
    >>> try:
    ...     throttle.check("lq")
    ... except SignInError as err:
    ...     print(err.render("en"))
    Too many failed sign-ins for lq. Wait 1 minute(s) and try again.
    If the password is forgotten, ask an administrator to set a new one.
    >>> now[0] = 61.0
    >>> throttle.check("lq")  # the lockout is over
    """

    settings: ThrottleSettings = field(default_factory=ThrottleSettings)
    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _turns: dict[str, threading.Lock] = field(default_factory=dict, init=False, repr=False)
    _failures: dict[str, list[float]] = field(default_factory=dict, init=False, repr=False)
    _locked_until: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _lockouts: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    @contextlib.contextmanager
    def attempt(self, name: str) -> Iterator[None]:
        """One sign-in attempt on ``name`` at a time: wait for the others, then
        :meth:`check` (the caller reports :meth:`failed` or :meth:`succeeded` inside)."""
        key = str(name).strip()
        with self._lock:
            turn = self._turns.setdefault(key, threading.Lock())
        with turn:
            self.check(key)
            yield

    def check(self, name: str) -> None:
        """Raise :class:`SignInError` while ``name`` is locked."""
        key = str(name).strip()
        with self._lock:
            wait = self._locked_until.get(key, 0.0) - self.clock()
        if wait > 0:
            msg = N_(
                "Too many failed sign-ins for {name}. Wait {minutes} minute(s) and try again. "
                "If the password is forgotten, ask an administrator to set a new one."
            )
            raise SignInError(msg, name=key, minutes=max(1, math.ceil(wait / 60)))

    def failed(self, name: str) -> None:
        """Count a failed sign-in for ``name``; lock it when there were too many."""
        key = str(name).strip()
        rules = self.settings
        with self._lock:
            now = self.clock()
            if len(self._failures) > _THROTTLE_NAMES:
                self._forget_stale(now)
            recent = [t for t in self._failures.get(key, []) if now - t < rules.window_s]
            recent.append(now)
            if len(recent) >= rules.failures:
                streak = self._lockouts.get(key, 0)
                lockout = min(rules.lockout_s * 2.0 ** min(streak, 32), rules.max_lockout_s)
                self._locked_until[key] = now + lockout
                self._lockouts[key] = streak + 1
                recent = []
            self._failures[key] = recent

    def succeeded(self, name: str) -> None:
        """Forget ``name``'s failures and lockouts."""
        key = str(name).strip()
        with self._lock:
            for record in (self._failures, self._locked_until, self._lockouts):
                record.pop(key, None)

    def _forget_stale(self, now: float) -> None:
        """Drop names with no failure in the window and no lock (under ``_lock``), so that
        guesses at random names cannot grow the record without end."""
        rules = self.settings
        for key in list(self._failures):
            recent = any(now - t < rules.window_s for t in self._failures[key])
            locked = self._locked_until.get(key, 0.0) > now - rules.max_lockout_s
            if not recent and not locked:
                for record in (self._failures, self._locked_until, self._lockouts):
                    record.pop(key, None)
                turn = self._turns.get(key)
                if turn is not None and not turn.locked():
                    del self._turns[key]


def _write_users(path: Path, accounts: Mapping[str, Account]) -> None:
    """Write the users file with a TOML library (any display name reads back)."""
    table = {
        name: {
            "display_name": accounts[name].user.display_name,
            "role": accounts[name].user.role,
            "password_hash": accounts[name].password_hash,
        }
        for name in sorted(accounts)
    }
    header = "# gridplan users: written by `gridplan users add`; passwords are argon2id hashes.\n\n"
    text = header + tomli_w.dumps({"users": table})
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)


T = TypeVar("T")


def _update(path: Path, change: Callable[[dict[str, Account]], T]) -> T:
    """Read, change and write the users file atomically, one writer at a time."""
    with filelock.FileLock(f"{path}.lock", timeout=30):
        accounts = load_users(path) if path.exists() else {}
        result = change(accounts)
        _write_users(path, accounts)
    return result


def add_user(
    path: str | Path,
    name: str,
    *,
    role: str,
    password: str,
    display_name: str = "",
    hasher: PasswordHasher | None = None,
) -> User:
    """Add a user to a users file, or replace their role and password.

    The file is written beside itself and moved into place, readable by its owner only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from argon2 import PasswordHasher
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "users.toml"
    >>> cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    >>> add_user(path, "wangfang", role="editor", password="s3cret-pw", display_name="王芳",
    ...          hasher=cheap)
    User(name='wangfang', display_name='王芳', role='editor')
    >>> load_users(path)["wangfang"].user.role
    'editor'
    """
    path = Path(path)
    user = User(_check_name(name), display_name.strip(), role)
    digest = hash_password(password, hasher=hasher)

    def change(accounts: dict[str, Account]) -> User:
        accounts[user.name] = Account(user, digest)
        return user

    return _update(path, change)


def remove_user(path: str | Path, name: str) -> User:
    """Remove a user from a users file; return who was removed.

    Raises
    ------
    UserFileError
        If the file has no such user.
    """
    path = Path(path)

    def change(accounts: dict[str, Account]) -> User:
        account = accounts.pop(str(name).strip(), None)
        if account is None:
            msg = N_("The users file {file} has no user {name}.")
            raise UserFileError(msg, file=path.name, name=name)
        return account.user

    return _update(path, change)


# --------------------------------------------------------------------------------------
# a plan store that authorizes and records every call
# --------------------------------------------------------------------------------------
class AuditedStore(Protocol):
    """What :class:`GuardedStore` needs of a plan store."""

    def record(
        self,
        action: str,
        *,
        user: str,
        role: str = "",
        allowed: bool = True,
        target: str = "",
        detail: str = "",
    ) -> Any:
        """Append one attempt to the store's audit."""

    def audit(self) -> pd.DataFrame:
        """Return the audit."""


class GuardedStore:
    """A plan store used on behalf of one planner: every call authorized and recorded.

    ``save`` needs the ``save`` right, ``set_status`` the ``review`` right,
    ``load``/``versions``/``latest_version``/``info``/``reviews``/``audit`` the ``view``
    right and ``handover_copy`` the ``export`` right. Every attempt, allowed or not, is
    appended to the store's audit (``store.record``); a refused one raises
    :class:`PermissionDenied` and changes nothing. The author written with versions and
    reviews is always the planner's.

    Parameters
    ----------
    store
        A :class:`gis.store.PlanStore` or :class:`gis.store.postgis.PostGISPlanStore`.
    user
        Who is acting.
    author
        The name written as author (``user.label`` by default).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from gis.store import PlanStore
    >>> store = PlanStore(pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg")
    >>> layers = {"lineage": pd.DataFrame({"building_id": ["B1"]})}
    >>> GuardedStore(store, User("wangfang", "王芳", "editor")).save(layers, note="first cut")
    1
    >>> GuardedStore(store, User("lq", "李强", "viewer")).save(layers)
    Traceback (most recent call last):
    ...
    gis.users.PermissionDenied: 李强 (lq) is signed in as viewer, which may not save proposals
    and plans. Ask an administrator for the editor role.
    >>> store.audit()[["user", "action", "target", "allowed"]].to_dict("records")
    [{'user': 'wangfang', 'action': 'save', 'target': 'version 1', 'allowed': True},
     {'user': 'lq', 'action': 'save', 'target': '', 'allowed': False}]
    """

    def __init__(self, store: Any, user: User, *, author: str | None = None) -> None:
        self.store = store
        self.user = user
        self.author = author or user.label

    def __repr__(self) -> str:
        return f"GuardedStore({self.store!r}, user={self.user.name!r}, role={self.user.role!r})"

    def __enter__(self) -> GuardedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store."""
        close = getattr(self.store, "close", None)
        if callable(close):
            close()

    def _record(self, action: str, *, allowed: bool, target: str = "", detail: str = "") -> None:
        self.store.record(
            action,
            user=self.user.name,
            role=self.user.role,
            allowed=allowed,
            target=target,
            detail=detail,
        )

    def _guard(
        self,
        action: str,
        call: Callable[[], T],
        *,
        target: str = "",
        detail: str = "",
        done: Callable[[T], str] | None = None,
    ) -> T:
        """Authorize ``action``, run ``call``, and record the attempt and its outcome."""
        try:
            authorize(self.user, action)
        except PermissionDenied:
            self._record(action, allowed=False, target=target, detail=detail)
            raise
        try:
            result = call()
        except Exception as err:
            failed = f"{detail}; " if detail else ""
            self._record(action, allowed=True, target=target, detail=f"{failed}failed: {err}")
            raise
        self._record(action, allowed=True, target=done(result) if done else target, detail=detail)
        return result

    # -- writes ------------------------------------------------------------------------
    def save(
        self,
        layers: Mapping[str, pd.DataFrame],
        *,
        status: str = "draft",
        note: str = "",
        rules: Any = None,
    ) -> int:
        """Save a new version as this planner (needs ``save``); return its number."""
        return self._guard(
            "save",
            lambda: int(
                self.store.save(layers, author=self.author, status=status, note=note, rules=rules)
            ),
            detail=f"status={status}; note={note}" if note else f"status={status}",
            done=lambda version: f"version {version}",
        )

    def set_status(self, version: int, status: str, *, comment: str = "") -> None:
        """Record this planner's review of ``version`` (needs ``review``)."""
        self._guard(
            "review",
            lambda: self.store.set_status(version, status, author=self.author, comment=comment),
            target=f"version {int(version)}",
            detail=f"status={status}; comment={comment}" if comment else f"status={status}",
        )

    def handover_copy(self, out: str | Path) -> Path:
        """Write a hand-over copy (needs ``export``)."""
        return Path(
            self._guard("export", lambda: self.store.handover_copy(out), target=Path(out).name)
        )

    # -- reads -------------------------------------------------------------------------
    def load(self, version: int | None = None) -> dict[str, pd.DataFrame]:
        """Return the layers of a version (needs ``view``)."""
        target = "latest" if version is None else f"version {int(version)}"
        return self._guard("view", lambda: self.store.load(version), target=target)

    def versions(self) -> pd.DataFrame:
        """Return every committed version (needs ``view``)."""
        return self._guard("view", self.store.versions, target="versions")

    def latest_version(self) -> int | None:
        """Return the latest version (needs ``view``)."""
        return self._guard("view", self.store.latest_version, target="latest version")

    def info(self, version: int | None = None) -> dict[str, Any]:
        """Return a version's ``plans`` row (needs ``view``)."""
        target = "latest" if version is None else f"version {int(version)}"
        return self._guard("view", lambda: self.store.info(version), target=target)

    def reviews(self) -> pd.DataFrame:
        """Return the review trail (needs ``view``)."""
        return self._guard("view", self.store.reviews, target="reviews")

    def audit(self) -> pd.DataFrame:
        """Return the audit of every attempt (needs ``view``; reading it is not recorded)."""
        authorize(self.user, "view")
        return self.store.audit()
