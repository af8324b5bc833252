"""Sessions end on the server: a copied cookie stops working once its session is ended."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role, User
from tests.conftest import ENGINES, PASSWORD

NEW_PASSWORD = "otters juggle quietly at dawn"


def login(client, email, password=PASSWORD):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)


def copy_of(app, client):
    """A second client holding the same session cookie, as a thief who copied it would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def refused(client) -> bool:
    """Both ways a signed-out request is answered: pages redirect, scripts hear 401."""
    page = client.get("/")
    script = client.get("/", headers={"Accept": "application/json"})
    return (page.status_code == 302 and page.headers["Location"].startswith("/login")
            and script.status_code == 401 and "signed out" in script.get_json()["error"])


@pytest.fixture
def admin_client(app, make_user):
    admin = make_user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    return client


def edit(admin_client, user, **changes):
    data = {"name": user.name, "role": user.role.value, "active": "y",
            "authority_id": user.authority_id or 0,
            "assigned": [a.id for a in user.assigned_authorities]}
    data.update(changes)
    response = admin_client.post(f"/admin/users/{user.id}", data={k: v for k, v in data.items()
                                                                  if v is not None})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, client, make_user, session):
    user = make_user(Role.RESEARCHER)
    login(client, user.email)
    thief = copy_of(app, client)
    assert signed_in(thief)  # the copy works while the session lasts
    assert client.post("/logout").status_code == 302
    assert refused(thief)
    assert refused(client)
    assert session.scalar(sa.select(AuditEvent.action).where(AuditEvent.actor_id == user.id)
                          .order_by(AuditEvent.id.desc()).limit(1)) == "auth.logout"


def test_signing_out_ends_the_accounts_sessions_elsewhere(app, make_user):
    user = make_user(Role.ANALYST)
    office, home = app.test_client(), app.test_client()
    login(office, user.email)
    login(home, user.email)
    office.post("/logout")
    assert refused(home)
    login(home, user.email)  # signing in again works as before
    assert signed_in(home)


def test_no_remember_me_cookie_is_issued(client, make_user):
    login(client, make_user(Role.ANALYST).email)
    assert client.get_cookie("remember_token") is None


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_new_password_ends_the_accounts_sessions(app, client, admin_client, make_user):
    user = make_user(Role.ANALYST)
    login(client, user.email)
    thief = copy_of(app, client)
    edit(admin_client, user, password=NEW_PASSWORD)
    assert refused(client) and refused(thief)
    login(client, user.email, NEW_PASSWORD)
    assert signed_in(client)


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(
        app, client, admin_client, make_user):
    user = make_user(Role.ANALYST)
    login(client, user.email)
    thief = copy_of(app, client)
    edit(admin_client, user, active=None)  # an unticked box is not sent
    assert refused(thief)
    edit(admin_client, user, active="y")
    assert refused(thief) and refused(client)


def test_a_role_change_ends_sessions(app, client, admin_client, make_user):
    user = make_user(Role.RESEARCHER)
    login(client, user.email)
    edit(admin_client, user, role="analyst")
    assert refused(client)


def test_a_researchers_assignment_change_ends_sessions(client, admin_client, make_user,
                                                       make_authority):
    north, south = make_authority("Northshire"), make_authority("Southshire")
    user = make_user(Role.RESEARCHER, assigned=[north])
    login(client, user.email)
    edit(admin_client, user, assigned=[north.id, south.id])
    assert refused(client)


def test_a_contacts_authority_change_ends_sessions(client, admin_client, make_user, make_authority):
    north, south = make_authority("Northshire"), make_authority("Southshire")
    user = make_user(Role.AUTHORITY_CONTACT, authority=north)
    login(client, user.email)
    edit(admin_client, user, authority_id=south.id)
    assert refused(client)


def test_saving_an_unchanged_account_or_a_new_name_keeps_its_sessions(
        client, admin_client, make_user, make_authority, session):
    north = make_authority("Northshire")
    user = make_user(Role.RESEARCHER, assigned=[north])
    login(client, user.email)
    edit(admin_client, user)
    edit(admin_client, user, name="Renamed Researcher")
    assert signed_in(client)
    assert session.scalar(sa.select(User.name).where(User.id == user.id)) == "Renamed Researcher"


def test_an_administrator_setting_their_own_password_stays_signed_in_here_only(
        app, client, make_user):
    admin = make_user(Role.ADMIN)
    login(client, admin.email)
    other_device = app.test_client()
    login(other_device, admin.email)
    edit(client, admin, password=NEW_PASSWORD)
    assert signed_in(client)
    assert refused(other_device)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_changing_your_own_password(app, client, make_user, session):
    user = make_user(Role.ANALYST)
    login(client, user.email)
    thief = copy_of(app, client)
    page = client.get("/account/password")
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.get_data(as_text=True)
    before = session.scalar(sa.select(User.password_hash).where(User.id == user.id))

    wrong = client.post("/account/password", data={"current": "not my password at all",
                                                    "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "That is not your current password." in wrong.get_data(as_text=True)
    weak = client.post("/account/password", data={"current": PASSWORD, "new": "password12",
                                                   "confirm": "password12"})
    assert "This is a very common password." in weak.get_data(as_text=True)
    differ = client.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                                     "confirm": NEW_PASSWORD + "!"})
    assert "The two new passwords differ." in differ.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(sa.select(User.password_hash).where(User.id == user.id)) == before
    assert signed_in(thief)  # nothing happened: the copy still works

    done = client.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert signed_in(client)  # this session goes on...
    assert refused(thief)     # ...every other one has ended
    assert "user.password_change" in session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.entity_id == str(user.id))).all()
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 200
    login(fresh, user.email, NEW_PASSWORD)


def test_guessing_the_current_password_is_throttled(app, client, make_user):
    app.config["LOGIN_MAX_FAILURES"] = 2
    user = make_user(Role.ANALYST)
    login(client, user.email)
    for _ in range(2):
        client.post("/account/password", data={"current": "a wrong guess", "new": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD})
    blocked = client.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                                      "confirm": NEW_PASSWORD})
    assert blocked.status_code == 429
    assert "Too many wrong current passwords" in blocked.get_data(as_text=True)
    login(app.test_client(), user.email)  # the password is unchanged
