"""Scoring at national scale: 150 authorities, 30 staff and 200 parents/children each.

Run on demand (not part of the test suite):

    .venv/bin/python bench/scoring_bench.py [--authorities 150] [--replicates 1000]

Measures, in one run:
1. the pure core (``score_round``: every score with jackknife and rank intervals and the
   weight sensitivity) on arrays;
2. a reference: the naive jackknife, rescoring every leave-one-out set of each authority's
   staff separately, timed on a sample of authorities and scaled up;
3. the full path from the database: ``impactmodel score`` work (load codings, score,
   profiles, report tables, gaps, store) on a SQLite file;
4. the continuum and profile pages answering from the stored results (server time).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from impactmodel.scoring import core, synthetic  # noqa: E402
from impactmodel.scoring import queries as scoring_queries  # noqa: E402
from impactmodel.scoring.queries import code_columns  # noqa: E402


def naive_reference(data: core.RoundInput, n_replicates: int, sample: int) -> float:
    """Seconds per authority for a plain jackknife: rescore every leave-one-out set of staff
    separately (``core.point_components`` on each subset), then combine."""
    chosen = data.authorities[:sample]
    t0 = time.perf_counter()
    for a in chosen:
        thetas = []
        for i in np.flatnonzero(a.role > 0):
            keep = np.arange(a.role.size) != i
            sub = core.AuthorityInput(a.key, a.role[keep], a.level[keep], a.impacts[keep], a.positive[keep],
                                      a.develop[keep])
            comps = core.point_components(sub)
            thetas.append(float(core.combine(np.array([[np.nan if comps[n] is None else comps[n]
                                                         for n in core.NAMES]]))[0]))
    return (time.perf_counter() - t0) / len(chosen)


def load_database(url: str, rnd: synthetic.SyntheticRound, round_name: str) -> None:
    """Bulk-load the synthetic round (the CSV import's work, without parsing text)."""
    from impactmodel import codebook
    from impactmodel.codebook.models import Coding
    from impactmodel.consortium import services
    from impactmodel.consortium.models import Respondent
    from impactmodel.db import make_engine
    from sqlalchemy.orm import Session

    engine = make_engine(url)
    with Session(engine) as s:
        codebook.sync(s)
        r = services.get_or_create_round(s, round_name)
        auth = {name: services.get_or_create_authority(s, name) for name in rnd.maturity}
        for a in auth.values():
            services.ensure_participation(s, r, a)
        people = [(x.authority, x.respondent, x.role, x.level) for x in rnd.staff]
        people += [(a, ref, role, None) for a, ref, role in rnd.families]
        s.execute(sa.insert(Respondent), [
            {"round_id": r.id, "authority_id": auth[a].id, "reference": ref, "role": role, "impact_level": lv}
            for a, ref, role, lv in people])
        ids = {(a_id, ref): rid for rid, a_id, ref in s.execute(
            sa.select(Respondent.id, Respondent.authority_id, Respondent.reference)
            .where(Respondent.round_id == r.id))}
        excerpt_every = 50
        rows, seen = [], set()
        for i, c in enumerate(rnd.codings):
            # A coding is stored once (its identity is unique): a repeat in the synthetic list is dropped.
            if (key := (c.authority, c.respondent, c.code, c.valence)) in seen:
                continue
            seen.add(key)
            text = (f"We have found that {c.code.split('.')[-1].replace('_', ' ')} really helps here."
                    if c.code.startswith("F.") and i % excerpt_every == 0 else None)
            rows.append({"round_id": r.id, "respondent_id": ids[(auth[c.authority].id, c.respondent)],
                         "code_id": c.code, "valence": c.valence, "excerpt": text, "coder": "bench",
                         "agreed": True})
        s.execute(sa.insert(Coding), rows)
        _load_fieldwork(s, r, auth, rnd, ids)
        s.commit()
    engine.dispose()


def _load_fieldwork(s, r, auth, rnd: synthetic.SyntheticRound, ids) -> None:
    """Key groups, authority context, and a survey link with rated answers for every parent and
    child (one in ten begun only), plus two unopened links per authority: what the report's
    key-group filter, context, rated answers and response rates read."""
    import secrets
    from datetime import datetime, timezone

    from impactmodel.consortium.models import KeyGroup, Participation, Respondent
    from impactmodel.fieldwork.models import Answer, Invitation, Response
    from impactmodel.fieldwork.responses import sync_instruments

    groups = s.scalars(sa.select(KeyGroup).where(KeyGroup.round_id == r.id).order_by(KeyGroup.code)).all()
    staff_and_families = s.scalars(sa.select(Respondent.id).where(Respondent.round_id == r.id,
                                                                  Respondent.role != "dcs")).all()
    s.execute(sa.update(Respondent), [{"id": rid, "key_group_id": groups[i % 3].id}
                                      for i, rid in enumerate(staff_and_families)])
    for i, a in enumerate(auth.values()):
        s.execute(sa.update(Participation).where(Participation.round_id == r.id, Participation.authority_id == a.id)
                  .values(authority_type=("county", "unitary", "metropolitan")[i % 3], children=40_000 + 1_000 * i,
                          integrated_since=2003 + i % 5))
    versions = sync_instruments(s)
    survey = {"parent": versions["parent_survey"].id, "child": versions["child_survey"].id}
    rated = {"parent": [("support_helpful", ("very", "quite", "little"))],
             "child": [("help_feel", ("very_happy", "happy", "ok")), ("listened", ("always", "mostly", "sometimes"))]}
    invitations, responses = [], []
    sent = datetime.now(timezone.utc)
    for i, (a, ref, role) in enumerate(rnd.families):
        rid = ids[(auth[a].id, ref)]
        done = i % 10 != 0
        invitations.append({"token": secrets.token_urlsafe(32), "round_id": r.id, "authority_id": auth[a].id,
                            "role": role, "key_group_id": groups[i % 3].id, "respondent_id": rid,
                            "submitted_at": sent if done else None})
        responses.append({"respondent_id": rid, "instrument_version_id": survey[role], "mode": "self",
                          "status": "complete" if done else "in_progress"})
    for a in auth.values():
        invitations += [{"token": secrets.token_urlsafe(32), "round_id": r.id, "authority_id": a.id,
                         "role": "parent", "key_group_id": None, "respondent_id": None, "submitted_at": None}
                        for _ in range(2)]
    s.execute(sa.insert(Invitation), invitations)
    s.execute(sa.insert(Response), responses)
    answers = []
    for i, (response_id, role) in enumerate(s.execute(
            sa.select(Response.id, Respondent.role).join(Respondent, Respondent.id == Response.respondent_id)
            .where(Respondent.round_id == r.id))):
        for key, options in rated[getattr(role, "value", role)]:
            answers.append({"response_id": response_id, "question_key": key, "value": options[i % 3]})
    s.execute(sa.insert(Answer), answers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--authorities", type=int, default=150)
    ap.add_argument("--staff", type=int, nargs=3, default=(1, 9, 20), metavar=("DCS", "SM", "PR"))
    ap.add_argument("--families", type=int, default=200)
    ap.add_argument("--replicates", type=int, default=core.DEFAULT_REPLICATES)
    ap.add_argument("--naive-sample", type=int, default=5)
    ap.add_argument("--page-requests", type=int, default=20)
    args = ap.parse_args()

    cols = code_columns()
    t = time.perf_counter()
    rnd = synthetic.make_round(cols.impact, cols.feature, cols.cyp, n_authorities=args.authorities,
                               staff=tuple(args.staff), families=args.families, seed=2008,
                               negative=cols.negative,
                               family_codes=[c for c in cols.all if c.startswith(("L3.", "S."))
                                             and c not in cols.cyp],
                               staff_impacts=6.0, family_mentions=6.5)
    print(f"Generated {args.authorities} authorities, {len(rnd.staff)} staff, {len(rnd.families)} parents "
          f"and children, {len(rnd.codings):,} codings in {time.perf_counter() - t:.1f} s")

    data = core.build_round_input(rnd.staff, rnd.codings, cols.impact, cols.feature)
    t = time.perf_counter()
    result = core.score_round(data, seed=1, n_replicates=args.replicates)
    pure = time.perf_counter() - t
    print(f"Pure core: {pure:.2f} s for {args.authorities} scores with jackknife intervals and {args.replicates} rank draws "
          f"each, and {result.sensitivity['n_draws']} weight draws")

    per = naive_reference(data, args.replicates, args.naive_sample)
    naive = per * args.authorities
    print(f"Naive reference (each leave-one-out set rescored separately, timed on {args.naive_sample} "
          f"authorities): {per:.2f} s per authority, {naive:.0f} s for the round; "
          f"the core is {naive / pure:.0f}x faster")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        from alembic import command

        from impactmodel.app import create_app
        from impactmodel.schema import alembic_config
        command.upgrade(alembic_config(url), "head")
        t = time.perf_counter()
        load_database(url, rnd, "National")
        print(f"Loaded the database in {time.perf_counter() - t:.1f} s (setup, not timed below)")
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "SESSION_COOKIE_SECURE": False, "TESTING": True})
        from impactmodel.auth.models import Role
        from impactmodel.auth.services import create_user
        from impactmodel.consortium.models import Authority, Round
        from impactmodel.db import db
        from impactmodel.scoring import services
        with app.app_context():
            round_ = db.session.scalar(sa.select(Round).where(Round.name == "National"))
            t = time.perf_counter()
            phases = {}
            last = [t, "start"]

            def progress(pct, msg):
                # Time since the previous message belongs to the phase that message opened.
                now = time.perf_counter()
                phase = "scoring" if last[1].startswith("Scor") else last[1].split(" ")[0].lower()
                phases[phase] = phases.get(phase, 0) + now - last[0]
                last[0], last[1] = now, msg
            rows = services.compute_scores(db.session, "bench", round_, seed=1,
                                           n_replicates=args.replicates, progress=progress)
            full = time.perf_counter() - t
            print(f"Full path from the database (load, score, profiles, tables, gaps, store): {full:.2f} s "
                  f"for {len(rows)} authorities")
            print("  phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items() if k != "start"))
            create_user(db.session, "bench", email="bench@example.org", name="Bench", role=Role.ANALYST,
                        password="correct horse battery", authority_id=None, assigned_authority_ids=[])
            round_id = round_.id
            sig, ver = [], []
            for _ in range(args.page_requests):
                t = time.perf_counter()
                scoring_queries.input_signature(db.session, round_id)
                sig.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                scoring_queries.inputs_version(db.session, round_id)
                ver.append((time.perf_counter() - t) * 1000)
            print(f"  stale check: inputs version (what pages read) median {statistics.median(ver):.1f} ms, "
                  f"max {max(ver):.1f} ms; input signature over every coding (results stored before "
                  f"versions) median {statistics.median(sig):.0f} ms, max {max(sig):.0f} ms "
                  f"({statistics.median(sig) / statistics.median(ver):.0f}x)")
            public_id = db.session.scalar(sa.select(Authority.public_id).order_by(Authority.id))
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.org", "password": "correct horse battery"})
        for label, url in (("continuum", f"/rounds/{round_id}/scores"),
                           ("profile", f"/rounds/{round_id}/scores/authorities/{public_id}"),
                           ("round report", f"/rounds/{round_id}/report"),
                           ("report, one key group", f"/rounds/{round_id}/report?key_group=lac"),
                           ("profile, one key group",
                            f"/rounds/{round_id}/scores/authorities/{public_id}?key_group=lac"),
                           ("response rates", f"/rounds/{round_id}/response-rates"),
                           ("JSON", f"/rounds/{round_id}/scores.json")):
            client.get(url)  # warm templates
            times = []
            for _ in range(args.page_requests):
                t = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            print(f"{label:>22} page: median {statistics.median(times):.0f} ms, "
                  f"max {max(times):.0f} ms over {args.page_requests} requests ({len(response.data) // 1024} KB)")
        app.extensions["impactmodel.engine"].dispose()
    verdict = "PASS" if full < 10 else "FAIL"
    print(f"Budget: full recompute under 10 s: {verdict} ({full:.2f} s)")


if __name__ == "__main__":
    main()
