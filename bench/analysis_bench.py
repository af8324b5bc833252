"""The analysis pages at national scale: excerpts by code, cases, the framework matrix,
indicators, response rates, authority context and the round report's tables.

Run on demand (not part of the test suite):

    .venv/bin/python bench/analysis_bench.py [--authorities 150] [--database-url URL] [--pages TEXT] [--no-matrix]

A national-scale round (150 authorities, 30 staff and 200 parents and children each, about
290,000 codings), every coding with an excerpt; 20 cases per authority (a practitioner, a
parent and a child each) and a memo on each case and authority; each authority's context,
every indicator for two periods (and looked-after children for each key group), a survey
link for every parent and child (sent back) and 40 more per authority not yet opened,
and the round scored. Measures, as an administrator (who sees everything), the server
time of each page (median and max of 20 requests) against the bar (median under 150 ms,
max under 300 ms), then the framework matrix downloaded from the web with each kind of
row (seconds, growth of the process's peak memory, file size). A database an earlier run
loaded is used as it is (on PostgreSQL the loading run ends with VACUUM ANALYZE, as the
autovacuum daemon would); --pages times only the pages whose label holds the text, and
--no-matrix leaves out the downloads, to measure one page again quickly.
"""
from __future__ import annotations

import argparse
import random
import resource
import secrets
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
from impactmodel.consortium.context import AUTHORITY_TYPES  # noqa: E402
from impactmodel.consortium.models import Authority, Case, KeyGroup, Participation, Respondent, Round  # noqa: E402
from impactmodel.db import db, utcnow  # noqa: E402
from impactmodel.enums import RespondentRole  # noqa: E402
from impactmodel.fieldwork.models import Invitation  # noqa: E402
from impactmodel.indicators import vocabulary  # noqa: E402
from impactmodel.indicators.models import IndicatorValue  # noqa: E402
from impactmodel.interchange import tables as round_tables  # noqa: E402
from impactmodel.scoring import services as scoring_services  # noqa: E402
from impactmodel.scoring import synthetic  # noqa: E402
from impactmodel.scoring.models import ConfidenceScore  # noqa: E402
from impactmodel.scoring.queries import code_columns  # noqa: E402

CASES = 20
UNANSWERED_LINKS = 40
PERIODS = ("2007-08", "2008-09")
PASSWORD = "correct horse battery staple"
# The bar every page is held to: server time, median and max.
BAR_MEDIAN_MS, BAR_MAX_MS = 150, 300


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


