"""Sign-in, roles and the audit: gis.users, the ``gridplan users`` CLI and the app's sign-in.

Passwords are hashed with a cheap argon2 setting here (verification reads the cost from
the hash), so the tests stay fast; the library's default cost is argon2-cffi's.
"""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pandas as pd
import pytest
from argon2 import PasswordHasher
from shapely import box
from streamlit.testing.v1 import AppTest

import cli
from gis.users import (
    ACTIONS,
    LOCAL_USER,
    ROLES,
    Account,
    GuardedStore,
    PermissionDenied,
    SignInError,
    SignInThrottle,
    ThrottleSettings,
    User,
    UserFileError,
    add_user,
    authorize,
    hash_password,
    load_users,
    may,
    needed_role,
    remove_user,
    role_for,
    verify_password,
)
from gis.i18n import translator
from gis.store import PlanStore

REPO = Path(__file__).resolve().parents[1]
CHEAP = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
PASSWORD = "correct-horse-42"


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


def denied(user: User, action: str, lang: str = "zh_CN") -> str:
    with pytest.raises(PermissionDenied) as info:
        authorize(user, action)
    return info.value.render(lang)


# -- the role table -------------------------------------------------------------------------------
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_and_action(role, action):
    user = User("u", role=role)
    if may(user, action):
        authorize(user, action)  # no error
    else:
        with pytest.raises(PermissionDenied, match=f"which may not {ACTIONS[action].label}"):
            authorize(user, action)
    # Rights are nested: whatever a role may do, every role above it may do too.
    above = ROLES[ROLES.index(role) :]
    if may(user, action):
        assert all(may(User("u", role=r), action) for r in above)
    # The role a message asks for is the least one that is allowed.
    needed = needed_role(action)
    assert may(User("u", role=needed), action)
    assert not any(may(User("u", role=r), action) for r in ROLES[: ROLES.index(needed)])


def test_the_key_facts_of_the_role_table():
    viewer, editor, approver = (User("u", role=r) for r in ROLES)
    assert may(viewer, "view") and may(viewer, "export")
    assert not may(viewer, "save") and not may(viewer, "upload") and not may(viewer, "run")
    for action in ("upload", "edit_rules", "run", "draw", "save"):
        assert may(editor, action), action
    assert not may(editor, "review")  # an editor cannot approve
    assert all(may(approver, action) for action in ACTIONS)  # a senior who may also edit
    assert LOCAL_USER.role == "approver"  # sign-in off: every right


def test_unknown_roles_and_actions_are_refused():
    with pytest.raises(UserFileError, match="'boss' is not a role"):
        User("u", role="boss")
    with pytest.raises(ValueError, match="'delete' is not an action"):
        may(User("u", role="approver"), "delete")


def test_the_denied_message_in_english_and_chinese():
    user = User("wangfang", "王芳", "editor")
    assert denied(user, "review", "en") == (
        "王芳 (wangfang) is signed in as editor, which may not review proposals. "
        "Ask an administrator for the approver role."
    )
    assert denied(user, "review", "zh_CN") == (
        "王芳 (wangfang) 以编辑者身份登录，无权审核方案。请向管理员申请审批者角色。"
    )
    assert denied(User("lq", role="viewer"), "save", "zh_CN") == (
        "lq 以查看者身份登录，无权保存方案和规划。请向管理员申请编辑者角色。"
    )


def test_roles_from_an_identity_provider():
    roles = {"Wang.Fang@bureau.gov.cn": "approver", "li@bureau.gov.cn": "editor"}
    assert role_for("wang.fang@bureau.gov.cn ", roles) == "approver"
    assert role_for("LI@bureau.gov.cn", roles) == "editor"
    assert role_for("someone@else.cn", roles) == "viewer"
    assert role_for(None, None) == "viewer"
    with pytest.raises(UserFileError, match="'owner' is not a role"):
        role_for("x@y.cn", {"x@y.cn": "owner"})


# -- passwords and the users file ---------------------------------------------------------------
def test_hash_and_verify_password():
    digest = hash_password(PASSWORD, hasher=CHEAP)
    assert digest.startswith("$argon2id$") and PASSWORD not in digest
    assert hash_password(PASSWORD, hasher=CHEAP) != digest  # salted
    users = {"lq": Account(User("lq", "李强", "viewer"), digest)}
    assert verify_password(users, " lq ", PASSWORD) == User("lq", "李强", "viewer")
    with pytest.raises(SignInError) as wrong:
        verify_password(users, "lq", PASSWORD + "x")
    with pytest.raises(SignInError) as unknown:
        verify_password(users, "nobody", PASSWORD)
    # The same message either way: it does not tell which names exist.
    assert str(wrong.value) == str(unknown.value)
    assert wrong.value.render("zh_CN") == unknown.value.render("zh_CN")
    with pytest.raises(UserFileError, match="at least 8 characters"):
        hash_password("short")


