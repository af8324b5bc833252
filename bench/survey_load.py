"""The survey flow under load: the app against a bare Flask + SQLAlchemy app.

Run on demand from the repository root (PostgreSQL's server binaries must be installed):

    .venv/bin/python bench/survey_load.py [--concurrency 8 32 128] [--respondents 256]

Both apps run under gunicorn (4 sync workers) against one throwaway PostgreSQL server
(``tests/pgserver.py``). Each virtual respondent follows the parent survey the way a
browser does, one request at a time: open the link, consent, then for every page of
questions load it and post it (answering every question), load the check page, send,
and load the thank-you page; the app's CSRF token is read from each page it posts.
The bare app answers the same requests with the least a survey needs: one lookup of
the link per request and, per posted page, one upsert per answer.

For each concurrency it prints requests per second, the latency percentiles (p50, p95,
p99), errors (any status other than 200, 302 or 303), and checks that every answer was
stored exactly once; then the app's throughput as a ratio of the bare app's. The bar:
at 32 concurrent respondents at least 0.5x the bare app, p95 under 250 ms, no errors.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402

from impactmodel import create_app  # noqa: E402
from impactmodel.schema import alembic_config  # noqa: E402
from impactmodel.consortium import services as consortium_services  # noqa: E402
from impactmodel.db import db  # noqa: E402
from impactmodel.fieldwork import invitations as survey_links  # noqa: E402
from impactmodel.fieldwork import responses as fieldwork_responses  # noqa: E402
from impactmodel.fieldwork.models import Answer, Invitation, Response  # noqa: E402
from tests.pgserver import PostgresServer, _free_port  # noqa: E402

CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
INSTRUMENT = fieldwork_responses.instrument_for_role("parent")


def page_answers(section: dict) -> list[tuple[str, str]]:
    """A posted page answering every question of ``section``."""
    fields = []
    for q in section["questions"]:
        if q["type"] in ("text", "long_text"):
            fields.append((q["key"], "The key worker rings us back the same day, and the school listens."))
        elif q.get("options"):
            fields.append((q["key"], q["options"][0]["id"]))
    return fields


# --- The bare app -------------------------------------------------------------------------

BARE = """
import sqlalchemy as sa
from flask import Flask, abort, redirect, request
from sqlalchemy.dialects.postgresql import insert

engine = sa.create_engine("{url}", pool_pre_ping=True)
meta = sa.MetaData()
link = sa.Table("link", meta, sa.Column("token", sa.String(64), primary_key=True),
                sa.Column("started", sa.Boolean, default=False), sa.Column("sent", sa.Boolean, default=False))
answer = sa.Table("answer", meta, sa.Column("token", sa.String(64), primary_key=True),
                  sa.Column("key", sa.String(80), primary_key=True), sa.Column("text", sa.Text))
app = Flask(__name__)


def found(conn, token):
    row = conn.execute(sa.select(link).where(link.c.token == token)).first()
    if row is None:
        abort(404)
    return row


@app.route("/s/<token>", methods=["GET", "POST"])
def start(token):
    with engine.begin() as conn:
        found(conn, token)
        if request.method == "POST":
            conn.execute(sa.update(link).where(link.c.token == token).values(started=True))
            return redirect(f"/s/{{token}}/1", 303)
    return "<form method=post><input name=consent></form>"


@app.route("/s/<token>/<int:step>", methods=["GET", "POST"])
def step(token, step):
    with engine.begin() as conn:
        found(conn, token)
        if request.method == "POST":
            for key, value in request.form.items():
                if key == "go":
                    continue
                stmt = insert(answer).values(token=token, key=key, text=value)
                conn.execute(stmt.on_conflict_do_update(index_elements=["token", "key"], set_={{"text": value}}))
            return redirect(f"/s/{{token}}/{{step + 1}}", 303)
        rows = conn.execute(sa.select(answer).where(answer.c.token == token)).all()
    return "<form method=post>" + "".join(f"<p>{{r.key}}</p>" for r in rows) + "</form>"


