"""In headless Chromium: finishing a blind coding with no code asks first, and a removed
coding comes back with u (undo), with CSRF protection on."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from impactmodel.auth.models import Role
from impactmodel.coding import services
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding
from tests.conftest import PASSWORD


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{base}/")


@pytest.mark.browser
def test_an_empty_blind_coding_needs_confirming(app, live_server, page, session, make_round, make_authority,
                                                make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    first, second = (make_user(Role.RESEARCHER, assigned=[borough]) for _ in range(2))
    answers = [make_answer(rnd, borough, f"Answer {i}: panels meet weekly.") for i in range(2)]
    with app.app_context():
        for x in answers:
            services.add_coding(session, first, x.id, "L1.tools", None, 0, 6)
        services.draw_double_sample(session, first, rnd.id, second.id, 1.0, seed=1)
    _sign_in(page, live_server, second)
    page.goto(f"{live_server}/coding/answers/{answers[0].id}?queue=double&round={rnd.id}")
    dialog = page.locator("#confirm-empty")
    expect(dialog).to_be_hidden()

    # d with no code applied: the question, "Go back" focused; d again changes nothing.
    page.keyboard.press("d")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.activeElement.dataset.confirm") == "back"
    page.keyboard.press("d")
    page.keyboard.press("Enter")            # "Go back"
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "answer-text"
    row = lambda: session.execute(sa.select(DoubleCoding.second_done_at, DoubleCoding.no_code_applies)  # noqa: E731
                                  .where(DoubleCoding.answer_id == answers[0].id)).one()
    session.expire_all()
    assert row() == (None, False)
    # Escape closes the question too.
    page.keyboard.press("d")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    session.expire_all()
    assert row() == (None, False)

    # Confirmed: recorded as "no code applies", on to the next answer of the round.
    page.keyboard.press("d")
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.confirm") == "none"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/coding/answers/{answers[1].id}?queue=double&round={rnd.id}")
    session.expire_all()
    done_at, no_code = row()
    assert done_at is not None and no_code is True

    # With a code applied, d finishes at once.
    page.keyboard.press("/")
    page.keyboard.type("L2.dialogue")
    page.keyboard.press("Enter")
    expect(page.locator("li.coding")).to_have_count(1)
    page.keyboard.press("Escape")
    page.keyboard.press("d")
    page.wait_for_url(f"{live_server}/coding/double?round={rnd.id}")
    session.expire_all()
    assert session.scalar(sa.select(DoubleCoding.no_code_applies).where(
        DoubleCoding.answer_id == answers[1].id)) is False


@pytest.mark.browser
def test_undo_a_removed_coding_by_keyboard(app, live_server, page, session, make_round, make_authority,
                                           make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, "Teams now share one plan.")
    with app.app_context():
        kept = services.add_coding(session, coder, answer.id, "L2.dialogue", None, 10, 24)
    kept_id = kept.id
    _sign_in(page, live_server, coder)
    page.goto(f"{live_server}/coding/answers/{answer.id}")
    undo = page.locator("#undo-removal")
    expect(undo).to_be_hidden()
    page.keyboard.press("c")
    page.keyboard.press("Delete")
    expect(page.locator("li.coding")).to_have_count(0)
    expect(undo).to_be_visible()
    session.expire_all()
    assert session.get(Coding, kept_id) is None
    page.keyboard.press("u")
    expect(page.locator("li.coding")).to_have_count(1)
    expect(page.locator("#workbench-status")).to_have_text("Removal undone: L2.dialogue is back.")
    expect(undo).to_be_hidden()
    session.expire_all()
    back = session.get(Coding, kept_id)
    assert (back.code_id, back.start, back.end, back.excerpt) == ("L2.dialogue", 10, 24, "share one plan")
    page.keyboard.press("u")                 # nothing more to undo
    expect(page.locator("li.coding")).to_have_count(1)
