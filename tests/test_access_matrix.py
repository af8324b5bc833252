"""Every registered view × every role → allowed or refused, as declared in tests/access_rules/;
and every POST route × every role → nothing of an authority the user may not see changes."""
from __future__ import annotations

import importlib
import pkgutil
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

import tests.access_rules as rules_pkg
from impactmodel.analysis.models import AuthorityMemo
from impactmodel.auth.models import Role, User, researcher_assignment
from impactmodel.codebook.models import Coding
from impactmodel.coding import services as coding
from impactmodel.coding.models import DoubleCoding, Memo
from impactmodel.consortium.models import Authority, Case, Locality, Participation, Respondent, Round
from impactmodel.fieldwork import interviews, invitations, surveys
from impactmodel.fieldwork import responses as fieldwork_responses
from impactmodel.fieldwork.models import Answer, Invitation, Response, SafeguardingFlag
from impactmodel.indicators.models import IndicatorValue
from tests.access_rules import ADMIN, ANALYST, ANON, CONTACT, RESEARCHER
from tests.conftest import ENGINES, PASSWORD

ROLES = [ANON] + [r.value for r in Role]


def _rules(world, kind: str) -> list:
    found = []
    for mod in pkgutil.iter_modules(rules_pkg.__path__):
        found += getattr(importlib.import_module(f"{rules_pkg.__name__}.{mod.name}"), kind)(world)
    return found


def all_pages(world):
    return _rules(world, "pages")


def all_writes(world):
    return _rules(world, "writes")


@pytest.fixture
def world(app, session, make_round, make_authority, make_user, make_respondent):
    rnd = make_round("Matrix round")
    authority = make_authority("Assigned Borough", round=rnd)
    other = make_authority("Other Borough", round=rnd)
    users = {
        "admin": make_user(Role.ADMIN),
        "researcher": make_user(Role.RESEARCHER, assigned=[authority]),
        "authority_contact": make_user(Role.AUTHORITY_CONTACT, authority=authority),
        "analyst": make_user(Role.ANALYST),
    }
    return SimpleNamespace(app=app, session=session, round=rnd, authority=authority, other=other,
                           users=users,
                           respondent=make_respondent(rnd, authority, "practitioner", level=2.5),
                           other_respondent=make_respondent(rnd, other, "manager", level=3))


def test_every_view_declares_a_rule_and_is_in_the_matrix(app, world):
    registered = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    undeclared = sorted(e for e in registered
                        if getattr(app.view_functions[e], "access_rule", None) is None)
    assert undeclared == [], f"views without an access rule: {undeclared}"
    listed = {p.endpoint for p in all_pages(world)}
    assert sorted(registered - listed) == [], "views missing from tests/access_rules/"
    assert sorted(listed - registered) == [], "tests/access_rules/ lists views that do not exist"


def test_access_matrix(app, world):
    failures = []
    pages = all_pages(world)
    for role in ROLES:
        client = app.test_client()
        if role != ANON:
            r = client.post("/login", data={"email": world.users[role].email, "password": PASSWORD})
            assert r.status_code == 302
        for page in pages:
            if page.endpoint == "auth.logout":
                continue  # would end this client's session; checked below
            # A page that destroys what it is about gives a callable making a fresh target.
            url = page.url(world) if callable(page.url) else page.url
            response = client.open(url, method=page.method, data=page.data)
            refused = response.status_code in (401, 403) or (
                response.status_code == 302 and "/login" in response.headers.get("Location", "")
                and page.endpoint != "auth.login")
            # Allowed means the view really ran: a 404 would hide a wrong URL in the matrix.
            allowed = not refused and (response.status_code < 400 or response.status_code in (400, 422))
            expected_allowed = role in page.allowed
            if (allowed if expected_allowed else refused) is False:
                failures.append(f"{role:18} {page.method:4} {url:45} -> {response.status_code} "
                                f"(expected {'allowed' if expected_allowed else 'refused'})")
    assert failures == [], "\n".join(failures)


def test_logout_needs_a_session(client, auth):
    assert client.post("/logout").status_code == 302
    assert "/login" in client.post("/logout").headers["Location"]
    auth.login()
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # signed out: sent to the log-in page


# --- The write side -------------------------------------------------------------------

@pytest.fixture
def foreign(app, world, make_user):
    """Rows of Other Borough that a write could reach, made as its own people would make them:
    an interview in progress with two open answers, one coded with a memo, the other coded
    by two coders (drawn, coded blind and done, not yet reconciled), and a sent survey."""
    s, rnd, other = world.session, world.round, world.other
    admin = world.users[ADMIN]
    coder = make_user(Role.RESEARCHER, assigned=[other])
    second = make_user(Role.RESEARCHER, assigned=[other])
    with app.app_context():
        interview = interviews.start_interview(s, admin, round=rnd, authority=other, role="practitioner",
                                               reference="other-practitioner")
        fieldwork_responses.save_answers(s, admin, interview, [{"key": "l1_changes", "text": "Panels meet weekly."},
                                                               {"key": "l2_changes", "text": "Teams share one plan."}])
        answers = {a.question_key: a for a in s.scalars(sa.select(Answer)
                                                        .where(Answer.response_id == interview.id))}
        double, open_answer = answers["l2_changes"], answers["l1_changes"]
        coding.add_coding(s, coder, double.id, "L1.tools", None, 0, 5)
        coding.draw_double_sample(s, coder, rnd.id, second.id, 1.0, seed=1)
        coding.add_coding(s, second, double.id, "L1.tools", None, 0, 5)
        coding.finish_second_coding(s, second, double.id)
        first = coding.add_coding(s, coder, open_answer.id, "L1.tools", None, 0, 6)
        memo = coding.add_memo(s, coder, open_answer.id, "Ask about the panel.")
        sent = invitations.create_invitations(s, admin, round=rnd, authority=other, role="parent", count=1)[0]
        surveys.submit_survey(s, sent, {"support_helpful": {"value": "quite"}}, consent_by="self")
        own = interviews.start_interview(s, admin, round=rnd, authority=world.authority, role="practitioner",
                                         reference="own-practitioner")
        fieldwork_responses.save_answers(s, admin, own, [{"key": "l1_changes", "text": "Our own answer."}])
        own_answer = s.scalar(sa.select(Answer).where(Answer.response_id == own.id))
    world.foreign = SimpleNamespace(coder=coder, second=second, interview=interview, open_answer=open_answer,
                                    double_answer=double, coding=first, memo=memo, sent_survey=sent,
                                    own_answer=own_answer)
    return world


