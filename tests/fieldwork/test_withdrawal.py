"""Withdrawal: from a survey link before sending, or by the research team on request.
Everything the respondent gave goes; the audit log keeps ids and counts; stored scores
and reliability show as out of date."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.coding import services as coding
from impactmodel.coding import stored_reliability
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding
from impactmodel.consortium.models import Respondent
from impactmodel.fieldwork import interviews, invitations, responses, surveys, withdrawal
from impactmodel.fieldwork.models import Answer, Invitation, Response
from impactmodel.scoring import services as scoring
from tests.conftest import ENGINES

WORDS = "My son's new school nurse listens to us"


def _count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _events(session, action):
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_parent_withdraws_from_the_link_and_everything_they_answered_goes(client, session, fw):
    link = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                       role="parent", count=1)[0]
    assert client.post(f"/s/{link.token}", data={"consent": "yes", "mode": "self"}).status_code == 302
    client.post(f"/s/{link.token}/1", data={"support_helpful": "quite", "go": "next"})
    client.post(f"/s/{link.token}/2", data={"child_difference_more": WORDS, "go": "next"})
    respondent_id = session.scalar(sa.select(Invitation.respondent_id).where(Invitation.id == link.id))
    assert _count(session, Answer) == 2

    page = client.get(f"/s/{link.token}/1").get_data(as_text=True)
    assert f'href="/s/{link.token}/withdraw"' in page and "Stop taking part and delete my answers" in page
    confirm = client.get(f"/s/{link.token}/withdraw")
    assert confirm.status_code == 200 and "This cannot be undone" in confirm.get_data(as_text=True)
    assert _count(session, Answer) == 2           # asking is not doing
    # Without the confirmation nothing happens.
    assert client.post(f"/s/{link.token}/withdraw", data={}).status_code == 200
    assert _count(session, Answer) == 2

    done = client.post(f"/s/{link.token}/withdraw", data={"confirm": "yes"})
    assert done.status_code == 200 and "Your answers have been deleted" in done.get_data(as_text=True)
    assert _count(session, Respondent, Respondent.id == respondent_id) == 0
    assert _count(session, Response) == 0 and _count(session, Answer) == 0
    [event] = _events(session, "respondent.withdraw")
    assert event.actor == "respondent" and event.entity_id == str(respondent_id)
    assert event.details == {"via": "link", "round_id": fw.round.id, "authority_id": fw.authority.id,
                             "role": "parent", "safeguarding_flags": 0,
                             "responses": 1, "answers": 2, "codings": 0}
    assert "nurse" not in json.dumps(event.details)

    # The link stays closed: no new respondent in their place.
    again = client.get(f"/s/{link.token}")
    assert again.status_code == 410 and "Your answers have been deleted" in again.get_data(as_text=True)
    assert client.post(f"/s/{link.token}", data={"consent": "yes", "mode": "self"}).status_code == 410
    assert client.post(f"/s/{link.token}/withdraw", data={"confirm": "yes"}).status_code == 410
    with pytest.raises(invitations.InvitationEnded):
        surveys.begin_survey(session, session.get(Invitation, link.id), consent_by="self")
    assert _count(session, Respondent, Respondent.authority_id == fw.authority.id) == 0
    assert invitations.invitation_status(session.get(Invitation, link.id)) == "withdrawn"


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_sent_survey_is_not_withdrawn_by_its_link_but_by_the_research_team(client, auth, session, fw):
    fw.round.research_contact = "the Family Voices team, 01632 960000"
    session.commit()
    sent = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                       role="parent", count=1)[0]
    surveys.submit_survey(session, sent, {"child_difference": {"value": ["L3.cyp.confidence"]},
                                           "child_difference_more": {"text": WORDS}})
    thanks = client.get(f"/s/{sent.token}/thanks").get_data(as_text=True)
    assert "Contact the Family Voices team, 01632 960000." in thanks
    assert "contact the research team with the code on your card" in thanks
    assert "/withdraw" not in thanks
    # The token alone proves nothing about who holds it once sent: the link changes nothing.
    assert client.post(f"/s/{sent.token}/withdraw", data={"confirm": "yes"}).status_code == 410
    assert _count(session, Answer) == 2

    auth.login(fw.researcher)
    wrong = client.post("/fieldwork/withdraw", data={"code": "ACDE-FG34"})
    assert wrong.status_code == 422 and "No survey link of your authorities has that code" in wrong.get_data(as_text=True)
    found = client.post("/fieldwork/withdraw", data={"code": invitations.format_code(sent.code).lower()})
    respondent_id = session.get(Invitation, sent.id).respondent_id
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/fieldwork/withdraw/{respondent_id}")
    page = client.get(found.headers["Location"]).get_data(as_text=True)
    assert '<th scope="row">Answers</th><td class="num">2</td>' in page
    done = client.post(f"/fieldwork/withdraw/{respondent_id}", data={"confirm": "yes"}, follow_redirects=True)
    assert "Withdrawn: 2 answers and " in done.get_data(as_text=True)
    assert _count(session, Answer) == 0 and _count(session, Coding) == 0
    assert invitations.invitation_status(session.get(Invitation, sent.id)) == "withdrawn"
    [event] = _events(session, "respondent.withdraw")
    assert event.actor_id == fw.researcher.id and event.details["via"] == "research team"
    assert event.details["answers"] == 2 and event.details["codings"] == 1   # coded on arrival


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_researcher_cannot_withdraw_someone_of_an_authority_not_theirs(client, auth, session, fw):
    interview = interviews.start_interview(session, fw.admin, round=fw.round, authority=fw.other, role="manager")
    responses.save_answers(session, fw.admin, interview, [{"key": "l1_changes", "text": WORDS}])
    auth.login(fw.researcher)
    assert client.get(f"/fieldwork/withdraw/{interview.respondent_id}").status_code == 403
    assert client.post(f"/fieldwork/withdraw/{interview.respondent_id}", data={"confirm": "yes"}).status_code == 403
    assert client.get(f"/fieldwork/withdraw/{2**70}").status_code == 404
    with pytest.raises(PermissionError):
        withdrawal.withdraw_respondent(session, fw.researcher, interview.respondent)
    assert _count(session, Answer) == 1


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_withdrawing_marks_stored_scores_and_reliability_out_of_date(session, fw, make_user):
    """A double-coded interview answer, scored and with a stored reliability report: withdrawing
    its respondent removes the codings of both coders and the draw, and both results go stale."""
    coder, second = fw.admin, make_user("researcher", assigned=[fw.authority])
    kept = interviews.start_interview(session, fw.admin, round=fw.round, authority=fw.authority, role="practitioner")
    responses.save_answers(session, fw.admin, kept, [{"key": "l1_changes", "text": "Panels meet weekly."}])
    gone = interviews.start_interview(session, fw.admin, round=fw.round, authority=fw.authority, role="practitioner")
    responses.save_answers(session, fw.admin, gone, [{"key": "l1_changes", "text": WORDS}])
    for response in (kept, gone):
        answer = session.scalar(sa.select(Answer).where(Answer.response_id == response.id))
        coding.add_coding(session, coder, answer.id, "L1.tools", None, 0, 6)
    coding.draw_double_sample(session, coder, fw.round.id, second.id, 1.0, seed=1)
    for draw in session.scalars(sa.select(DoubleCoding)).all():
        coding.add_coding(session, second, draw.answer_id, "L1.tools", None, 0, 6)
        coding.finish_second_coding(session, second, draw.answer_id)
    scoring.compute_scores(session, "test", fw.round, n_replicates=50)
    stored_reliability.compute(session, "test", fw.round, n_resamples=50, per_code_resamples=20)
    assert not scoring.is_stale(session, scoring.stored_results(session, fw.round))
    assert not stored_reliability.is_stale(session, fw.round, stored_reliability.stored(session, fw.round))

    gone_id = gone.respondent_id
    withdrawal.withdraw_respondent(session, fw.admin, session.get(Respondent, gone_id))
    assert _count(session, Coding, Coding.respondent_id == gone_id) == 0
    assert _count(session, DoubleCoding) == 1
    assert _count(session, Coding) == 2               # the kept answer's, both coders
    assert scoring.is_stale(session, scoring.stored_results(session, fw.round))
    assert stored_reliability.is_stale(session, fw.round, stored_reliability.stored(session, fw.round))
