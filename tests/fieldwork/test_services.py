"""Fieldwork services: interviews, answers checked by type, stale writes, coding on arrival."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Participation, Respondent
from impactmodel.db import db, utcnow
from impactmodel.enums import EvidenceCategory
from impactmodel.fieldwork import interviews, invitations, responses, surveys
from impactmodel.fieldwork.models import (Answer, Invitation, Response, ResponseMode,
                                          ResponseStatus)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield db.session


def codings(session, response):
    return sorted((c.code_id, c.valence.value) for c in session.scalars(
        sa.select(Coding).where(Coding.respondent_id == response.respondent_id)))


def test_start_interview_is_keyed_and_resumable(ctx, fw):
    r = interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority,
                                   role="manager", key_group="asd", case="ASD-02")
    p = r.respondent
    assert (p.round_id, p.authority_id, p.role.value) == (fw.round.id, fw.authority.id, "manager")
    assert p.key_group.code == "asd" and p.case.reference == "ASD-02" and p.case.key_group.code == "asd"
    assert p.reference == "manager-001"
    assert r.mode is ResponseMode.INTERVIEW and r.interviewer_id == fw.researcher.id
    assert r.consent_by == "researcher" and r.consented_at is not None
    # The same reference goes back to the same interview.
    again = interviews.start_interview(ctx, fw.researcher, round=fw.round.name, authority="Northshire",
                                       role="manager", reference="manager-001")
    assert again.id == r.id
    with pytest.raises(responses.FieldworkError, match="already recorded as manager"):
        interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority,
                                   role="dcs", reference="manager-001")
    with pytest.raises(responses.FieldworkError, match="Never a child's name"):
        interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority,
                                   role="dcs", case="<Jane's file>")
    with pytest.raises(responses.FieldworkError, match="parents and children answer a survey"):
        interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority, role="parent")
    with pytest.raises(responses.FieldworkError, match="no key group 'martians'"):
        interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority,
                                   role="dcs", key_group="martians")


def test_researcher_cannot_work_in_an_authority_not_assigned(ctx, fw):
    with pytest.raises(PermissionError):
        interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.other, role="dcs")
    with pytest.raises(PermissionError):
        invitations.create_invitations(ctx, fw.researcher, round=fw.round, authority=fw.other,
                                       role="parent", count=1)
    theirs = interviews.start_interview(ctx, fw.admin, round=fw.round, authority=fw.other, role="dcs")
    with pytest.raises(PermissionError):
        responses.save_answer(ctx, fw.researcher, theirs, "definition", text="x")
    with pytest.raises(PermissionError):
        responses.complete_response(ctx, fw.researcher, theirs)
    assert ctx.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0


BAD_ANSWERS = [
    ("no_such_question", {"text": "x"}, "not a question"),
    ("impact_level", {"value": 2.25}, "half steps"),
    ("impact_level", {"value": 5}, "half steps"),
    ("impact_level", {"value": "high"}, "from 1 to 4"),
    ("shared_understanding", {"value": "maybe"}, "choose one of the answers"),
    ("l1_mentioned", {"value": ["L1.tools", "L9.nope"]}, "only the answers shown"),
    ("l3_mentioned", {"value": ["too_early", "L3.access"]}, "goes on its own"),
    ("features_other", {"value": ["other"]}, "please say what it is"),
    ("feature_ratings", {"value": {"F.commissioning": "brilliant"}}, "ratings shown"),
    ("feature_ratings", {"value": {"F.ict": "key"}}, "only the features listed"),
    ("feature_ratings", {"value": ["F.ict"]}, "ratings shown"),
    ("evidence", {"value": "definitely"}, "categories shown"),
    ("definition", {"text": "x" * 20_001}, "too long"),
    ("definition", {"value": "shared"}, "takes words"),
    ("definition", {"text": "ok", "note": 12}, "note must be text"),
]


def test_answers_are_checked_by_type(ctx, fw):
    r = interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority, role="dcs")
    for key, kwargs, message in BAD_ANSWERS:
        with pytest.raises(responses.AnswersInvalid) as err:
            responses.save_answer(ctx, fw.researcher, r, key, **kwargs)
        assert message in str(err.value).lower(), (key, kwargs, str(err.value))
    assert ctx.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0
    # And the same answers of the right shape are accepted.
    responses.save_answer(ctx, fw.researcher, r, "impact_level", value=3.5)
    responses.save_answer(ctx, fw.researcher, r, "feature_ratings", value={"F.commissioning": "key"})
    responses.save_answer(ctx, fw.researcher, r, "features_other", value=["other"], text="Trust")
    assert responses.answers_of(ctx, r)["features_other"].value == ["other"]


def test_a_batch_with_one_bad_answer_saves_nothing(ctx, fw):
    r = interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority, role="dcs")
    with pytest.raises(responses.AnswersInvalid) as err:
        responses.save_answers(ctx, fw.researcher, r, [
            {"key": "definition", "text": "Working together"},
            {"key": "impact_level", "value": 7}])
    assert list(err.value.errors) == ["impact_level"]
    assert responses.answers_of(ctx, r) == {}


def test_stale_writes_do_not_overwrite_newer_ones(ctx, fw):
    r = interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority, role="dcs")
    responses.save_answer(ctx, fw.researcher, r, "definition", text="newer", note="n2", seq=2_000)
    with pytest.raises(responses.StaleAnswer):
        responses.save_answer(ctx, fw.researcher, r, "definition", text="older", seq=1_000)
    with pytest.raises(responses.StaleAnswer):
        responses.save_answer(ctx, fw.researcher, r, "definition", text="same", seq=2_000)
    a = responses.answers_of(ctx, r)["definition"]
    assert (a.text, a.note, a.client_seq) == ("newer", "n2", 2_000)
    report = responses.save_answers(ctx, fw.researcher, r, [
        {"key": "definition", "text": "newest", "seq": 3_000},
        {"key": "anything_else", "text": "no", "seq": 10}])
    assert report.saved == {"definition": 3_000, "anything_else": 10} and report.stale == {}
    report = responses.save_answers(ctx, fw.researcher, r, [
        {"key": "definition", "text": "late", "seq": 2_500},
        {"key": "anything_else", "text": "yes", "seq": 11}])
    assert report.stale == {"definition": 3_000} and report.saved == {"anything_else": 11}
    ctx.expire_all()
    answers = responses.answers_of(ctx, r)
    assert answers["definition"].text == "newest" and answers["anything_else"].text == "yes"


def test_completing_codes_closed_answers_with_their_valence(ctx, fw):
    r = interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority, role="dcs")
    responses.save_answers(ctx, fw.researcher, r, [
        {"key": "definition", "text": "Everyone around the child working as one team."},
        {"key": "feature_ratings", "value": {"F.multi_agency_working": "key", "F.commissioning": "to_develop",
                                             "F.funding_models": "some", "F.locality_working": "dont_know"}},
        {"key": "features_other", "value": ["F.leadership", "other"], "text": "Our schools forum"},
        {"key": "to_develop", "value": ["F.ict"]},
        {"key": "l2_mentioned", "value": ["L2.dialogue", "L2.workload"]},
        {"key": "l3_mentioned", "value": ["too_early"]},
        {"key": "l4_now", "value": ["L4.information"]},
        {"key": "l4_mentioned", "value": ["L4.spread"]},
        {"key": "shared_understanding", "value": "partly"},
        {"key": "impact_level", "value": 2.5},
        {"key": "evidence", "value": "not_ascribed", "text": "Attendance up, from an earlier project."},
    ])
    assert codings(ctx, r) == []                   # coded on completion, not while typing
    assert ctx.get(Respondent, r.respondent_id).impact_level is None
    responses.complete_response(ctx, fw.researcher, r)
    assert codings(ctx, r) == sorted([
        ("F.multi_agency_working", "positive"), ("F.commissioning", "to_develop"),
        ("F.leadership", "positive"), ("F.ict", "to_develop"),
        ("L2.dialogue", "positive"), ("L2.workload", "negative"),
        # "Too early to say" and shared understanding have codes; level 4 tells embedding
        # happening now from a sign of embedding still to come.
        ("P.too_early", "positive"), ("P.shared_understanding", "to_develop"),
        ("L4.information", "positive"), ("L4.spread", "to_develop")])
    rows = ctx.scalars(sa.select(Coding)).all()
    assert all(c.agreed and c.coder == "instrument" and c.start is None and c.end is None
               and c.answer_id is not None and c.round_id == fw.round.id for c in rows)
    ctx.expire_all()
    assert ctx.get(Respondent, r.respondent_id).impact_level == 2.5
    part = ctx.scalar(sa.select(Participation).where(Participation.round_id == fw.round.id,
                                                     Participation.authority_id == fw.authority.id))
    assert part.evidence is EvidenceCategory.NOT_ASCRIBED
    # Open answers stay for the coding queue: they have text and no coding.
    answers = responses.answers_of(ctx, r)
    coded = {c.answer_id for c in rows}
    assert answers["definition"].text and answers["definition"].id not in coded
    # Complete is final and idempotent.
    responses.complete_response(ctx, fw.researcher, r)
    assert len(codings(ctx, r)) == 10
    ctx.refresh(r)
    assert r.status is ResponseStatus.COMPLETE
    with pytest.raises(responses.ResponseLocked):
        responses.save_answer(ctx, fw.researcher, r, "definition", text="changed")


def test_parent_survey_codes_each_code_once_per_answer(ctx, fw):
    invitation = invitations.create_invitations(ctx, "cli", round=fw.round, authority=fw.authority,
                                                role="parent", count=1, key_group="ks3_absence")[0]
    response = surveys.submit_survey(ctx, invitation, {
        "support_helpful": {"value": "very"},
        "child_difference": {"value": ["L3.cyp.attendance", "L3.cyp.happier"]},
        "family_difference": {"value": ["less_worried", "cope_better", "one_contact"]},
        "better": {"value": ["S.key_worker", "other"], "text": "Evening appointments"}})
    assert codings(ctx, response) == sorted([
        ("L3.cyp.attendance", "positive"), ("L3.cyp.happier", "positive"), ("L3.family", "positive"),
        ("L3.access", "positive"), ("S.key_worker", "positive")])
    respondent = ctx.get(Respondent, response.respondent_id)
    assert respondent.key_group.code == "ks3_absence" and respondent.impact_level is None
    assert response.mode is ResponseMode.SELF and response.consent_by == "self"


def test_submitting_twice_stores_one_response(ctx, fw):
    invitation = invitations.create_invitations(ctx, "cli", round=fw.round, authority=fw.authority,
                                                role="child", count=1)[0]
    with pytest.raises(surveys.SurveyEmpty):        # any question may be skipped, not all
        surveys.submit_survey(ctx, invitation, {"anything_else": {"text": "  "}})
    assert ctx.get(Invitation, invitation.id).submitted_at is None
    first = surveys.submit_survey(ctx, invitation, {"help_feel": {"value": "happy"},
                                                    "child_difference": {"value": ["L3.cyp.safer"]}})
    assert first.consent_by == "parent" and first.assented_at is not None
    second = surveys.submit_survey(ctx, invitation, {"help_feel": {"value": "sad"}})
    assert second.id == first.id
    assert ctx.scalar(sa.select(sa.func.count()).select_from(Response)) == 1
    assert responses.answers_of(ctx, first)["help_feel"].value == "happy"
    assert codings(ctx, first) == [("L3.cyp.safer", "positive")]
    with pytest.raises(invitations.InvitationEnded) as ended:
        invitations.find_invitation(ctx, invitation.token)
    assert ended.value.reason == "submitted"


def test_invitations_tokens_and_expiry(ctx, fw):
    links = invitations.create_invitations(ctx, fw.researcher, round=fw.round, authority=fw.authority,
                                           role="parent", count=3, case="LAC-07", key_group="lac")
    assert len({i.token for i in links}) == 3 and all(len(i.token) >= 43 for i in links)
    assert len({i.batch for i in links}) == 1
    assert all(i.respondent_id is None for i in links)     # made when the link is first used
    assert invitations.invitation_url(links[0].token, "https://survey.example/") == \
        f"https://survey.example/s/{links[0].token}"
    with pytest.raises(invitations.InvitationNotFound):
        invitations.find_invitation(ctx, "x" * 43)
    with pytest.raises(invitations.InvitationNotFound):
        invitations.find_invitation(ctx, "../../etc")
    links[1].expires_at = utcnow() - timedelta(minutes=1)
    ctx.commit()
    with pytest.raises(invitations.InvitationEnded) as ended:
        invitations.find_invitation(ctx, links[1].token)
    assert ended.value.reason == "expired"
    with pytest.raises(responses.FieldworkError, match="from 1 to 500"):
        invitations.create_invitations(ctx, fw.researcher, round=fw.round, authority=fw.authority,
                                       role="parent", count=0)
    # Consent rules: a child needs a parent's consent and their own assent.
    child = invitations.create_invitations(ctx, fw.researcher, round=fw.round, authority=fw.authority,
                                           role="child", count=1)[0]
    with pytest.raises(responses.FieldworkError, match="assent"):
        surveys.begin_survey(ctx, child, consent_by="parent", assent=False)
    r = surveys.begin_survey(ctx, child, consent_by="parent", assent=True, mode="assisted")
    assert r.mode is ResponseMode.ASSISTED
    # Opening again (a second tab) gives the same respondent and response.
    assert surveys.begin_survey(ctx, child, consent_by="parent", assent=True).id == r.id
    assert ctx.scalar(sa.select(sa.func.count()).select_from(Respondent)
                      .where(Respondent.role == "child")) == 1
    assert ctx.scalar(sa.select(Invitation.respondent_id).where(Invitation.id == child.id)) == r.respondent_id
