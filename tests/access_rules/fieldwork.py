from impactmodel.auth.models import Role
from impactmodel.fieldwork import services
from tests.access_rules import EVERYONE, STAFF, Page


def pages(world):
    s, r, a = world.session, world.round, world.authority
    admin = world.users[Role.ADMIN.value]
    interview = services.start_interview(s, admin, round=r, authority=a, role="manager",
                                         reference="matrix-manager")
    done = services.start_interview(s, admin, round=r, authority=a, role="dcs", reference="matrix-dcs")
    links = services.create_invitations(s, admin, round=r, authority=a, role="parent", count=3)
    child = services.create_invitations(s, admin, round=r, authority=a, role="child", count=1)[0]
    started, fresh, sent = links
    services.begin_survey(s, started, consent_by="self")
    services.submit_survey(s, sent, {"support_helpful": {"value": "quite"}})
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
        Page("fieldwork.instruments", "/fieldwork/instruments", STAFF),
        # Respondents' pages: the token is the credential; no log-in for anyone.
        Page("survey.start", f"/s/{fresh.token}", EVERYONE),
        Page("survey.step", f"/s/{started.token}/1", EVERYONE),
        Page("survey.check", f"/s/{started.token}/check", EVERYONE),
        Page("survey.thanks", f"/s/{sent.token}/thanks", EVERYONE),
        Page("survey.start", f"/s/{child.token}", EVERYONE),
        Page("survey.enter_code", "/s", EVERYONE),
        Page("survey.by_code", f"/s/c/{fresh.code}", EVERYONE),
    ]
