"""The case view, the case list, and memos on authorities and cases."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel.analysis.models import AuthorityMemo
from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role
from impactmodel.coding import services as coding
from impactmodel.consortium.models import Case
from impactmodel.fieldwork import interviews
from impactmodel.fieldwork import invitations as survey_links
from impactmodel.fieldwork import responses
from impactmodel.fieldwork import surveys
from impactmodel.fieldwork.models import Answer
from tests.conftest import ENGINES


@pytest.fixture
def case_world(app, session, make_round, make_authority, make_user):
    """Case LAC-01 of Northshire: a practitioner interviewed, a parent's and a child's surveys
    sent back, the practitioner's answer coded at level 2."""
    rnd = make_round("Round 5")
    north = make_authority("Northshire County Council", round=rnd)
    east = make_authority("Eastbrook Borough Council", round=rnd)
    admin = make_user(Role.ADMIN)
    with app.app_context():
        interview = interviews.start_interview(session, admin, round=rnd, authority=north, role="practitioner",
                                              key_group="lac", case="LAC-01", reference="practitioner-01")
        responses.save_answers(session, admin, interview,
                               [{"key": "l2_changes", "text": "We talk to the school every week now."}])
        answer = session.scalar(sa.select(Answer).where(Answer.response_id == interview.id))
        coding.add_coding(session, admin, answer.id, "L2.dialogue", None, 0, 7)
        for role, answers, consent in (("parent", {"support_helpful": {"value": "very"},
                                                   "better_more": {"text": "Fewer meetings, please."}}, "self"),
                                       ("child", {"child_difference": {"value": ["L3.cyp.happier"]},
                                                  "anything_else": {"text": "My teacher listens to me."}}, "parent")):
            link = survey_links.create_invitations(session, admin, round=rnd, authority=north, role=role, count=1,
                                                case="LAC-01")[0]
            surveys.submit_survey(session, link, answers, consent_by=consent)
        survey_links.create_invitations(session, admin, round=rnd, authority=east, role="parent", count=1,
                                     case="ASD-02")
    case = session.scalar(sa.select(Case).where(Case.reference == "LAC-01"))
    other_case = session.scalar(sa.select(Case).where(Case.reference == "ASD-02"))
    return rnd, north, east, case, other_case


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_case_shows_its_three_voices_and_the_levels_they_reach(client, auth, case_world):
    rnd, north, _east, case, _other = case_world
    auth.login(Role.RESEARCHER, assigned=[north])
    listing = client.get(f"/rounds/{rnd.id}/authorities/{north.public_id}/cases").get_data(as_text=True)
    assert "LAC-01" in listing and "all three voices" in listing
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for said in ("We talk to the school every week now.", "Fewer meetings, please.", "My teacher listens to me."):
        assert said in text
    # The practitioner's coding reaches level 2, the child's closed answer level 3.
    practitioner = text[text.index('id="voice-practitioner"'):text.index('id="voice-parent"')]
    assert "level <strong>2</strong>" in practitioner and "L2.dialogue" in practitioner
    child = text[text.index('id="voice-child"'):]
    assert "level <strong>3</strong>" in child and "L3.cyp.happier" in child


@pytest.mark.parametrize("role, sees", [(Role.ADMIN, True), (Role.AUTHORITY_CONTACT, True),
                                        (Role.ANALYST, False)])
