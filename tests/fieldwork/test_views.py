"""Fieldwork pages: interviews and autosave over HTTP, survey pages, links and the CLI."""
from __future__ import annotations

import re

import sqlalchemy as sa

from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Respondent
from impactmodel.fieldwork import interviews, invitations, responses, surveys
from impactmodel.fieldwork.models import Answer, Invitation, Response, ResponseStatus
from tests.fieldwork.browser_form import form_fields, with_answers


def _interview(session, fw, authority=None, role="dcs"):
    return interviews.start_interview(session, fw.admin, round=fw.round, authority=authority or fw.authority,
                                      role=role)


def test_start_an_interview_from_the_form(client, auth, session, fw):
    auth.login(fw.researcher)
    page = client.get("/fieldwork/interviews/new").get_data(as_text=True)
    assert "Northshire" in page and "Southvale" not in page     # only assigned authorities
    refused = client.post("/fieldwork/interviews/new", data={
        "round_id": fw.round.id, "authority_id": fw.authority.id, "role": "practitioner",
        "key_group": "lac", "case": "Jane's <file>", "reference": "", "consent": ""})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Record the interviewee&#39;s consent" in text and "pseudonym such as LAC-03" in text
    assert session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
    made = client.post("/fieldwork/interviews/new", data={
        "round_id": fw.round.id, "authority_id": fw.authority.id, "role": "practitioner",
        "key_group": "lac", "case": "LAC-03", "reference": "", "consent": "y"})
    assert made.status_code == 302
    response = session.scalar(sa.select(Response))
    assert made.headers["Location"].endswith(f"/fieldwork/interviews/{response.id}")
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Practitioner interview" in page and "LAC-03" in page
    assert "Practitioners answer unprompted" in page and "Probes" in page
    assert 'name="csrf-token"' in page and "fieldwork/interview.js" in page
    listing = client.get("/fieldwork/").get_data(as_text=True)
    assert "Resume practitioner-001" in listing


def test_autosave_accepts_known_keys_and_refuses_stale_writes(client, auth, session, fw):
    response = _interview(session, fw)
    auth.login(fw.researcher)
    url = f"/fieldwork/interviews/{response.id}/answers"
    ok = client.post(url, json={"answers": [
        {"key": "definition", "text": "Joined-up", "note": "hesitated", "seq": 1700000000100},
        {"key": "impact_level", "value": 2.5, "seq": 1700000000100}]})
    assert ok.status_code == 200
    assert ok.get_json() == {"saved": {"definition": 1700000000100, "impact_level": 1700000000100},
                             "stale": {}}
    stale = client.post(url, json={"answers": [{"key": "definition", "text": "old", "seq": 1700000000050}]})
    assert stale.get_json() == {"saved": {}, "stale": {"definition": 1700000000100}}
    bad = client.post(url, json={"answers": [{"key": "definition", "text": "new", "seq": 1700000000200},
                                             {"key": "hack", "text": "x", "seq": 1},
                                             {"key": "impact_level", "value": 9, "seq": 1700000000200}]})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"hack", "impact_level"}
    assert client.post(url, json={"nope": 1}).status_code == 400
    assert client.post(url, data="not json", content_type="application/json").status_code == 400
    session.expire_all()
    answers = responses.answers_of(session, response)
    assert answers["definition"].text == "Joined-up" and answers["definition"].note == "hesitated"
    assert answers["impact_level"].value == 2.5 and "hack" not in answers
    page = client.get(f"/fieldwork/interviews/{response.id}").get_data(as_text=True)
    assert 'data-seq="1700000000100"' in page and "Joined-up" in page
    assert re.search(r'value="2.5"\s+checked', page)
    # Without scripts, the whole form posts (and keeps what was typed on an error).
    form = client.post(f"/fieldwork/interviews/{response.id}", data=with_answers(
        form_fields(page), definition="From the form", definition__note="", impact_level="3",
        shared_understanding="partly", **{"feature_ratings-F.commissioning": "key"},
        l1_mentioned=["L1.tools", "L1.forums"]))
    assert form.status_code == 302
    session.expire_all()
    answers = responses.answers_of(session, response)
    assert answers["definition"].text == "From the form" and answers["impact_level"].value == 3.0
    assert answers["feature_ratings"].value == {"F.commissioning": "key"}
    assert answers["l1_mentioned"].value == ["L1.tools", "L1.forums"]
    assert answers["definition"].note is None        # the form sent an empty note
    page = client.get(f"/fieldwork/interviews/{response.id}").get_data(as_text=True)
    wrong = client.post(f"/fieldwork/interviews/{response.id}", data=with_answers(
        form_fields(page), definition="Typed and kept", impact_level="3.25"))
    assert wrong.status_code == 422
    assert "Typed and kept" in wrong.get_data(as_text=True) and "half steps" in wrong.get_data(as_text=True)
    # Complete: coded, then locked.
    done = client.post(f"/fieldwork/interviews/{response.id}/complete", data={"confirm": "yes"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Response, response.id).status is ResponseStatus.COMPLETE
    assert {c.code_id for c in session.scalars(sa.select(Coding))} == {
        "F.commissioning", "L1.tools", "L1.forums", "P.shared_understanding"}
    assert session.get(Respondent, response.respondent_id).impact_level == 3.0
    locked = client.post(url, json={"answers": [{"key": "definition", "text": "late", "seq": 1800000000000}]})
    assert locked.status_code == 409


def test_researcher_cannot_open_another_authoritys_interview(client, auth, session, fw):
    theirs = _interview(session, fw, authority=fw.other)
    auth.login(fw.researcher)
    assert client.get(f"/fieldwork/interviews/{theirs.id}").status_code == 403
    assert client.post(f"/fieldwork/interviews/{theirs.id}/answers",
                       json={"answers": [{"key": "definition", "text": "x"}]}).status_code == 403
    assert client.post(f"/fieldwork/interviews/{theirs.id}/complete").status_code == 403
    assert client.post("/fieldwork/interviews/new", data={
        "round_id": fw.round.id, "authority_id": fw.other.id, "role": "dcs", "consent": "y"}).status_code == 422
    links = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.other,
                                           role="parent", count=1)
    assert client.get(f"/fieldwork/invitations/{links[0].batch}").status_code == 403
    assert "Southvale" not in client.get("/fieldwork/").get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0


