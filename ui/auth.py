"""Optional sign-in and the one check every action goes through.

Sign-in is off by default: the app opens on the sample and everyone is a local planner
with every right (:data:`gis.users.LOCAL_USER`, role ``approver``). It is turned on by
settings, in this order:

1. an ``[auth]`` section in Streamlit's secrets: planners sign in with ``st.login``
   (OIDC); their role comes from ``[gridplan.roles]`` (e-mail → role, ``viewer`` for
   anyone not listed);
2. a users file (``gridplan users add``), named by the environment variable
   ``GRIDPLAN_USERS`` or by ``users_file`` in the ``[gridplan]`` secrets: a sign-in form
   checks the name and password with :func:`gis.users.verify_password`.

Pages disable what the planner's role does not allow (:func:`allowed`, :func:`why_not`)
and call :func:`ui.project.require` before acting; plan-store writes go through
:class:`gis.users.GuardedStore` (``ui.project``). Both record every attempt in the plan
store's audit. The signed-in user lives in this session's state only.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from gis.errors import GridplanError
from gis.users import (
    LOCAL_USER,
    ROLE_LABELS,
    PermissionDenied,
    SignInThrottle,
    User,
    authorize,
    load_users,
    may,
    role_for,
    verify_password,
)
from ui.i18n import gettext as _
from ui.i18n import language

__all__ = [
    "allowed",
    "enabled",
    "gate",
    "mode",
    "sidebar",
    "user",
    "users_file",
    "why_not",
]

_USER = "auth_user"  # the User signed in with the users file
_ANONYMOUS = User("anonymous", "", "viewer")  # sign-in on, nobody signed in: fail closed


# --------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------
def _secrets() -> Mapping[str, Any]:
    """Streamlit's secrets, or nothing when there is no secrets.toml."""
    try:
        return st.secrets.to_dict()
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return {}


def _gridplan_secrets() -> Mapping[str, Any]:
    section = _secrets().get("gridplan", {})
    return section if isinstance(section, Mapping) else {}


def users_file() -> Path | None:
    """Return the users file named by ``GRIDPLAN_USERS`` or ``[gridplan] users_file``."""
    name = os.environ.get("GRIDPLAN_USERS") or _gridplan_secrets().get("users_file")
    return Path(str(name)) if name else None


def mode() -> str:
    """How planners sign in: ``oidc`` (``st.login``), ``users_file`` or ``off``."""
    if "auth" in _secrets():
        return "oidc"
    if users_file() is not None:
        return "users_file"
    return "off"


def enabled() -> bool:
    """Whether planners sign in (otherwise everyone is a local planner)."""
    return mode() != "off"


# --------------------------------------------------------------------------------------
# who is signed in
# --------------------------------------------------------------------------------------
def _oidc_user() -> User | None:
    if not st.user.get("is_logged_in", False):
        return None
    email = str(st.user.get("email") or st.user.get("sub") or "")
    roles = _gridplan_secrets().get("roles", {})
    return User(email, str(st.user.get("name") or ""), role_for(email, roles))


def _refresh_file_user() -> User | None:
    """Read the signed-in user again from the users file (a removed user is signed out).

    Called once a run (by :func:`gate`), so a changed role applies at the next click.
    """
    signed_in: User | None = st.session_state.get(_USER)
    path = users_file()
    if signed_in is None or path is None:
        return None
    try:
        account = load_users(path).get(signed_in.name)
    except GridplanError:
        return signed_in  # a broken file is reported at the next sign-in
    if account is None:
        st.session_state.pop(_USER, None)
        return None
    st.session_state[_USER] = account.user
    return account.user


def user() -> User:
    """Who is acting: the signed-in planner, or the local planner when sign-in is off.

    With sign-in on and nobody signed in, an anonymous viewer (who may change nothing).
    """
    how = mode()
    if how == "off":
        return LOCAL_USER
    if how == "oidc":
        try:
            found = _oidc_user()
        except GridplanError:  # a bad [gridplan.roles] table: reported by gate()
            found = None
    else:
        found = st.session_state.get(_USER)
    return found or _ANONYMOUS


def allowed(action: str) -> bool:
    """Whether the planner may do ``action`` (for a widget's ``disabled=not allowed(…)``)."""
    return may(user(), action)


def why_not(action: str) -> str | None:
    """Why the planner may not do ``action``, in their language (``None`` when they may)."""
    try:
        authorize(user(), action)
    except PermissionDenied as err:
        return err.render(language())
    return None


# --------------------------------------------------------------------------------------
# the sign-in page and the sidebar
# --------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _throttle() -> SignInThrottle:
    """One record of failed sign-ins for the whole server: every session, every planner
    (an attacker opening new sessions meets the same lock)."""
    return SignInThrottle()


def _sign_in_form(path: Path) -> NoReturn:
    st.title(_("Sign in"))
    st.caption(_("Your role decides what you may change: viewer, editor or approver."))
    with st.form("signin_form", clear_on_submit=True):
        name = st.text_input(_("Name"), key="w_signin_name")
        password = st.text_input(_("Password"), type="password", key="w_signin_password")
        submitted = st.form_submit_button(_("Sign in"), type="primary")
    if submitted:
        try:
            signed_in = verify_password(load_users(path), name, password, throttle=_throttle())
        except GridplanError as err:
            st.error(err.render(language()))
        else:
            st.session_state[_USER] = signed_in
            st.rerun()
    st.stop()


def _authlib_installed() -> bool:
    """Whether Authlib, which ``st.login`` needs, is installed (the ``oidc`` extra)."""
    return importlib.util.find_spec("authlib") is not None


def _oidc_sign_in() -> NoReturn:
    st.title(_("Sign in"))
    st.caption(_("Your role decides what you may change: viewer, editor or approver."))
    if not _authlib_installed():
        st.error(
            _(
                "Signing in with your organisation's account needs the Authlib package, which "
                "is not installed. Ask the administrator to run: bash scripts/setup.sh oidc"
            )
        )
        st.stop()
    provider = _gridplan_secrets().get("provider")
    if st.button(_("Sign in with your organisation's account"), type="primary"):
        st.login(str(provider) if provider else None)
    st.stop()


def gate() -> User:
    """Return who is acting; with sign-in on and nobody signed in, show the sign-in page."""
    how = mode()
    if how == "users_file" and _refresh_file_user() is None:
        path = users_file()
        assert path is not None
        _sign_in_form(path)
    if how == "oidc":
        try:
            found = _oidc_user()
        except GridplanError as err:
            st.error(err.render(language()))
            st.stop()
        if found is None:
            _oidc_sign_in()
    return user()


def sidebar() -> None:
    """Show who is signed in, their role and a sign-out button (nothing when sign-in is off)."""
    how = mode()
    if how == "off":
        return
    who = user()
    st.sidebar.caption(
        _("Signed in as {user} ({role})").format(user=who.label, role=_(ROLE_LABELS[who.role]))
    )
    if st.sidebar.button(_("Sign out"), key="w_signout"):
        # Forget the session's work too (only the language stays): the next planner at
        # this browser starts afresh, as themselves.
        for key in [k for k in st.session_state if k != "lang"]:
            del st.session_state[key]
        if how == "oidc":
            st.logout()
        st.rerun()
