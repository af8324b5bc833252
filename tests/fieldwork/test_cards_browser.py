"""The printed sheet of survey links in Chromium, as printed: each card's address keeps its
host on one line and stays inside the card."""
from __future__ import annotations

import pytest

from impactmodel.auth.models import Role
from impactmodel.fieldwork import invitations
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_printed_cards_keep_the_host_whole_and_inside_the_card(app, live_server, page, session, make_round,
                                                               make_authority, make_user):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    admin = make_user(Role.ADMIN)
    made = invitations.create_invitations(session, admin, round=rnd, authority=authority, role="parent", count=2)
    old = invitations.create_invitations(session, admin, round=rnd, authority=authority, role="parent", count=1)[0]
    old.code = None      # a link made before short codes: the whole address is printed
    session.commit()
    # Cards print the configured address (here a long host with a path prefix), not the test server's.
    app.config["BASE_URL"] = "https://surveys.integrated-services-research.example.org/larc-round-two"
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})      # A4 at 96 dpi
    for batch in (made[0].batch, old.batch):
        page.goto(f"{live_server}/fieldwork/invitations/{batch}")
        hosts = page.eval_on_selector_all(".invite-host", "hs => hs.map(h => h.getClientRects().length)")
        assert hosts and all(n == 1 for n in hosts), hosts       # one line box each: never broken
        overflowing = page.eval_on_selector_all(
            ".invite-card", "cs => cs.filter(c => c.scrollWidth > c.clientWidth + 1).length")
        assert overflowing == 0
        assert "Use it by" in page.inner_text(".invite-card")