def _rows(table, *where):
    return sa.select(*table.c).where(*where).order_by(*table.primary_key.columns)


def other_authority_rows(session, other_id: int) -> dict[str, list]:
    """Everything of ``other_id`` a write could change, and the rounds and authorities
    that only an administrator creates."""
    session.commit()   # end the read transaction, so the next reads see other connections' writes
    respondents = sa.select(Respondent.id).where(Respondent.authority_id == other_id)
    responses = sa.select(Response.id).where(Response.respondent_id.in_(respondents))
    answers = sa.select(Answer.id).where(Answer.response_id.in_(responses))
    codings = sa.select(Coding.id).where(sa.or_(Coding.respondent_id.in_(respondents),
                                                Coding.answer_id.in_(answers)))
    queries = {
        "rounds": _rows(Round.__table__),
        "authorities": _rows(Authority.__table__),
        "participations": _rows(Participation.__table__, Participation.authority_id == other_id),
        "localities": _rows(Locality.__table__, Locality.authority_id == other_id),
        "cases": _rows(Case.__table__, Case.authority_id == other_id),
        "respondents and levels": _rows(Respondent.__table__, Respondent.authority_id == other_id),
        "responses": _rows(Response.__table__, Response.id.in_(responses)),
        "answers": _rows(Answer.__table__, Answer.id.in_(answers)),
        "codings": _rows(Coding.__table__, Coding.id.in_(codings)),
        "double coding": _rows(DoubleCoding.__table__, DoubleCoding.answer_id.in_(answers)),
        "memos": _rows(Memo.__table__, sa.or_(Memo.answer_id.in_(answers), Memo.coding_id.in_(codings))),
        "authority and case memos": _rows(AuthorityMemo.__table__, AuthorityMemo.authority_id == other_id),
        "invitations": _rows(Invitation.__table__, Invitation.authority_id == other_id),
        "safeguarding flags": _rows(SafeguardingFlag.__table__, SafeguardingFlag.authority_id == other_id),
        "indicator figures": _rows(IndicatorValue.__table__, IndicatorValue.authority_id == other_id),
        "researchers assigned": _rows(researcher_assignment, researcher_assignment.c.authority_id == other_id),
        "contacts": _rows(User.__table__, User.authority_id == other_id),
    }
    return {name: [tuple(row) for row in session.execute(q)] for name, q in queries.items()}


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_no_write_changes_an_authority_the_user_may_not_see(app, foreign):
    """Every POST route, as every role, aimed at Other Borough: ids of its respondents,
    answers, codings, memos, interviews and of the authority itself, in the address and
    in the body. Only the administrator may see Other Borough, so only their requests
    may change it (they go last, so the others meet Other Borough's rows intact); no
    request of anyone may answer 5xx."""
    world = foreign
    writes = all_writes(world)
    posted = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert sorted(posted - {w.endpoint for w in writes}) == [], \
        "POST routes without a write in tests/access_rules/"
    assert sorted({w.endpoint for w in writes} - posted) == [], "writes for routes that take no POST"
    other_id = world.other.id
    failures = []
    for role in [ANON, ANALYST, CONTACT, RESEARCHER, ADMIN]:
        client = app.test_client()
        if role != ANON:
            assert client.post("/login", data={"email": world.users[role].email,
                                               "password": PASSWORD}).status_code == 302
        may_see_other = role != ANON and world.users[role].may_see_authority(other_id)
        assert may_see_other is (role == ADMIN)
        for write in sorted(writes, key=lambda w: w.endpoint == "auth.logout"):  # sign out last
            before = other_authority_rows(world.session, other_id)
            try:
                status = write.send(client).status_code
            except Exception as exc:   # the test app raises what a server would answer 500 to
                failures.append(f"{role:18} {write.url:45} raised {type(exc).__name__}: {exc}")
                world.session.rollback()
                continue
            if status >= 500:
                failures.append(f"{role:18} {write.url:45} -> {status}")
            if may_see_other:
                continue
            after = other_authority_rows(world.session, other_id)
            changed = [name for name in before if before[name] != after[name]]
            if changed:
                failures.append(f"{role:18} {write.url:45} -> {status}, changed {', '.join(changed)}")
    assert failures == [], "\n".join(failures)
