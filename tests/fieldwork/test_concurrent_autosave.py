"""Two hundred respondents saving answer by answer at once, on PostgreSQL: every answer is
stored exactly once, and the newest of each survives late and repeated saves."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from impactmodel.fieldwork import invitations, surveys
from impactmodel.fieldwork.models import Answer, Response
from tests.conftest import ENGINES

RESPONDENTS = 200
# A web process serves as many requests at once as its connection pool holds (SQLAlchemy's
# default: 5 plus 10 overflow); further requests wait, as at a server's listening socket.
SERVING = 15


def _saves(n: int, start: int) -> list[tuple[int, dict]]:
    """What one respondent's pages post to the save endpoint as they answer (each post is
    the page's whole form, as survey.js sends it), then a late copy of an older save and a
    repeat of the last (a beacon sent as the tab closed)."""
    page1 = {"support_helpful": "very"}
    page1_more = {**page1, "support_received": ["school", "health"]}
    page2 = {"child_difference": ["L3.cyp.happier"], "child_difference_more": f"Respondent {n}: first"}
    page2_more = {**page2, "child_difference_more": f"Respondent {n}: second thoughts"}
    saves = [(1, {**page1, "seq": str(start + 1)}), (1, {**page1_more, "seq": str(start + 2)}),
             (2, {**page2, "seq": str(start + 3)}), (2, {**page2_more, "seq": str(start + 4)})]
    return saves + [saves[2], saves[3]]


def _respondent(app, token: str, n: int, start: int, barrier: threading.Barrier,
                serving: threading.Semaphore) -> list[int]:
    client = app.test_client()
    barrier.wait()
    codes = []
    for page, form in _saves(n, start):
        with serving:
            codes.append(client.post(f"/s/{token}/{page}/save", data=form).status_code)
    return codes


@pytest.mark.slow
@pytest.mark.parametrize("database_url", [e for e in ENGINES if e == "postgresql"], indirect=True)
def test_two_hundred_respondents_saving_at_once_store_each_answer_once(app, session, make_round,
                                                                       make_authority):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    links = invitations.create_invitations(session, "cli", round=rnd, authority=authority, role="parent",
                                        count=RESPONDENTS)
    for invitation in links:
        surveys.begin_survey(session, invitation, consent_by="self")
    start = int(time.time() * 1000)
    barrier, serving = threading.Barrier(RESPONDENTS), threading.Semaphore(SERVING)
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=RESPONDENTS) as pool:
        results = list(pool.map(lambda args: _respondent(app, *args),
                                [(inv.token, n, start, barrier, serving) for n, inv in enumerate(links)]))
    seconds = time.perf_counter() - began
    assert all(codes == [200] * 6 for codes in results), [c for c in results if c != [200] * 6][:3]

    # Four questions answered each: one row per answer, none lost, none doubled.
    assert session.scalar(sa.select(sa.func.count()).select_from(Answer)) == RESPONDENTS * 4
    assert session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(Answer.response_id, Answer.question_key).group_by(Answer.response_id, Answer.question_key)
        .having(sa.func.count() > 1).subquery())) == 0
    # The newest version of each answer is kept: the late older copy changed nothing.
    stored = session.execute(sa.select(Response.respondent_id, Answer.question_key, Answer.text, Answer.value,
                                       Answer.client_seq)
                             .join(Answer, Answer.response_id == Response.id)).all()
    by_respondent: dict[int, dict] = {}
    for respondent_id, key, text, value, seq in stored:
        by_respondent.setdefault(respondent_id, {})[key] = (text, value, seq)
    texts = set()
    for answers in by_respondent.values():
        assert answers["support_helpful"] == (None, "very", start + 2)
        assert answers["support_received"][1:] == (["school", "health"], start + 2)
        assert answers["child_difference"][1:] == (["L3.cyp.happier"], start + 4)
        text, _, seq = answers["child_difference_more"]
        assert text.endswith(": second thoughts") and seq == start + 4
        texts.add(text)
    assert len(by_respondent) == len(texts) == RESPONDENTS
    print(f"\n{RESPONDENTS} respondents, {RESPONDENTS * 6} saves in {seconds:.1f} s")
