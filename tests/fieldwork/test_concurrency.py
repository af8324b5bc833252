"""Every answer arrives once: concurrent submissions on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Respondent
from impactmodel.fieldwork import invitations, responses
from impactmodel.fieldwork.models import Answer, Invitation, Response, ResponseStatus
from tests.conftest import ENGINES

N = 50


def _answer_survey(app, token: str, barrier: threading.Barrier, n: int) -> list[int]:
    """One respondent on their own device: consent, three pages, then Send twice."""
    client = app.test_client()
    barrier.wait()
    codes = [client.post(f"/s/{token}", data={"consent": "yes", "mode": "self"}).status_code]
    codes.append(client.post(f"/s/{token}/1", data={"go": "next", "support_helpful": "very",
                                                    "support_received": ["school"]}).status_code)
    codes.append(client.post(f"/s/{token}/2", data={"go": "next", "child_difference": [
        "L3.cyp.happier", "L3.cyp.safer"], "child_difference_more": f"Respondent {n}"}).status_code)
    better = responses.instrument_for_role("parent").section_of("better") + 1
    codes.append(client.post(f"/s/{token}/{better}", data={"go": "next", "better": ["S.key_worker"]}).status_code)
    codes += [client.post(f"/s/{token}/check").status_code for _ in range(2)]   # a double click
    return codes


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_fifty_concurrent_submissions_store_fifty_responses(app, session, make_round, make_authority):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    links = invitations.create_invitations(session, "cli", round=rnd, authority=authority, role="parent",
                                           count=N)
    barrier = threading.Barrier(N)
    with ThreadPoolExecutor(max_workers=N) as pool:
        results = list(pool.map(lambda a: _answer_survey(app, *a),
                                [(inv.token, barrier, n) for n, inv in enumerate(links)]))
    assert all(codes == [302] * 6 for codes in results), results
    count = lambda model, *where: session.scalar(  # noqa: E731
        sa.select(sa.func.count()).select_from(model).where(*where))
    assert count(Response) == N
    assert count(Response, Response.status == ResponseStatus.COMPLETE) == N
    assert count(Respondent) == N
    assert count(Invitation, Invitation.submitted_at.is_not(None)) == N
    # Five answered questions each (skipped ones make no row); closed answers coded once.
    assert count(Answer) == N * 5
    assert session.scalar(sa.select(sa.func.count(sa.distinct(Answer.text)))
                          .where(Answer.question_key == "child_difference_more")) == N
    assert count(Coding) == N * 3
    assert session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(Coding.answer_id, Coding.code_id).group_by(Coding.answer_id, Coding.code_id)
        .having(sa.func.count() > 1).subquery())) == 0


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_one_link_sent_from_many_tabs_at_once_stores_one_response(app, session, make_round,
                                                                  make_authority):
    rnd = make_round("Round 1")
    authority = make_authority("Northshire", round=rnd)
    link = invitations.create_invitations(session, "cli", round=rnd, authority=authority, role="child",
                                          count=1)[0]
    tabs = 12
    barrier = threading.Barrier(tabs)

    def tab(n):
        client = app.test_client()
        barrier.wait()
        codes = [client.post(f"/s/{link.token}", data={"consent": "yes", "assent": "yes",
                                                       "mode": "self"}).status_code]
        codes.append(client.post(f"/s/{link.token}/1", data={"go": "next", "help_feel": "happy"}).status_code)
        codes.append(client.post(f"/s/{link.token}/check").status_code)
        return codes

    with ThreadPoolExecutor(max_workers=tabs) as pool:
        results = list(pool.map(tab, range(tabs)))
    # Tabs that arrive after the survey was sent see the kind "already sent" page (410).
    assert all(c in (302, 410) for codes in results for c in codes), results
    assert sum(codes[-1] == 302 for codes in results) >= 1
    count = lambda model: session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    assert (count(Respondent), count(Response), count(Answer)) == (1, 1, 1)
    assert session.scalar(sa.select(Response.status)) is ResponseStatus.COMPLETE
