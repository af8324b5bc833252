"""A draw for double coding covers only authorities both the drawing user and the second
coder may see: drawing freezes an answer's first coding, which no one may do elsewhere."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.coding import services
from impactmodel.coding.models import DoubleCoding
from tests.conftest import ENGINES


@pytest.fixture
def boroughs(app, session, make_round, make_authority, make_user, make_answer):
    """Two boroughs with two first-coded answers each; a coder of each borough codes them."""
    rnd = make_round()
    mine = make_authority("Assigned Borough", round=rnd)
    other = make_authority("Other Borough", round=rnd)
    coders = {b: make_user(Role.RESEARCHER, assigned=[b]) for b in (mine, other)}
    answers = {}
    with app.app_context():
        for borough in (mine, other):
            answers[borough.id] = [make_answer(rnd, borough, f"Answer {i}: the panel meets weekly.").id
                                   for i in range(2)]
            for answer_id in answers[borough.id]:
                services.add_coding(session, coders[borough], answer_id, "L1.tools", None, 0, 9)
    return rnd, mine, other, answers, coders[other]


def drawn(session):
    session.expire_all()
    return sorted(session.scalars(sa.select(DoubleCoding.answer_id)))


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_draw_covers_only_authorities_both_may_see(app, session, boroughs, make_user):
    rnd, mine, other, answers, _ = boroughs
    drawer = make_user(Role.RESEARCHER, assigned=[mine])
    second = make_user(Role.RESEARCHER, assigned=[mine, other])
    with app.app_context():
        rows = services.draw_double_sample(session, drawer, rnd.id, second.id, 1.0, seed=1)
    assert sorted(r.answer_id for r in rows) == drawn(session) == answers[mine.id]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_second_coder_sharing_no_authority_is_refused(app, session, boroughs, make_user):
    rnd, mine, other, answers, _ = boroughs
    drawer = make_user(Role.RESEARCHER, assigned=[mine])
    second = make_user(Role.RESEARCHER, assigned=[other], email="second@example.org")
    with app.app_context(), pytest.raises(services.CodingError,
                                          match="is not assigned to any of your authorities: a draw "
                                                "covers only authorities you both may see"):
        services.draw_double_sample(session, drawer, rnd.id, second.id, 1.0, seed=1)
    assert drawn(session) == []


def test_an_administrator_draws_from_every_authority_the_second_coder_sees(app, session, boroughs,
                                                                           make_user):
    rnd, mine, other, answers, _ = boroughs
    second = make_user(Role.RESEARCHER, assigned=[mine, other])
    with app.app_context():
        services.draw_double_sample(session, make_user(Role.ADMIN), rnd.id, second.id, 1.0, seed=1)
    assert drawn(session) == sorted(answers[mine.id] + answers[other.id])


def test_a_draw_limited_to_an_authority_the_user_may_not_see_is_refused(app, session, boroughs,
                                                                        make_user):
    rnd, mine, other, _answers, _ = boroughs
    drawer = make_user(Role.RESEARCHER, assigned=[mine])
    second = make_user(Role.RESEARCHER, assigned=[mine, other])
    with app.app_context(), pytest.raises(services.NotAllowed):
        services.draw_double_sample(session, drawer, rnd.id, second.id, 1.0, seed=1, authority_id=other.id)
    assert drawn(session) == []


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_draw_page_says_why_nothing_was_drawn_and_the_other_coding_stays_open(
        app, client, auth, session, boroughs, make_user):
    rnd, mine, other, answers, other_coder = boroughs
    second = make_user(Role.RESEARCHER, assigned=[other])
    auth.login(Role.RESEARCHER, assigned=[mine])
    response = client.post("/coding/double/draw", data={"round_id": rnd.id, "second_coder_id": second.id,
                                                         "share": 100, "seed": 5})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (f"Nothing was drawn: {second.name} is not assigned to any of your authorities: a draw "
            "covers only authorities you both may see.") in page
    assert drawn(session) == []
    # Other Borough's first coding is not frozen: its own coder can still change it.
    with app.app_context():
        services.add_coding(session, other_coder, answers[other.id][0], "L2.dialogue", None, 0, 6)
    assert session.scalar(sa.select(sa.func.count()).select_from(Coding)
                          .where(Coding.answer_id == answers[other.id][0])) == 2
