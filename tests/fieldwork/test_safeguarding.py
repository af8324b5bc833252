"""Safeguarding: answers that may disclose harm are flagged at once to the authority's
researchers, with its procedure; stored exactly as given; never a filter."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.fieldwork import interviews, invitations, responses, safeguarding, surveys
from impactmodel.db import utcnow
from impactmodel.fieldwork.models import Answer, ResponseMode, SafeguardingFlag
from tests.conftest import ENGINES

DISCLOSURE = "My mum’s boyfriend hits me when she is out."


def test_the_word_list_loads_and_matches_what_it_documents():
    ids = [rule.id for rule in safeguarding.load()]
    assert ids == ["physical_harm", "sexual_harm", "neglect", "self_harm", "feels_unsafe",
                   "domestic_abuse", "exploitation"]
    assert safeguarding.concerns(DISCLOSURE) == ["physical_harm", "domestic_abuse"]
    assert safeguarding.concerns("I DON’T  feel\nsafe at home") == ["feels_unsafe"]  # quotes, case, spacing
    assert safeguarding.concerns("sometimes I want to die") == ["self_harm"]
    assert safeguarding.concerns("They locked me in my room all weekend") == ["neglect"]
    assert safeguarding.concerns("The older boys made me carry drugs") == ["exploitation"]
    for harmless in ("The school nurse listens to us and it helps.", "Hitting targets at school", "",
                     None, "My dad is safe and kind", "We got food parcels"):
        assert safeguarding.concerns(harmless) == [], harmless


# Welsh (a draft list, for review by a fluent speaker): the same rules, with mutated forms.
WELSH_DISCLOSURE = "Mae cariad mam yn fy nharo i pan mae hi allan."


def test_the_word_list_flags_welsh_words_for_the_same_rules():
    assert safeguarding.concerns(WELSH_DISCLOSURE) == ["physical_harm", "domestic_abuse"]
    assert safeguarding.concerns("Dw i DDIM yn teimlo’n  ddiogel gartref") == ["feels_unsafe"]
    assert safeguarding.concerns("weithiau dw i eisiau marw") == ["self_harm"]
    assert safeguarding.concerns("Maen nhw'n fy nghloi i mewn drwy'r penwythnos") == ["neglect"]
    assert safeguarding.concerns("Mae'r bechgyn hŷn yn gwneud i mi gario cyffuriau") == ["exploitation"]
    assert safeguarding.concerns("Mae e wedi cyffwrdd â fi") == ["sexual_harm"]
    for harmless in ("Mae'r nyrs ysgol yn gwrando arnon ni ac mae'n help.", "Roedd y pigiad yn brifo",
                     "Mae fy nhad yn garedig", "Cawson ni barseli bwyd", "Dw i'n hapusach yn yr ysgol"):
        assert safeguarding.concerns(harmless) == [], harmless


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_welsh_childs_disclosure_is_flagged_as_they_type(client, session, fw):
    link = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                          role="child", count=1)[0]
    client.get(f"/s/{link.token}?lang=cy")
    client.post(f"/s/{link.token}", data={"consent": "yes", "assent": "yes", "mode": "self"})
    saved = client.post(f"/s/{link.token}/4/save", data={"anything_else": WELSH_DISCLOSURE, "seq": "5"})
    assert saved.status_code == 200
    answer = session.scalar(sa.select(Answer).where(Answer.question_key == "anything_else"))
    assert (answer.text, answer.language) == (WELSH_DISCLOSURE, "cy")
    flag = session.scalar(sa.select(SafeguardingFlag))
    assert (flag.answer_id, flag.rules) == (answer.id, ["physical_harm", "domestic_abuse"])


@pytest.mark.parametrize("text, problem", [
    ("rules: []", "expected a list of rules"),
    ("rules:\n  - {id: Bad Id, description: x, words: [a]}", "needs an id"),
    ("rules:\n  - {id: a_rule, description: x}", "needs a list of words or of patterns"),
    ("rules:\n  - {id: a_rule, description: x, patterns: ['(']}", "pattern '('"),
    ("rules:\n  - {id: a_rule, description: x, words: [a]}\n  - {id: a_rule, description: y, words: [b]}",
     "used twice"),
])
def test_a_broken_word_list_is_refused_with_what_is_wrong(tmp_path, text, problem):
    path = tmp_path / "safeguarding.yaml"
    path.write_text(text)
    with pytest.raises(safeguarding.RulesInvalid, match=problem.replace("(", r"\(")):
        safeguarding.load(path)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_childs_disclosure_is_flagged_as_they_type_and_shown_to_that_authoritys_researchers(
        client, auth, session, fw, make_user):
    fw.authority.safeguarding_steps = "1. Ring the Northshire MASH on 01632 960123.\n2. Tell the lead researcher."
    session.commit()
    link = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                       role="child", count=1)[0]
    client.post(f"/s/{link.token}", data={"consent": "yes", "assent": "yes", "mode": "self"})
    # The page's autosave, before Next: the answer is stored as given and flagged at once.
    saved = client.post(f"/s/{link.token}/4/save", data={"anything_else": DISCLOSURE, "seq": "5"})
    assert saved.status_code == 200
    answer = session.scalar(sa.select(Answer).where(Answer.question_key == "anything_else"))
    assert answer.text == DISCLOSURE
    flag = session.scalar(sa.select(SafeguardingFlag))
    assert (flag.answer_id, flag.authority_id, flag.rules, flag.handled_at) == \
        (answer.id, fw.authority.id, ["physical_harm", "domestic_abuse"], None)
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "safeguarding.flag")).all()
    assert event.actor == "respondent" and "hits" not in json.dumps(event.details)
    # Saving the same words again raises nothing new.
    client.post(f"/s/{link.token}/4/save", data={"anything_else": DISCLOSURE + " ", "seq": "6"})
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "safeguarding.flag")) == 1

    # The researcher of another authority is not told; Northshire's researcher is, on every page.
    stranger = make_user("researcher", assigned=[fw.other])
    auth.login(stranger)
    assert "may disclose harm" not in client.get("/fieldwork/").get_data(as_text=True)
    assert "Nothing is waiting" in client.get("/safeguarding/").get_data(as_text=True)
    assert client.post(f"/safeguarding/{flag.id}/handled").status_code == 403
    auth.logout()
    auth.login(fw.researcher)
    banner = client.get("/fieldwork/").get_data(as_text=True)
    assert "1 answer from a parent or child may disclose harm" in banner
    page = client.get("/safeguarding/").get_data(as_text=True)
    assert "My mum’s boyfriend hits me when she is out." in page
    assert "1. Ring the Northshire MASH on 01632 960123." in page
    assert "Someone may be hitting or physically hurting a child" in page
    done = client.post(f"/safeguarding/{flag.id}/handled", follow_redirects=True).get_data(as_text=True)
    assert "Nothing is waiting" in done
    assert "may disclose harm" not in client.get("/fieldwork/").get_data(as_text=True)
    session.expire_all()
    assert session.get(SafeguardingFlag, flag.id).handled_by_id == fw.researcher.id
    # New words of concern in the same answer raise the flag again.
    client.post(f"/s/{link.token}/4/save", data={"anything_else": DISCLOSURE + " I want to die.", "seq": "7"})
    session.expire_all()
    again = session.get(SafeguardingFlag, flag.id)
    assert again.handled_at is None and again.rules == ["domestic_abuse", "physical_harm", "self_harm"]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_default_procedure_is_shown_and_staff_interviews_are_not_checked(client, auth, session, fw):
    sent = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                       role="parent", count=1)[0]
    surveys.submit_survey(session, sent, {"better_more": {"text": "I don't feel safe with him around."}})
    interview = interviews.start_interview(session, fw.admin, round=fw.round, authority=fw.authority, role="manager")
    responses.save_answers(session, fw.admin, interview, [{"key": "l1_changes", "text": "A child who is not safe"}])
    [flag] = session.scalars(sa.select(SafeguardingFlag)).all()
    assert flag.rules == ["feels_unsafe"]
    auth.login(fw.researcher)
    page = client.get("/safeguarding/").get_data(as_text=True)
    assert "designated safeguarding lead" in page   # the app's SAFEGUARDING_STEPS


def test_every_child_page_says_who_to_talk_to(client, session, fw):
    link = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                       role="child", count=1)[0]
    pages = [f"/s/{link.token}"]
    client.post(f"/s/{link.token}", data={"consent": "yes", "assent": "yes", "mode": "self"})
    pages += [f"/s/{link.token}/{n}" for n in range(1, 5)] + [f"/s/{link.token}/check",
                                                              f"/s/{link.token}/privacy", f"/s/{link.token}/withdraw"]
    for url in pages:
        text = client.get(url).get_data(as_text=True)
        assert "talk to an adult you trust" in text and 'href="tel:08001111">0800 1111</a>' in text, url
    parent = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                         role="parent", count=1)[0]
    assert "Childline" not in client.get(f"/s/{parent.token}").get_data(as_text=True)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_disclosure_collected_offline_is_flagged_when_imported(session, fw, make_respondent):
    """Offline submissions (KoboToolbox, ODK) are stored through add_completed_response."""
    respondent = make_respondent(fw.round, fw.authority, "parent", reference="offline-parent-1")
    version = responses.current_version(session, "parent_survey")
    now = utcnow()
    responses.add_completed_response(session, "import", respondent, version,
                                    {"better_more": ("Nobody looks after us at night and there is no food.", None)},
                                    mode=ResponseMode.SELF, consent_by="self", started_at=now,
                                    completed_at=now)
    session.commit()
    [flag] = session.scalars(sa.select(SafeguardingFlag)).all()
    assert flag.rules == ["neglect"] and flag.authority_id == fw.authority.id
