"""No answer or coding is lost: form saves from old tabs, unsent fields, edited coded text."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.codebook.models import Coding
from impactmodel.coding import services as coding
from impactmodel.fieldwork import interviews, responses
from tests.conftest import ENGINES
from tests.fieldwork.browser_form import form_fields, with_answers

SAID = "We meet weekly. The panel shares cases. Families notice."


def _interview(session, fw):
    return interviews.start_interview(session, fw.admin, round=fw.round, authority=fw.authority, role="dcs")


def _stored(session, response):
    session.expire_all()
    return responses.answers_of(session, response)


# --- Form saves ---------------------------------------------------------------------------

@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_save_from_an_older_tab_keeps_newer_autosaved_answers(client, auth, session, fw):
    response = _interview(session, fw)
    auth.login(fw.researcher)
    page = f"/fieldwork/interviews/{response.id}"
    old_tab = form_fields(client.get(page).get_data(as_text=True))
    # Another tab autosaves two answers after the old tab was opened.
    saved = client.post(f"{page}/answers", json={"answers": [
        {"key": "definition", "text": "Joined-up working", "note": "hesitated", "seq": 1700000000100},
        {"key": "impact_level", "value": 3, "seq": 1700000000100}]})
    assert saved.status_code == 200
    # The old tab's Save: its own edit to another question, the rest as it was loaded (blank).
    posted = client.post(page, data=with_answers(old_tab, l1_changes="A shared plan",
                                                 definition="Typed in the old tab"))
    assert posted.status_code == 409
    body = posted.get_data(as_text=True)
    assert "changed elsewhere after you opened this page" in body
    assert "You wrote: <span class=\"sent-text\">Typed in the old tab</span>" in body
    assert "Joined-up working" in body            # the form shows the answer kept
    answers = _stored(session, response)
    assert answers["definition"].text == "Joined-up working"
    assert answers["definition"].note == "hesitated"
    assert answers["impact_level"].value == 3.0
    assert answers["l1_changes"].text == "A shared plan"   # what only the old tab changed is saved
    # Saving the page as it now stands changes nothing and reports nothing.
    again = client.post(page, data=form_fields(body))
    assert again.status_code == 302
    assert _stored(session, response)["definition"].text == "Joined-up working"


def test_two_form_saves_from_the_same_version_keep_the_first(client, auth, session, fw):
    response = _interview(session, fw)
    auth.login(fw.researcher)
    page = f"/fieldwork/interviews/{response.id}"
    loaded = form_fields(client.get(page).get_data(as_text=True))
    assert client.post(page, data=with_answers(loaded, definition="First tab")).status_code == 302
    second = client.post(page, data=with_answers(loaded, definition="Second tab"))
    assert second.status_code == 409
    assert _stored(session, response)["definition"].text == "First tab"
    # An autosave typed after the form save is newer, and wins as usual.
    now = int(time.time() * 1000) + 1000
    assert client.post(f"{page}/answers", json={"answers": [
        {"key": "definition", "text": "Typed later", "seq": now}]}).get_json()["saved"] == {"definition": now}
    assert _stored(session, response)["definition"].text == "Typed later"


def test_a_save_without_answer_fields_changes_nothing(client, auth, session, fw):
    response = _interview(session, fw)
    responses.save_answers(session, fw.admin, response, [
        {"key": "definition", "text": "Joined-up", "note": "a note"}, {"key": "impact_level", "value": 2}])
    auth.login(fw.researcher)
    page = f"/fieldwork/interviews/{response.id}"
    empty = client.post(page, data={}, follow_redirects=True)
    assert "No answers were sent" in empty.get_data(as_text=True)
    answers = _stored(session, response)
    assert (answers["definition"].text, answers["definition"].note) == ("Joined-up", "a note")
    assert answers["impact_level"].value == 2.0
    # A question whose marker is sent but whose text box is not: the words stay.
    loaded = form_fields(client.get(page).get_data(as_text=True))
    del loaded["definition"]
    loaded["definition-note"] = "new note"
    assert client.post(page, data=loaded).status_code == 302
    answers = _stored(session, response)
    assert (answers["definition"].text, answers["definition"].note) == ("Joined-up", "new note")
    # Unticking every box of a sent question does clear it (browsers send nothing for it).
    loaded = form_fields(client.get(page).get_data(as_text=True))
    del loaded["impact_level"]
    assert client.post(page, data=loaded).status_code == 302
    assert _stored(session, response)["impact_level"].value is None


def test_an_autosave_clears_only_what_it_sends(client, auth, session, fw):
    response = _interview(session, fw)
    auth.login(fw.researcher)
    url = f"/fieldwork/interviews/{response.id}/answers"
    client.post(url, json={"answers": [{"key": "definition", "text": "Joined-up", "note": "hesitated",
                                        "seq": 1700000000100}]})
    client.post(url, json={"answers": [{"key": "definition", "text": "Joined-up working",
                                        "seq": 1700000000200}]})
    answers = _stored(session, response)
    assert (answers["definition"].text, answers["definition"].note) == ("Joined-up working", "hesitated")
    client.post(url, json={"answers": [{"key": "definition", "note": None, "seq": 1700000000300}]})
    answers = _stored(session, response)
    assert (answers["definition"].text, answers["definition"].note) == ("Joined-up working", None)


# --- Coded text that changes --------------------------------------------------------------

def _coded(session, fw, response, *spans):
    responses.save_answers(session, fw.admin, response, [{"key": "definition", "text": SAID}])
    answer = responses.answers_of(session, response)["definition"]
    made = [coding.add_coding(session, fw.researcher, answer.id, code, None, SAID.index(words),
                              SAID.index(words) + len(words)) for code, words in spans]
    return answer, [c.id for c in made]


def _rows(session, ids):
    session.expire_all()
    return [session.get(Coding, i) for i in ids]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_coded_spans_follow_their_words_or_wait_for_review(app, client, auth, session, fw):
    response = _interview(session, fw)
    with app.app_context():
        answer, ids = _coded(session, fw, response, ("L1.tools", "We meet weekly."),
                             ("L1.forums", "The panel shares cases."), ("L3.cyp.safer", "Families notice."))
    rows = _rows(session, ids)
    assert [c.excerpt for c in rows] == ["We meet weekly.", "The panel shares cases.", "Families notice."]
    # The interviewer adds words in front, drops the second sentence and repeats the third.
    new = "Since May: We meet weekly. Families notice. Families notice."
    report = responses.save_answers(session, fw.admin, response, [{"key": "definition", "text": new}])
    weekly, panel, families = _rows(session, ids)
    assert new[weekly.start:weekly.end] == "We meet weekly." and not weekly.needs_review
    for c in (panel, families):
        assert c.needs_review and c.start is None and c.end is None
    assert (panel.excerpt, families.excerpt) == ("The panel shares cases.", "Families notice.")
    assert sorted(report.flagged) == sorted([panel.id, families.id])
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "coding.reanchor"))
    assert event.details == {"moved": [weekly.id], "flagged": [panel.id, families.id]}
    assert SAID not in str(event.details)
    # The coder sees the flags; no page fails.
    auth.login(fw.researcher)
    page = client.get(f"/coding/answers/{answer.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "2 codings need review" in body and "The panel shares cases." in body
    listed = client.get(f"/coding/answers/{answer.id}/codings").get_json()["codings"]
    assert {c["id"]: c["needs_review"] for c in listed} == {weekly.id: False, panel.id: True,
                                                            families.id: True}
    queue = client.get("/coding/?status=review").get_data(as_text=True)
    assert f"/coding/answers/{answer.id}" in queue
    # Setting the span again places the coding and clears its flag.
    start = new.rindex("Families notice.")
    placed = client.post(f"/coding/codings/{families.id}", json={"start": start, "end": start + 16})
    assert placed.status_code == 200 and placed.get_json()["coding"]["needs_review"] is False
    # A later edit that leaves the panel's words once in the text places that one again.
    responses.save_answers(session, fw.admin, response, [{"key": "definition", "text": new + " The panel shares cases."}])
    panel = _rows(session, [panel.id])[0]
    assert not panel.needs_review and (new + " The panel shares cases.")[panel.start:panel.end] == "The panel shares cases."


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_shortening_a_coded_answer_never_breaks_its_pages(app, client, auth, session, fw):
    response = _interview(session, fw)
    with app.app_context():
        answer, ids = _coded(session, fw, response, ("L3.cyp.safer", "Families notice."))
    responses.save_answers(session, fw.admin, response, [{"key": "definition", "text": "We meet."}])
    auth.login(fw.researcher)
    for url in (f"/coding/answers/{answer.id}", f"/coding/answers/{answer.id}/panel",
                f"/coding/answers/{answer.id}/codings"):
        assert client.get(url).status_code == 200, url
    (c,) = _rows(session, ids)
    assert c.needs_review and c.excerpt == "Families notice."
    # Clearing the answer keeps the coding and its words too.
    responses.save_answers(session, fw.admin, response, [{"key": "definition", "text": None}])
    (c,) = _rows(session, ids)
    assert c.needs_review and c.excerpt == "Families notice."
    assert client.get(f"/coding/answers/{answer.id}").status_code == 200


def test_two_codings_that_would_land_on_one_span_do_not_become_one(app, session, fw):
    """Two spans coded alike; after the edit both excerpts are the same words in one place."""
    response = _interview(session, fw)
    text = "weekly. weekly"
    responses.save_answers(session, fw.admin, response, [{"key": "definition", "text": text}])
    answer = responses.answers_of(session, response)["definition"]
    with app.app_context():
        a = coding.add_coding(session, fw.researcher, answer.id, "L1.tools", None, 0, 6)
        b = coding.add_coding(session, fw.researcher, answer.id, "L1.tools", None, 8, 14)
    responses.save_answers(session, fw.admin, response, [{"key": "definition", "text": "Now weekly!"}])
    a, b = _rows(session, [a.id, b.id])
    assert (a.start, a.end, a.needs_review) == (4, 10, False)
    assert b.needs_review and b.excerpt == "weekly"
    assert session.scalar(sa.select(sa.func.count()).select_from(Coding)) == 2