@app.route("/s/<token>/check", methods=["GET", "POST"])
def check(token):
    with engine.begin() as conn:
        found(conn, token)
        if request.method == "POST":
            conn.execute(sa.update(link).where(link.c.token == token).values(sent=True))
            return redirect(f"/s/{{token}}/thanks", 303)
        rows = conn.execute(sa.select(answer).where(answer.c.token == token)).all()
    return "<form method=post>" + "".join(f"<p>{{r.key}}</p>" for r in rows) + "</form>"


@app.get("/s/<token>/thanks")
def thanks(token):
    with engine.begin() as conn:
        found(conn, token)
    return "<p>Thank you</p>"
"""


def setup_bare(url: str, tokens: list[str], directory: Path) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS link (token varchar(64) PRIMARY KEY, "
                             "started boolean DEFAULT false, sent boolean DEFAULT false)"))
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS answer (token varchar(64), key varchar(80), text text, "
                             "PRIMARY KEY (token, key))"))
        conn.execute(sa.text("INSERT INTO link (token) VALUES (:t)"), [{"t": t} for t in tokens])
    engine.dispose()
    (directory / "bare_survey_app.py").write_text(BARE.format(url=url))


def setup_app(url: str, n: int) -> list[str]:
    command.upgrade(alembic_config(url), "head")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True, "JOBS_IN_WEB": False})
    with app.app_context():
        fieldwork_responses.ensure_synced(db.session)
        rnd = consortium_services.get_or_create_round(db.session, "Survey load")
        authority = consortium_services.get_or_create_authority(db.session, "Load Borough")
        consortium_services.ensure_participation(db.session, rnd, authority)
        db.session.commit()
        tokens = []
        while len(tokens) < n:
            made = survey_links.create_invitations(db.session, "bench", round=rnd, authority=authority,
                                                         role="parent", count=min(500, n - len(tokens)))
            tokens += [i.token for i in made]
    app.extensions["impactmodel.engine"].dispose()
    return tokens


# --- Load -----------------------------------------------------------------------------------

class Browser:
    """One respondent's browser: its cookies, one request at a time, no redirects followed."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.times: list[float] = []
        self.errors = 0

    def request(self, method: str, path: str, fields: list[tuple[str, str]] | None = None) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        t = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except OSError:
            self.errors += 1
            return b""
        finally:
            conn.close()
        self.times.append(time.perf_counter() - t)
        if response.status not in (200, 302, 303):
            self.errors += 1
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return data

    def post(self, path: str, page: bytes, fields: list[tuple[str, str]]) -> None:
        token = CSRF.search(page)
        self.request("POST", path, fields + ([("csrf_token", token.group(1).decode())] if token else []))


def respond(port: int, token: str) -> Browser:
    b = Browser(port)
    base = f"/s/{token}"
    page = b.request("GET", base)
    b.post(base, page, [("consent", "yes"), ("mode", "self")])
    for i, section in enumerate(INSTRUMENT.sections, 1):
        page = b.request("GET", f"{base}/{i}")
        b.post(f"{base}/{i}", page, [("go", "next")] + page_answers(section))
    page = b.request("GET", f"{base}/check")
    b.post(f"{base}/check", page, [])
    b.request("GET", f"{base}/thanks")
    return b


