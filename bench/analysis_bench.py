"""Cases, excerpts by code and the framework matrix at national scale.

Run on demand (not part of the test suite):

    .venv/bin/python bench/analysis_bench.py [--authorities 150] [--database-url URL]

A national-scale round (150 authorities, 30 staff and 200 parents and children each, about
290,000 codings), every coding with an excerpt; 20 cases per authority (a practitioner, a
parent and a child each) and a memo on each case and authority. Measures, as an
administrator (who sees everything): the retrieval page for the most used code (first
page, a page half-way through, and one role of the first and of the last authority), an
authority's case list and a case's page (server time, median and max of 20 requests), and the framework
matrix with each kind of row (seconds, growth of the process's peak memory, file size).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from impactmodel import codebook, create_app  # noqa: E402
from impactmodel.analysis import matrix  # noqa: E402
from impactmodel.analysis.models import AuthorityMemo  # noqa: E402
from impactmodel.auth.models import Role  # noqa: E402
from impactmodel.auth.services import create_user  # noqa: E402
from impactmodel.codebook.models import Coding  # noqa: E402
from impactmodel.consortium import services  # noqa: E402
from impactmodel.consortium.models import Authority, Case, KeyGroup, Respondent, Round  # noqa: E402
from impactmodel.db import db  # noqa: E402
from impactmodel.scoring import synthetic  # noqa: E402
from impactmodel.scoring.queries import code_columns  # noqa: E402

CASES = 20
PASSWORD = "correct horse battery staple"


def load(session, rnd: synthetic.SyntheticRound) -> int:
    """Bulk-load the round (the CSV import's work without parsing text); returns its id."""
    codebook.sync(session)
    r = services.get_or_create_round(session, "National")
    groups = [services.key_group(session, r, code) or KeyGroup(round_id=r.id, code=code, label=code)
              for code in ("lac", "asd", "ks3_absence")]
    session.add_all(groups)
    auth = {name: services.get_or_create_authority(session, name) for name in rnd.maturity}
    for a in auth.values():
        services.ensure_participation(session, r, a)
    session.flush()
    people = [(x.authority, x.respondent, x.role, x.level) for x in rnd.staff]
    people += [(a, ref, role, None) for a, ref, role in rnd.families]
    session.execute(sa.insert(Respondent), [
        {"round_id": r.id, "authority_id": auth[a].id, "reference": ref, "role": role, "impact_level": lv,
         "key_group_id": groups[i % 3].id} for i, (a, ref, role, lv) in enumerate(people)])
    ids = {(a_id, ref): rid for rid, a_id, ref in session.execute(
        sa.select(Respondent.id, Respondent.authority_id, Respondent.reference).where(Respondent.round_id == r.id))}
    session.execute(sa.insert(Coding), [
        {"round_id": r.id, "respondent_id": ids[(auth[c.authority].id, c.respondent)], "code_id": c.code,
         "valence": c.valence, "coder": "bench", "agreed": True,
         "excerpt": f"We have found that {c.code.split('.')[-1].replace('_', ' ')} really helps here ({i})."}
        for i, c in enumerate(rnd.codings)])
    for a in auth.values():
        by_role = {role: session.scalars(sa.select(Respondent).where(
            Respondent.round_id == r.id, Respondent.authority_id == a.id, Respondent.role == role)
            .order_by(Respondent.id).limit(CASES)).all() for role in ("practitioner", "parent", "child")}
        session.add(AuthorityMemo(round_id=r.id, authority_id=a.id, text="Panels drive the story here."))
        for n in range(CASES):
            case = services.get_or_create_case(session, r, a, f"LAC-{n + 1:02d}", groups[0].id)
            for people_of_role in by_role.values():
                people_of_role[n % len(people_of_role)].case_id = case.id
            session.add(AuthorityMemo(round_id=r.id, authority_id=a.id, case_id=case.id,
                                      text="The three accounts agree."))
    session.commit()
    return r.id


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
    ap.add_argument("--families", type=int, default=200)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--database-url", help="an empty database, or one an earlier run loaded (default: a SQLite "
                                           "file in a temporary folder)")
    args = ap.parse_args()
    cols = code_columns()
    rnd = synthetic.make_round(cols.impact, cols.feature, cols.cyp, n_authorities=args.authorities,
                               staff=(1, 9, 20), families=args.families, seed=2008, negative=cols.negative,
                               family_codes=[c for c in cols.all if c.startswith(("L3.", "S.")) and c not in cols.cyp],
                               staff_impacts=6.0, family_mentions=6.5)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
        from alembic import command

        from impactmodel.schema import alembic_config
        command.upgrade(alembic_config(url), "head")
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "SESSION_COOKIE_SECURE": False, "TESTING": True})
        with app.app_context():
            round_id = db.session.scalar(sa.select(Round.id).where(Round.name == "National"))
            if round_id is None:
                t = time.perf_counter()
                round_id = load(db.session, rnd)
                n_codings = db.session.scalar(sa.select(sa.func.count()).select_from(Coding))
                print(f"Loaded {args.authorities} authorities, {n_codings:,} codings with excerpts, "
                      f"{args.authorities * CASES} cases in {time.perf_counter() - t:.0f} s (setup, not timed)")
                create_user(db.session, "bench", email="bench@example.org", name="Bench", role=Role.ADMIN,
                            password=PASSWORD, authority_id=None, assigned_authority_ids=[])
            code, n_code = db.session.execute(sa.select(Coding.code_id, sa.func.count()).group_by(Coding.code_id)
                                              .order_by(sa.func.count().desc()).limit(1)).one()
            ids = db.session.scalars(sa.select(Coding.id).where(Coding.code_id == code).order_by(Coding.id)).all()
            middle = ids[len(ids) // 2]
            authority = db.session.scalar(sa.select(Authority).order_by(Authority.id))
            last = db.session.scalar(sa.select(Authority).order_by(Authority.id.desc()))
            case_id = db.session.scalar(sa.select(Case.id).where(Case.authority_id == authority.id).order_by(Case.id))
            round_name = db.session.get(Round, round_id).name
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
        base = f"/retrieval?round={round_id}&code={code}"
        for label, page in ((f"excerpts of {code} ({n_code:,}), first page", base),
                            ("the same, half-way through", f"{base}&after={middle}"),
                            ("the same, one authority's practitioners", f"{base}&authority={authority.public_id}"
                                                                       "&role=practitioner"),
                            ("the same, the last authority's practitioners", f"{base}&authority={last.public_id}"
                                                                             "&role=practitioner"),
                            ("an authority's cases", f"/rounds/{round_id}/authorities/{authority.public_id}/cases"),
                            ("a case", f"/cases/{case_id}")):
            median, worst = timed(client, page, args.requests)
            print(f"{label:>45}: median {median:.0f} ms, max {worst:.0f} ms over {args.requests} requests")
        with app.app_context():
            for rows in matrix.ROWS:
                before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                out = os.path.join(tmp, f"matrix-{rows}.xlsx")
                t = time.perf_counter()
                done = matrix.write_matrix(db.session, round_name, rows, out)
                seconds = time.perf_counter() - t
                grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
                print(f"{'matrix by ' + rows:>45}: {seconds:.1f} s, {done['rows']} rows, "
                      f"{done['excerpts']:,} excerpts, {done['cut']} cells cut, peak memory +{grown:.0f} MB, "
                      f"{os.path.getsize(out) / 2**20:.1f} MB")
        app.extensions["impactmodel.engine"].dispose()


if __name__ == "__main__":
    main()
