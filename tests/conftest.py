"""Shared fixtures: apps on SQLite or a real PostgreSQL, clients, log-ins and factories.

Each test gets a database of its own, copied from a template that was migrated to
head once per run: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on
PostgreSQL. Tests therefore commit for real, as the app does, and threads (the
browser tests' live server, the concurrency tests) see each other's writes.
"""
from __future__ import annotations

import itertools
import os
import shutil
import uuid

import pytest
from alembic import command
from sqlalchemy.orm import Session

from impactmodel import create_app
from impactmodel.auth.models import Role
from impactmodel.auth.services import create_user
from impactmodel.consortium import services as consortium
from impactmodel.enums import RespondentRole
from impactmodel.schema import alembic_config
from tests.pgserver import PostgresServer

PASSWORD = "correct horse battery"
ENGINES = ["sqlite", "postgresql"]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    command.upgrade(alembic_config(f"sqlite:///{path}"), "head")
    return path


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template(postgres):
    postgres.create_database("template_impactmodel")
    command.upgrade(alembic_config(postgres.url("template_impactmodel")), "head")
    return "template_impactmodel"


@pytest.fixture
def database_url(request, tmp_path):
    """A fresh, migrated database. Parametrise with ``engine`` to choose; SQLite by default."""
    engine = getattr(request, "param", "sqlite")
    if engine == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
    else:
        server = request.getfixturevalue("postgres")
        name = f"t_{uuid.uuid4().hex[:12]}"
        url = server.create_database(name, template=request.getfixturevalue("pg_template"))
        yield url
        server.drop_database(name)


def config_for(database_url: str, **extra) -> dict:
    return {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False, "BASE_URL": "http://localhost",
            # Real Argon2id, cheaper parameters: hashing is not what these tests measure.
            "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, **extra}


@pytest.fixture
def app_config():
    """Override in a module or test to change the app's configuration."""
    return {}


@pytest.fixture
def app(database_url, app_config, tmp_path):
    app = create_app(config_for(database_url, **app_config))
    yield app
    app.extensions["impactmodel.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """A session on the test database for arranging and checking data.

    Deliberately not the app's ``db.session``: pushing an app context for the
    whole test would make every test-client request share it (and its ``g``),
    which no real request does. Use ``with app.app_context():`` for code that
    needs one.
    """
    with Session(bind=app.extensions["impactmodel.engine"], expire_on_commit=False) as s:
        yield s


_seq = itertools.count(1)


@pytest.fixture
def make_round(session):
    def make(name: str | None = None):
        rnd = consortium.get_or_create_round(session, name or f"Round {next(_seq)}")
        session.commit()
        return rnd
    return make


@pytest.fixture
def make_authority(session):
    def make(name: str | None = None, round=None):
        authority = consortium.get_or_create_authority(session, name or f"Borough {next(_seq)}")
        if round is not None:
            consortium.ensure_participation(session, round, authority)
        session.commit()
        return authority
    return make


@pytest.fixture
def make_user(app, session):
    def make(role: Role | str = Role.ADMIN, email: str | None = None, authority=None,
             assigned=(), password: str = PASSWORD):
        role = Role(role)
        with app.app_context():  # the hashing cost comes from the app's configuration
            return create_user(session, "test", email=email or f"{role.value}{next(_seq)}@example.org",
                               name=f"Test {role.label}", role=role, password=password,
                               authority_id=authority.id if authority is not None else None,
                               assigned_authority_ids=[a.id for a in assigned])
    return make


@pytest.fixture
def make_respondent(session):
    def make(round, authority, role: RespondentRole | str = RespondentRole.PRACTITIONER,
             reference: str | None = None, level: float | None = None, key_group: str | None = None):
        kg = consortium.key_group(session, round, key_group) if key_group else None
        resp = consortium.get_or_create_respondent(
            session, round, authority, reference or f"r{next(_seq)}", RespondentRole(role),
            kg.id if kg else None)
        consortium.ensure_participation(session, round, authority)
        resp.impact_level = level
        session.commit()
        return resp
    return make


class AuthActions:
    def __init__(self, client, make_user):
        self.client, self.make_user = client, make_user

    def login(self, user_or_role=Role.ADMIN, **kwargs):
        user = user_or_role
        if isinstance(user_or_role, (Role, str)):
            user = self.make_user(user_or_role, **kwargs)
        response = self.client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client, make_user):
    return AuthActions(client, make_user)


# --- Browser tests: the real app in a thread, driven in the system's headless Chromium ---

# Where Debian (package chromium) and Ubuntu (the snap, or an older chromium-browser) put it;
# IMPACTMODEL_TEST_CHROMIUM names any other.
CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium"]


def find_chromium() -> str:
    chosen = os.environ.get("IMPACTMODEL_TEST_CHROMIUM")
    found = [chosen] if chosen else [p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)]
    if not found:
        pytest.fail("no Chromium found at " + ", ".join(CHROMIUM_PATHS)
                    + ": run `make system-deps`, or set IMPACTMODEL_TEST_CHROMIUM")
    return found[0]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_server(app):
    """Serve ``app`` on a free loopback port; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app.config["BASE_URL"]
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    """A fresh browser profile per test; pass ``viewport`` etc. via ``browser_context_args``."""
    context = chromium.new_context()
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()
