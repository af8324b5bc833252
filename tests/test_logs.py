"""A survey link's token and a card's short code never reach a request log."""
from __future__ import annotations

import logging
import re
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger
from werkzeug.serving import make_server

from impactmodel.fieldwork import invitations
from impactmodel.logs import redact

README = Path(__file__).resolve().parent.parent / "README.md"
TOKEN = "Zq3" + "x" * 40


def test_redact():
    assert redact(f'"GET /s/{TOKEN}/2 HTTP/1.1" 200 -') == '"GET /s/[redacted] HTTP/1.1" 200 -'
    assert redact('"GET /s/c/ACDE-FG34 HTTP/1.1" 302 -') == '"GET /s/[redacted] HTTP/1.1" 302 -'
    assert redact('"GET /s?code=ACDE-FG34&x=1 HTTP/1.1"') == '"GET /s?code=[redacted]&x=1 HTTP/1.1"'
    assert redact('"GET /coding/queue?round=3 HTTP/1.1"') == '"GET /coding/queue?round=3 HTTP/1.1"'
    assert redact('"GET /static/s/site.css HTTP/1.1"') == '"GET /static/s/site.css HTTP/1.1"'


def test_the_development_server_logs_survey_paths_redacted(app, session, make_round, make_authority,
                                                           caplog):
    rnd = make_round()
    authority = make_authority(round=rnd)
    with app.app_context():
        invitation = invitations.create_invitations(session, "test", round=rnd, authority=authority,
                                                    role="parent", count=1)[0]
    code = invitations.format_code(invitation.code)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for path in (f"/s/{invitation.token}", f"/s/c/{code}", f"/s?code={code}", "/s/" + "A" * 43,
                         "/login"):
                try:
                    urllib.request.urlopen(base + path).close()
                except urllib.error.HTTPError as exc:   # the unknown token's 404
                    exc.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "werkzeug")
    assert invitation.token not in logged and code not in logged and "A" * 43 not in logged
    assert logged.count("/s/[redacted]") >= 4   # links, cards, and the redirects they lead to
    assert "/s?code=[redacted]" in logged
    assert '"GET /login HTTP/1.1" 200' in logged   # other paths are logged as they were


def test_the_documented_gunicorn_access_log_has_no_paths(tmp_path):
    fmt = re.search(r"--access-logformat '([^']+)'", README.read_text()).group(1)
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", fmt)
    log = Logger(cfg)
    path = f"/s/{TOKEN}/1"
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"{path}?code=ACDE-FG34", "PATH_INFO": path,
               "QUERY_STRING": "code=ACDE-FG34", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "HTTP_REFERER": f"https://larc.example.org/s/{TOKEN}"}
    response = SimpleNamespace(status="200 OK", sent=512, headers=[("Location", path)])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    log.access(response, request, environ, timedelta(milliseconds=12))
    for handler in log.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text()
    assert '"GET" 200 512' in line
    assert TOKEN not in line and "ACDE" not in line


@pytest.fixture(autouse=True)
def _close_gunicorn_files():
    # gunicorn's Logger opens its files on loggers that outlive the test.
    yield
    for name in ("gunicorn.access", "gunicorn.error"):
        for handler in logging.getLogger(name).handlers[:]:
            handler.close()
            logging.getLogger(name).removeHandler(handler)