def load(port: int, tokens: list[str], concurrency: int) -> dict:
    t = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        browsers = list(pool.map(lambda tok: respond(port, tok), tokens))
    wall = time.perf_counter() - t
    times = sorted(x for b in browsers for x in b.times)

    def pct(p):
        return times[min(len(times) - 1, int(p / 100 * len(times)))] * 1000
    return {"rps": len(times) / wall, "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "errors": sum(b.errors for b in browsers), "requests": len(times)}


def serve(target: str, port: int, env: dict, cwd: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "--workers", "4", "--bind", f"127.0.0.1:{port}", target],
                            cwd=cwd, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/s/x", timeout=2)
        except urllib.error.HTTPError:
            return proc                       # answering (404 for an unknown link)
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{target} did not start")


def stored_once_app(url: str, tokens: list[str], expected_per_respondent: int) -> bool:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Invitation.token, sa.func.count(Answer.id))
                            .join(Response, Response.respondent_id == Invitation.respondent_id)
                            .join(Answer, Answer.response_id == Response.id)
                            .where(Invitation.token.in_(sa.bindparam("t", expanding=True)),
                                   Invitation.submitted_at.is_not(None))
                            .group_by(Invitation.token), {"t": tokens}).all()
    engine.dispose()
    return len(rows) == len(tokens) and all(n == expected_per_respondent for _t, n in rows)


def stored_once_bare(url: str, tokens: list[str], expected_per_respondent: int) -> bool:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT l.token, count(a.key) FROM link l JOIN answer a ON a.token = l.token "
                                    "WHERE l.sent AND l.token = ANY(:t) GROUP BY l.token"), {"t": tokens}).all()
    engine.dispose()
    return len(rows) == len(tokens) and all(n == expected_per_respondent for _t, n in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 128])
    ap.add_argument("--respondents", type=int, default=256, help="respondents per run (each a whole survey)")
    args = ap.parse_args()
    expected = sum(len(page_answers(s)) for s in INSTRUMENT.sections)
    server = PostgresServer()
    server.start()
    procs = []
    try:
        total = args.respondents * len(args.concurrency)
        app_url = server.create_database("survey_app")
        bare_url = server.create_database("survey_bare")
        tokens = setup_app(app_url, total)
        bare_tokens = [secrets.token_urlsafe(32) for _ in range(total)]
        workdir = Path(server.dir) / "bare"
        workdir.mkdir()
        setup_bare(bare_url, bare_tokens, workdir)
        app_port, bare_port = _free_port(), _free_port()
        procs.append(serve("impactmodel:create_app()", app_port, {
            "IMPACTMODEL_DATABASE_URL": app_url, "IMPACTMODEL_SECRET_KEY": secrets.token_hex(16),
            "IMPACTMODEL_SESSION_COOKIE_SECURE": "false", "IMPACTMODEL_JOBS_IN_WEB": "false"}, ROOT))
        procs.append(serve("bare_survey_app:app", bare_port, {}, workdir))
        print(f"parent survey: {len(INSTRUMENT.sections)} pages, {expected} answers and "
              f"{2 * len(INSTRUMENT.sections) + 5} requests per respondent; {args.respondents} respondents per run")
        print(f"{'concurrent':>10} {'app':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6} "
              f"{'stored once':>11}")
        verdicts = []
        for i, c in enumerate(args.concurrency):
            chunk = slice(i * args.respondents, (i + 1) * args.respondents)
            results = {}
            for name, port, toks, check, url in (("app", app_port, tokens[chunk], stored_once_app, app_url),
                                                  ("bare", bare_port, bare_tokens[chunk], stored_once_bare, bare_url)):
                r = load(port, toks, c)
                r["once"] = check(url, toks, expected)
                results[name] = r
                print(f"{c:>10} {name:>5} {r['rps']:>7.0f} {r['p50']:>7.0f} {r['p95']:>7.0f} {r['p99']:>7.0f} "
                      f"{r['errors']:>6} {'yes' if r['once'] else 'NO':>11}")
            ratio = results["app"]["rps"] / results["bare"]["rps"]
            print(f"{c:>10} ratio app/bare {ratio:.2f}x")
            if c == 32:
                a = results["app"]
                ok = ratio >= 0.5 and a["p95"] < 250 and a["errors"] == 0 and a["once"]
                verdicts.append(f"32 concurrent: {ratio:.2f}x bare, p95 {a['p95']:.0f} ms, {a['errors']} errors, "
                                f"stored once: {'yes' if a['once'] else 'no'}: {'PASS' if ok else 'FAIL'}")
        print("\n".join(verdicts))
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