def test_repeated_failures_lock_a_name_for_longer_each_time():
    now = [1000.0]
    throttle = SignInThrottle(
        ThrottleSettings(failures=3, window_s=600, lockout_s=60), clock=lambda: now[0]
    )
    users = {"lq": Account(User("lq", "李强", "viewer"), hash_password(PASSWORD, hasher=CHEAP))}
    for _ in range(3):
        with pytest.raises(SignInError, match="not right"):
            verify_password(users, "lq", "guess-guess", throttle=throttle)
    # locked: even the right password is refused, before it is checked
    with pytest.raises(SignInError) as locked:
        verify_password(users, "lq", PASSWORD, throttle=throttle)
    assert "Too many failed sign-ins" in locked.value.render("en")
    assert "lq" in locked.value.render("zh_CN") and locked.value.render(
        "zh_CN"
    ) != locked.value.render("en")
    # other names are not affected
    assert (
        verify_password(
            {**users, "wf": Account(User("wf", role="editor"), users["lq"].password_hash)},
            "wf",
            PASSWORD,
            throttle=throttle,
        ).name
        == "wf"
    )
    now[0] += 61  # the first lockout is over
    for _ in range(3):
        with pytest.raises(SignInError, match="not right"):
            verify_password(users, "lq", "guess-again", throttle=throttle)
    now[0] += 61  # the second lockout lasts twice as long
    with pytest.raises(SignInError, match="Too many"):
        throttle.check("lq")
    now[0] += 60
    assert verify_password(users, " lq ", PASSWORD, throttle=throttle).name == "lq"
    # a success forgets the record: two failures do not lock again
    for _ in range(2):
        with pytest.raises(SignInError, match="not right"):
            verify_password(users, "lq", "guess-3", throttle=throttle)
    throttle.check("lq")


def test_guesses_sent_in_parallel_meet_the_lock_too():
    import threading
    import time

    users = {"lq": Account(User("lq", "李强", "viewer"), hash_password(PASSWORD, hasher=CHEAP))}

    class SlowHasher:  # a real argon2 check takes tens of milliseconds
        def verify(self, digest: str, password: str) -> bool:
            time.sleep(0.02)
            return CHEAP.verify(digest, password)

    throttle = SignInThrottle(ThrottleSettings(failures=5))
    outcomes: list[str] = []

    def guess(i: int) -> None:
        try:
            verify_password(users, "lq", f"guess-{i}", hasher=SlowHasher(), throttle=throttle)
        except SignInError as err:
            outcomes.append("locked" if "Too many" in str(err) else "wrong")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("wrong") == 5 and outcomes.count("locked") == 15


def test_failures_outside_the_window_do_not_count_and_unknown_names_are_throttled_too():
    now = [0.0]
    throttle = SignInThrottle(
        ThrottleSettings(failures=2, window_s=60, lockout_s=30), clock=lambda: now[0]
    )
    throttle.failed("lq")
    now[0] = 61.0
    throttle.failed("lq")
    throttle.check("lq")  # the first failure left the window
    for _ in range(2):
        with pytest.raises(SignInError, match="not right"):
            verify_password({}, "nobody", "x", throttle=throttle)
    with pytest.raises(SignInError, match="Too many"):
        verify_password({}, "nobody", "x", throttle=throttle)


def test_a_damaged_hash_is_a_wrong_password_not_a_crash():
    users = {"lq": Account(User("lq", role="viewer"), "$argon2id$garbage")}
    with pytest.raises(SignInError):
        verify_password(users, "lq", PASSWORD)


