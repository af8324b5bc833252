"""The request boundary (impactmodel/inputs.py): unstorable text and JSON of the wrong
shape get a clear 400 and change nothing; storable text is kept exactly as sent."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel import codebook
from impactmodel.auth.models import LoginAttempt, Role
from impactmodel.coding.models import Memo
from impactmodel.fieldwork import interviews, invitations, responses, surveys
from impactmodel.fieldwork.models import Answer
from impactmodel.inputs import LARGEST_ID, as_id, unstorable
from tests.conftest import ENGINES


def _count(session, model):
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def place(make_round, make_authority):
    rnd = make_round("Round 1")
    return rnd, make_authority("Northshire", round=rnd)


@pytest.fixture
def interview(session, place, make_user):
    rnd, authority = place
    admin = make_user(Role.ADMIN)
    return interviews.start_interview(session, admin, round=rnd, authority=authority, role="dcs")


@pytest.fixture
def survey_link(session, place, make_user):
    rnd, authority = place
    admin = make_user(Role.ADMIN)
    link = invitations.create_invitations(session, admin, round=rnd, authority=authority, role="parent", count=1)[0]
    surveys.begin_survey(session, link, consent_by="self")
    return link


def test_unstorable_names_the_character():
    assert unstorable("Teams now share one plan, café, 😀, \u2028") is None
    assert unstorable("one\x00two") == "a NUL character"
    assert unstorable("lone \ud800 half") == "an unpaired surrogate character"
    assert unstorable("lone \udfff half") == "an unpaired surrogate character"


@pytest.mark.parametrize("value, expected", [
    ("12", 12), (12, 12), ("0", 0), (str(LARGEST_ID), LARGEST_ID), (str(LARGEST_ID + 1), None),
    (10 ** 30, None), ("\u00b2", None), ("\u0663", None), ("-3", None), (-3, None), ("", None),
    ("1.5", None), (1.5, None), (True, None), (None, None), ([1], None)])
def test_as_id_takes_only_ids_a_table_can_hold(value, expected):
    assert as_id(value) == expected


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_survey_answer_with_nul_is_refused_with_a_page_and_stores_nothing(client, session, survey_link):
    before = _count(session, Answer)
    response = client.post(f"/s/{survey_link.token}/2", data={"go": "next",
                                                              "child_difference_more": "We\x00were helped"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "The field &#39;child_difference_more&#39; in the form contains a NUL character, which cannot " \
           "be stored. Remove it and send again." in page
    assert "were helped" not in page
    assert _count(session, Answer) == before


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_survey_answer_is_stored_exactly_as_typed(client, session, survey_link):
    typed = "Cafe\u0301  \t and 😀\u200b\nnext line"   # not NFC, a zero-width space: all kept
    response = client.post(f"/s/{survey_link.token}/2", data={"go": "next", "child_difference_more": typed})
    assert response.status_code == 302
    stored = session.scalar(sa.select(Answer.text).where(Answer.question_key == "child_difference_more"))
    assert stored == typed


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_log_in_email_with_nul_is_refused_and_not_counted(client, session, make_user):
    user = make_user(Role.RESEARCHER)
    response = client.post("/login", data={"email": user.email + "\x00", "password": "x"})
    assert response.status_code == 400
    assert "The field &#39;email&#39; in the form contains a NUL character" in response.get_data(as_text=True)
    assert _count(session, LoginAttempt) == 0


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_autosave_refuses_an_unpaired_surrogate_in_json(client, auth, session, interview):
    auth.login(Role.ADMIN)
    url = f"/fieldwork/interviews/{interview.id}/answers"
    body = '{"answers": [{"key": "definition", "text": "Joined \\ud800 up", "seq": 1}]}'
    response = client.post(url, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": "The field 'answers[0].text' of the JSON contains an unpaired "
                                            "surrogate character, which cannot be stored. Remove it and send again."}
    assert _count(session, Answer) == 0
    # A surrogate pair, as JSON spells characters beyond the BMP, is one ordinary character.
    ok = client.post(url, data=body.replace("\\ud800", "\\ud83d\\ude00"), content_type="application/json")
    assert ok.status_code == 200
    assert session.scalar(sa.select(Answer.text)) == "Joined 😀 up"


@pytest.mark.parametrize("body, content_type, message", [
    ("[1, 2]", "application/json", "Send a JSON object"),
    ('"answers"', "application/json", "Send a JSON object"),
    ('{"answers": ', "application/json", "The body is not valid JSON (UTF-8)."),
    (b'{"answers": "\xff"}', "application/json", "The body is not valid JSON (UTF-8)."),
    ("[" * 50_000, "application/json", "The body is not valid JSON (UTF-8)."),
    ('{"answers": {"key": "definition"}}', "application/json", "The field 'answers' should be a list."),
    ('{"answers": [1]}', "application/json", 'Send {"answers": [{"key": ..., ...}]}.'),
    ('{"answers": []}', "text/plain", "Send a JSON object, with the header Content-Type: application/json."),
    ("answers=1", "application/x-www-form-urlencoded",
     "Send a JSON object, with the header Content-Type: application/json."),
])
def test_autosave_answers_json_errors_for_bodies_of_the_wrong_shape(client, auth, session, interview, body,
                                                                      content_type, message):
    auth.login(Role.ADMIN)
    response = client.post(f"/fieldwork/interviews/{interview.id}/answers", data=body, content_type=content_type,
                           headers={"Accept": "application/json"})   # as the page's script asks
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert _count(session, Answer) == 0


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_memo_fields_of_the_wrong_type_are_named(client, auth, session, interview):
    codebook.sync(session, codebook.load())
    responses.save_answers(session, "test", interview, [{"key": "definition", "text": "One plan", "seq": 1}])
    answer = session.scalar(sa.select(Answer))
    auth.login(Role.ADMIN)
    url = f"/coding/answers/{answer.id}/memos"
    for body, message in (({"text": 123}, "The field 'text' should be text."),
                          ({"text": ["a"]}, "The field 'text' should be text."),
                          ({"text": "ok", "coding_id": True}, "The field 'coding_id' should be a whole number or text."),
                          ([{"text": "a"}], "Send a JSON object")):
        response = client.post(url, json=body)
        assert response.status_code == 400 and message in response.get_json()["error"], body
    assert _count(session, Memo) == 0
    # A coding id beyond any table's is no coding of this answer: a plain refusal, not an error.
    response = client.post(url, json={"text": "Noted", "coding_id": 10 ** 30})
    assert response.status_code == 201
    assert client.post(url, json={"text": "Noted", "coding_id": "99999999999"}).status_code == 201


def test_json_to_a_form_is_refused(client, auth, session):
    auth.login(Role.ADMIN)
    response = client.post("/rounds", json={"name": 123})
    assert response.status_code == 400
    assert response.get_json() == {"error": "This address takes a form, not JSON."}


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_query_and_path_are_checked_too(client, auth, survey_link):
    auth.login(Role.ADMIN)
    response = client.get("/coding/", query_string={"question": "a\x00b"})
    assert response.status_code == 400
    assert "The field &#39;question&#39; in the address contains a NUL character" in response.get_data(as_text=True)
    assert client.get(f"/s/{survey_link.token}%00").status_code == 400
    assert client.get("/coding/", query_string={"round": str(LARGEST_ID + 1)}).status_code == 200
    assert client.get(f"/coding/answers/{LARGEST_ID + 1}").status_code == 404
    assert client.get(f"/rounds/{10 ** 30}").status_code == 404
