import sqlalchemy as sa

from impactmodel.auth.models import Role
from impactmodel.fieldwork import interviews, invitations, responses, surveys
from impactmodel.fieldwork.models import Answer, SafeguardingFlag
from tests.access_rules import EVERYONE, STAFF, Page, Write


def pages(world):
    s, r, a = world.session, world.round, world.authority
    admin = world.users[Role.ADMIN.value]
    interview = interviews.start_interview(s, admin, round=r, authority=a, role="manager",
                                           reference="matrix-manager")
    done = interviews.start_interview(s, admin, round=r, authority=a, role="dcs", reference="matrix-dcs")
    links = invitations.create_invitations(s, admin, round=r, authority=a, role="parent", count=3)
    child = invitations.create_invitations(s, admin, round=r, authority=a, role="child", count=1)[0]
    started, fresh, sent = links
    surveys.begin_survey(s, started, consent_by="self")
    surveys.submit_survey(s, sent, {"support_helpful": {"value": "quite"}})
    return [
        Page("fieldwork.index", "/fieldwork/", STAFF),
        Page("fieldwork.start", "/fieldwork/interviews/new", STAFF),
        Page("fieldwork.interview", f"/fieldwork/interviews/{interview.id}", STAFF),
        Page("fieldwork.autosave", f"/fieldwork/interviews/{interview.id}/answers", STAFF, "POST"),
        Page("fieldwork.complete", f"/fieldwork/interviews/{interview.id}/complete", STAFF),
        Page("fieldwork.complete", f"/fieldwork/interviews/{done.id}/complete", STAFF, "POST",
             {"confirm": "yes"}),
        Page("fieldwork.invitations", "/fieldwork/invitations", STAFF),
        Page("fieldwork.invitation_sheet", f"/fieldwork/invitations/{started.batch}", STAFF),
        Page("fieldwork.invitation_export", f"/fieldwork/invitations/{started.batch}/links.csv", STAFF),
        Page("fieldwork.invitation_export", f"/fieldwork/invitations/{started.batch}/links.xlsx", STAFF),
        Page("fieldwork.instruments", "/fieldwork/instruments", STAFF),
        Page("fieldwork.preview", "/fieldwork/instruments/parent_survey/preview", STAFF),
        Page("fieldwork.preview", "/fieldwork/instruments/child_survey/preview/2", STAFF),
        Page("fieldwork.preview", "/fieldwork/instruments/manager_interview/preview/2", STAFF),
        # Respondents' pages: the token is the credential; no log-in for anyone.
        Page("survey.start", f"/s/{fresh.token}", EVERYONE),
        Page("survey.step", f"/s/{started.token}/1", EVERYONE),
        Page("survey.check", f"/s/{started.token}/check", EVERYONE),
        Page("survey.thanks", f"/s/{sent.token}/thanks", EVERYONE),
        Page("survey.start", f"/s/{child.token}", EVERYONE),
        Page("survey.enter_code", "/s", EVERYONE),
        Page("survey.save_step", f"/s/{started.token}/1/save", EVERYONE, "POST", {"seq": "1"}),
        Page("survey.by_code", f"/s/c/{fresh.code}", EVERYONE),
        Page("survey.withdraw", f"/s/{started.token}/withdraw", EVERYONE),
        Page("survey.privacy", "/s/privacy", EVERYONE),
        Page("survey.privacy", f"/s/{started.token}/privacy", EVERYONE),
        # Withdrawing deletes the respondent: each request gets a respondent of its own.
        Page("withdrawal.find", "/fieldwork/withdraw", STAFF),
        Page("safeguarding.index", "/safeguarding/", STAFF),
        Page("safeguarding.handled", lambda w: f"/safeguarding/{_flag(w)}/handled", STAFF, "POST"),
        Page("withdrawal.confirm", lambda w: f"/fieldwork/withdraw/{_respondent(w)}", STAFF),
        Page("withdrawal.confirm", lambda w: f"/fieldwork/withdraw/{_respondent(w)}", STAFF, "POST",
             {"confirm": "yes"}),
    ]