def test_users_file_round_trip_and_atomic_private_writes(tmp_path):
    path = tmp_path / "conf" / "users.toml"
    add_user(path, "wangfang", role="editor", password=PASSWORD, display_name="王芳", hasher=CHEAP)
    add_user(path, 'o"brien', role="viewer", password=PASSWORD, hasher=CHEAP)
    add_user(path, "李强", role="approver", password=PASSWORD, hasher=CHEAP)
    users = load_users(path)
    assert {n: a.user.role for n, a in users.items()} == {
        "wangfang": "editor",
        'o"brien': "viewer",
        "李强": "approver",
    }
    assert users["wangfang"].user.display_name == "王芳"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # hashes are for the owner only
    assert PASSWORD not in path.read_text(encoding="utf-8")
    # Adding again changes the role and the password; nobody else is touched.
    add_user(path, "wangfang", role="approver", password="another-pass", hasher=CHEAP)
    users = load_users(path)
    assert users["wangfang"].user.role == "approver"
    assert verify_password(users, "wangfang", "another-pass").role == "approver"
    assert verify_password(users, 'o"brien', PASSWORD).role == "viewer"
    assert remove_user(path, 'o"brien').name == 'o"brien'
    assert set(load_users(path)) == {"wangfang", "李强"}
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == [
        "users.toml"
    ]  # no temporary file left behind
    with pytest.raises(UserFileError, match="has no user nobody"):
        remove_user(path, "nobody")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[users.lq\nrole = 1", "is not valid TOML"),
        ('users = "lq"', "needs a [users] table"),
        ('[users]\nlq = "viewer"', "must be a table"),
        ('[users.lq]\nrole = "boss"\npassword_hash = "$argon2id$x"', "has the role 'boss'"),
        ('[users.lq]\npassword_hash = "$argon2id$x"', "has the role ''"),
        ('[users.lq]\nrole = "viewer"', "has no argon2 password_hash"),
        ('[users.lq]\nrole = "viewer"\npassword_hash = "plain"', "has no argon2 password_hash"),
    ],
)
def test_bad_users_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "users.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_users(path)


def test_a_missing_users_file_says_how_to_create_it(tmp_path):
    with pytest.raises(UserFileError, match="gridplan users add NAME --role editor"):
        load_users(tmp_path / "users.toml")
    assert load_users(_empty(tmp_path / "empty.toml")) == {}


def _empty(path: Path) -> Path:
    path.write_text("# no users yet\n", encoding="utf-8")
    return path


# -- the guarded plan store and its audit ---------------------------------------------------------
def _layers() -> dict[str, pd.DataFrame]:
    import geopandas as gpd

    parts = gpd.GeoDataFrame(
        {"part": [1], "households": [40]}, geometry=[box(116.3, 40.0, 116.31, 40.01)], crs=4490
    )
    return {"proposals": parts, "lineage": pd.DataFrame({"building_id": ["B1"]})}


def test_guarded_store_records_allowed_and_refused_attempts(tmp_path):
    store = PlanStore(tmp_path / "plan.gpkg")
    viewer = User("lq", "李强", "viewer")
    editor = User("wangfang", "王芳", "editor")
    approver = User("zhao", "赵敏", "approver")

    version = GuardedStore(store, editor).save(_layers(), status="proposed", note="R1")
    with pytest.raises(PermissionDenied, match="may not save"):
        GuardedStore(store, viewer).save(_layers())
    with pytest.raises(PermissionDenied, match="may not review"):
        GuardedStore(store, editor).set_status(version, "accepted", comment="自己批准")
    GuardedStore(store, approver).set_status(version, "accepted", comment="同意")
    assert len(GuardedStore(store, viewer).load(version)["proposals"]) == 1
    copy = GuardedStore(store, viewer).handover_copy(tmp_path / "handover.gpkg")
    assert copy.is_file()

    # Nothing refused changed the store; the authors are the signed-in planners.
    assert store.versions()["version"].tolist() == [version]
    assert store.versions()["author"].tolist() == ["王芳 (wangfang)"]
    reviews = store.reviews()
    assert reviews["status"].tolist() == ["proposed", "accepted"]
    assert reviews["author"].tolist() == ["王芳 (wangfang)", "赵敏 (zhao)"]

    audit = store.audit()
    assert audit[["user", "role", "action", "allowed"]].values.tolist() == [
        ["wangfang", "editor", "save", True],
        ["lq", "viewer", "save", False],
        ["wangfang", "editor", "review", False],
        ["zhao", "approver", "review", True],
        ["lq", "viewer", "view", True],
        ["lq", "viewer", "export", True],
    ]
    assert audit["target"].tolist()[:4] == ["version 1", "", "version 1", "version 1"]
    assert "status=accepted" in audit["detail"].iloc[3]


def test_guarded_store_records_a_failed_action(tmp_path):
    store = PlanStore(tmp_path / "plan.gpkg")
    guarded = GuardedStore(store, User("zhao", role="approver"), author="赵敏")
    guarded.save(_layers())
    with pytest.raises(ValueError, match="not a plan status"):
        guarded.set_status(1, "approved")
    last = store.audit().iloc[-1]
    assert (last["action"], bool(last["allowed"])) == ("review", True)
    assert "failed" in last["detail"]
    assert guarded.reviews()["author"].tolist() == ["赵敏"]


