"""Accounts: hashing, log-in throttling, cookies, CSRF on every form, account admin."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from impactmodel import create_app
from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role, User
from tests.conftest import ENGINES, PASSWORD, config_for


def login(client, email, password=PASSWORD, **kw):
    return client.post("/login", data={"email": email, "password": password}, **kw)


def test_password_is_hashed_with_argon2id(make_user):
    user = make_user(Role.ANALYST)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_login_and_wrong_password(client, make_user):
    user = make_user(Role.RESEARCHER)
    bad = login(client, user.email, "wrong password!")
    assert bad.status_code == 200
    assert "do not match an active account" in bad.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert login(client, user.email.upper()).status_code == 302  # e-mail is case-insensitive
    assert client.get("/").status_code == 200


def test_login_is_throttled_after_repeated_failures(client, make_user):
    user = make_user(Role.RESEARCHER)
    for _ in range(5):
        assert login(client, user.email, "not the password").status_code == 200
    blocked = login(client, user.email)  # even the right password is refused for a while
    assert blocked.status_code == 429
    assert "Too many unsuccessful attempts" in blocked.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_deactivated_account_cannot_sign_in(client, make_user, session):
    user = make_user(Role.ANALYST)
    session.get(User, user.id).active = False
    session.commit()
    assert login(client, user.email).status_code == 200
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target,expected", [
    ("/rounds/1", "/rounds/1"), ("//evil.example/x", "/"), ("https://evil.example/", "/")])
def test_next_parameter_stays_on_site(client, make_user, target, expected):
    user = make_user(Role.ADMIN)
    response = login(client, user.email, query_string={"next": target})
    assert response.headers["Location"] == expected


def test_production_cookie_settings(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "k"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_environment_configures_the_app(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPACTMODEL_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    monkeypatch.setenv("IMPACTMODEL_SESSION_COOKIE_SECURE", "false")
    monkeypatch.setenv("IMPACTMODEL_BASE_URL", "https://larc.example.org")
    monkeypatch.setenv("IMPACTMODEL_SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["DATABASE_URL"].endswith("env.sqlite")
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["BASE_URL"] == "https://larc.example.org"
    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def csrf_app(database_url):
    return create_app(config_for(database_url, WTF_CSRF_ENABLED=True))


def test_every_post_endpoint_refuses_a_missing_csrf_token(csrf_app, session, make_user):
    admin = make_user(Role.ADMIN)
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": admin.email, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    checked = []
    for rule in csrf_app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "static":
            continue
        from werkzeug.routing import IntegerConverter
        args = {arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x" for arg in rule.arguments}
        url = rule.build(args, append_unknown=False)[1]
        response = client.post(url, data={"anything": "1"})
        assert response.status_code == 400, f"{rule.endpoint} accepted a POST without a CSRF token"
        assert "This form has expired" in response.get_data(as_text=True)
        checked.append(rule.endpoint)
    assert "auth.login" in checked and "consortium.create_round" in checked
    assert any(e.startswith("survey.") for e in checked)  # respondents' pages too


def test_admin_creates_and_edits_accounts(client, auth, session, make_authority):
    admin = auth.login(Role.ADMIN)
    north = make_authority("Northshire")
    bad = client.post("/admin/users/new", data={"email": "not-an-address", "role": "analyst",
                                                "password": "long enough pw"})
    assert "Enter an e-mail address" in bad.get_data(as_text=True)
    missing_authority = client.post("/admin/users/new", data={
        "email": "c@example.org", "role": "authority_contact", "authority_id": 0,
        "password": "long enough pw"})
    assert "must belong to an authority" in missing_authority.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    ok = client.post("/admin/users/new", data={"email": "c@example.org", "name": "Contact",
                                               "role": "authority_contact", "authority_id": north.id,
                                               "password": "long enough pw"})
    assert ok.status_code == 302
    contact = session.scalar(sa.select(User).where(User.email == "c@example.org"))
    assert contact.role is Role.AUTHORITY_CONTACT and contact.authority_id == north.id
    dup = client.post("/admin/users/new", data={"email": "C@example.org", "role": "analyst",
                                                "password": "long enough pw"})
    assert "There is already an account" in dup.get_data(as_text=True)
    self_demote = client.post(f"/admin/users/{admin.id}", data={"role": "analyst", "active": "y"})
    assert "cannot remove your own administrator access" in self_demote.get_data(as_text=True)
    actions = session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("user.create") == 2  # the admin (by the fixture) and the contact


def test_password_change_ends_existing_sessions(app, client, auth, make_user):
    user = make_user(Role.ANALYST)
    auth.login(user)
    assert client.get("/").status_code == 200
    admin = make_user(Role.ADMIN)
    admin_client = app.test_client()
    assert login(admin_client, admin.email).status_code == 302
    changed = admin_client.post(f"/admin/users/{user.id}", data={
        "name": "x", "role": "analyst", "active": "y", "password": "a brand new password"})
    assert changed.status_code == 302
    assert client.get("/").status_code == 302  # the old session no longer signs them in


def test_many_failures_from_one_address_are_throttled(app, client, make_user):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    users = [make_user(Role.ANALYST) for _ in range(2)]
    for user in users:
        login(client, user.email, "wrong password!")
    login(client, "nobody@example.org", "wrong password!")
    other = make_user(Role.ANALYST)
    assert login(client, other.email).status_code == 429  # a new account, but the same client


def test_production_hashing_cost_is_argon2_defaults(tmp_path):
    from argon2 import PasswordHasher
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "k"})
    defaults = PasswordHasher()
    assert (app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"]) == \
        (defaults.time_cost, defaults.memory_cost)


def test_internal_and_test_domains_are_accepted(client, auth, session):
    auth.login(Role.ADMIN)
    response = client.post("/admin/users/new", data={"email": "New.Researcher@demo.larc.test",
                                                      "role": "analyst", "password": "long enough pw"})
    assert response.status_code == 302
    assert session.scalar(sa.select(User.id).where(User.email == "New.Researcher@demo.larc.test"))


def test_fields_render_no_empty_aria_attributes(client, auth):
    auth.login(Role.ADMIN)
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'aria-describedby=""' not in page and '"None"' not in page
    assert 'aria-describedby="role-hint"' in page
    bad = client.post("/admin/users/new", data={"email": "nope", "role": "analyst"}).get_data(as_text=True)
    assert 'aria-invalid="true"' in bad and 'aria-describedby="email-err"' in bad


def test_new_account_form_defaults_to_the_least_privileged_role(client, auth, session):
    auth.login(Role.ADMIN)
    page = client.get("/admin/users/new").get_data(as_text=True)
    selected = re.findall(r'<option selected value="([^"]+)">', page)
    assert selected == ["analyst"]
    response = client.post("/admin/users/new", data={"email": "new@example.org",
                                                      "password": "long enough pw"})
    assert response.status_code == 302  # no role chosen: the default, not an administrator
    assert session.scalar(sa.select(User.role).where(User.email == "new@example.org")) is Role.ANALYST
