"""The retrieval page's paging and blindness."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from impactmodel.analysis import retrieval
from impactmodel.auth.models import Role
from impactmodel.coding import services as coding
from impactmodel.consortium import services as consortium
from impactmodel.fieldwork import interviews
from impactmodel.fieldwork import responses
from impactmodel.fieldwork.models import Answer
from impactmodel.interchange import csvio
from tests.conftest import ENGINES


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_pages_follow_one_another_without_gaps_or_repeats(app, session, client, auth):
    rows = "".join(f"Northshire County Council,p-{i:02d},practitioner,L1.tools,positive,,Excerpt number {i}.,r\n"
                   for i in range(7))
    csvio.import_coded(session, io.StringIO("authority,respondent,role,code,valence,key_group,excerpt,coder\n"
                                            + rows), "Round 9", actor="test")
    rnd = consortium.get_or_create_round(session, "Round 9")
    flt = retrieval.ExcerptFilter(round_id=rnd.id, code_id="L1.tools")
    seen, after = [], None
    while True:
        page, after = retrieval.excerpts(session, None, flt, after, page_size=3)
        seen += [e.excerpt for e in page]
        if after is None:
            break
    assert seen == [f"Excerpt number {i}." for i in range(7)]

    auth.login(Role.ADMIN)
    first = client.get(f"/retrieval?round={rnd.id}&code=L1.tools").get_data(as_text=True)
    assert "7 excerpts on this page." in first and "Excerpt number 6." in first
    assert "Next" not in first        # 7 fit on one page of 50
    page, after = retrieval.excerpts(session, None, flt, None, page_size=3)
    later = client.get(f"/retrieval?round={rnd.id}&code=L1.tools&after={after}").get_data(as_text=True)
    assert "Excerpt number 3." in later and "Excerpt number 2." not in later and "First page" in later


def test_a_blind_second_coder_sees_no_excerpt_of_an_answer_drawn_for_them(app, session, client, auth,
                                                                            make_round, make_authority, make_user):
    rnd = make_round("Round 4")
    north = make_authority("Northshire County Council", round=rnd)
    first, second = (make_user(Role.RESEARCHER, assigned=[north]) for _ in range(2))
    with app.app_context():
        interview = interviews.start_interview(session, first, round=rnd, authority=north, role="practitioner")
        responses.save_answers(session, first, interview, [{"key": "l1_changes", "text": "Panels meet weekly."}])
        answer = session.scalar(sa.select(Answer).where(Answer.response_id == interview.id))
        coding.add_coding(session, first, answer.id, "L1.tools", None, 0, 6)
        coding.draw_double_sample(session, first, rnd.id, second.id, 1.0, seed=1)
    auth.login(second)
    url = f"/retrieval?round={rnd.id}&code=L1.tools"
    assert "Panels" not in client.get(url).get_data(as_text=True)
    with app.app_context():
        coding.finish_second_coding(session, second, answer.id, no_code_applies=True)
    assert "Panels" in client.get(url).get_data(as_text=True)
