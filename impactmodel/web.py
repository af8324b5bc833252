"""Cross-cutting web concerns: CSRF, security headers, error pages, template helpers."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import FileSystemBytecodeCache
from markupsafe import Markup, escape
from sqlalchemy.exc import OperationalError, ProgrammingError

from impactmodel.access import rule_for
from impactmodel.db import db

csrf = CSRFProtect()
NUM = ' class="num"'


def _cell_html(value) -> str:
    """A table cell's text, escaped; numbers need no escaping (a round report has thousands)."""
    if value is None:
        return ""
    if type(value) is int or type(value) is float:
        return str(value)
    return escape(value)

# Marked for translation: on a respondent's page they are shown in the respondent's language.
ERROR_TEXT = {
    400: (_l("Something was wrong with that request"), _l("Please go back and try again.")),
    403: ("You can't see this page", "Your account does not have access to it. "
          "If you think it should, ask your administrator."),
    404: (_l("Page not found"), _l("Check the address, or go back to the start.")),
    410: (_l("This link has ended"), _l("It can no longer be used.")),
    413: (_l("That file is too large"), _l("Please send a smaller file.")),
    429: (_l("Too many attempts"), _l("Please wait a few minutes and try again.")),
    500: (_l("Something went wrong on our side"), _l("Nothing you typed has been lost that was "
                                                    "already saved. Please try again in a moment.")),
}


def wants_json() -> bool:
    """A script's request (autosave, coding): it reads errors as JSON, not as a page."""
    return request.is_json or request.accept_mimetypes.best == "application/json"


def add_nav_link(app: Flask, endpoint: str, label: str, order: int) -> None:
    """Put a page in the main navigation; it shows only to users its access rule allows."""
    app.extensions.setdefault("impactmodel.nav", []).append((order, endpoint, label))


def add_round_link(app: Flask, endpoint: str, label: str, description: str, order: int,
                   param: str = "round_id") -> None:
    """Put a page about one round on the round's page; ``param`` names the argument
    (a path or query parameter) that takes the round's id."""
    app.extensions.setdefault("impactmodel.round_links", []).append(
        (order, endpoint, label, description, param))


def _round_links(round_id: int) -> list[tuple[str, str, str]]:
    links = sorted(current_app.extensions.get("impactmodel.round_links", []))
    return [(url_for(endpoint, **{param: round_id}), label, description)
            for _o, endpoint, label, description, param in links
            if (rule := rule_for(endpoint)) is not None and rule.allows(current_user)]


def _nav_links() -> list[tuple[str, str]]:
    links = sorted(current_app.extensions.get("impactmodel.nav", []))
    out = []
    for _order, endpoint, label in links:
        rule = rule_for(endpoint)
        if rule is not None and rule.allows(current_user):
            out.append((endpoint, label))
    return out


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    # Compiled templates are kept in the instance folder, keyed by each template's source,
    # so a new worker process loads a page's template instead of compiling it on the first
    # request (a tenth of a second for the round report).
    # Where the instance folder cannot be written (a read-only installation), templates are
    # compiled as before.
    cache = Path(app.instance_path) / "template-cache"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    else:
        app.jinja_env.bytecode_cache = FileSystemBytecodeCache(str(cache))
    app.jinja_env.globals["nav_links"] = _nav_links
    app.jinja_env.globals["round_links"] = _round_links

    @app.after_request
    def security_headers(response):
        # No external scripts, styles or frames anywhere in the app.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint and request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        title, text = (str(words) for words in ERROR_TEXT.get(code, ERROR_TEXT[500]))
        description = getattr(error, "description", None)
        if code in (400, 429) and isinstance(description, str) and description:
            text = description
        # A failed write leaves the session unusable, and the page's header reads the user.
        # Nothing of the request is logged here: its text may be a respondent's answer.
        db.session.rollback()
        if wants_json():
            return jsonify(error=text if code in (400, 429) else title), code
        return render_template("errors/error.html", code=code, title=title, text=text), code

    for code in ERROR_TEXT:
        app.register_error_handler(code, render_error)

    @app.errorhandler(OperationalError)
    @app.errorhandler(ProgrammingError)
    def database_not_set_up(error):
        text = str(getattr(error, "orig", error)).lower()
        if "no such table" in text or ("does not exist" in text and "relation" in text):
            return render_template("errors/error.html", code=503, title="The database is not set up yet",
                                   text="An administrator needs to run `impactmodel db upgrade`."), 503
        raise error

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400, title=_l("This form has expired"),
                               text=_l("For your security the form timed out. Go back, reload "
                                       "the page and send it again.")), 400

    @app.template_filter("pct")
    def pct(value, digits=0):
        if value is None or value != value:
            return "–"
        return f"{value * 100:.{digits}f}%"

    @app.template_filter("table_rows")
    def table_rows(rows, num_from=99):
        """A table's body rows (cells from column ``num_from`` on right-aligned as numbers),
        written here rather than cell by cell in a template: a round report has thousands."""
        opening = [f"<td{NUM if i >= num_from else ''}>" for i in range(max(map(len, rows), default=0))]
        return Markup("\n  ".join(
            "<tr>" + "".join(f"{opening[i]}{_cell_html(v)}</td>" for i, v in enumerate(row)) + "</tr>"
            for row in rows))

    @app.template_filter("num")
    def num(value, digits=2):
        if value is None or value != value:
            return "–"
        return f"{value:.{digits}f}"
