"""Welsh in headless Chromium: a browser set to Welsh gets Welsh pages with lang="cy", the
switch works both ways, and every respondent page passes the axe scan in both languages."""
from __future__ import annotations

from datetime import timedelta

import pytest

from impactmodel.db import utcnow
from impactmodel.fieldwork import invitations, responses
from impactmodel.fieldwork.models import Invitation
from tests.fieldwork.test_browser import assert_accessible, assert_fits

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def welsh_phone(chromium):
    """A phone whose browser asks for Welsh first (Accept-Language: cy)."""
    context = chromium.new_context(locale="cy", viewport={"width": 320, "height": 640},
                                   is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def lang(page) -> str:
    return page.evaluate("document.documentElement.lang")


def heading(page) -> str:
    return page.locator("h1").inner_text()


def test_a_welsh_browser_gets_welsh_pages_and_the_switch_works_both_ways(live_server, welsh_phone, session,
                                                                          make_round, make_authority):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    link, expired = invitations.create_invitations(session, "cli", round=rnd, authority=authority,
                                                role="parent", count=2)
    session.get(Invitation, expired.id).expires_at = utcnow() - timedelta(days=1)
    session.commit()
    page = welsh_phone
    page.goto(invitations.invitation_url(link.token, live_server))
    assert (lang(page), heading(page)) == ("cy", "Cyn i chi ddechrau")
    assert_accessible(page, "Welsh consent")
    # To English and back, by the switch at the top of the page.
    page.click("nav.language-switch a[hreflang='en-GB']")
    assert (lang(page), heading(page)) == ("en-GB", "Before you start")
    assert_accessible(page, "English consent, switched")
    page.click("nav.language-switch a[hreflang='cy']")
    assert (lang(page), heading(page)) == ("cy", "Cyn i chi ddechrau")

    page.click("button[type=submit]")                                     # nothing ticked
    assert page.locator(".error-summary h2").inner_text() == "Mae 2 problem"
    assert_accessible(page, "Welsh consent with errors")
    page.check("#consent")
    page.check("#mode-self")
    page.click("button[type=submit]")
    sections = responses.instrument_for_role("parent").sections
    for n in range(1, len(sections) + 1):
        assert page.url.endswith(f"/{n}") and lang(page) == "cy"
        assert page.locator(".progress").inner_text() == f"Rhan {n} o {len(sections)}"
        assert_accessible(page, f"Welsh parent page {n}")
        assert_fits(page)
        if n == 2:
            page.check("input[name=child_difference][value=no_difference]")
            page.check("input[name=child_difference][value='L3.cyp.calmer']")
            page.click("button[value=next]")
            assert "Fe diciwyd 'Dim gwahaniaeth eto'" in page.locator(".error-summary").inner_text()
            assert_accessible(page, "Welsh parent page 2 with an error")
            page.uncheck("input[name=child_difference][value=no_difference]")
        if n == 4:
            page.check("input[name=joined_up][value=partly]")
        page.click("button[value=next]")
    assert heading(page) == "Gwiriwch eich atebion"
    assert "Maent yn fwy tawel ac yn fwy hamddenol" in page.locator("main").inner_text()
    assert_accessible(page, "Welsh check")
    # The code page and the ended pages speak Welsh too; the choice holds across pages.
    page.goto(f"{live_server}/s")
    assert (lang(page), heading(page)) == ("cy", "Teipiwch y cod o'ch cerdyn")
    assert_accessible(page, "Welsh code page")
    page.fill("#code", invitations.format_code(link.code))
    page.click("button[type=submit]")
    assert heading(page) == "Croeso nôl"
    assert_accessible(page, "Welsh welcome back")
    page.goto(invitations.invitation_url(link.token, live_server) + "/check")
    page.click("button.primary")
    assert (lang(page), heading(page)) == ("cy", "Diolch")
    assert_accessible(page, "Welsh thanks")
    page.goto(invitations.invitation_url(expired.token, live_server))
    assert heading(page) == "Mae'r ddolen hon wedi dod i ben"
    assert_accessible(page, "Welsh expired link")
    page.goto(f"{live_server}/s/{'Q' * 43}")
    assert heading(page) == "Ni allem ddod o hyd i'r arolwg hwn"
    assert_accessible(page, "Welsh unknown link")


def test_a_childs_welsh_survey_passes_the_scan_in_both_languages(live_server, welsh_phone, session,
                                                                 make_round, make_authority):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    link = invitations.create_invitations(session, "cli", round=rnd, authority=authority, role="child",
                                       count=1)[0]
    page = welsh_phone
    page.goto(invitations.invitation_url(link.token, live_server))
    assert lang(page) == "cy" and heading(page) == "Cyn i chi ddechrau"
    assert_accessible(page, "Welsh child consent")
    page.check("#consent")
    page.check("#assent")
    page.check("#mode-self")
    page.click("button[type=submit]")
    sections = responses.instrument_for_role("child").sections
    for n in range(1, len(sections) + 1):
        assert page.locator(".progress").inner_text() == f"Tudalen {n} o {len(sections)}"
        assert_accessible(page, f"Welsh child page {n}")
        assert_fits(page)
        # The same page in English, by the switch, and back.
        page.click("nav.language-switch a[hreflang='en-GB']")
        assert lang(page) == "en-GB" and page.locator(".progress").inner_text() == f"Page {n} of {len(sections)}"
        assert_accessible(page, f"English child page {n}")
        page.click("nav.language-switch a[hreflang='cy']")
        assert lang(page) == "cy"
        if n == 2:
            page.check("input[name=child_difference][value='L3.cyp.aspirations']")
        page.click("button[value=next]")
    assert heading(page) == "Edrych ar dy atebion"
    assert "Mae gen i gynlluniau mwy ar gyfer pan fydda i'n hŷn" in page.locator("main").inner_text()
    assert_accessible(page, "Welsh child check")
    page.click("button.primary")
    assert heading(page) == "Diolch"
    assert_accessible(page, "Welsh child thanks")
