"""Coding an answer by keyboard alone, in headless Chromium, with CSRF protection on."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from tests.conftest import PASSWORD

TEXT = "😀 Teams now share one plan, but there is no shared ICT system yet."


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.mark.browser
def test_code_an_answer_by_keyboard_alone(live_server, page, session, make_round, make_authority,
                                         make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    user = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, TEXT)

    page.goto(f"{live_server}/login?next=/coding/")
    page.keyboard.press("Tab")      # skip link
    page.keyboard.press("Tab")      # the brand
    while page.evaluate("document.activeElement.name") != "email":
        page.keyboard.press("Tab")
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/coding/")

    # The queue: j focuses the first answer, Enter opens it.
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/coding/answers/{answer.id}*")
    assert page.evaluate("document.activeElement.id") == "answer-text"

    # Move the caret past "😀 Teams now " (the emoji is one key press), then select three words.
    for _ in range(12):
        page.keyboard.press("ArrowRight")
    for _ in range(3):
        page.keyboard.press("]")
    assert page.evaluate("(() => { const t = document.getElementById('answer-text');"
                         " return t.value.slice(t.selectionStart, t.selectionEnd); })()") == "share one plan"

    # Search the codebook by typing, apply with Enter. The combobox says when its list is open
    # and which option is highlighted.
    search, listbox = page.locator("#code-search"), page.locator("#code-options")
    expect(search).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    page.keyboard.press("/")
    expect(search).to_have_attribute("aria-expanded", "true")
    expect(listbox).to_be_visible()
    page.keyboard.type("dialogue")
    expect(search).to_have_attribute("aria-activedescendant", "opt-L2-dialogue-positive")
    expect(page.locator("#opt-L2-dialogue-positive")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page.locator("li.coding")).to_have_count(1)
    # A second code on the same span, choosing its valence with the arrow keys.
    page.keyboard.type("F.ict")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("li.coding")).to_have_count(2)
    assert "Applied F.ict (to develop)" in page.inner_text("#workbench-status")

    start = TEXT.index("share one plan")
    rows = session.execute(sa.select(Coding.code_id, Coding.valence, Coding.start, Coding.end, Coding.coder_id)
                           .where(Coding.answer_id == answer.id).order_by(Coding.id)).all()
    assert [(c, v.value, s, e, u) for c, v, s, e, u in rows] == [
        ("L2.dialogue", "positive", start, start + 14, user.id),
        ("F.ict", "to_develop", start, start + 14, user.id)]
    assert TEXT[rows[0].start:rows[0].end] == "share one plan"

    # Remove the second coding from the keyboard: Escape, c to the list, arrow down, Delete.
    page.keyboard.press("Escape")
    expect(search).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    assert search.get_attribute("aria-activedescendant") is None
    page.keyboard.press("c")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Delete")
    expect(page.locator("li.coding")).to_have_count(1)
    assert session.scalar(sa.select(sa.func.count()).select_from(Coding)) == 1
    # With the mouse: clicking the search box opens the list, clicking an option applies it.
    page.click("#code-search")
    expect(search).to_have_attribute("aria-expanded", "true")
    page.click("#opt-L1-tools-positive")
    expect(page.locator("li.coding")).to_have_count(2)
    expect(search).to_have_attribute("aria-expanded", "true")     # focus stayed in the search box
    # Typing in the answer changes nothing: it is read-only.
    page.focus("#answer-text")
    page.keyboard.type("xyz")
    page.keyboard.press("Backspace")
    assert page.evaluate("document.getElementById('answer-text').value") == TEXT
