"""Passwords: long enough and hard to guess, judged by zxcvbn with the account's own details."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role, User
from impactmodel.auth.services import (MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, PasswordRejected,
                                       check_password)
from impactmodel.demo.loader import DEMO_USERS
from tests.conftest import PASSWORD

EMAIL, NAME = "priya.sharma@northshire.gov.uk", "Priya Sharma"


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("password,reason", [
    ("password12", "This is a very common password."),
    ("1234567890", "This is a top-100 common password."),
    ("Password123!", "This is similar to a commonly used password."),
    ("qwertyuiop", "This is a top-100 common password."),
    (EMAIL, "It contains the account's e-mail address or name."),
    ("priya.sharma", "It contains the account's e-mail address or name."),
    ("priyasharma2026", "It contains the account's e-mail address or name."),
    ("Priya Sharma 1", "It contains the account's e-mail address or name."),
    ("northshire2026", "It contains the account's e-mail address or name."),
    ("impactmodel2026", "It contains the name of this service."),
])
def test_guessable_passwords_are_refused_with_the_librarys_reason(password, reason):
    with pytest.raises(PasswordRejected) as refusal:
        check_password(password, email=EMAIL, name=NAME)
    message = str(refusal.value)
    assert message.startswith("This password is too easy to guess.")
    assert reason in message


@pytest.mark.parametrize("password", [
    PASSWORD,                                          # the test suite's
    "otters juggle quietly at dawn",                   # a passphrase, all lower case
    "the quick brown fox jumps over the lazy dog and keeps running " * 3,  # long: 189 characters
    "z" * 8 + "Kp3#vw9Q",                              # no rule about what it is made of
])
def test_strong_passwords_of_any_make_up_are_accepted(password):
    assert check_password(password, email=EMAIL, name=NAME) is None     # refusal would raise


def test_length_limits():
    with pytest.raises(PasswordRejected, match=f"at least {MIN_PASSWORD_LENGTH} characters"):
        check_password("Kp3#vw9Q!", email=EMAIL, name=NAME)  # strong, but 9 characters
    phrase = "otters juggle quietly at dawn while herons count reeds by the weir"
    longest = phrase + "." * (MAX_PASSWORD_LENGTH - len(phrase))
    check_password(longest, email=EMAIL, name=NAME)
    with pytest.raises(PasswordRejected, match=f"at most {MAX_PASSWORD_LENGTH} characters"):
        check_password(longest + ".", email=EMAIL, name=NAME)


def test_a_long_passphrase_needs_a_strong_beginning():
    # The library judges at most 72 characters; a weak start is not rescued by what follows.
    with pytest.raises(PasswordRejected, match="Repeats"):
        check_password("a" * 80 + " otters juggle quietly", email=EMAIL, name=NAME)


@pytest.mark.parametrize("email,name,_role,password", DEMO_USERS)
def test_demo_passwords_pass(email, name, _role, password):
    assert check_password(password, email=email, name=name) is None     # refusal would raise


def test_new_account_with_a_weak_password_is_refused_and_nothing_is_created(client, auth, session):
    auth.login(Role.ADMIN)
    users, events = count(session, User), count(session, AuditEvent)
    response = client.post("/admin/users/new", data={"email": "jo.bloggs@example.org", "name": "Jo Bloggs",
                                                      "role": "analyst", "password": "jobloggs2026"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="password-err"' in page
    assert "It contains the account&#39;s e-mail address or name." in page
    assert (count(session, User), count(session, AuditEvent)) == (users, events)
    short = client.post("/admin/users/new", data={"email": "jo.bloggs@example.org", "role": "analyst",
                                                   "password": "short"})
    assert "Use at least 10 characters." in short.get_data(as_text=True)
    assert count(session, User) == users


def test_a_weak_new_password_for_an_account_changes_nothing(client, auth, make_user, session):
    auth.login(Role.ADMIN)
    user = make_user(Role.ANALYST)
    response = client.post(f"/admin/users/{user.id}", data={"name": "Renamed", "role": "researcher",
                                                             "active": "y", "password": "1234567890"})
    assert "This is a top-100 common password." in response.get_data(as_text=True)
    session.expire_all()
    unchanged = session.get(User, user.id)
    assert (unchanged.name, unchanged.role, unchanged.password_hash,
            unchanged.session_version) == (user.name, Role.ANALYST, user.password_hash, 0)


def test_cli_user_create_checks_the_password(runner, session):
    create = ["user", "create", "--email", "ops@example.org", "--role", "analyst"]
    weak = runner.invoke(args=create, input="password12\npassword12\n")
    assert weak.exit_code == 1
    assert "This is a very common password." in weak.output
    assert count(session, User) == 0
    own = runner.invoke(args=create, input="ops@example.org\nops@example.org\n")
    assert own.exit_code == 1 and "e-mail address or name" in own.output
    ok = runner.invoke(args=create, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert ok.exit_code == 0, ok.output
    assert session.scalar(sa.select(User.role).where(User.email == "ops@example.org")) is Role.ANALYST
