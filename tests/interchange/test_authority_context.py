"""Authorities' context in and out: ``impactmodel import context``, ``export context`` and the web
Import page; one row per authority taking part."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from impactmodel import create_app
from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role, User
from impactmodel.consortium.models import Participation
from impactmodel.interchange.authority_context import import_contexts
from impactmodel.interchange.csvio import ImportRejected
from tests.conftest import ENGINES, PASSWORD, config_for


def _context(session, authority):
    part = session.scalar(sa.select(Participation).where(Participation.authority_id == authority.id))
    session.refresh(part)
    return part.authority_type, part.children, part.integrated_since


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_context_round_trips_and_a_bad_row_imports_nothing(runner, session, make_round, make_authority, tmp_path):
    rnd = make_round("Round 1")
    north = make_authority("Northshire County Council", round=rnd)
    grey = make_authority("Greyford Borough Council", round=rnd)
    make_authority("Elsewhere Council")          # not taking part
    good = tmp_path / "context.csv"
    good.write_text("authority,authority_type,children,integrated_since\n"
                    "northshire  county council,county,\"162,000\",2003\n"
                    "Greyford Borough Council,london_borough,,\n", encoding="utf-8")
    result = runner.invoke(args=["import", "context", str(good), "--round", "Round 1"])
    assert result.exit_code == 0, result.output
    assert "recorded the context of 2 authorities" in result.output
    assert _context(session, north) == ("county", 162000, 2003)
    assert _context(session, grey) == ("london_borough", None, None)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "import.context")) == 1

    exported = runner.invoke(args=["export", "context", "--round", "Round 1"])
    assert exported.exit_code == 0
    assert exported.output.splitlines() == ["authority,authority_type,children,integrated_since",
                                            "Greyford Borough Council,london_borough,,",
                                            "Northshire County Council,county,162000,2003"]
    again = tmp_path / "again.csv"
    again.write_text(exported.output, encoding="utf-8")
    assert runner.invoke(args=["import", "context", str(again), "--round", "Round 1"]).exit_code == 0
    assert _context(session, north) == ("county", 162000, 2003)

    bad = tmp_path / "bad.csv"
    bad.write_text("authority,authority_type,children,integrated_since\n"
                   "Greyford Borough Council,unitary,50000,2004\n"          # fine on its own
                   "Northshire County Council,parish,lots,\n"
                   "Elsewhere Council,county,,\n"
                   "Greyford Borough Council,unitary,,\n"
                   "Nowhere,county,,\n", encoding="utf-8")
    refused = runner.invoke(args=["import", "context", str(bad), "--round", "Round 1"])
    assert refused.exit_code != 0
    out = refused.output
    assert "line 3: The type of authority must be one of" in out
    assert "line 4, column 'authority': 'Elsewhere Council' does not take part in Round 1" in out
    assert "line 5, column 'authority': line 2 already gives this authority's context" in out
    assert "line 6, column 'authority': 'Nowhere' does not take part" in out
    assert "line 3, column 'children': 'lots' is not a whole number" in out
    assert _context(session, grey) == ("london_borough", None, None)          # nothing imported
    check = runner.invoke(args=["import", "context", str(good), "--round", "Round 1", "--check"])
    assert check.exit_code == 0 and "would record" in check.output
    unknown = runner.invoke(args=["import", "context", str(good), "--round", "Round 9"])
    assert unknown.exit_code != 0 and "no round called 'Round 9': did you mean 'Round 1'?" in unknown.output


CONTEXT_CSV = ("authority,authority_type,children,integrated_since\n"
               "Northshire County Council,county,\"162,000\",2003\n"
               "Greyford Borough Council,london_borough,,2006\n")


def _upload(client, text: str, round_name: str, action: str = "import", **extra):
    return client.post("/import", data={"kind": "context", "round_choice": round_name, "new_round": "",
                                        "action": action, "file": (io.BytesIO(text.encode()), "context.csv"),
                                        **extra}, content_type="multipart/form-data")


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_an_administrator_checks_then_imports_context_on_the_web(client, auth, session, make_round, make_authority):
    rnd = make_round("Round 1")
    north = make_authority("Northshire County Council", round=rnd)
    grey = make_authority("Greyford Borough Council", round=rnd)
    admin = auth.login(Role.ADMIN)
    assert 'value="context"' in client.get("/import").get_data(as_text=True)

    check = _upload(client, CONTEXT_CSV, "Round 1", action="check")
    assert check.status_code == 200
    assert "Round 1: would record the context of 2 authorities." in check.get_data(as_text=True)
    assert _context(session, north) == (None, None, None)          # checking records nothing

    done = _upload(client, CONTEXT_CSV, "Round 1")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/rounds/{rnd.id}")
    assert "Round 1: recorded the context of 2 authorities." in client.get(done.headers["Location"]).get_data(
        as_text=True)
    assert _context(session, north) == ("county", 162000, 2003)
    assert _context(session, grey) == ("london_borough", None, 2006)
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "import.context"))
    assert (event.actor_id, event.entity_id, event.details) == (admin.id, str(rnd.id), {"rows": 2})


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_bad_context_file_on_the_web_lists_every_problem_and_records_nothing(client, auth, session, make_round,
                                                                              make_authority):
    rnd = make_round("Round 1")
    north = make_authority("Northshire County Council", round=rnd)
    make_authority("Greyford Borough Council", round=rnd)
    make_authority("Elsewhere Council")                               # not taking part
    auth.login(Role.ADMIN)
    bad = ("authority,authority_type,children,integrated_since\n"
           "Northshire County Council,county,120000,2004\n"             # fine on its own
           "Elsewhere Council,county,,\n"
           "Greyford Borough Council,parish,lots,\n"
           "Northshire County Council,unitary,,\n")
    response = _upload(client, bad, "Round 1")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported: 4 problems" in page
    assert ("<td>3</td><td>authority</td><td>&#39;Elsewhere Council&#39; does not take part in Round 1</td>"
            in page)
    assert "<td>4</td><td>children</td><td>&#39;lots&#39; is not a whole number</td>" in page
    assert "<td>4</td><td>—</td><td>The type of authority must be one of" in page
    assert "<td>5</td><td>authority</td><td>line 2 already gives this authority&#39;s context</td>" in page
    assert "<td>2</td>" not in page
    unknown = _upload(client, CONTEXT_CSV, "__new__", new_round="Round 9")
    assert unknown.status_code == 422 and "no round called &#39;Round 9&#39;" in unknown.get_data(as_text=True)
    assert _context(session, north) == (None, None, None)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "import.context")) == 0


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_only_an_administrator_imports_context(client, auth, session, make_round, make_authority):
    rnd = make_round("Round 1")
    north = make_authority("Northshire County Council", round=rnd)
    make_authority("Greyford Borough Council", round=rnd)
    auth.login(Role.RESEARCHER, assigned=[north])
    assert 'value="context"' not in client.get("/import").get_data(as_text=True)
    refused = _upload(client, CONTEXT_CSV, "Round 1")
    assert refused.status_code == 422
    assert _context(session, north) == (None, None, None)
    # The service refuses too, whatever page calls it.
    researcher = session.scalar(sa.select(User).where(User.role == Role.RESEARCHER))
    with pytest.raises(ImportRejected, match="only an administrator records authorities' context"):
        import_contexts(session, io.StringIO(CONTEXT_CSV), "Round 1", actor=researcher)
    assert _context(session, north) == (None, None, None)


@pytest.fixture
def csrf_client(database_url):
    return create_app(config_for(database_url, WTF_CSRF_ENABLED=True)).test_client()


def test_a_context_upload_without_its_csrf_token_is_refused(csrf_client, session, make_round, make_authority,
                                                             make_user):
    rnd = make_round("Round 1")
    north = make_authority("Northshire County Council", round=rnd)
    admin = make_user(Role.ADMIN)
    page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert csrf_client.post("/login", data={"email": admin.email, "password": PASSWORD,
                                            "csrf_token": token}).status_code == 302
    response = _upload(csrf_client, CONTEXT_CSV, "Round 1")
    assert response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
    assert _context(session, north) == (None, None, None)
