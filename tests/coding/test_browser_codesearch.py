"""Ranked code search and the codebook tree in the workbench, in headless Chromium."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from impactmodel import codebook as codebook_mod
from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from tests.conftest import PASSWORD


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.mark.browser
def test_typing_co_location_puts_f_co_location_first_with_its_rules(live_server, page, session, make_round,
                                                                     make_authority, make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    user = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, "Sharing a building with social care has made all the difference.")
    code = codebook_mod.load(codebook_mod.CODEBOOK_PATH).get("F.co_location")

    page.goto(f"{live_server}/login?next=/coding/answers/{answer.id}")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{live_server}/coding/answers/{answer.id}*")

    search = page.locator("#code-search")
    page.keyboard.press("/")
    page.keyboard.type("co-location")
    first = page.locator("#code-options [role=option]:visible").first
    expect(first).to_have_attribute("id", "opt-F-co_location-positive")
    expect(search).to_have_attribute("aria-activedescendant", "opt-F-co_location-positive")
    # Each option shows its definition; the highlighted code's four rules are shown beside.
    expect(first).to_contain_text(code.definition)
    details = page.locator("#code-details")
    expect(details).to_be_visible()
    for text in (code.definition, code.include, code.exclude, code.example, "(constructed)"):
        expect(details).to_contain_text(text)
    # L1.structures mentions co-location only in its description: listed, but below.
    shown = page.eval_on_selector_all("#code-options [role=option]:not([hidden])", "els => els.map(e => e.id)")
    assert shown.index("opt-L1-structures-positive") > shown.index("opt-F-co_location-to_develop")
    # Arrow down moves to the next option, and the rules follow (same code, other valence).
    page.keyboard.press("ArrowDown")
    expect(search).to_have_attribute("aria-activedescendant", "opt-F-co_location-to_develop")
    page.keyboard.press("Enter")
    expect(page.locator("li.coding")).to_have_count(1)
    assert session.scalars(sa.select(Coding.code_id)).all() == ["F.co_location"]

    # "level 3" lists the level-3 codes before L4.outcomes, whose description mentions level 3.
    page.fill("#code-search", "level 3")
    expect(page.locator("#code-options [role=option]:visible").first).to_have_attribute(
        "id", "opt-L3-cyp-confidence-positive")
    shown = page.eval_on_selector_all("#code-options [role=option]:not([hidden])", "els => els.map(e => e.id)")
    assert shown[-2:] == ["opt-L4-outcomes-positive", "opt-L4-outcomes-to_develop"]
    assert not any(s.startswith("opt-L1-") for s in shown)


@pytest.mark.browser
def test_the_codebook_tree_opens_by_keyboard_and_finds_a_code(live_server, page, make_round, make_authority,
                                                              make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    user = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, "We now talk to the school every week.")
    page.goto(f"{live_server}/login?next=/coding/answers/{answer.id}")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{live_server}/coding/answers/{answer.id}*")

    browser = page.locator("#codebook-browser")
    browser.locator("summary").first.focus()
    page.keyboard.press("Enter")
    expect(browser).to_have_attribute("open", "")
    group = browser.locator("details.tree-group", has_text="Level 2: professionals").first
    group.locator("summary").first.focus()
    page.keyboard.press("Enter")
    node = page.locator("#tree-L2-dialogue")
    node.locator("summary").focus()
    page.keyboard.press("Space")
    expect(node.locator("dl.code-rules")).to_be_visible()
    expect(node).to_contain_text("Do not use when")
    node.locator("button[data-pick-code]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#code-search")).to_be_focused()
    expect(page.locator("#code-search")).to_have_value("L2.dialogue")
    expect(page.locator("#code-search")).to_have_attribute("aria-activedescendant", "opt-L2-dialogue-positive")
