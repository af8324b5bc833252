"""Respondents' pages in headless Chromium: read-aloud part by part in the page's language,
no button without a voice, faces that fit 320 px with a chosen state that shows without
colour, and the new pages (withdrawal, privacy, withdrawn) pass axe."""
from __future__ import annotations

import pytest

from impactmodel.fieldwork import invitations, surveys
from tests.conftest import PASSWORD
from tests.fieldwork.speech import speech_stub
from tests.fieldwork.test_browser import assert_accessible, assert_fits, wait_until

pytestmark = pytest.mark.browser
PAUSE_MS = 700   # survey.js PAUSE_MS


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True, "RESEARCH_CONTACT": "the Family Voices team, 01632 960000"}


def _phone(chromium, voices):
    context = chromium.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    context.add_init_script(speech_stub(voices))
    return context


@pytest.fixture
def child_link(session, make_round, make_authority):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    return invitations.create_invitations(session, "cli", round=rnd, authority=authority, role="child", count=1)[0]


def _begin(page, live_server, link):
    page.goto(invitations.invitation_url(link.token, live_server))
    page.check("#consent")
    page.check("#assent")
    page.check("#mode-self")
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_load_state("load")    # styles applied before anything is measured


def _spoken(page):
    return page.evaluate("window.__spoken")


def test_read_aloud_reads_the_question_then_each_option_with_pauses_in_the_pages_voice(
        live_server, chromium, child_link):
    context = _phone(chromium, [("Test Welsh", "cy-GB"), ("Test English", "en-GB")])
    page = context.new_page()
    page.goto(invitations.invitation_url(child_link.token, live_server))
    # The information for parents is read too, paragraph by paragraph.
    page.click("#for-parent ~ button.read-aloud, .q-head:has(#for-parent) button.read-aloud")
    wait_until(page, "window.__spoken.length >= 2 && document.querySelector"
                     "('.q-head:has(#for-parent) button').getAttribute('aria-pressed') === 'false'")
    texts = [s["text"] for s in _spoken(page)]
    assert texts[0].startswith("This short survey asks your child") and texts[1].startswith("Your child's answers")
    page.check("#consent")
    page.check("#assent")
    page.check("#mode-self")
    page.click("button[type=submit]")

    page.evaluate("window.__spoken = []")
    page.click("#question-help_feel button.read-aloud")
    assert page.get_attribute("#question-help_feel button.read-aloud", "aria-pressed") == "true"
    wait_until(page, "window.__spoken.length === 6 && document.querySelector"
                     "('#question-help_feel button.read-aloud').getAttribute('aria-pressed') === 'false'")
    spoken = _spoken(page)
    assert [s["text"] for s in spoken] == ["How do you feel about the help you get?", "Very happy", "Happy", "OK",
                                           "Sad", "I don't want to say"]
    assert {(s["lang"], s["voice"]) for s in spoken} == {("en-GB", "Test English")}
    gaps = [b["at"] - a["at"] for a, b in zip(spoken, spoken[1:])]
    assert min(gaps) >= PAUSE_MS, gaps

    # Pressing again stops a reading halfway.
    page.evaluate("window.__spoken = []")
    page.click("#question-help_feel button.read-aloud")
    page.click("#question-help_feel button.read-aloud")
    page.wait_for_timeout(2 * PAUSE_MS)
    assert [s["text"] for s in _spoken(page)] == ["How do you feel about the help you get?"]

    # Page 2: seventeen options, each with a picture and a button reading that option alone.
    page.check("input[name=help_feel][value=happy]")
    page.click("button[value=next]")
    options = page.locator("#question-child_difference .choice")
    assert options.count() == 17
    assert page.locator("#question-child_difference .choice svg.picture[aria-hidden=true]").count() == 17
    assert_accessible(page, "options with pictures and read-aloud buttons")
    assert_fits(page)
    page.evaluate("window.__spoken = []")
    page.get_by_role("button", name="Read aloud: I feel happier").click()
    page.wait_for_timeout(PAUSE_MS)
    assert [s["text"] for s in _spoken(page)] == ["I feel happier"]
    context.close()