def test_invitation_page_makes_links_and_a_printable_qr_sheet(client, auth, session, fw):
    auth.login(fw.researcher)
    bad = client.post("/fieldwork/invitations", data={"round_id": fw.round.id, "authority_id": fw.authority.id,
                                                      "role": "parent", "count": 0})
    assert bad.status_code == 422 and "from 1 to 500" in bad.get_data(as_text=True)
    made = client.post("/fieldwork/invitations", data={
        "round_id": fw.round.id, "authority_id": fw.authority.id, "role": "child", "count": 3,
        "key_group": "asd", "case": "ASD-01"})
    assert made.status_code == 302
    links = session.scalars(sa.select(Invitation)).all()
    assert len(links) == 3 and {i.key_group.code for i in links} == {"asd"}
    sheet = client.get(made.headers["Location"])
    html = sheet.get_data(as_text=True)
    for invitation in links:
        assert invitations.format_code(invitation.code) in html   # typed at localhost/s
    assert html.count('<svg class="qr"') == 3 or html.count('class="qr"') == 3
    assert "style=" not in html and "<script>" not in html
    listing = client.get("/fieldwork/invitations").get_data(as_text=True)
    assert "Print sheet" in listing and ">3<" in listing


def test_invite_command_prints_working_links(app, runner, session):
    result = runner.invoke(args=["invite", "--round", "Round 2", "--authority", "Eastmoor",
                                 "--role", "parent", "--count", "4", "--create"])
    assert result.exit_code == 0, result.output
    urls = result.output.strip().splitlines()
    assert len(urls) == 4 and len(set(urls)) == 4
    assert all(re.fullmatch(r"http://localhost/s/[A-Za-z0-9_-]{43}", u) for u in urls)
    client = app.test_client()
    page = client.get(urls[0].removeprefix("http://localhost"))
    assert page.status_code == 200 and "Before you start" in page.get_data(as_text=True)
    assert client.get("/s/" + "A" * 43).status_code == 404
    refused = runner.invoke(args=["invite", "--round", "Round 2", "--authority", "Eastmoor",
                                  "--role", "governor", "--count", "1"])
    assert refused.exit_code != 0
    too_many = runner.invoke(args=["invite", "--round", "Round 2", "--authority", "Eastmoor",
                                   "--role", "child", "--count", "0"])
    assert too_many.exit_code != 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 4


