"""The coded CSV PostgreSQL writes (COPY) is, byte for byte, the file Python writes."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impactmodel import codebook, downloads, sheets
from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding
from impactmodel.consortium.models import KeyGroup
from impactmodel.db import utcnow
from impactmodel.interchange import csvio

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
STORABLE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))

ANSWER = "Ça va: the panel meets 😀 monthly,\r\nand \"the school\" nurse\rcomes too.\n=SUM(A1)"
# Cells a spreadsheet would run, cells that only look like it (numbers), and cells the
# CSV must quote.
EXCERPTS = ["=HYPERLINK(\"http://evil.example\",\"Click\")", "-1", "1e5", "-1e5", "-.5", "-5.", "- 5",
            "+44 7700 900123", "@home", "'quoted already", "\ttabbed", "\rcarriage first",
            "a, b and c", 'she said "no"', "line one\r\nline two", "lone\rCR", "lone\nLF",
            "Ynys Môn, Wrexham", "O'Brien's team", "  spaces kept  ", "\\. alone"]


@pytest.fixture
def awkward_round(app, session, make_round, make_authority, make_user, make_answer, make_respondent):
    """Three authorities with awkward names and references, excerpts of every kind, codings
    that keep only a span (of an answer with CR, LF and non-ASCII text), and a blind second
    coder who sees two of the three authorities."""
    codebook.sync(session)
    rnd = make_round("Round =1, 'awkward'")
    names = ["=Northam", "O'Brien, \"Upper\" Town", "Ynys Môn"]
    authorities = [make_authority(name, round=rnd) for name in names]
    second = make_user(Role.RESEARCHER, email="second@example.org", assigned=authorities[:2])
    odd_group = KeyGroup(round_id=rnd.id, code="-kg", label="A key group named like a formula")
    session.add(odd_group)
    session.commit()
    references = ["-1", "1e5", "+44", "@home", "'quoted", "\tTab", "r,1", "ordinary", "-.5", "- 5"]
    respondents = []
    for i, reference in enumerate(references):
        resp = make_respondent(rnd, authorities[i % 3], "parent" if i % 2 else "practitioner", reference=reference,
                               key_group="lac" if i % 3 == 0 else None)
        respondents.append(resp)
    respondents[1].key_group_id = odd_group.id
    session.commit()
    answers = [make_answer(rnd, authorities[i], ANSWER, role=respondents[i].role, respondent=respondents[i])
               for i in range(3)]
    coders = ["=cmd|' /C calc'!A0", "", "O'Hara, \"Jo\"", "coder@example.org"]
    rows = []
    for i, excerpt in enumerate(EXCERPTS):
        rows.append({"respondent_id": respondents[i % len(respondents)].id, "code_id": "L1.tools",
                     "valence": None if i % 2 else "positive", "excerpt": excerpt, "coder": coders[i % 4]})
    # Codings that kept a span but no excerpt (empty or missing), one to the answer's end,
    # one past it, and one with neither.
    for answer, (excerpt, start, end) in zip(answers * 2, [(None, 0, 12), ("", 20, 45), (None, 30, None),
                                                           (None, 40, 200), ("", None, None), (None, 5, 6)]):
        rows.append({"respondent_id": answer.response.respondent_id, "answer_id": answer.id, "code_id": "F.ict",
                     "valence": "to_develop", "excerpt": excerpt, "start": start, "end": end, "coder": "x"})
    session.execute(sa.insert(Coding), [{"round_id": rnd.id, "agreed": True, "answer_id": None, "start": None,
                                         "end": None, **row} for row in rows])
    # Not agreed: no file shows it.
    session.add(Coding(round_id=rnd.id, respondent_id=respondents[0].id, code_id="L2.dialogue",
                       excerpt="not agreed", coder="x", agreed=False))
    # The second coder still has answers[0] to code blind, and has finished answers[1].
    session.add_all([DoubleCoding(round_id=rnd.id, answer_id=answers[0].id, second_coder_id=second.id),
                     DoubleCoding(round_id=rnd.id, answer_id=answers[1].id, second_coder_id=second.id,
                                  second_done_at=utcnow())])
    session.commit()
    return rnd, second, answers


def _python_file(session, rnd, authority_ids=None, blind_coder_id=None) -> bytes:
    """The file as the Python path writes it, from the same database."""
    rows = csvio.coded_rows(session, rnd, authority_ids, blind_coder_id)
    return b"".join(sheets.csv_lines([csvio.CODED_COLUMNS])) + b"".join(sheets.csv_lines(rows))


@ON_POSTGRESQL
def test_the_database_writes_the_same_bytes_as_python(app, session, client, auth, awkward_round, runner):
    rnd, second, answers = awkward_round
    auth.login(Role.ADMIN)
    body = client.get(f"/rounds/{rnd.id}/export/coded.csv").get_data()
    assert body == _python_file(session, rnd)
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert len(rows) == 1 + len(EXCERPTS) + 6
    cells = {cell for row in rows for cell in row}
    assert {"'=Northam", "'-kg", "-1", "1e5", "'- 5", "'=cmd|' /C calc'!A0", "''quoted", "-.5", "'@home",
            "line one\r\nline two", "lone\rCR", "\\. alone"} <= cells
    spans = [row[6] for row in rows if row[3] == "F.ict"]
    assert sorted(spans) == sorted(["", ANSWER[:12], ANSWER[20:45], ANSWER[30:], ANSWER[40:200], ANSWER[5:6]])
    # Every row ends in CRLF; a CR or LF inside a cell is kept as it was.
    assert body.count(b"\r\n") == len(rows) + sum(cell.count("\r\n") for row in rows for cell in row)
    assert "not agreed" not in body.decode()
    # The command line writes the same file.
    result = runner.invoke(args=["export", "coded", "--round", rnd.name])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == body
    auth.logout()

    # A researcher: only the authorities assigned, and not what the blind second coder has to code.
    auth.login(second)
    mine = client.get(f"/rounds/{rnd.id}/export/coded.csv").get_data()
    with app.app_context():
        assert mine == _python_file(session, rnd, second.visible_authority_ids(), second.id)
    mine_rows = list(csv.reader(io.StringIO(mine.decode(), newline="")))[1:]
    assert {row[0] for row in mine_rows} == {"'=Northam", "O'Brien, \"Upper\" Town"}
    span_rows = [row for row in mine_rows if row[3] == "F.ict"]
    assert {row[0] for row in span_rows} == {"O'Brien, \"Upper\" Town"}     # answers[0] is still blind
    assert len(span_rows) == 2


@ON_POSTGRESQL
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(STORABLE, min_size=2, max_size=12))
def test_neutralising_in_sql_follows_the_same_rule(session, texts):
    cells = sa.select(*(sheets.neutralised_sql(sa.literal(text, sa.Text)) for text in texts))
    try:
        assert list(sheets.copy_csv(session.connection(), cells)) == list(sheets.csv_lines([texts]))
    finally:
        session.rollback()


@ON_POSTGRESQL
def test_an_abandoned_download_returns_its_connection(app, session, client, auth, awkward_round, monkeypatch):
    rnd, _second, _answers = awkward_round
    monkeypatch.setattr(downloads, "CHUNK_ROWS", 5)
    auth.login(Role.ADMIN)
    pool = app.extensions["impactmodel.engine"].pool
    before = pool.checkedout()
    response = client.get(f"/rounds/{rnd.id}/export/coded.csv", buffered=False)
    first = next(iter(response.response))
    response.close()                     # the reader went away after the first rows
    assert first.startswith(b"authority,respondent,") and first.count(b"\r\n") >= 5
    assert pool.checkedout() == before
    # The connection it gave back is in good order: the next download is whole.
    whole = client.get(f"/rounds/{rnd.id}/export/coded.csv").get_data()
    assert whole.startswith(first) and whole == _python_file(session, rnd)