# -- the gridplan users command -------------------------------------------------------------------
def test_cli_users_add_list_remove(tmp_path, monkeypatch, capsys):
    path = tmp_path / "users.toml"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = cli.main(
        ["users", "add", "wangfang", "--role", "editor", "--display-name", "王芳",
         "--password-stdin", "--file", str(path), "--json"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == {"file": str(path), "name": "wangfang", "role": "editor"}
    assert verify_password(load_users(path), "wangfang", PASSWORD).display_name == "王芳"

    # Typed at a hidden prompt, twice; GRIDPLAN_USERS names the file.
    monkeypatch.setenv("GRIDPLAN_USERS", str(path))
    typed = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert cli.main(["users", "add", "lq", "--role", "viewer", "--lang", "en"]) == 0
    assert "lq is now viewer" in capsys.readouterr().out
    assert cli.main(["users", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["users"]
    assert [(u["name"], u["role"]) for u in listed] == [("lq", "viewer"), ("wangfang", "editor")]
    assert "password_hash" not in json.dumps(listed)

    typed = iter([PASSWORD, "something-else"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert cli.main(["users", "add", "zhao", "--role", "approver", "--lang", "en"]) == 2
    assert "The two passwords differ" in capsys.readouterr().err
    assert cli.main(["users", "remove", "lq", "--lang", "en"]) == 0
    capsys.readouterr()
    assert set(load_users(path)) == {"wangfang"}


def test_cli_users_errors_are_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "users.toml"
    path.write_text('[users.lq]\nrole = "boss"\npassword_hash = "$argon2id$x"\n')
    assert cli.main(["users", "list", "--file", str(path), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has the role 'boss'" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    args = ["users", "add", "x", "--role", "viewer", "--password-stdin", "--file", str(path)]
    assert cli.main([*args, "--lang", "en"]) == 2
    assert cli.main(["users", "add", "x", "--role", "boss", "--file", str(path)]) == 2


# -- the app ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def users_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "users.toml"
    for name, display, role in [
        ("lq", "李强", "viewer"),
        ("wangfang", "王芳", "editor"),
        ("zhao", "赵敏", "approver"),
    ]:
        add_user(path, name, role=role, password=PASSWORD, display_name=display, hasher=CHEAP)
    return path


@pytest.fixture
def signed_app(monkeypatch, users_file):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("GRIDPLAN_USERS", str(users_file))

    def start(name: str | None = None, password: str = PASSWORD) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
        _ok(at)
        if name is not None:
            at.text_input(key="w_signin_name").set_value(name)
            at.text_input(key="w_signin_password").set_value(password)
            next(b for b in at.button if b.label == zh("Sign in")).click().run()
            _ok(at)
        return at

    return start


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def _split(at: AppTest) -> AppTest:
    """Show the split page with the engine's alternatives for the sample's one community."""
    at.session_state["split_request"] = {
        "community_id": "000000000000",
        "parts": None,
        "follow": ("roads", "waterways", "barriers"),
    }
    at.switch_page("ui/pages/split.py").run()
    return _ok(at)


def test_app_with_a_users_file_asks_who_you_are(signed_app):
    at = signed_app()
    assert [t.value for t in at.title] == [zh("Sign in")]
    assert "loaded" in at.session_state  # the sample is ready behind the form
    assert not any(b.key == "w_signout" for b in at.sidebar.button)
    at.text_input(key="w_signin_name").set_value("lq")
    at.text_input(key="w_signin_password").set_value("wrong-password")
    next(b for b in at.button if b.label == zh("Sign in")).click().run()
    _ok(at)
    with pytest.raises(SignInError) as err:
        verify_password({}, "lq", "x")
    assert [e.value for e in at.error] == [err.value.render("zh_CN")]
    assert [t.value for t in at.title] == [zh("Sign in")]


def test_the_app_locks_a_name_after_five_wrong_passwords(signed_app):
    at = signed_app()
    for attempt in range(6):
        at.text_input(key="w_signin_name").set_value("intruder")
        at.text_input(key="w_signin_password").set_value(f"guess-{attempt}")
        next(b for b in at.button if b.label == zh("Sign in")).click().run()
        _ok(at)
    [message] = [e.value for e in at.error]
    locked = zh(
        "Too many failed sign-ins for {name}. Wait {minutes} minute(s) and try again. "
        "If the password is forgotten, ask an administrator to set a new one."
    )
    assert message == locked.format(name="intruder", minutes=1)
    assert [t.value for t in at.title] == [zh("Sign in")]


def test_a_viewer_may_look_but_not_save(signed_app):
    at = signed_app("lq")
    viewer = User("lq", "李强", "viewer")
    assert [t.value for t in at.title] == [zh("Projects")]  # the app opens on the projects
    assert any("李强 (lq)" in c.value for c in at.sidebar.caption)
    at = _split(at)
    assert any(i.value == denied(viewer, "run") for i in at.info)
    assert next(b for b in at.button if b.label == zh("Propose splits")).disabled
    save = _button(at, "w_save_alt_1")
    assert save.disabled and save.help == denied(viewer, "save")
    at.switch_page("ui/pages/data.py").run()
    _ok(at)
    assert next(b for b in at.button if b.label == zh("Apply rules")).disabled
    assert next(b for b in at.button if b.label == zh("Use the sample")).disabled
    at.switch_page("ui/pages/export.py").run()
    _ok(at)
    assert not next(b for b in at.button if b.label == zh("Prepare the file")).disabled
    # Signing out shows the form again.
    _button(at.sidebar, "w_signout").click().run()
    _ok(at)
    assert [t.value for t in at.title] == [zh("Sign in")]
    assert "auth_user" not in at.session_state and "split_request" not in at.session_state


def test_an_editor_saves_but_cannot_accept_and_an_approver_can(signed_app):
    at = _split(signed_app("wangfang"))
    _button(at, "w_save_alt_1").click().run()
    _ok(at)
    assert [p.proposal_id for p in at.session_state["proposals"]] == ["000000000000-R1"]
    at.switch_page("ui/pages/review.py").run()
    _ok(at)
    editor = User("wangfang", "王芳", "editor")
    assert any(i.value == denied(editor, "review") for i in at.info)
    accept = _button(at, "w_accept_000000000000-R1")
    assert accept.disabled and accept.help == denied(editor, "review")
    assert not any(t.key == "w_reviewer" for t in at.text_input)  # signed by the sign-in

    at = _split(signed_app("zhao"))
    _button(at, "w_save_alt_1").click().run()
    at.switch_page("ui/pages/review.py").run()
    _button(at, "w_accept_000000000000-R1").click().run()
    at.text_area(key="w_comment_000000000000-R1").set_value("同意")
    _button(at, "w_review_yes").click().run()
    _ok(at)
    trail = next(t.value for t in at.dataframe if zh("comment") in t.value.columns)
    assert trail[zh("status")].tolist() == [zh("proposed"), zh("accepted")]
    assert trail[zh("by")].tolist() == ["赵敏 (zhao)", "赵敏 (zhao)"]
    audit = next(t.value for t in at.dataframe if zh("allowed") in t.value.columns)
    assert audit[zh("user")].tolist()[:2] == ["zhao", "zhao"]  # newest first: the review
    assert audit[zh("action")].tolist()[0] == zh(ACTIONS["review"].label)


def test_app_with_an_identity_provider_offers_its_sign_in(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("GRIDPLAN_USERS", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback"}
    at.run()
    _ok(at)
    assert [t.value for t in at.title] == [zh("Sign in")]
    assert any(b.label == zh("Sign in with your organisation's account") for b in at.button)


def test_app_with_an_identity_provider_but_no_authlib_says_what_to_install(monkeypatch):
    import ui.auth

    monkeypatch.chdir(REPO)
    monkeypatch.delenv("GRIDPLAN_USERS", raising=False)
    monkeypatch.setattr(ui.auth, "_authlib_installed", lambda: False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback"}
    at.run()
    _ok(at)
    assert [t.value for t in at.title] == [zh("Sign in")]
    [message] = [e.value for e in at.error]
    assert "Authlib" in message and "scripts/setup.sh oidc" in message
    assert not any(b.label == zh("Sign in with your organisation's account") for b in at.button)


def test_app_without_sign_in_opens_as_before(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("GRIDPLAN_USERS", raising=False)
    at = _ok(AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run())
    assert [t.value for t in at.title] == [zh("Projects")]  # the app opens on the projects
    assert not any(b.key == "w_signout" for b in at.sidebar.button)
    at.switch_page("ui/pages/review.py").run()
    _ok(at)
    assert any(t.key == "w_reviewer" for t in at.text_input)  # local use: type your name