@pytest.mark.parametrize("voices", [[], [("Test Welsh", "cy-GB")]], ids=["no voice", "no voice for the page"])
def test_without_a_voice_for_the_pages_language_there_is_no_read_aloud_button(
        live_server, chromium, child_link, voices):
    context = _phone(chromium, voices)
    page = context.new_page()
    _begin(page, live_server, child_link)
    assert page.locator("button.read-aloud").count() > 0
    assert page.locator("button.read-aloud:visible").count() == 0
    # A voice arriving later (browsers load them after the page) brings the buttons.
    page.evaluate("window.__voices = [{name: 'Late', lang: 'en-GB'}];"
                  " window.speechSynthesis.dispatchEvent(new Event('voiceschanged'))")
    assert page.locator("#question-help_feel button.read-aloud").is_visible()
    context.close()


def _begin_in_welsh(page, live_server, link):
    page.goto(invitations.invitation_url(link.token, live_server) + "?lang=cy")
    assert page.evaluate("document.documentElement.lang") == "cy"
    _begin(page, live_server, link)


def test_a_welsh_page_is_read_aloud_in_a_welsh_voice(live_server, chromium, child_link):
    context = _phone(chromium, [("Test English", "en-GB"), ("Test Welsh", "cy-GB")])
    page = context.new_page()
    _begin_in_welsh(page, live_server, child_link)
    page.click("#question-help_feel button.read-aloud")
    wait_until(page, "window.__spoken.length === 6 && document.querySelector"
                     "('#question-help_feel button.read-aloud').getAttribute('aria-pressed') === 'false'")
    spoken = _spoken(page)
    assert [s["text"] for s in spoken] == ["Sut wyt ti'n teimlo am y help rwyt ti'n ei gael?", "Hapus iawn",
                                           "Hapus", "Iawn", "Trist", "Dydw i ddim eisiau dweud"]
    assert {(s["lang"], s["voice"]) for s in spoken} == {("cy", "Test Welsh")}
    # An option's own button is named in Welsh too.
    page.check("input[name=help_feel][value=happy]")
    page.click("button[value=next]")
    page.evaluate("window.__spoken = []")
    page.get_by_role("button", name="Darllen yn uchel: Rydw i'n teimlo'n hapusach").click()
    page.wait_for_timeout(PAUSE_MS)
    assert [(s["text"], s["voice"]) for s in _spoken(page)] == [("Rydw i'n teimlo'n hapusach", "Test Welsh")]
    context.close()


def test_a_welsh_page_with_only_an_english_voice_has_no_read_aloud_button(live_server, chromium, child_link):
    context = _phone(chromium, [("Test English", "en-GB")])
    page = context.new_page()
    _begin_in_welsh(page, live_server, child_link)
    assert page.locator("button.read-aloud").count() > 0
    assert page.locator("button.read-aloud:visible").count() == 0
    context.close()


