"""Fieldwork in headless Chromium: a child at phone size with only a keyboard, a researcher
who reloads halfway (and loses the connection), and axe scans of every respondent page."""
from __future__ import annotations

from datetime import timedelta

import re
import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe

from impactmodel.codebook.models import Coding
from impactmodel.db import utcnow
from impactmodel.fieldwork import interviews, invitations, responses
from impactmodel.fieldwork.models import Invitation, Response, ResponseStatus
from tests.conftest import PASSWORD
from tests.fieldwork.speech import speech_stub

pytestmark = pytest.mark.browser
AXE = Axe()


@pytest.fixture
def app_config():
    # CSRF on, as in production: autosave must send the token in its header.
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def phone(chromium):
    """A 320 px wide phone whose speech synthesis records what it is asked to say."""
    context = chromium.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    context.add_init_script(speech_stub())
    yield context.new_page()
    context.close()


def assert_accessible(page, what):
    results = AXE.run(page)
    bad = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{what}: {bad}"


def assert_fits(page, width=320):
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def tab_to(page, selector, limit=80):
    """Press Tab until ``selector`` has the focus (keyboard only, as a user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def wait_until(page, expression, timeout=10.0):
    """Poll a JavaScript expression (wait_for_function would need 'unsafe-eval' under our CSP)."""
    import time
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}: status "
                                 f"{page.locator('#save-status').inner_text()!r}")
        page.wait_for_timeout(100)


def submit_with_enter(page, selector):
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_child_completes_the_survey_on_a_phone_with_only_the_keyboard(live_server, phone, session,
                                                                      make_round, make_authority):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    link = invitations.create_invitations(session, "cli", round=rnd, authority=authority, role="child",
                                          count=1, key_group="asd")[0]
    page = phone
    page.goto(invitations.invitation_url(link.token, live_server))
    assert page.locator("h1").inner_text() == "Before you start"
    assert_accessible(page, "consent")
    assert_fits(page)

    # Start without ticking anything: the problems are listed and take the focus.
    submit_with_enter(page, "button[type=submit]")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert "A parent or carer needs to tick this box" in page.locator(".error-summary").inner_text()
    assert_accessible(page, "consent with errors")
    tab_to(page, "#consent")
    page.keyboard.press("Space")
    tab_to(page, "#assent")
    page.keyboard.press("Space")
    tab_to(page, "#mode-self")
    page.keyboard.press("Space")
    submit_with_enter(page, "button[type=submit]")

    # Page 1: faces. Read the question aloud; no Back button on the first page.
    assert page.locator("h1").inner_text() == "The help you get"
    assert page.locator("svg.face").count() == 5
    assert page.locator("button[value=back]").count() == 0
    assert_accessible(page, "faces question")
    assert_fits(page)
    tab_to(page, "button.read-aloud")
    page.keyboard.press("Enter")
    assert "How do you feel about the help you get?" in page.evaluate("window.__spoken.map(s => s.text).join(' ')")
    tab_to(page, "input[name=help_feel]")
    page.keyboard.press("Space")          # very happy
    page.keyboard.press("ArrowRight")     # happy
    assert page.locator("input[name=help_feel]:checked").get_attribute("value") == "happy"
    submit_with_enter(page, "button[value=next]")

    # Page 2: what difference the help made to me.
    assert page.locator("h1").inner_text() == "What difference the help made to me"
    assert page.get_by_label("I feel happier").count() == 1
    assert_accessible(page, "difference question")
    assert_fits(page)
    tab_to(page, "input[value=no_change]")
    page.keyboard.press("Space")
    tab_to(page, "input[value='L3.cyp.happier']")
    page.keyboard.press("Space")
    tab_to(page, "input[value='L3.cyp.safer']")
    page.keyboard.press("Space")
    tab_to(page, "textarea[name='child_difference-other']")
    page.keyboard.type("I can ride my bike to school")
    submit_with_enter(page, "button[value=next]")
    # "Nothing has changed yet" goes on its own: the problem takes the focus, nothing is lost.
    assert "goes on its own" in page.locator(".error-summary").inner_text()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert_accessible(page, "difference question with an error")
    assert page.input_value("textarea[name='child_difference-other']") == "I can ride my bike to school"
    tab_to(page, "input[value=no_change]")
    page.keyboard.press("Space")
    submit_with_enter(page, "button[value=next]")

    # Page 3: who helps me.
    assert page.locator("h1").inner_text() == "Who helps me"
    assert_accessible(page, "who helps")
    assert_fits(page)
    tab_to(page, "input[value=teacher]")
    page.keyboard.press("Space")
    submit_with_enter(page, "button[value=next]")

    # Page 4: anything else, then look at the answers and send them.
    tab_to(page, "textarea[name=anything_else]")
    page.keyboard.type("Thank you for asking me")
    assert_accessible(page, "anything else")
    submit_with_enter(page, "button[value=next]")
    assert page.locator("h1").inner_text() == "Look at your answers"
    assert "I can ride my bike to school" in page.locator("main").inner_text()
    assert_accessible(page, "check answers")
    assert_fits(page)
    submit_with_enter(page, "button[type=submit]")
    assert page.locator("h1").inner_text() == "Thank you"
    assert_accessible(page, "thank you")
    assert_fits(page)

    response = session.scalar(sa.select(Response))
    assert response.status is ResponseStatus.COMPLETE and response.assented_at is not None
    answers = responses.answers_of(session, response)
    assert answers["help_feel"].value == "happy"
    assert answers["child_difference"].value == ["L3.cyp.happier", "L3.cyp.safer", "other"]
    assert answers["child_difference"].text == "I can ride my bike to school"
    assert answers["who_helps"].value == ["teacher"]
    assert answers["anything_else"].text == "Thank you for asking me"
    assert sorted(session.scalars(sa.select(Coding.code_id))) == ["L3.cyp.happier", "L3.cyp.safer"]
    assert response.respondent.key_group.code == "asd"

    # The used link, and an unknown one, are kind pages that pass the scan too.
    page.goto(invitations.invitation_url(link.token, live_server))
    assert page.locator("h1").inner_text() == "Your answers have already been sent"
    assert_accessible(page, "used link")
    page.goto(f"{live_server}/s/{'Q' * 43}")
    assert page.locator("h1").inner_text() == "We could not find this survey"
    assert_accessible(page, "unknown link")


def test_parent_pages_pass_the_scan(live_server, phone, session, make_round, make_authority):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    link, expired = invitations.create_invitations(session, "cli", round=rnd, authority=authority,
                                                   role="parent", count=2)
    session.get(Invitation, expired.id).expires_at = utcnow() - timedelta(days=1)
    session.commit()
    page = phone
    url = invitations.invitation_url(link.token, live_server)
    page.goto(url)
    assert_accessible(page, "parent consent")
    page.check("#consent")
    page.check("#mode-assisted")
    page.click("button[type=submit]")
    for n in range(1, len(responses.instrument_for_role("parent").sections) + 1):
        assert page.url.endswith(f"/{n}")
        assert_accessible(page, f"parent page {n}")
        assert_fits(page)
        if n == 1:
            page.fill("textarea[name='support_received-other']", "A neighbour")
            page.check("input[name=support_helpful][value=quite]")
        if n == 2:
            page.check("input[name=child_difference][value=no_difference]")
            page.check("input[name=child_difference][value='L3.cyp.calmer']")
            page.click("button[value=next]")
            assert_accessible(page, "parent page 2 with an error")
            assert page.is_checked("input[name=child_difference][value='L3.cyp.calmer']")
            page.uncheck("input[name=child_difference][value=no_difference]")
        page.click("button[value=next]")
    assert_accessible(page, "parent check")
    assert page.locator(".progress").inner_text() == "Check and send"
    # Coming back by the code on the card.
    page.goto(f"{live_server}/s")
    assert_accessible(page, "type the code")
    assert_fits(page)
    page.fill("#code", invitations.format_code(link.code).lower())
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Welcome back"
    assert_accessible(page, "welcome back")
    page.goto(invitations.invitation_url(expired.token, live_server))
    assert page.locator("h1").inner_text() == "This link has ended"
    assert_accessible(page, "expired link")


def test_researcher_reloads_halfway_and_loses_nothing(live_server, page, session, make_round,
                                                      make_authority, make_user):
    from impactmodel.auth.models import Role
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    researcher = make_user(Role.RESEARCHER, assigned=[authority])
    interview = interviews.start_interview(session, researcher, round=rnd, authority=authority,
                                           role="manager", key_group="lac", case="LAC-01")
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", researcher.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/fieldwork/interviews/{interview.id}")
    status = page.locator("#save-status")

    page.fill("#q-definition", "Everyone around the child works as one team.")
    page.check("#q-shared_understanding-2")
    page.locator("#question-definition summary").click()
    page.fill("#q-definition-note", "Long pause before answering")
    page.check("input[name='feature_ratings-F.multi_agency_working'][value=key]")
    page.check("input[name='feature_ratings-F.commissioning'][value=to_develop]")
    page.check("input[name=impact_level][value='2.5']")
    page.check("input[name=l1_mentioned][value='L1.tools']")
    wait_until(page, "document.getElementById('save-status').textContent === 'All answers saved'"
                     " && !localStorage.getItem('impactmodel.interview." + str(interview.id) + "')")

    page.reload()
    assert page.input_value("#q-definition") == "Everyone around the child works as one team."
    assert page.is_checked("#q-shared_understanding-2")
    assert page.input_value("#q-definition-note") == "Long pause before answering"
    assert page.is_checked("input[name='feature_ratings-F.multi_agency_working'][value=key]")
    assert page.is_checked("input[name='feature_ratings-F.commissioning'][value=to_develop]")
    assert page.is_checked("input[name=impact_level][value='2.5']")
    assert page.is_checked("input[name=l1_mentioned][value='L1.tools']")

    # The connection drops: the answer is kept in the browser, and survives a reload.
    page.route("**/answers", lambda route: route.abort())
    page.fill("#q-embedding", "Shared IT systems and one assessment.")
    status.filter(has_text="Offline — will retry").wait_for()
    session.expire_all()
    assert "embedding" not in responses.answers_of(session, interview)
    page.unroute("**/answers")
    page.reload()
    assert page.input_value("#q-embedding") == "Shared IT systems and one assessment."
    wait_until(page, "document.getElementById('save-status').textContent === 'All answers saved'")
    session.expire_all()
    answers = responses.answers_of(session, interview)
    assert answers["embedding"].text == "Shared IT systems and one assessment."
    assert answers["definition"].note == "Long pause before answering"
    assert answers["impact_level"].value == 2.5

    # The save status stays in view at the end of the long schedule, and on a phone.
    in_view = ("(() => { const r = document.getElementById('save-status').getBoundingClientRect();"
               " return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; })()")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert page.evaluate("window.scrollY") > 1000 and page.evaluate(in_view)
    page.set_viewport_size({"width": 360, "height": 640})
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
    assert page.evaluate(in_view)
    assert page.get_attribute("#save-status", "aria-live") == "polite"
    page.set_viewport_size({"width": 1280, "height": 720})

    with page.expect_navigation():
        page.click("#complete-form button")
    assert "questions are unanswered" in page.locator("main").inner_text()
    page.check("#confirm")
    with page.expect_navigation():
        page.click("button:has-text('Mark complete and lock')")
    assert "marked complete" in page.locator(".flash").inner_text()
    session.expire_all()
    assert session.get(Response, interview.id).status is ResponseStatus.COMPLETE
    assert sorted((c.code_id, c.valence.value) for c in session.scalars(sa.select(Coding))) == [
        ("F.commissioning", "to_develop"), ("F.multi_agency_working", "positive"),
        ("L1.tools", "positive"), ("P.shared_understanding", "to_develop")]
    from impactmodel.consortium.models import Respondent
    assert session.get(Respondent, interview.respondent_id).impact_level == 2.5


def test_typed_answers_survive_closing_the_tab_and_carry_on_opens_the_first_unanswered_page(
        live_server, chromium, session, make_round, make_authority):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    link = invitations.create_invitations(session, "cli", round=rnd, authority=authority, role="parent",
                                          count=1)[0]
    url = invitations.invitation_url(link.token, live_server)
    context = chromium.new_context()
    page = context.new_page()
    page.goto(url)
    page.check("#consent")
    page.check("#mode-self")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/1$"))
    page.fill("textarea[name='support_received-other']", "A neighbour")
    page.check("input[name=support_helpful][value=quite]")
    page.click("button[value=next]")
    page.wait_for_url(re.compile(r"/2$"))
    # Type on page 2 and close the tab without pressing Next.
    page.fill("textarea[name=child_difference_more]", "She sleeps better now.\nAnd she talks to us.")
    page.wait_for_timeout(150)
    page.close()
    context.close()
    session.expire_all()
    # Reopen the link in a new tab: carry on opens page 2 (the first with a question unanswered),
    # with what was typed.
    context = chromium.new_context()
    page = context.new_page()
    page.goto(url)
    assert page.locator("h1").inner_text() == "Welcome back"
    page.click("a.button:has-text('Carry on')")
    page.wait_for_url(re.compile(r"/2$"))
    assert page.input_value("textarea[name=child_difference_more]") == "She sleeps better now.\nAnd she talks to us."
    # A tick is kept as it changes too; with page 2 complete, carry on goes to page 3.
    page.check("input[name=child_difference][value='L3.cyp.calmer']")
    page.wait_for_timeout(1500)
    page.goto(url)
    page.click("a.button:has-text('Carry on')")
    page.wait_for_url(re.compile(r"/3$"))
    context.close()
