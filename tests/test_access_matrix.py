"""Every registered view × every role → allowed or refused, as declared in tests/access_rules/."""
from __future__ import annotations

import importlib
import pkgutil
from types import SimpleNamespace

import pytest

import tests.access_rules as rules_pkg
from impactmodel.auth.models import Role
from tests.access_rules import ANON
from tests.conftest import PASSWORD

ROLES = [ANON] + [r.value for r in Role]


def all_pages(world):
    pages = []
    for mod in pkgutil.iter_modules(rules_pkg.__path__):
        pages += importlib.import_module(f"{rules_pkg.__name__}.{mod.name}").pages(world)
    return pages


@pytest.fixture
def world(app, session, make_round, make_authority, make_user, make_respondent):
    rnd = make_round("Matrix round")
    authority = make_authority("Assigned Borough", round=rnd)
    other = make_authority("Other Borough", round=rnd)
    users = {
        "admin": make_user(Role.ADMIN),
        "researcher": make_user(Role.RESEARCHER, assigned=[authority]),
        "authority_contact": make_user(Role.AUTHORITY_CONTACT, authority=authority),
        "analyst": make_user(Role.ANALYST),
    }
    return SimpleNamespace(app=app, session=session, round=rnd, authority=authority, other=other,
                           users=users,
                           respondent=make_respondent(rnd, authority, "practitioner", level=2.5),
                           other_respondent=make_respondent(rnd, other, "manager", level=3))


def test_every_view_declares_a_rule_and_is_in_the_matrix(app, world):
    registered = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    undeclared = sorted(e for e in registered
                        if getattr(app.view_functions[e], "access_rule", None) is None)
    assert undeclared == [], f"views without an access rule: {undeclared}"
    listed = {p.endpoint for p in all_pages(world)}
    assert sorted(registered - listed) == [], "views missing from tests/access_rules/"
    assert sorted(listed - registered) == [], "tests/access_rules/ lists views that do not exist"


def test_access_matrix(app, world):
    failures = []
    pages = all_pages(world)
    for role in ROLES:
        client = app.test_client()
        if role != ANON:
            r = client.post("/login", data={"email": world.users[role].email, "password": PASSWORD})
            assert r.status_code == 302
        for page in pages:
            if page.endpoint == "auth.logout":
                continue  # would end this client's session; checked below
            # A page that destroys what it is about gives a callable making a fresh target.
            url = page.url(world) if callable(page.url) else page.url
            response = client.open(url, method=page.method, data=page.data)
            refused = response.status_code in (401, 403) or (
                response.status_code == 302 and "/login" in response.headers.get("Location", "")
                and page.endpoint != "auth.login")
            # Allowed means the view really ran: a 404 would hide a wrong URL in the matrix.
            allowed = not refused and (response.status_code < 400 or response.status_code in (400, 422))
            expected_allowed = role in page.allowed
            if (allowed if expected_allowed else refused) is False:
                failures.append(f"{role:18} {page.method:4} {url:45} -> {response.status_code} "
                                f"(expected {'allowed' if expected_allowed else 'refused'})")
    assert failures == [], "\n".join(failures)


def test_logout_needs_a_session(client, auth):
    assert client.post("/logout").status_code == 302
    assert "/login" in client.post("/logout").headers["Location"]
    auth.login()
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # signed out: sent to the log-in page
