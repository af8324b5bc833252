"""Every page and export at national scale, over HTTP, on PostgreSQL behind gunicorn.

Run on demand from the repository root (PostgreSQL's server binaries must be installed):

    .venv/bin/python bench/national_bench.py [--authorities 150 500] [--requests 20]

For each size it:
1. starts a throwaway PostgreSQL cluster (``tests/pgserver.py``) and migrates it;
2. builds a round the way the app's services do: round, authorities and participations
   (``consortium.services``), instruments and codebook synced (``fieldwork.responses``),
   30 staff interviews and 200 parent and child surveys per authority with their open
   answers, the synthetic round's codings (``scoring/synthetic.py``) placed on spans of
   those answers (respondents, answers and codings bulk-inserted, as
   ``bench/scoring_bench.py`` does), a 10% double-coding draw (``coding.services``) coded
   blind by a second coder who differs on about one answer in eight, the scores
   (``scoring.services``) and the stored reliability report;
3. serves it with gunicorn (4 sync workers) and, logged in as an administrator, times
   every page (median and maximum of ``--requests`` requests) and each export (three
   downloads), with the gunicorn workers' resident memory (RSS) before and after.

The bar at 150 authorities: pages median under 150 ms and maximum under 300 ms; coded CSV
and .qdpx under 5 s, a worker growing by less than 150 MB.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402

from impactmodel import create_app  # noqa: E402
from impactmodel.auth.models import Role, User  # noqa: E402
from impactmodel.auth.services import create_user  # noqa: E402
from impactmodel.schema import alembic_config  # noqa: E402
from impactmodel.coding import services as coding_services  # noqa: E402
from impactmodel.coding import disagreements, stored_reliability  # noqa: E402
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding  # noqa: E402
from impactmodel.consortium import services as consortium_services  # noqa: E402
from impactmodel.consortium.models import Authority, Respondent  # noqa: E402
from impactmodel.db import db, utcnow  # noqa: E402
from impactmodel.enums import RespondentRole  # noqa: E402
from impactmodel.fieldwork import responses as fieldwork_responses  # noqa: E402
from impactmodel.fieldwork.models import Answer, Response, ResponseMode, ResponseStatus  # noqa: E402
from impactmodel.scoring import services as scoring_services  # noqa: E402
from impactmodel.scoring import synthetic  # noqa: E402
from impactmodel.scoring.queries import code_columns  # noqa: E402
from tests.pgserver import PostgresServer, _free_port  # noqa: E402

PASSWORD = "national bench correct horse"
WORDS = ("the team around the child meets every month and the school nurse comes too; "
         "we share one assessment now and the key worker rings us back the same day; "
         "waiting lists are shorter since the panel started and families say so; "
         "the data still sits in three systems and nobody owns the whole picture").split("; ")


def _open_questions(definition) -> list[str]:
    return [k for k, q in definition.questions.items() if q["type"] in ("text", "long_text")]


def build(url: str, n_authorities: int, seed: int = 2008) -> dict:
    """The national round in the database at ``url``; returns what the pages need."""
    cols = code_columns()
    rnd_data = synthetic.make_round(cols.impact, cols.feature, cols.cyp, n_authorities=n_authorities,
                                    staff=(1, 9, 20), families=200, seed=seed, negative=cols.negative,
                                    family_codes=[c for c in cols.all if c.startswith(("L3.", "S."))
                                                  and c not in cols.cyp],
                                    staff_impacts=6.0, family_mentions=6.5)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True, "JOBS_IN_WEB": False})
    rng = random.Random(seed)
    with app.app_context():
        s = db.session
        fieldwork_responses.ensure_synced(s)
        admin = create_user(s, "bench", email="admin@example.org", name="Bench Admin", role=Role.ADMIN,
                            password=PASSWORD)
        second = create_user(s, "bench", email="second@example.org", name="Second Coder",
                             role=Role.ADMIN, password=PASSWORD)
        rnd = consortium_services.get_or_create_round(s, "National")
        auth = {name: consortium_services.get_or_create_authority(s, name) for name in rnd_data.maturity}
        for a in auth.values():
            consortium_services.ensure_participation(s, rnd, a)
        s.commit()
        versions = {role: fieldwork_responses.current_version(s, fieldwork_responses.instrument_for_role(role).key)
                    for role in RespondentRole}
        questions = {role: _open_questions(fieldwork_responses.instrument_for_role(role)) for role in RespondentRole}
        people = [(x.authority, x.respondent, x.role, x.level) for x in rnd_data.staff]
        people += [(a, ref, role, None) for a, ref, role in rnd_data.families]
        s.execute(sa.insert(Respondent), [
            {"round_id": rnd.id, "authority_id": auth[a].id, "reference": ref, "role": role, "impact_level": lv}
            for a, ref, role, lv in people])
        respondents = {(a_id, ref): (rid, role) for rid, a_id, ref, role in s.execute(
            sa.select(Respondent.id, Respondent.authority_id, Respondent.reference, Respondent.role)
            .where(Respondent.round_id == rnd.id))}
        now = utcnow()
        s.execute(sa.insert(Response), [
            {"respondent_id": rid, "instrument_version_id": versions[role].id,
             "mode": ResponseMode.INTERVIEW if role.value in ("dcs", "manager", "practitioner") else ResponseMode.SELF,
             "status": ResponseStatus.COMPLETE, "consent_by": "self", "consented_at": now, "started_at": now,
             "updated_at": now, "completed_at": now}
            for rid, role in respondents.values()])
        response_of = dict(s.execute(sa.select(Response.respondent_id, Response.id)
                                     .join(Respondent, Response.respondent_id == Respondent.id)
                                     .where(Respondent.round_id == rnd.id)).all())
        answers = []
        for rid, role in respondents.values():
            for key in questions[role][:4]:
                parts = rng.sample(WORDS, 3)
                answers.append({"response_id": response_of[rid], "question_key": key,
                                "text": ". ".join(p.capitalize() for p in parts) + ".", "updated_at": now})
        for i in range(0, len(answers), 20000):
            s.execute(sa.insert(Answer), answers[i:i + 20000])
        texts: dict[int, list[tuple[int, str]]] = {}
        for aid, rid, text in s.execute(sa.select(Answer.id, Response.respondent_id, Answer.text)
                                        .join(Response, Answer.response_id == Response.id)
                                        .join(Respondent, Response.respondent_id == Respondent.id)
                                        .where(Respondent.round_id == rnd.id)):
            texts.setdefault(rid, []).append((aid, text))
        codings, seen = [], set()
        for c in rnd_data.codings:
            rid, _role = respondents[(auth[c.authority].id, c.respondent)]
            aid, text = rng.choice(texts[rid])
            start = rng.randrange(0, max(1, len(text) - 60))
            end = start + rng.randrange(15, 60)
            if (aid, c.code, c.valence) in seen:
                continue
            seen.add((aid, c.code, c.valence))
            codings.append({"round_id": rnd.id, "respondent_id": rid, "answer_id": aid, "code_id": c.code,
                            "valence": c.valence, "start": start, "end": end, "excerpt": text[start:end],
                            "coder": admin.email, "coder_id": admin.id, "agreed": True, "created_at": now})
        for i in range(0, len(codings), 20000):
            s.execute(sa.insert(Coding), codings[i:i + 20000])
        s.commit()
        t = time.perf_counter()
        drawn = coding_services.draw_double_sample(s, admin, rnd.id, second.id, 0.1, seed=seed)
        draw_s = time.perf_counter() - t
        drawn_ids = {d.answer_id for d in drawn}
        blind = []
        for c in codings:
            if c["answer_id"] in drawn_ids and rng.random() > 0.04:
                blind.append({**c, "coder": second.email, "coder_id": second.id, "agreed": False})
        for i in range(0, len(blind), 20000):
            s.execute(sa.insert(Coding), blind[i:i + 20000])
        s.execute(sa.update(DoubleCoding).where(DoubleCoding.round_id == rnd.id).values(second_done_at=now))
        s.commit()
        t = time.perf_counter()
        scoring_services.compute_scores(s, "bench", rnd, seed=1)
        score_s = time.perf_counter() - t
        t = time.perf_counter()
        stored_reliability.compute(s, "bench", rnd, n_resamples=1000, per_code_resamples=400)
        reliability_s = time.perf_counter() - t
        # What the reliability job does next: the disagreements' verdicts, compared once.
        t = time.perf_counter()
        disagreements.refresh_verdicts(s, rnd.id)
        verdicts_s = time.perf_counter() - t
        public_id = s.scalar(sa.select(Authority.public_id).order_by(Authority.id))
        out = {"round_id": rnd.id, "public_id": public_id, "respondents": len(respondents),
               "answers": len(answers), "codings": len(codings), "drawn": len(drawn), "draw_s": draw_s,
               "score_s": score_s, "reliability_s": reliability_s, "verdicts_s": verdicts_s,
               "admin": s.scalar(sa.select(User.email).where(User.id == admin.id))}
    app.extensions["impactmodel.engine"].dispose()
    return out


class Client:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base + path, timeout=600) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def login(self, email: str) -> None:
        _status, page = self.get("/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        data = {"email": email, "password": PASSWORD, **({"csrf_token": token.group(1).decode()} if token else {})}
        self.opener.open(self.base + "/login", urllib.parse.urlencode(data).encode(), timeout=60).read()


def worker_rss(master: int) -> dict[int, float]:
    """Resident memory (MB) of each gunicorn worker of ``master``."""
    out = {}
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out[int(pid)] = int(line.split()[1]) / 1024
    return out


def serve(url: str, port: int):
    env = {**os.environ, "IMPACTMODEL_DATABASE_URL": url, "IMPACTMODEL_SECRET_KEY": "bench",
           "IMPACTMODEL_SESSION_COOKIE_SECURE": "false", "IMPACTMODEL_REMEMBER_COOKIE_SECURE": "false",
           "IMPACTMODEL_JOBS_IN_WEB": "false", "IMPACTMODEL_LOGIN_MAX_FAILURES": "1000"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "--workers", "4", "--bind", f"127.0.0.1:{port}", "--timeout", "600",
                             "impactmodel:create_app()"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).read()
            if len(worker_rss(proc.pid)) == 4:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def measure(base: str, master: int, info: dict, n_requests: int) -> tuple[list, list]:
    client = Client(base)
    client.login(info["admin"])
    r, p = info["round_id"], info["public_id"]
    pages = [("continuum", f"/rounds/{r}/scores"), ("profile", f"/rounds/{r}/scores/authorities/{p}"),
             ("round report", f"/rounds/{r}/report"), ("scores JSON", f"/rounds/{r}/scores.json"),
             ("coding queue", f"/coding/?round={r}&status=all"), ("double coding", f"/coding/double?round={r}"),
             ("disagreements", f"/coding/disagreements?round={r}"), ("reliability", f"/coding/reliability?round={r}"),
             ("fieldwork", f"/fieldwork/?round={r}"), ("round", f"/rounds/{r}")]
    exports = [("coded CSV", f"/rounds/{r}/export/coded.csv"), (".qdpx", f"/coding/rounds/{r}/export.qdpx"),
               ("responses CSV", f"/rounds/{r}/export/responses/parent_survey.csv"),
               ("responses XLSX", f"/rounds/{r}/export/responses/parent_survey.xlsx")]
    page_rows = []
    for label, path in pages:
        for _ in range(4):          # every worker warm
            status, body = client.get(path)
        times = []
        for _ in range(n_requests):
            t = time.perf_counter()
            status, body = client.get(path)
            times.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
        page_rows.append((label, statistics.median(times), max(times), len(body) // 1024))
        print(f"  measured {label}", flush=True)
    export_rows = []
    for label, path in exports:
        times, growth = [], []
        for _ in range(3):
            before = worker_rss(master)
            t = time.perf_counter()
            status, body = client.get(path)
            times.append(time.perf_counter() - t)
            after = worker_rss(master)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            growth.append(max(after[pid] - before.get(pid, after[pid]) for pid in after))
        export_rows.append((label, statistics.median(times), max(times), max(growth),
                            max(worker_rss(master).values()), len(body) / 2 ** 20))
        print(f"  measured {label}", flush=True)
    return page_rows, export_rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--authorities", type=int, nargs="+", default=[150, 500])
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    verdicts = []
    for n in args.authorities:
        server = PostgresServer()
        server.start()
        proc = None
        try:
            url = server.create_database("national")
            command.upgrade(alembic_config(url), "head")
            t = time.perf_counter()
            info = build(url, n)
            print(f"\n{n} authorities: {info['respondents']:,} respondents, {info['answers']:,} open answers, "
                  f"{info['codings']:,} codings, {info['drawn']:,} answers drawn for double coding "
                  f"(built in {time.perf_counter() - t:.0f} s; draw {info['draw_s']:.1f} s, "
                  f"scores {info['score_s']:.1f} s, reliability {info['reliability_s']:.1f} s, "
                  f"disagreements compared {info['verdicts_s']:.1f} s)", flush=True)
            port = _free_port()
            proc = serve(url, port)
            pages, exports = measure(f"http://127.0.0.1:{port}", proc.pid, info, args.requests)
            print(f"{'page':>16} {'median ms':>10} {'max ms':>8} {'KB':>6}")
            for label, med, mx, kb in pages:
                print(f"{label:>16} {med:>10.0f} {mx:>8.0f} {kb:>6}")
            print(f"{'export':>16} {'median s':>10} {'max s':>8} {'growth MB':>10} {'worker MB':>10} {'size MB':>8}")
            for label, med, mx, grow, rss, size in exports:
                print(f"{label:>16} {med:>10.2f} {mx:>8.2f} {grow:>10.0f} {rss:>10.0f} {size:>8.1f}")
            if n == 150:
                ok_pages = all(med < 150 and mx < 300 for _l, med, mx, _kb in pages)
                ok_exports = all(mx < 5 and grow < 150 for label, _m, mx, grow, _r, _s in exports
                                 if label in ("coded CSV", ".qdpx"))
                verdicts.append(f"150 authorities: pages {'PASS' if ok_pages else 'FAIL'}, "
                                f"exports {'PASS' if ok_exports else 'FAIL'}")
            else:
                verdicts.append(f"{n} authorities: every page and export answered 200: PASS")
        finally:
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
            server.stop()
    print("\n" + "\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
