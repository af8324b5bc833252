"""The same coding is stored once: repeated clicks, racing requests, imports."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from impactmodel import codebook
from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.coding import services
from impactmodel.coding.offsets import reanchor
from tests.conftest import ENGINES, PASSWORD

TEXT = "The panel meets weekly and shares cases."


def count(session, *where):
    return session.scalar(sa.select(sa.func.count()).select_from(Coding).where(*where))


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_applying_a_code_again_answers_already_applied(client, auth, session, make_round,
                                                       make_authority, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    answer = make_answer(rnd, borough, TEXT)
    auth.login(Role.RESEARCHER, assigned=[borough])
    url = f"/coding/answers/{answer.id}/codings"
    first = client.post(url, json={"code": "L1.tools", "start": 4, "end": 9})
    assert first.status_code == 201
    again = client.post(url, json={"code": "L1.tools", "start": 4, "end": 9})
    assert again.status_code == 409
    assert again.get_json() == {"error": "L1.tools is already applied to this span with this valence",
                                "coding_id": first.get_json()["coding"]["id"]}
    # Another span, or another valence, is another coding.
    assert client.post(url, json={"code": "L1.tools", "start": 4, "end": 15}).status_code == 201
    assert client.post(url, json={"code": "F.multi_agency_working", "valence": "to_develop",
                                  "start": 4, "end": 9}).status_code == 201
    assert client.post(url, json={"code": "F.multi_agency_working", "valence": "positive",
                                  "start": 4, "end": 9}).status_code == 201
    assert count(session) == 4
    # Moving a coding onto a span where the same code already sits is refused, and changes nothing.
    second = session.scalar(sa.select(Coding.id).where(Coding.end == 15))
    moved = client.post(f"/coding/codings/{second}", json={"start": 4, "end": 9})
    assert moved.status_code == 409
    session.expire_all()
    assert session.get(Coding, second).end == 15
    stored = session.scalar(sa.select(Coding).where(Coding.id == first.get_json()["coding"]["id"]))
    assert stored.excerpt == "panel"


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_eight_simultaneous_clicks_store_one_coding(app, session, make_round, make_authority, make_user,
                                                    make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    answer = make_answer(rnd, borough, TEXT)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    with app.app_context():   # the codebook is in the database, as on any site in use
        codebook.sync(session)
        session.commit()
    clients = []
    for _ in range(8):
        c = app.test_client()
        assert c.post("/login", data={"email": coder.email, "password": PASSWORD}).status_code == 302
        clients.append(c)
    barrier = threading.Barrier(len(clients))

    def click(c):
        barrier.wait()
        return c.post(f"/coding/answers/{answer.id}/codings",
                      json={"code": "L2.dialogue", "start": 0, "end": 9}).status_code

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        codes = sorted(pool.map(click, clients))
    assert codes == [201] + [409] * 7, codes
    assert count(session, Coding.answer_id == answer.id) == 1


def test_a_blind_second_coding_may_repeat_the_first(double_coded_pair, session):
    rnd, _first = double_coded_pair
    rows = session.scalars(sa.select(Coding).where(Coding.round_id == rnd.id)).all()
    assert len(rows) == 2 and len({c.coder_id for c in rows}) == 2
    assert {(c.code_id, c.start, c.end) for c in rows} == {("L1.tools", 0, 3)}


DUPLICATES = """authority,respondent,role,code,valence,key_group,excerpt,coder
Northshire,dcs-1,dcs,F.commissioning,to_develop,,,instrument
Northshire,dcs-1,dcs,F.commissioning,to_develop,,,instrument
Northshire,dcs-1,dcs,L1.tools,positive,,"the CAF",rk
"""


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_imports_keep_identical_rows_and_refuse_the_same_file_twice(runner, session, tmp_path):
    path = tmp_path / "coded.csv"
    path.write_text(DUPLICATES, encoding="utf-8")
    first = runner.invoke(args=["import", "coded", str(path), "--round", "Round 1"])
    assert first.exit_code == 0, first.output
    assert count(session) == 3          # two closed answers carrying one code stay two rows
    again = runner.invoke(args=["import", "coded", str(path), "--round", "Round 1"])
    assert again.exit_code != 0
    for line in (2, 3, 4):
        assert f"line {line}: this coding is already in the round" in again.output
    assert count(session) == 3


def test_a_large_import_with_repeated_rows_stays_valid(runner, session, tmp_path):
    rows = [f"Northshire,pr-{i % 40},practitioner,L1.tools,,,\"said {i % 7}\",rk" for i in range(3000)]
    path = tmp_path / "big.csv"
    path.write_text("authority,respondent,role,code,valence,key_group,excerpt,coder\n" + "\n".join(rows),
                    encoding="utf-8")
    result = runner.invoke(args=["import", "coded", str(path), "--round", "Round 1"])
    assert result.exit_code == 0, result.output
    assert count(session) == 3000
    assert session.scalar(sa.select(sa.func.count(sa.distinct(Coding.identity)))) == 3000


@pytest.mark.parametrize("text, start, end, expected", [
    ("Since May: we meet.", 0, 8, (11, 19)),      # moved: found once elsewhere
    ("we meet. we meet.", 0, 8, (0, 8)),          # still at its place
    ("so we meet. we meet.", 0, 8, None),         # found twice, not at its place
    ("we met.", 0, 8, None),                      # gone
    ("", 0, 8, None),
])
def test_reanchor_rule(text, start, end, expected):
    assert reanchor("we meet.", start, end, text) == expected


def test_a_coding_flagged_for_review_is_not_a_copy(app, session, make_round, make_authority,
                                                   make_user, make_answer):
    """Two flagged codings with the same words stand side by side (they have no span to compare)."""
    rnd = make_round()
    borough = make_authority(round=rnd)
    answer = make_answer(rnd, borough, "yes and yes")
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    with app.app_context():
        a = services.add_coding(session, coder, answer.id, "L1.tools", None, 0, 3)
        b = services.add_coding(session, coder, answer.id, "L1.tools", None, 8, 11)
        answer.text = "Oh, yes: yes, yes."
        services.follow_answer_text(session, coder, answer.id, "yes and yes", answer.text)
        session.commit()
    session.expire_all()
    assert [session.get(Coding, i).needs_review for i in (a.id, b.id)] == [True, True]
    assert [session.get(Coding, i).identity for i in (a.id, b.id)] == [None, None]


# PostgreSQL, as in production with several workers; the embedded SQLite database has one
# writer at a time and is loaded with the codebook by `demo-data` and the first import.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_first_codings_on_a_fresh_database_do_not_race_on_the_codebook(app, session, make_round, make_authority,
                                                                        make_user, make_answer):
    # Nothing has put the codebook into the database yet: the first requests all try to.
    rnd = make_round()
    borough = make_authority(round=rnd)
    answers = [make_answer(rnd, borough, TEXT) for _ in range(6)]
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    clients = []
    for _ in answers:
        c = app.test_client()
        assert c.post("/login", data={"email": coder.email, "password": PASSWORD}).status_code == 302
        clients.append(c)
    barrier = threading.Barrier(len(clients))

    def click(pair):
        c, answer = pair
        barrier.wait()
        return c.post(f"/coding/answers/{answer.id}/codings",
                      json={"code": "L2.dialogue", "start": 0, "end": 9}).status_code

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        codes = list(pool.map(click, zip(clients, answers)))
    assert codes == [201] * len(answers), codes
    assert count(session) == len(answers)