def _parent_link(session, fw):
    return invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                          role="parent", count=1)[0]


def test_parent_survey_errors_lose_nothing(client, session, fw):
    invitation = _parent_link(session, fw)
    base = f"/s/{invitation.token}"
    consent = client.post(base, data={"mode": "self"})
    assert consent.status_code == 422
    assert "Please tick this box to say you agree" in consent.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Respondent)) == 0
    assert client.post(base, data={"consent": "yes", "mode": "self"}).status_code == 302
    missing = client.post(f"{base}/1", data={"go": "next", "support_received": ["school", "other"],
                                             "support_received-other": "Grandma's friend",
                                             "support_helpful": "extremely"})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422
    assert "Please choose one of the answers shown" in html and 'class="error-summary"' in html
    assert "Grandma&#39;s friend" in html and re.search(r'value="school"\s+checked', html)
    session.expire_all()
    assert responses.answers_of(session, surveys.survey_response(session, invitation)) == {}
    ok = client.post(f"{base}/1", data={"go": "next", "support_received": ["school", "other"],
                                        "support_received-other": "Grandma's friend",
                                        "support_helpful": "quite"})
    assert ok.headers["Location"].endswith(f"{base}/2")
    back = client.post(f"{base}/2", data={"go": "back", "child_difference": ["L3.cyp.calmer"]})
    assert back.headers["Location"].endswith(f"{base}/1")
    assert "Welcome back" in client.get(base).get_data(as_text=True)
    check = client.get(f"{base}/check").get_data(as_text=True)
    assert "Grandma&#39;s friend" in check and "They are calmer and more relaxed" in check


def test_double_submit_and_used_links(client, session, fw):
    invitation = _parent_link(session, fw)
    base = f"/s/{invitation.token}"
    client.post(base, data={"consent": "yes", "mode": "assisted"})
    early = client.post(f"{base}/check")
    assert early.status_code == 422 and "at least one question" in early.get_data(as_text=True)
    client.post(f"{base}/1", data={"go": "next", "support_helpful": "very"})
    first = client.post(f"{base}/check")
    second = client.post(f"{base}/check")              # a double click, or resubmit after Back
    assert first.headers["Location"].endswith(f"{base}/thanks")
    assert second.headers["Location"].endswith(f"{base}/thanks")
    assert "Thank you" in client.get(f"{base}/thanks").get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1
    used = client.get(base)
    assert used.status_code == 410 and "already been sent" in used.get_data(as_text=True)
    assert client.post(f"{base}/1", data={"go": "next", "support_helpful": "not"}).status_code == 410
    session.expire_all()
    assert responses.answers_of(session, session.scalar(sa.select(Response)))["support_helpful"].value == "very"


def test_unknown_and_expired_links_are_kind_and_reveal_nothing(client, session, fw):
    from datetime import timedelta

    from impactmodel.db import utcnow
    invitation = _parent_link(session, fw)
    invitation.expires_at = utcnow() - timedelta(days=1)
    session.commit()
    for path, code, words in [(f"/s/{invitation.token}", 410, "This link has ended"),
                              (f"/s/{invitation.token}/1", 410, "This link has ended"),
                              ("/s/" + "Z" * 43, 404, "We could not find this survey"),
                              ("/s/" + "Z" * 43 + "/check", 404, "We could not find this survey")]:
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == code and words in html
        assert "Northshire" not in html and "Round 1" not in html and "Authority" not in html
        assert "Sign out" not in html and "/fieldwork/interviews" not in html and "/login" not in html


def test_respondent_pages_obey_the_content_security_policy(client, session, fw):
    invitation = invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                                role="child", count=1)[0]
    base = f"/s/{invitation.token}"
    pages = [client.get(base)]
    client.post(base, data={"consent": "yes", "assent": "yes", "mode": "self"})
    pages += [client.get(f"{base}/{n}") for n in range(1, 5)] + [client.get(f"{base}/check")]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "style=" not in html and "onclick" not in html.lower()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    faces = client.get(f"{base}/1").get_data(as_text=True)
    assert faces.count('<svg class="face"') == 5 and "Read aloud" in faces