def test_faces_fit_a_320_px_screen_and_the_chosen_face_shows_without_colour(live_server, chromium, child_link):
    context = _phone(chromium, [("Test English", "en-GB")])
    page = context.new_page()
    _begin(page, live_server, child_link)
    for question in ("help_feel",):
        overflow = page.evaluate("""q => [...document.querySelectorAll('#question-' + q + ' .face-choice label')]
            .filter(label => { const box = label.getBoundingClientRect();
                               const text = label.querySelector('.face-label');
                               const t = text.getBoundingClientRect();
                               return t.left < box.left || t.right > box.right || text.scrollWidth > text.clientWidth
                                      || box.right > document.documentElement.clientWidth; })
            .map(label => label.textContent.trim())""", question)
        assert overflow == []
    assert_fits(page)
    page.locator("#question-help_feel label").filter(has_text="I don't want to say").click()
    chosen = page.evaluate("""() => { const label = document.querySelector('.face-input:checked + label');
        const style = getComputedStyle(label), tick = getComputedStyle(label, '::after');
        return [style.borderTopWidth, tick.content, label.textContent.trim()]; }""")
    assert chosen[0] == "3px" and "✓" in chosen[1] and chosen[2] == "I don't want to say"
    other = page.evaluate("getComputedStyle(document.querySelector('.face-input:not(:checked) + label'), '::after')"
                          ".content")
    assert other in ("none", "normal")
    # Forced colours (Windows high contrast) drop fills and shadows: the border still says it.
    page.emulate_media(forced_colors="active")
    forced = page.evaluate("getComputedStyle(document.querySelector('.face-input:checked + label')).borderTopStyle")
    plain = page.evaluate("getComputedStyle(document.querySelector('.face-input:not(:checked) + label'))"
                          ".borderTopStyle")
    assert (forced, plain) == ("double", "solid")
    assert_accessible(page, "faces with one chosen, forced colours")
    context.close()


def test_withdrawal_and_privacy_pages_pass_the_scan(live_server, chromium, child_link, session):
    context = _phone(chromium, [("Test English", "en-GB")])
    page = context.new_page()
    _begin(page, live_server, child_link)
    page.click("text=What we do with your answers")
    assert page.locator("h1").inner_text() == "What we do with your answers"
    assert "the Family Voices team, 01632 960000" in page.locator("main").inner_text()
    assert_accessible(page, "privacy notice")
    assert_fits(page)
    page.click("footer a:has-text('I do not want to take part any more')")
    assert page.locator("h1").inner_text() == "Do you want to stop taking part?"
    assert_accessible(page, "withdraw")
    assert_fits(page)
    page.click("text=Yes, delete my answers")
    assert page.locator("h1").inner_text() == "Your answers have been deleted"
    assert_accessible(page, "withdrawn")
    page.goto(f"{live_server}/s/privacy")
    assert_accessible(page, "privacy notice without a link")
    context.close()


def test_welsh_withdrawal_and_privacy_pages_pass_the_scan(live_server, chromium, child_link):
    context = _phone(chromium, [("Test Welsh", "cy-GB")])
    page = context.new_page()
    _begin_in_welsh(page, live_server, child_link)
    assert "Childline" in page.locator("footer .keep-safe").inner_text()
    page.click("text=Beth rydyn ni'n ei wneud â'ch atebion")
    assert page.locator("h1").inner_text() == "Beth rydyn ni'n ei wneud â'ch atebion"
    assert_accessible(page, "privacy notice in Welsh")
    assert_fits(page)
    page.click("footer a:has-text('Dydw i ddim eisiau cymryd rhan mwyach')")
    assert page.locator("h1").inner_text() == "Wyt ti eisiau stopio cymryd rhan?"
    assert_accessible(page, "withdraw in Welsh")
    assert_fits(page)
    page.click("text=Ydw, dileu fy atebion")
    assert page.locator("h1").inner_text() == "Mae eich atebion wedi'u dileu"
    assert_accessible(page, "withdrawn in Welsh")
    context.close()


def test_the_staff_pages_for_safeguarding_and_withdrawal_pass_the_scan(live_server, page, session, fw):
    link = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                       role="child", count=1)[0]
    surveys.submit_survey(session, link, {"anything_else": {"text": "I am scared of my step dad."}})
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", fw.researcher.email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "1 answer from a parent or child may disclose harm" in page.locator(".safeguarding-alert").inner_text()
    assert_accessible(page, "a staff page with the safeguarding banner")
    page.click(".safeguarding-alert a")
    assert "I am scared of my step dad." in page.locator("main").inner_text()
    assert_accessible(page, "safeguarding")
    page.goto(f"{live_server}/fieldwork/withdraw")
    page.fill("#code", invitations.format_code(link.code))
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.locator("h1").inner_text().startswith("Withdraw child-link-")
    assert_accessible(page, "withdrawal confirmation")