def load_findings(session, round_id: int) -> None:
    """What the indicator, response-rate, context and report pages show: context, indicators
    over two periods, survey links, and the round's scores."""
    rng = random.Random(2008)
    rnd = session.get(Round, round_id)
    groups = {kg.code: kg.id for kg in rnd.key_groups}
    parts = session.scalars(sa.select(Participation).where(Participation.round_id == round_id)
                            .order_by(Participation.authority_id)).all()
    for part in parts:
        part.authority_type = rng.choice(list(AUTHORITY_TYPES))
        part.children = rng.randrange(5_000, 300_000)
        part.integrated_since = rng.randrange(2000, 2009)
    figures = []
    for part in parts:
        for indicator in vocabulary.load().indicators.values():
            for period in PERIODS:
                for key_group in [None, *groups.values()] if indicator.id == "looked_after" else [None]:
                    figures.append({"round_id": round_id, "authority_id": part.authority_id,
                                    "indicator": indicator.id, "period": period, "key_group_id": key_group,
                                    "value": rng.uniform(1, 60)})
    session.execute(sa.insert(IndicatorValue), figures)
    families = session.execute(sa.select(Respondent.id, Respondent.authority_id, Respondent.role,
                                         Respondent.key_group_id, Respondent.case_id)
                               .where(Respondent.round_id == round_id,
                                      Respondent.role.in_([RespondentRole.PARENT, RespondentRole.CHILD]))).all()
    now = utcnow()
    links = [{"token": secrets.token_urlsafe(32), "round_id": round_id, "authority_id": aid, "role": role,
              "key_group_id": kg, "case_id": case, "respondent_id": rid, "submitted_at": now}
             for rid, aid, role, kg, case in families]
    links += [{"token": secrets.token_urlsafe(32), "round_id": round_id, "authority_id": part.authority_id,
               "role": (RespondentRole.PARENT, RespondentRole.CHILD)[n % 2],
               "key_group_id": list(groups.values())[n % 3], "case_id": None, "respondent_id": None,
               "submitted_at": None}
              for part in parts for n in range(UNANSWERED_LINKS)]
    session.execute(sa.insert(Invitation), links)
    session.commit()
    scoring_services.compute_scores(session, "bench", rnd, seed=1)


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
    ap.add_argument("--pages", help="time only the pages whose label holds this text")
    ap.add_argument("--no-matrix", action="store_true", help="leave out the framework matrix downloads")
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
            if db.session.scalar(sa.select(sa.func.count()).select_from(ConfidenceScore)
                                 .where(ConfidenceScore.round_id == round_id)) == 0:
                t = time.perf_counter()
                load_findings(db.session, round_id)
                print(f"Loaded context, indicators, survey links and scores in {time.perf_counter() - t:.0f} s "
                      "(setup, not timed)")
                if db.session.get_bind().dialect.name == "postgresql":
                    # As the autovacuum daemon would before long: plans from statistics of the loaded tables.
                    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                        conn.exec_driver_sql("VACUUM ANALYZE")
            code, n_code = db.session.execute(sa.select(Coding.code_id, sa.func.count()).group_by(Coding.code_id)
                                              .order_by(sa.func.count().desc()).limit(1)).one()
            ids = db.session.scalars(sa.select(Coding.id).where(Coding.code_id == code).order_by(Coding.id)).all()
            middle = ids[len(ids) // 2]
            authority = db.session.scalar(sa.select(Authority).order_by(Authority.id))
            last = db.session.scalar(sa.select(Authority).order_by(Authority.id.desc()))
            case_id = db.session.scalar(sa.select(Case.id).where(Case.authority_id == authority.id).order_by(Case.id))
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
        r, a, z = round_id, authority.public_id, last.public_id
        base = f"/retrieval?round={r}&code={code}"
        pages = [(f"excerpts of {code} ({n_code:,}), first page", base),
                 ("the same, half-way through", f"{base}&after={middle}"),
                 ("the same, one authority", f"{base}&authority={a}"),
                 ("the same, one authority's practitioners", f"{base}&authority={a}&role=practitioner"),
                 ("the same, the last authority's practitioners", f"{base}&authority={z}&role=practitioner"),
                 ("the same, practitioners", f"{base}&role=practitioner"),
                 ("the same, directors of children's services", f"{base}&role=dcs"),
                 ("the same, key group asd", f"{base}&key_group=asd"),
                 ("the same, children in key group lac", f"{base}&role=child&key_group=lac"),
                 ("the same, to develop", f"{base}&valence=to_develop"),
                 ("the round's cases", f"/rounds/{r}/cases"),
                 ("an authority's cases", f"/rounds/{r}/authorities/{a}/cases"),
                 ("a case", f"/cases/{case_id}"),
                 ("indicators across authorities", f"/rounds/{r}/indicators"),
                 ("the same, emotional well-being", f"/rounds/{r}/indicators?indicator=emotional_wellbeing"),
                 ("an authority's indicators", f"/rounds/{r}/indicators/authorities/{a}"),
                 ("indicator table (CSV)", f"/rounds/{r}/indicators/tables/indicators.csv"),
                 ("indicator distribution (CSV)", f"/rounds/{r}/indicators/tables/indicator_distribution.csv"),
                 ("response rates", f"/rounds/{r}/response-rates"),
                 ("response rates, key group lac", f"/rounds/{r}/response-rates?key_group=lac"),
                 ("authority context", f"/rounds/{r}/context"),
                 ("round report", f"/rounds/{r}/report"),
                 ("round report, key group lac", f"/rounds/{r}/report?key_group=lac")]
        pages += [(f"report table {name} (CSV)", f"/rounds/{r}/scores/tables/{name}.csv")
                  for name in round_tables.TABLES]
        if args.pages:
            pages = [(label, page) for label, page in pages if args.pages in label]
        misses = 0
        for label, page in pages:
            median, worst = timed(client, page, args.requests)
            ok = median < BAR_MEDIAN_MS and worst < BAR_MAX_MS
            misses += not ok
            print(f"{label:>48}: median {median:4.0f} ms, max {worst:4.0f} ms  {'meets' if ok else 'MISSES'} the bar")
        print(f"{len(pages) - misses} of {len(pages)} pages meet the bar (median < {BAR_MEDIAN_MS} ms, "
              f"max < {BAR_MAX_MS} ms over {args.requests} requests)")
        for rows in () if args.no_matrix else matrix.ROWS:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t = time.perf_counter()
            response = client.get(f"/rounds/{r}/matrix-{rows}.xlsx")
            size = len(response.get_data())
            seconds = time.perf_counter() - t
            assert response.status_code == 200, (rows, response.status_code)
            grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
            print(f"{'matrix by ' + rows + ' (XLSX download)':>48}: {seconds:.1f} s, peak memory +{grown:.0f} MB, "
                  f"{size / 2**20:.1f} MB")
        app.extensions["impactmodel.engine"].dispose()


if __name__ == "__main__":
    main()
