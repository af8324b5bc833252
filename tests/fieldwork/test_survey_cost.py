"""What one survey request costs the database: the statements of an autosave and a page.

Surveys are the app's busiest requests (every respondent's page saves a moment after each
change). These numbers are what the requests need today; a change that adds a statement
shows here and should say why it is worth it.
"""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from impactmodel.fieldwork import invitations, responses, surveys
from impactmodel.fieldwork.models import SafeguardingFlag
from tests.conftest import ENGINES
from tests.statements import statements

SAVE_STATEMENTS = 6   # the link with its response; claim; the answers; per answer an update,
#                       and for changed words a look for codings to move with them
PAGE_STATEMENTS = 2   # the link with its response, respondent, round and version; the answers
# Sending: PostgreSQL inserts the closed answers' codings in one statement, SQLite one each.
SEND_STATEMENTS = {"sqlite": 11, "postgresql": 10}
# Beginning: the link with its response; the version; the link again, inside the transaction;
# the respondent; claiming the link for them; the response; the audit event.
BEGIN_STATEMENTS = 7
# A page's two new answers: together on PostgreSQL; SQLite returns ids one row at a time.
NEW_ANSWER_INSERTS = {"sqlite": 2, "postgresql": 1}


def _begun(client, session, fw):
    invitation = invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                                role="parent", count=1)[0]
    assert client.post(f"/s/{invitation.token}", data={"consent": "yes", "mode": "self"}).status_code == 302
    return invitation


def _save(client, token, words, seq):
    return client.post(f"/s/{token}/1/save", data={
        "support_received": ["school", "other"], "support_received-other": words,
        "support_helpful": "quite", "seq": str(seq)})


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_an_autosave_and_a_page_take_a_fixed_number_of_statements(app, client, session, fw):
    invitation = _begun(client, session, fw)
    seq = int(time.time() * 1000)
    assert _save(client, invitation.token, "Grandma's friend", seq).status_code == 200
    with statements(app) as seen:
        saved = _save(client, invitation.token, "Grandma's friend, and her neighbour", seq + 1)
    assert saved.status_code == 200
    assert saved.get_json() == {"saved": {"support_received": seq + 1, "support_helpful": seq + 1},
                                "stale": {}}
    assert len(seen) == SAVE_STATEMENTS, "\n".join(seen)
    with statements(app) as seen:
        page = client.get(f"/s/{invitation.token}/1")
    assert page.status_code == 200 and "and her neighbour" in page.get_data(as_text=True)
    assert len(seen) == PAGE_STATEMENTS, "\n".join(seen)
    session.expire_all()
    stored = responses.answers_of(session, surveys.survey_response(session, invitation))
    assert stored["support_received"].text == "Grandma's friend, and her neighbour"
    assert stored["support_received"].client_seq == seq + 1


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_an_autosave_still_flags_words_of_concern_and_keeps_newer_answers(app, client, session, fw):
    invitation = _begun(client, session, fw)
    seq = int(time.time() * 1000)
    assert _save(client, invitation.token, "Our neighbour", seq + 5).status_code == 200
    late = _save(client, invitation.token, "An older copy", seq + 1)
    assert late.get_json()["stale"] == {"support_received": seq + 5, "support_helpful": seq + 5}
    assert session.scalar(sa.select(sa.func.count()).select_from(SafeguardingFlag)) == 0
    assert _save(client, invitation.token, "He hits me when I'm home", seq + 9).status_code == 200
    flag = session.scalar(sa.select(SafeguardingFlag))
    assert flag is not None and flag.authority_id == fw.authority.id
    session.expire_all()
    stored = responses.answers_of(session, surveys.survey_response(session, invitation))
    assert flag.answer_id == stored["support_received"].id


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_sending_a_survey_reads_its_answers_once_to_code_them(app, client, session, fw):
    invitation = _begun(client, session, fw)
    assert _save(client, invitation.token, "Grandma's friend", int(time.time() * 1000)).status_code == 200
    with statements(app) as seen:
        sent = client.post(f"/s/{invitation.token}/check")
    assert sent.headers["Location"].endswith(f"/s/{invitation.token}/thanks")
    answer_reads = [s for s in seen if s.lstrip().startswith("SELECT answer.")]
    # Whether anything is missing or answered at all (one read), then the codes and what they apply.
    assert len(answer_reads) == 2, "\n".join(seen)
    assert len(seen) == SEND_STATEMENTS[app.extensions["impactmodel.engine"].dialect.name], "\n".join(seen)
    session.expire_all()
    response = surveys.survey_response(session, invitation)
    assert response.status.value == "complete"
    assert responses.answers_of(session, response)["support_helpful"].value == "quite"


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_beginning_a_survey_reads_nothing_it_has_just_written(app, client, session, fw):
    invitation = invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                                role="parent", count=1)[0]
    assert client.get(f"/s/{invitation.token}").status_code == 200   # the instruments are synced
    with statements(app) as seen:
        begun = client.post(f"/s/{invitation.token}", data={"consent": "yes", "mode": "self"})
    assert begun.headers["Location"].endswith(f"/s/{invitation.token}/1")
    assert len(seen) == BEGIN_STATEMENTS, "\n".join(seen)
    session.expire_all()
    response = surveys.survey_response(session, invitation)
    assert response.consent_by == "self" and response.respondent.reference == f"parent-link-{invitation.id}"
    assert session.get(type(invitation), invitation.id).respondent_id == response.respondent_id
    # Opening the link again, or a second tab consenting too, finds the same response.
    again = client.post(f"/s/{invitation.token}", data={"consent": "yes", "mode": "self"})
    assert again.status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(type(response))
                          .where(type(response).respondent_id == response.respondent_id)) == 1


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_page_of_new_answers_is_inserted_together(app, client, session, fw):
    invitation = _begun(client, session, fw)
    with statements(app) as seen:
        saved = _save(client, invitation.token, "Grandma's friend", int(time.time() * 1000))
    assert saved.status_code == 200
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT INTO ANSWER")]
    assert len(inserts) == NEW_ANSWER_INSERTS[app.extensions["impactmodel.engine"].dialect.name], "\n".join(seen)
    session.expire_all()
    stored = responses.answers_of(session, surveys.survey_response(session, invitation))
    assert stored["support_received"].text == "Grandma's friend"
    assert stored["support_helpful"].value == "quite"
