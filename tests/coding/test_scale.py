"""Rounds too large for lists of ids: bounded statements, paged pages, streamed downloads."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
import sqlalchemy as sa

from impactmodel import codebook, downloads
from impactmodel.fieldwork import instruments
from impactmodel.auth.models import Role
from impactmodel.coding import queries, reliability, services
from impactmodel.codebook.models import Coding
from impactmodel.coding.disagreements import page_of_disagreements
from impactmodel.coding.models import DoubleCoding
from impactmodel.db import utcnow
from impactmodel.fieldwork.models import Answer
from tests.conftest import ENGINES
from tests.statements import statements

# More than PostgreSQL's 65,535 parameters a statement (and SQLite's 32,766).
LARGE = 66_000


def coded_answers(session, make_answer, rnd, authority, coder, n: int) -> list[int]:
    """``n`` open answers of one interview, each with an agreed coding by ``coder``; their ids."""
    codebook.sync(session)
    first = make_answer(rnd, authority, "The panel meets every month.", question="q0")
    session.execute(sa.insert(Answer), [{"response_id": first.response_id, "question_key": f"q{i}",
                                         "text": f"Answer {i}: the panel meets every month."}
                                        for i in range(1, n)])
    ids = list(session.scalars(sa.select(Answer.id).where(Answer.response_id == first.response_id)
                               .order_by(Answer.id)))
    respondent_id = first.response.respondent_id
    session.execute(sa.insert(Coding), [
        {"round_id": rnd.id, "respondent_id": respondent_id, "answer_id": a, "code_id": "L1.tools",
         "valence": "positive", "start": 0, "end": 6, "excerpt": None, "coder": coder.email,
         "coder_id": coder.id, "agreed": True} for a in ids])
    session.commit()
    return ids


def largest_statement(engine):
    """Record the most parameters any one statement binds while the block runs."""
    seen = [0]

    def count(conn, cursor, statement, parameters, context, executemany):
        if not executemany and parameters:
            seen[0] = max(seen[0], len(parameters))
    sa.event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: sa.event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_draw_and_its_double_coding_read_a_huge_round_in_bounded_statements(
        app, session, make_round, make_authority, make_user, make_answer):
    rnd = make_round()
    north = make_authority("North", round=rnd)
    first, second = make_user(Role.ADMIN), make_user(Role.ADMIN)
    ids = coded_answers(session, make_answer, rnd, north, first, LARGE)
    seen, stop = largest_statement(app.extensions["impactmodel.engine"])
    try:
        with app.app_context():
            assert services.double_coding_population(session, rnd.id, second) == ids
            drawn = services.draw_double_sample(session, first, rnd.id, second.id, 1.0, seed=7)
            assert len(drawn) == LARGE
            session.execute(sa.update(DoubleCoding).where(DoubleCoding.round_id == rnd.id)
                            .values(second_done_at=utcnow(), no_code_applies=True))
            session.commit()
            data = queries.double_coded(session, rnd.id, authority_ids=[north.id], leave_out={ids[0]})
            rows = queries.answer_rows(session, ids)
    finally:
        stop()
    assert data.units == ids[1:] and data.pairs["first"][ids[1]] == {("L1.tools", "positive")}
    assert data.pairs["second"][ids[1]] == set() and data.respondents[ids[1]] == rows[1].respondent_id
    assert [r.id for r in rows] == ids and rows[5].question_key == "q5"
    assert 0 < seen[0] < 10_000


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_disagreements_come_twenty_to_a_page(app, session, client, auth, make_round, make_authority,
                                             make_user, make_answer):
    rnd = make_round()
    north = make_authority("North", round=rnd)
    first, second = make_user(Role.ADMIN), make_user(Role.ADMIN)
    ids = coded_answers(session, make_answer, rnd, north, first, 45)
    with app.app_context():
        services.draw_double_sample(session, first, rnd.id, second.id, 1.0, seed=1)
    session.execute(sa.update(DoubleCoding).values(second_done_at=utcnow(), no_code_applies=True))
    session.commit()       # the second coder applied nothing: every answer differs
    auth.login(first)
    pages = [client.get(f"/coding/disagreements?round={rnd.id}&page={p}").get_data(as_text=True)
             for p in (1, 2, 3, 9)]
    shown = [{i for i in ids if f'id="d-{i}"' in page} for page in pages]
    assert [len(s) for s in shown] == [20, 20, 5, 5]          # a page past the end shows the last
    assert shown[0] | shown[1] | shown[2] == set(ids) and shown[3] == shown[2]
    assert "Next page" in pages[0] and "Previous page" in pages[2] and "Next page" not in pages[2]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_coding_queue_pages_and_steps_in_the_database(app, session, client, auth, make_round,
                                                          make_authority, make_user, make_answer):
    rnd = make_round()
    north = make_authority("North", round=rnd)
    coder = make_user(Role.ADMIN)
    ids = coded_answers(session, make_answer, rnd, north, coder, 120)
    auth.login(coder)
    page = client.get(f"/coding/?round={rnd.id}&status=coded&page=3").get_data(as_text=True)
    assert "page 3 of 3" in page and f"/coding/answers/{ids[100]}" in page and f"/coding/answers/{ids[99]}?" not in page
    answer = client.get(f"/coding/answers/{ids[50]}?round={rnd.id}&status=coded").get_data(as_text=True)
    assert f"/coding/answers/{ids[49]}?" in answer and f"/coding/answers/{ids[51]}?" in answer


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_coded_csv_streams_row_by_row_and_returns_its_connection(app, session, client, auth, make_round,
                                                                 make_authority, make_user, make_answer,
                                                                 monkeypatch):
    rnd = make_round()
    north = make_authority("North", round=rnd)
    coder = make_user(Role.ADMIN)
    coded_answers(session, make_answer, rnd, north, coder, 25)
    monkeypatch.setattr(downloads, "CHUNK_ROWS", 10)
    auth.login(coder)
    pool = app.extensions["impactmodel.engine"].pool
    before = pool.checkedout()
    response = client.get(f"/rounds/{rnd.id}/export/coded.csv", buffered=False)
    chunks = list(response.response)
    response.close()
    assert len(chunks) == 3            # 26 rows (the header too), ten at a time, as they are read
    rows = list(csv.DictReader(io.StringIO("".join(c.decode() for c in chunks))))
    assert len(rows) == 25 and {r["excerpt"] for r in rows} == {"Answer", "The pa"}
    assert rows[0]["authority"] == "North" and rows[0]["code"] == "L1.tools" and rows[0]["coder"] == coder.email
    assert pool.checkedout() == before


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_qdpx_is_sent_from_a_temporary_file(app, session, client, auth, make_round, make_authority,
                                            make_user, make_answer, monkeypatch):
    rnd = make_round()
    north = make_authority("North", round=rnd)
    coder = make_user(Role.ADMIN)
    ids = coded_answers(session, make_answer, rnd, north, coder, 30)
    monkeypatch.setattr(downloads, "FILE_CHUNK", 1000)
    auth.login(coder)
    response = client.get(f"/coding/rounds/{rnd.id}/export.qdpx", buffered=False)
    assert response.headers["Content-Disposition"].endswith(f'round-{rnd.id}.qdpx"')
    chunks = list(response.response)
    response.close()
    body = b"".join(chunks)
    assert len(chunks) == -(-len(body) // 1000)     # read back from the file a chunk at a time
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        qde = zf.read("project.qde").decode()
        assert len([n for n in zf.namelist() if n.startswith("sources/")]) == 30
    assert qde.count("<TextSource ") == 30 and qde.count("<CodeRef ") == 30
    assert f"answer {ids[-1]}" in qde


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_database_finds_the_same_disagreements_as_the_coders_sets_compared(
        app, session, make_round, make_authority, make_user, make_answer):
    rnd = make_round()
    north = make_authority("North", round=rnd)
    first, second, third = make_user(Role.ADMIN), make_user(Role.ADMIN), make_user(Role.ADMIN)
    a = coded_answers(session, make_answer, rnd, north, first, 9)   # each coded L1.tools, positive
    respondent_id = session.scalar(sa.select(Coding.respondent_id).where(Coding.answer_id == a[0]))
    done = utcnow()

    def second_coding(coder, answer, codes, *, finished=True, none_applies=False, settled=False):
        session.add(DoubleCoding(round_id=rnd.id, answer_id=answer, second_coder_id=coder.id,
                                 second_done_at=done if finished else None, no_code_applies=none_applies,
                                 reconciled_at=done if settled else None))
        session.add_all(Coding(round_id=rnd.id, respondent_id=respondent_id, answer_id=answer, code_id=code,
                               valence=valence, start=0, end=6, coder=coder.email, coder_id=coder.id,
                               agreed=False) for code, valence in codes)

    same = [("L1.tools", "positive")]
    second_coding(second, a[0], same)                                           # agreed
    second_coding(second, a[1], [("L1.tools", "negative")])                      # valence differs
    second_coding(second, a[2], same + [("L3.cyp.confidence", "positive")])      # one code more
    second_coding(second, a[3], [], none_applies=True)                          # no code applies
    second_coding(second, a[4], [])                                             # nothing decided
    second_coding(second, a[5], same, settled=True)                             # agreed, reconciled
    second_coding(second, a[6], [], none_applies=True, settled=True)            # differed, reconciled
    second_coding(second, a[7], [("L1.tools", "negative")], finished=False)     # still blind
    second_coding(second, a[8], same)                                           # two second coders,
    second_coding(third, a[8], [("L1.tools", "to_develop")])                    # one differs
    session.commit()

    data = queries.double_coded(session, rnd.id)
    differing = reliability.disagreements(data)
    assert differing == [a[1], a[2], a[3], a[6], a[8]]
    for show_reconciled, expected in ((False, [a[1], a[2], a[3], a[8]]), (True, differing)):
        found = page_of_disagreements(session, first, rnd.id, None, 1, 20, show_reconciled)
        assert found.answer_ids == expected and found.total == len(expected) and found.pages == 1
        assert found.agreed_pending == 1          # a[0]
    second_page = page_of_disagreements(session, first, rnd.id, None, 2, 3, True)
    assert second_page.answer_ids == [a[6], a[8]] and second_page.pages == 2
    # The second coder never sees the answers drawn for them that are not yet reconciled.
    assert page_of_disagreements(session, second, rnd.id, None, 1, 20, True).answer_ids == [a[6]]
    assert page_of_disagreements(session, first, rnd.id, [], 1, 20, True).total == 0


def _statements_of(app, client, url: str) -> tuple[str, int]:
    """The page at ``url`` and how many statements it took."""
    with statements(app) as seen:
        page = client.get(url).get_data(as_text=True)
    return page, len(seen)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_answers_drawn_for_a_second_coder_come_fifty_to_a_page(app, session, client, auth, make_round,
                                                                    make_authority, make_user, make_answer):
    rnd = make_round()
    north = make_authority("North", round=rnd)
    first, second = make_user(Role.ADMIN), make_user(Role.ADMIN)
    ids = coded_answers(session, make_answer, rnd, north, first, 58)
    with app.app_context():
        services.draw_double_sample(session, first, rnd.id, second.id, 1.0, seed=1)
    session.execute(sa.update(DoubleCoding).where(DoubleCoding.answer_id.in_(ids[:55]))
                    .values(second_done_at=utcnow(), no_code_applies=True))
    session.commit()           # 55 coded blind, 3 waiting
    auth.login(second)
    base = f"/coding/double?round={rnd.id}"
    client.get(base)            # the process reads the instrument's question labels once
    first_page, statements = _statements_of(app, client, base)
    assert "Waiting for your blind coding (3)" in first_page and "waiting to be reconciled (55)" in first_page
    done = first_page[first_page.index('id="done-list"'):first_page.index("</details>")]
    assert done.count("<tr>") == 51 and "Page 1 of 2." in done and "done_page=2#done-list" in done
    assert f'href="/coding/answers/{ids[55]}?queue=double">Code the next one</a>' in first_page
    last = client.get(f"{base}&done_page=2").get_data(as_text=True)
    done = last[last.index('id="done-list"'):last.index("</details>")]
    assert done.count("<tr>") == 6 and "Page 2 of 2." in done and "Previous page" in done
    assert '<details class="double-done" open>' in last          # the list paged through stays open
    assert client.get(f"{base}&done_page=99").get_data(as_text=True).count("<tr>") == \
        last.count("<tr>")                                       # past the end: the last page
    # Fifty more drawn answers make the page no more statements.
    more = coded_answers(session, make_answer, rnd, north, first, 50)
    session.add_all(DoubleCoding(round_id=rnd.id, answer_id=a, second_coder_id=second.id) for a in more)
    session.commit()
    again, statements_after = _statements_of(app, client, base)
    assert "Waiting for your blind coding (53)" in again and statements_after == statements


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_coding_queue_takes_the_same_statements_however_large_the_round(
        app, session, client, auth, make_round, make_authority, make_user, make_answer):
    rnd = make_round()
    north = make_authority("North", round=rnd)
    coder = make_user(Role.ADMIN)
    coded_answers(session, make_answer, rnd, north, coder, 10)
    auth.login(coder)
    urls = [f"/coding/?round={rnd.id}&status={s}" for s in ("uncoded", "coded", "all", "review")]
    client.get(urls[0])         # the process reads the instrument's question labels once
    before = [_statements_of(app, client, url)[1] for url in urls]
    coded_answers(session, make_answer, rnd, north, coder, 120)
    after = [_statements_of(app, client, url) for url in urls]
    assert [n for _page, n in after] == before
    assert "130 answers." in after[1][0] and "130 answers." in after[2][0] and "page 1 of 3" in after[2][0]
    # Counted from the questions' counts when only a question narrows the queue.
    by_question = client.get(f"/coding/?round={rnd.id}&status=all&question=q5").get_data(as_text=True)
    assert "2 answers." in by_question and "page 1 of 1" in by_question


def test_question_labels_kept_per_definition_are_those_a_walk_finds():
    """Each instrument's labels, built once, match a search of its definition key by key,
    the Welsh translations included."""
    for instrument in instruments.load().values():
        labels = queries._labels(instrument.definition)
        for key in instrument.questions:
            assert (labels.get(key) or key) == queries.question_text(instrument.definition, key)
    assert queries._labels({"key": "q", "label": "", "items": [{"key": "q", "label": "Asked"}]}) == {"q": "Asked"}


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_coding_queue_reads_each_instruments_definition_once_per_process(app, session, client, auth,
                                                                         make_round, make_authority,
                                                                         make_user, make_answer):
    rnd = make_round()
    north = make_authority("North", round=rnd)
    coder = make_user(Role.ADMIN)
    coded_answers(session, make_answer, rnd, north, coder, 3)
    auth.login(coder)
    url = f"/coding/?round={rnd.id}&status=all"
    assert "Answer 1: the panel" in client.get(url).get_data(as_text=True)
    page, _n = _statements_of(app, client, url)
    with statements(app) as seen:
        again = client.get(url).get_data(as_text=True)
    assert again == page and not [s for s in seen if "instrument_version.definition" in s]
