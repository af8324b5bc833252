"""Defaults. Anything here can be overridden with an ``IMPACTMODEL_<NAME>`` variable."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

DEFAULTS = {
    "DATABASE_URL": None,               # None: SQLite file in the instance folder
    "BASE_URL": "http://127.0.0.1:5000",
    "SECRET_KEY": None,                 # None: generated once, kept in the instance folder
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    "WTF_CSRF_TIME_LIMIT": None,        # tokens live as long as the session
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    # Log-in throttling: this many failures within the window refuses further tries.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 30,
    "LOGIN_WINDOW_MINUTES": 15,
    # Wrong survey codes typed from one client within the window before it must wait.
    "SURVEY_CODE_MAX_FAILURES": 20,          # wrong short codes per address within the window, free
    "SURVEY_CODE_WINDOW_HOURS": 24,
    "SURVEY_CODE_BURST": 3,                  # then this many checks at once,
    "SURVEY_CODE_REFILL_MINUTES": 10,        # and one more every this many minutes
    # Consortium outputs hide any count below this (the report shows a view only where five or more people gave it).
    "SMALL_NUMBER_THRESHOLD": 5,
    "INVITATION_DAYS": 90,
    # Who respondents contact about the research, on every survey page, when a round names
    # no contact of its own: a team's name with an e-mail address or telephone number.
    "RESEARCH_CONTACT": None,
    # The steps researchers follow when an answer may disclose harm, for an authority
    # that has not recorded its own procedure (docs/FIELDWORK.md).
    "SAFEGUARDING_STEPS": (
        "1. Read the whole answer now. Do not try to find out who wrote it beyond what this page shows.\n"
        "2. If a child may be in immediate danger, call 999.\n"
        "3. The same day, tell the authority's designated safeguarding lead what the answer says, "
        "its survey reference and when it was given.\n"
        "4. Follow the lead's advice, keep a note of what you did, and mark the answer as dealt with here."),
    # Argon2id cost; these are argon2-cffi's defaults (RFC 9106). Tests lower them for speed.
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    # Number of reverse proxies in front of the app (0: none). Needed for per-client throttling.
    "PROXY_FIX_X_FOR": 0,
}


def finish(app) -> None:
    """Fill in the settings that depend on the instance folder."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'impactmodel.sqlite'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path) / "secret_key")


def _instance_secret(path: Path) -> str:
    # Written completely under a temporary name, then linked into place: when several
    # workers start at once, exactly one link succeeds and every worker reads that key.
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
