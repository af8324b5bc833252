"""The disagreements page with a national-scale draw for double coding.

Run on demand (not part of the test suite):

    .venv/bin/python bench/disagreements_bench.py [--authorities 150] [--answers 50]

A round of 150 authorities, each with one practitioner interview of 50 open answers, every
answer coded twice by its first coder and drawn for a blind second coder who has finished
(7,500 double-coded answers); the second coder differs on one answer in three. Measures,
as an administrator, the disagreements page's first page and a page half-way through
(server time, median and max of 20 requests).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from impactmodel import codebook, create_app  # noqa: E402
from impactmodel.auth.models import Role  # noqa: E402
from impactmodel.auth.services import create_user  # noqa: E402
from impactmodel.codebook.models import Coding  # noqa: E402
from impactmodel.coding.models import DoubleCoding  # noqa: E402
from impactmodel.consortium import services  # noqa: E402
from impactmodel.db import db, utcnow  # noqa: E402
from impactmodel.fieldwork import interviews  # noqa: E402
from impactmodel.fieldwork.models import Answer, Response  # noqa: E402

PASSWORD = "correct horse battery staple"
CODES = ["L1.tools", "L3.cyp.confidence"]


def load(session, n_authorities: int, n_answers: int) -> int:
    """Build the round (bulk inserts past the interviews); returns its id."""
    codebook.sync(session)
    first = create_user(session, "bench", email="bench@example.org", name="Bench", role=Role.ADMIN,
                        password=PASSWORD, authority_id=None, assigned_authority_ids=[])
    second = create_user(session, "bench", email="second@example.org", name="Second", role=Role.ADMIN,
                         password=PASSWORD, authority_id=None, assigned_authority_ids=[])
    rnd = services.get_or_create_round(session, "National")
    session.commit()
    answers, codings, draws = [], [], []
    for a in range(n_authorities):
        authority = services.get_or_create_authority(session, f"Authority {a + 1:03d}")
        interview = interviews.start_interview(session, first, round=rnd, authority=authority,
                                               role="practitioner")
        answers += [{"response_id": interview.id, "question_key": f"q{i}",
                     "text": f"Answer {i}: the panel meets every month."} for i in range(n_answers)]
    session.execute(sa.insert(Answer), answers)
    rows = session.execute(sa.select(Answer.id, Response.respondent_id)
                           .join(Response, Answer.response_id == Response.id).order_by(Answer.id)).all()
    for n, (answer_id, respondent_id) in enumerate(rows):
        for coder, codes in ((first, CODES), (second, CODES if n % 3 else CODES[:1])):
            codings += [{"round_id": rnd.id, "respondent_id": respondent_id, "answer_id": answer_id,
                         "code_id": code, "valence": "positive", "start": 0, "end": 6, "coder": coder.email,
                         "coder_id": coder.id, "agreed": coder is first} for code in codes]
        draws.append({"round_id": rnd.id, "answer_id": answer_id, "second_coder_id": second.id,
                      "second_done_at": utcnow()})
    session.execute(sa.insert(Coding), codings)
    session.execute(sa.insert(DoubleCoding), draws)
    session.commit()
    return rnd.id


def timed(client, url: str, n: int) -> tuple[float, float]:
    client.get(url)   # warm templates
    times = []
    for _ in range(n):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--authorities", type=int, default=150)
    ap.add_argument("--answers", type=int, default=50)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        from alembic import command

        from impactmodel.schema import alembic_config
        command.upgrade(alembic_config(url), "head")
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "SESSION_COOKIE_SECURE": False, "TESTING": True})
        with app.app_context():
            t = time.perf_counter()
            round_id = load(db.session, args.authorities, args.answers)
            n_drawn = db.session.scalar(sa.select(sa.func.count()).select_from(DoubleCoding))
            print(f"Loaded {args.authorities} authorities, {n_drawn:,} double-coded answers in "
                  f"{time.perf_counter() - t:.0f} s (setup, not timed)")
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
        half = n_drawn // 3 // 20 // 2
        for label, page in (("disagreements, first page", f"/coding/disagreements?round={round_id}"),
                            ("the same, half-way through", f"/coding/disagreements?round={round_id}&page={half}")):
            median, worst = timed(client, page, args.requests)
            print(f"{label:>30}: median {median:.0f} ms, max {worst:.0f} ms over {args.requests} requests")
        app.extensions["impactmodel.engine"].dispose()


if __name__ == "__main__":
    main()