def test_only_roles_that_see_the_authority_by_name_see_its_cases(client, auth, case_world, role, sees):
    rnd, north, east, case, other_case = case_world
    auth.login(role, authority=north if role is Role.AUTHORITY_CONTACT else None)
    assert (client.get(f"/cases/{case.id}").status_code == 200) is sees
    assert (client.get(f"/rounds/{rnd.id}/cases").status_code == 200) is sees
    if role is Role.AUTHORITY_CONTACT:
        # Their own authority only; and no memos (researchers' notes) on the page.
        assert client.get(f"/cases/{other_case.id}").status_code == 403
        assert client.get(f"/rounds/{rnd.id}/authorities/{east.public_id}/cases").status_code == 403
        assert "Memos on" not in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_a_researcher_sees_only_assigned_authorities_cases(client, auth, case_world):
    rnd, north, east, case, other_case = case_world
    auth.login(Role.RESEARCHER, assigned=[east])
    assert client.get(f"/cases/{case.id}").status_code == 403
    assert client.get(f"/cases/{other_case.id}").status_code == 200
    index = client.get(f"/rounds/{rnd.id}/cases").get_data(as_text=True)
    assert "Eastbrook Borough Council" in index and "Northshire" not in index


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_memos_are_written_changed_and_removed_with_an_audit_trail(client, auth, session, case_world):
    rnd, north, _east, case, _other = case_world
    auth.login(Role.RESEARCHER, assigned=[north])
    assert client.post(f"/cases/{case.id}/memos", data={"text": "Parent and child agree."}).status_code == 302
    assert client.post(f"/rounds/{rnd.id}/authorities/{north.public_id}/memos",
                       data={"text": "Panels drive the story."}).status_code == 302
    memos = {m.text: m for m in session.scalars(sa.select(AuthorityMemo))}
    assert memos["Parent and child agree."].case_id == case.id
    assert memos["Panels drive the story."].case_id is None
    assert "Parent and child agree." in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Panels drive the story." in client.get(
        f"/rounds/{rnd.id}/authorities/{north.public_id}/cases").get_data(as_text=True)

    memo = memos["Parent and child agree."]
    client.post(f"/memos/{memo.id}/edit", data={"text": "Parent, child and practitioner agree."})
    session.expire_all()
    assert session.get(AuthorityMemo, memo.id).text == "Parent, child and practitioner agree."
    assert session.get(AuthorityMemo, memo.id).updated_at is not None
    # An empty memo is refused and changes nothing.
    refused = client.post(f"/memos/{memo.id}/edit", data={"text": "   "}, follow_redirects=True)
    assert "Write the memo first." in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(AuthorityMemo, memo.id).text == "Parent, child and practitioner agree."
    client.post(f"/memos/{memo.id}/delete")
    session.commit()
    assert session.scalar(sa.select(AuthorityMemo.id).where(AuthorityMemo.id == memo.id)) is None
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "authority_memo")).all()
    assert sorted(actions) == ["authority_memo.add", "authority_memo.add", "authority_memo.delete",
                               "authority_memo.edit"]
    # The audit keeps ids, never a memo's words.
    details = session.scalars(sa.select(AuditEvent.details).where(AuditEvent.entity == "authority_memo")).all()
    assert "agree" not in str(details)


def test_only_the_author_or_an_administrator_changes_a_memo(client, auth, session, case_world, make_user):
    rnd, north, _east, case, _other = case_world
    author = make_user(Role.RESEARCHER, assigned=[north])
    memo = AuthorityMemo(round_id=rnd.id, authority_id=north.id, case_id=case.id, author_id=author.id,
                         text="Mine.")
    session.add(memo)
    session.commit()
    auth.login(Role.RESEARCHER, assigned=[north])
    assert client.post(f"/memos/{memo.id}/edit", data={"text": "Theirs now."}).status_code == 403
    assert client.post(f"/memos/{memo.id}/delete").status_code == 403
    auth.logout()
    auth.login(Role.ADMIN)
    assert client.post(f"/memos/{memo.id}/edit", data={"text": "Corrected."}).status_code == 302
    session.expire_all()
    assert session.get(AuthorityMemo, memo.id).text == "Corrected."


def test_a_memo_on_a_case_of_another_authority_is_refused(client, auth, session, case_world):
    rnd, north, _east, _case, other_case = case_world
    auth.login(Role.RESEARCHER, assigned=[north])
    assert client.post(f"/cases/{other_case.id}/memos", data={"text": "Hostile."}).status_code == 403
    assert client.post(f"/cases/{10 ** 12}/memos", data={"text": "Nowhere."}).status_code == 404
    assert session.scalar(sa.select(sa.func.count()).select_from(AuthorityMemo)) == 0