def _flag(world) -> int:
    """A parent's answer in the assigned authority that the word list flags."""
    link = invitations.create_invitations(world.session, world.users[Role.ADMIN.value], round=world.round,
                                       authority=world.authority, role="parent", count=1)[0]
    response = surveys.begin_survey(world.session, link, consent_by="self")
    responses.save_answers(world.session, "respondent", response,
                          [{"key": "better_more", "text": "I do not feel safe at home."}])
    return world.session.scalar(sa.select(SafeguardingFlag.id).where(
        SafeguardingFlag.answer_id.in_(sa.select(Answer.id).where(Answer.response_id == response.id))))


def _respondent(world) -> int:
    return make_respondent_for(world).id


def make_respondent_for(world):
    link = invitations.create_invitations(world.session, world.users[Role.ADMIN.value], round=world.round,
                                       authority=world.authority, role="parent", count=1)[0]
    surveys.begin_survey(world.session, link, consent_by="self")
    return link.respondent


def writes(world):
    r, other, f = world.round, world.other, world.foreign
    i = f.interview.id
    where = {"round_id": r.id, "authority_id": other.id, "key_group": "", "case": "",
             "respondent_id": world.other_respondent.id}
    # A survey link's token is its credential: Other's own respondent could answer. What
    # no one may do is change a survey Other's respondent has sent, nor reach other rows.
    token = f.sent_survey.token
    answers = {"respondent_id": world.other_respondent.id, "answer_id": f.open_answer.id,
               "support_helpful": "not"}
    return [
        Write("fieldwork.start", "/fieldwork/interviews/new",
              {**where, "role": "manager", "reference": "hostile-2", "consent": "y"}),
        Write("fieldwork.interview", f"/fieldwork/interviews/{i}",
              {"l1_changes": "Hostile text", "respondent_id": world.other_respondent.id}),
        Write("fieldwork.autosave", f"/fieldwork/interviews/{i}/answers",
              json={"answers": [{"key": "l1_changes", "text": "Hostile text", "seq": 2**40}]}),
        Write("fieldwork.complete", f"/fieldwork/interviews/{i}/complete", {"confirm": "yes"}),
        Write("fieldwork.invitations", "/fieldwork/invitations", {**where, "role": "parent", "count": 3}),
        Write("survey.start", f"/s/{token}", {"consent": "yes", "mode": "self", **answers}),
        Write("survey.step", f"/s/{token}/1", answers),
        Write("survey.save_step", f"/s/{token}/1/save", {**answers, "seq": "1"}),
        Write("survey.enter_code", "/s", {"code": "ACDE-FG34"}),
        Write("survey.check", f"/s/{token}/check", {"send": "yes", **answers}),
        Write("survey.withdraw", f"/s/{token}/withdraw", {"confirm": "yes", **answers}),
        Write("withdrawal.find", "/fieldwork/withdraw", {"code": f.sent_survey.code, **answers}),
        Write("withdrawal.confirm", f"/fieldwork/withdraw/{world.other_respondent.id}", {"confirm": "yes"}),
        Write("safeguarding.handled", f"/safeguarding/{_other_flag(world)}/handled", {"flag_id": 1}),
    ]


def _other_flag(world) -> int:
    """A flagged answer from a parent of Other: only its researchers may mark it dealt with."""
    link = invitations.create_invitations(world.session, world.users[Role.ADMIN.value], round=world.round,
                                       authority=world.other, role="parent", count=1)[0]
    surveys.submit_survey(world.session, link, {"better_more": {"text": "My dad hits me."}})
    return world.session.scalar(sa.select(SafeguardingFlag.id).where(
        SafeguardingFlag.authority_id == world.other.id))
