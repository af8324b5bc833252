"""Details of interviews and surveys that people notice: references, consent words, skipping,
navigation, short codes, confirmation, lists, autosave safety, error links and unsent surveys."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from impactmodel.auth.models import Role, User
from impactmodel.consortium.models import Respondent
from impactmodel.fieldwork import interviews, invitations, responses, surveys
from impactmodel.fieldwork.models import Invitation, Response, ResponseStatus
from impactmodel.fieldwork.questions import question_type
from tests.conftest import ENGINES


@pytest.fixture
def ctx(app):
    from impactmodel.db import db
    with app.app_context():
        yield db.session


def _begin(client, session, fw, role="parent"):
    invitation = invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                                role=role, count=1)[0]
    base = f"/s/{invitation.token}"
    data = {"consent": "yes", "mode": "self"} | ({"assent": "yes"} if role == "child" else {})
    assert client.post(base, data=data).status_code == 302
    return invitation, base


# Fresh references fit the authority's existing ones.

def test_fresh_references_use_the_width_already_in_use(ctx, fw, make_respondent):
    for n in (1, 2, 3):
        make_respondent(fw.round, fw.authority, "manager", reference=f"manager-0{n}")
    make_respondent(fw.round, fw.authority, "dcs", reference="dcs-lead")   # not numbered: ignored
    r = interviews.start_interview(ctx, fw.admin, round=fw.round, authority=fw.authority, role="manager")
    assert r.respondent.reference == "manager-04"
    # None of that role yet (here, or in this authority): three digits.
    assert interviews.start_interview(ctx, fw.admin, round=fw.round, authority=fw.authority,
                                      role="dcs").respondent.reference == "dcs-001"
    assert interviews.start_interview(ctx, fw.admin, round=fw.round, authority=fw.other,
                                      role="manager").respondent.reference == "manager-001"
    # Gaps are not refilled (a reference once used stays that person's), and 99 grows to 100.
    make_respondent(fw.round, fw.authority, "manager", reference="manager-99")
    assert interviews.next_reference(ctx, fw.round, fw.authority, "manager") == "manager-100"


# Exclusive answers and "something else" words, on surveys as in interviews.

def test_exclusive_options_refuse_other_answers_and_words(client, session, fw):
    invitation, base = _begin(client, session, fw, "child")
    both = client.post(f"{base}/2", data={"go": "next", "child_difference": ["no_change", "L3.cyp.happier"]})
    assert both.status_code == 422
    assert "&#39;Nothing has changed yet&#39; goes on its own" in both.get_data(as_text=True)
    words = client.post(f"{base}/2", data={"go": "next", "child_difference": ["no_change"],
                                           "child_difference-other": "I got a dog"})
    assert words.status_code == 422 and "clear the words you wrote" in words.get_data(as_text=True)
    session.expire_all()
    assert responses.answers_of(session, surveys.survey_response(session, invitation)) == {}


def test_words_for_something_else_tick_its_box(client, session, fw):
    invitation, base = _begin(client, session, fw, "child")
    ok = client.post(f"{base}/2", data={"go": "next", "child_difference": ["L3.cyp.happier"],
                                        "child_difference-other": "I like my new club"})
    assert ok.status_code == 302
    session.expire_all()
    answer = responses.answers_of(session, surveys.survey_response(session, invitation))["child_difference"]
    assert answer.value == ["L3.cyp.happier", "other"] and answer.text == "I like my new club"
    page = client.get(f"{base}/2").get_data(as_text=True)
    assert re.search(r'id="q-child_difference-other-choice"[^>]*value="other"\s+checked', page)
    # A page that comes back with an error on another question shows the box ticked too.
    q = {"options": [{"id": "a", "label": "A"}], "other": True, "other_label": "Something else"}
    single = question_type("single_choice")
    assert single.clean(q, "words", None) == ("words", "other")
    with pytest.raises(ValueError, match="Please keep one"):
        single.clean(q, "words", "a")


# "You can skip any question" is true; sending needs one answer.

def test_every_survey_question_can_be_skipped_but_not_all(client, session, fw):
    for role in ("parent", "child"):
        idef = responses.instrument_for_role(role)
        assert [k for k, q in idef.questions.items() if q.get("required")] == []
        assert "skip any question" in idef.definition["about"]
    invitation, base = _begin(client, session, fw)
    for n in range(1, 5):     # Next through every page with nothing ticked
        assert client.post(f"{base}/{n}", data={"go": "next"}).status_code == 302
    empty = client.post(f"{base}/check")
    assert empty.status_code == 422 and "at least one question" in empty.get_data(as_text=True)
    assert session.get(Invitation, invitation.id).submitted_at is None
    client.post(f"{base}/2", data={"go": "next", "child_difference": ["no_difference"]})
    assert client.post(f"{base}/check").headers["Location"].endswith("/thanks")


# Survey navigation.

def test_no_back_on_page_one_and_the_check_page_is_named(client, session, fw):
    invitation, base = _begin(client, session, fw)
    first = client.get(f"{base}/1").get_data(as_text=True)
    assert 'value="back"' not in first and "Part 1 of" in first
    assert 'value="back"' in client.get(f"{base}/2").get_data(as_text=True)
    # An old page 1 posted with Back stays on the questions, never "Welcome back".
    assert client.post(f"{base}/1", data={"go": "back"}).headers["Location"].endswith(f"{base}/1")
    check = client.get(f"{base}/check").get_data(as_text=True)
    assert "Check and send" in check and not re.search(r"(Part|Page) \d+ of \d+", check)


# The footer says what is true on each page.

def test_footer_promises_fit_the_page(client, session, fw):
    invitation, base = _begin(client, session, fw)
    kept = "kept safe until you send them"
    assert kept in client.get(f"{base}/1").get_data(as_text=True)
    client.post(f"{base}/1", data={"go": "next", "support_helpful": "quite"})
    client.post(f"{base}/check")
    for page in (client.get(f"{base}/thanks"), client.get(base)):
        html = page.get_data(as_text=True)
        assert kept not in html and "Your answers have been sent" in html
    assert kept not in client.get("/s/" + "Z" * 43).get_data(as_text=True)


# The child's consent page: adult words for the parent, child words for the child.

def test_child_consent_separates_parent_and_child_words(client, session, fw):
    invitation = invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                                role="child", count=1)[0]
    html = client.get(f"/s/{invitation.token}").get_data(as_text=True)
    parent = html[html.index('id="for-parent"'):html.index('id="for-you"')]
    child = html[html.index('id="for-you"'):]
    assert "other children&#39;s answers" in parent and "your child" in parent.lower()
    assert "We put your answers together" not in parent and "We want to know what you think" not in parent
    assert "You can skip any question." in child and "your child" not in child.lower()
    # 10. Every read-aloud button starts hidden (survey.js shows it if the browser can speak).
    buttons = re.findall(r'<button[^>]*class="read-aloud"[^>]*>', html)
    assert buttons and all(" hidden" in b for b in buttons)


# Short codes for printed cards.

def test_cards_carry_a_short_unique_code(client, auth, session, fw):
    links = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                           role="parent", count=40)
    codes = [i.code for i in links]
    assert len(set(codes)) == 40
    assert all(re.fullmatch(f"[{invitations.CODE_ALPHABET}]{{8}}", c) for c in codes)
    assert not set("".join(codes)) & set("0O1IL5S2Z8B")
    auth.login(fw.researcher)
    sheet = client.get(f"/fieldwork/invitations/{links[0].batch}").get_data(as_text=True)
    assert invitations.format_code(codes[0]) in sheet
    assert '<span class="invite-url"><span class="invite-host">localhost</span><wbr>/s</span>' in sheet
    assert '<p class="card-number">Card 1<span class="no-print">' in sheet
    # Typed by hand: any case, with or without the dash or spaces.
    typed = f" {codes[0][:4].lower()} - {codes[0][4:].lower()} "
    found = client.post("/s", data={"code": typed})
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/s/{links[0].token}")
    # The form posts, so a typed code never travels in an address; an old ?code= link still works.
    assert 'method="post"' in client.get("/s").get_data(as_text=True)
    assert client.get("/s", query_string={"code": typed}).headers["Location"].endswith(f"/s/{links[0].token}")
    assert client.get(f"/s/c/{invitations.format_code(codes[1])}").headers["Location"].endswith(
        f"/s/{links[1].token}")
    assert client.get("/s").status_code == 200
    wrong = client.post("/s", data={"code": "ACDE-FG3"})
    assert wrong.status_code == 422 and "could not find that code" in wrong.get_data(as_text=True)
    assert client.get("/s/c/AAAAAAAA").status_code == 404


# Completing an interview is confirmed, with the unanswered questions counted.

def test_mark_complete_asks_for_confirmation(client, auth, session, fw):
    response = interviews.start_interview(session, fw.researcher, round=fw.round, authority=fw.authority,
                                          role="dcs")
    responses.save_answer(session, fw.researcher, response, "definition", text="Joined-up")
    total = len(responses.definition_of(response).questions)
    auth.login(fw.researcher)
    assert 'id="complete-form"' in client.get(f"/fieldwork/interviews/{response.id}").get_data(as_text=True)
    url = f"/fieldwork/interviews/{response.id}/complete"
    page = client.get(url).get_data(as_text=True)
    assert f"{total - 1} of {total} questions are unanswered" in page and "locked" in page
    refused = client.post(url, data={})
    assert refused.status_code == 422 and "Tick the box to confirm" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Response, response.id).status is ResponseStatus.IN_PROGRESS
    assert client.post(url, data={"confirm": "yes"}).status_code == 302
    session.expire_all()
    assert session.get(Response, response.id).status is ResponseStatus.COMPLETE
    assert client.get(url).status_code == 302     # already complete: back to the read-only page


# The interview list: filters and pages, my interviews in progress first.

def test_interview_list_filters_and_pages(client, auth, session, fw):
    mine = interviews.start_interview(session, fw.researcher, round=fw.round, authority=fw.authority,
                                      role="practitioner")
    for _ in range(54):
        done = interviews.start_interview(session, fw.admin, round=fw.round, authority=fw.authority,
                                          role="manager")
        responses.complete_response(session, fw.admin, done)
    auth.login(fw.researcher)
    first = client.get("/fieldwork/").get_data(as_text=True)
    rows = re.findall(r"<tr(?: class=\"mine\")?><td><a [^>]*>([^<]+)</a>", first)
    assert len(rows) == 50 and rows[0] == f"Resume {mine.respondent.reference}"
    assert "Interviews 1–50 of 55" in first and 'aria-current="page">1<' in first
    second = client.get("/fieldwork/?page=2").get_data(as_text=True)
    assert len(re.findall(r"<tr><td><a ", second)) == 5 and "Interviews 51–55 of 55" in second
    only = client.get("/fieldwork/", query_string={"role": "practitioner", "status": "in_progress",
                                                   "authority": fw.authority.id, "round": fw.round.id})
    html = only.get_data(as_text=True)
    assert "1 interview matching the filters" in html and "manager-0" not in html
    assert client.get("/fieldwork/?status=complete&page=9").status_code == 200   # clamped to the last page
    assert "No interviews match" in client.get("/fieldwork/?role=dcs").get_data(as_text=True)


# No empty or "None" ARIA attributes on fieldwork pages.

def test_no_empty_aria_attributes(client, auth, session, fw):
    response = interviews.start_interview(session, fw.researcher, round=fw.round, authority=fw.authority,
                                          role="manager")
    invitation, base = _begin(client, session, fw)
    auth.login(fw.researcher)
    pages = [client.get(p) for p in ("/fieldwork/", "/fieldwork/interviews/new", "/fieldwork/invitations",
                                     f"/fieldwork/interviews/{response.id}",
                                     f"/fieldwork/interviews/{response.id}/complete", "/s",
                                     f"{base}/1", f"{base}/check")]
    pages.append(client.post("/fieldwork/interviews/new", data={"round_id": fw.round.id}))
    pages.append(client.post(f"/fieldwork/interviews/{response.id}/complete", data={}))
    for page in pages:
        html = page.get_data(as_text=True)
        assert not re.search(r'aria-(invalid|describedby)="(None|)"', html), page.request.path


def test_guessing_short_codes_is_slowed_but_never_locks_out_a_valid_code(app, client, session, fw):
    app.config.update(SURVEY_CODE_MAX_FAILURES=20, SURVEY_CODE_BURST=3, SURVEY_CODE_REFILL_MINUTES=10)
    links = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                           role="parent", count=5)
    for _ in range(5):  # typos of the wrong shape are not guesses and are not counted
        assert client.post("/s", data={"code": "ACD"}).status_code == 422
    wrong = [c for c in ("ACDEFG34", "ACDEFG36", "ACDEFG37", "ACDEFG39", "ACDEFG43") if c not in {i.code for i in links}]
    for n in range(20):   # a classroom behind one address, with many typos
        assert client.post("/s", data={"code": wrong[n % 2]}).status_code == 422
    # Slowed, not locked out: a correct code still opens at once ...
    opened = client.post("/s", data={"code": links[0].code})
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/s/{links[0].token}")
    assert client.get(f"/s/c/{links[1].code}").status_code == 302
    # ... but from now on only a few codes are checked, valid or not, then one every few minutes.
    assert client.post("/s", data={"code": wrong[2]}).status_code == 422
    assert client.post("/s", data={"code": wrong[3]}).status_code == 429
    assert client.post("/s", data={"code": links[2].code}).status_code == 429
    assert client.get("/s/c/ACDE-FG34").status_code == 429
    other = app.test_client()  # the limit is per client, not for everyone
    assert other.get(f"/s/c/{links[3].code}", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 302
    # Ten minutes later one more check is allowed.
    from impactmodel.auth.models import LoginAttempt
    for attempt in session.scalars(sa.select(LoginAttempt)):
        attempt.at = attempt.at - timedelta(minutes=11)
    session.commit()
    assert client.post("/s", data={"code": links[4].code}).status_code == 303
    assert client.post("/s", data={"code": links[4].code}).status_code == 429


def test_a_fresh_reference_taken_meanwhile_makes_a_new_person(app, session, make_round, make_authority,
                                                                make_user, monkeypatch):
    """Two researchers start interviews at once: both are offered the same next number.

    The race is made deterministic: the second researcher's ``next_reference`` still
    answers the number the first has just taken. The second interview must be a new
    person, not the first researcher's interview resumed.
    """
    from impactmodel.db import db

    rnd = make_round()
    borough = make_authority(round=rnd)
    first, second = (make_user(Role.RESEARCHER, assigned=[borough]) for _ in range(2))
    with app.app_context():
        a = interviews.start_interview(db.session, db.session.get(User, first.id), round=rnd.id,
                                       authority=borough.id, role="manager")
        taken = a.respondent.reference
        real = interviews.next_reference
        stale = iter([taken])
        monkeypatch.setattr(interviews, "next_reference", lambda *args: next(stale, None) or real(*args))
        b = interviews.start_interview(db.session, db.session.get(User, second.id), round=rnd.id,
                                       authority=borough.id, role="manager")
        assert b.respondent_id != a.respondent_id
        assert b.respondent.reference != taken


# Error links, signed-out autosave, clocks, unsent surveys.

def test_every_error_summary_link_has_a_target(client, session, fw):
    invitation, base = _begin(client, session, fw, "child")
    page = client.post(f"{base}/2", data={"go": "next", "child_difference": ["no_change", "L3.cyp.happier"]})
    html = page.get_data(as_text=True)
    summary = html[html.index('id="error-summary"'):]
    targets = re.findall(r'<li><a href="#([^"]+)"', summary[:summary.index("</div>")])
    assert targets
    for target in targets:
        assert f'id="{target}"' in html, f"the error link #{target} leads nowhere"


def _interview(client, session, fw):
    from tests.conftest import PASSWORD
    response = interviews.start_interview(session, fw.researcher, round=fw.round, authority=fw.authority,
                                          role="manager")
    client.post("/login", data={"email": fw.researcher.email, "password": PASSWORD})
    return response


def test_autosave_after_signing_out_is_refused_not_redirected(client, session, fw):
    response = _interview(client, session, fw)
    url = f"/fieldwork/interviews/{response.id}/answers"
    ok = client.post(url, json={"answers": [{"key": "definition", "text": "first", "seq": 1}]})
    assert ok.status_code == 200 and "definition" in ok.get_json()["saved"]
    client.post("/logout")
    late = client.post(url, json={"answers": [{"key": "definition", "text": "second", "seq": 2}]},
                       headers={"Accept": "application/json"})
    assert late.status_code == 401 and "signed out" in late.get_json()["error"]
    session.expire_all()
    assert responses.answers_of(session, response)["definition"].text == "first"


def test_a_save_sequence_ahead_of_the_server_clock_is_refused(client, session, fw):
    import time
    response = _interview(client, session, fw)
    url = f"/fieldwork/interviews/{response.id}/answers"
    future = int((time.time() + 3 * 86400) * 1000)
    r = client.post(url, json={"answers": [{"key": "definition", "text": "x", "seq": future}]})
    assert r.status_code == 422 and "ahead of the server's clock" in r.get_json()["errors"]["definition"]
    page = client.get(f"/fieldwork/interviews/{response.id}").get_data(as_text=True)
    server_now = int(re.search(r'data-server-now="(\d+)"', page).group(1))
    assert abs(server_now / 1000 - time.time()) < 60  # the page gives the browser the server's clock


def test_answers_of_an_unsent_survey_are_not_coded_or_exported(client, session, fw):
    from impactmodel.coding import queries
    invitation, base = _begin(client, session, fw, "child")
    assert client.post(f"{base}/4", data={"go": "next", "anything_else": "UNSENT my dad shouts"}).status_code \
        in (200, 302)
    session.expire_all()
    answers = responses.answers_of(session, surveys.survey_response(session, invitation))
    assert "anything_else" in answers  # saved page by page, as promised, until sent or not
    with client.application.app_context():
        ids = list(session.scalars(queries.queue_query(session, fw.admin, queries.QueueFilter(status="all"))))
    assert answers["anything_else"].id not in ids


def test_a_survey_begun_before_its_link_expired_can_be_finished(client, session, fw):
    from datetime import timedelta

    from impactmodel.db import utcnow
    begun, base = _begin(client, session, fw, "parent")
    untouched = invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                               role="parent", count=1)[0]
    for inv in (begun, untouched):
        session.get(Invitation, inv.id).expires_at = utcnow() - timedelta(days=1)
    session.commit()
    assert client.get(f"{base}/1").status_code == 200               # still in the grace period
    assert client.get(f"/s/{untouched.token}").status_code == 410   # never opened: ended
    session.get(Invitation, begun.id).expires_at = utcnow() - timedelta(days=invitations.EXPIRY_GRACE_DAYS + 1)
    session.commit()
    assert client.get(f"{base}/1").status_code == 410               # the grace period is over too


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_survey_answers_are_kept_as_they_change_newest_first(client, session, fw):
    invitation, base = _begin(client, session, fw)
    save = f"{base}/2/save"
    first = client.post(save, data={"child_difference_more": "Calmer at home", "seq": "2000"})
    assert first.status_code == 200 and first.get_json()["saved"]["child_difference_more"] == 2000
    # A save that left the browser earlier but arrives later changes nothing.
    late = client.post(save, data={"child_difference_more": "Calm", "seq": "1000"})
    assert late.status_code == 200 and "child_difference_more" in late.get_json()["stale"]
    session.expire_all()
    response = surveys.survey_response(session, session.get(Invitation, invitation.id))
    assert responses.answers_of(session, response)["child_difference_more"].text == "Calmer at home"
    # Questions of another page are not touched by this page's save.
    client.post(f"{base}/1/save", data={"support_helpful": "quite", "support_received": "school", "seq": "3000"})
    session.expire_all()
    answers = responses.answers_of(session, response)
    assert answers["support_helpful"].value == "quite" and answers["child_difference_more"].text == "Calmer at home"
    bad = client.post(save, data={"child_difference": "not-an-option", "seq": "4000"})
    assert bad.status_code == 422 and "child_difference" in bad.get_json()["errors"]
    # Carry on opens the first page with a question unanswered.
    page = client.get(base).get_data(as_text=True)
    assert f'href="{base}/1"' not in page and (f'href="{base}/2"' in page)
    surveys.submit_survey(session, session.get(Invitation, invitation.id))
    assert client.post(save, data={"child_difference_more": "After sending", "seq": "5000"}).status_code == 410
