"""Hostile input on every route: never a 5xx, and never a respondent's text in a log.

Every rule of ``app.url_map``, every method, as an administrator, a researcher and
anonymously (the survey pages with real tokens), is sent NUL bytes, unpaired
surrogates, invalid UTF-8, huge strings and numbers, JSON of the wrong shape and the
wrong types, in the path, the query string, the form and the JSON body.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from impactmodel.fieldwork.models import Answer
from tests.access_rules import ANON
from tests.conftest import ENGINES, PASSWORD
from tests.test_access_matrix import all_pages, world  # noqa: F401  (world: a fixture)

MARKER = "Qz7-respondent-said-this"
HUGE = MARKER + "x" * 20_000
HUGE_NUMBER = "9" * 30
# Field names the pages do not show but views read: query filters and JSON keys.
EXTRA_NAMES = {"round", "role", "status", "key_group", "question", "queue", "show", "next", "code",
               "answers", "text", "coding_id", "start", "end", "valence", "keep", "definition",
               "base", "action", "confirm", "go", "seed", "mode", "consent", "assent", "email"}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def app_config():
    # A server error answers 500, as in production, rather than raising in the test.
    return {"SCORING_REPLICATES": 20, "PROPAGATE_EXCEPTIONS": False}


def _field_names(client, urls) -> list[str]:
    """Every form field name the pages show, plus the names views read from elsewhere."""
    names = set(EXTRA_NAMES)
    for url in urls:
        with client.get(url) as response:
            if response.mimetype == "text/html":
                names |= set(re.findall(r'name="([^"]+)"', response.get_data(as_text=True)))
    names.discard("csrf_token")
    return sorted(names)


JSON = "application/json"


def _query_vectors(names, method):
    yield "query NUL", {n: MARKER + "\x00" for n in names}
    if method == "GET":
        yield "query invalid UTF-8", "&".join(f"{n}=%FF%ED%A0%80" for n in names)
        yield "query huge number", {n: HUGE_NUMBER for n in names}
        yield "query huge", {n: HUGE[:2_000] for n in names}
        yield "query digits not ASCII", {n: "\u00b2\u0663" for n in names}


def _form_vectors(names):
    yield "form NUL", {"data": {n: MARKER + "\x00" for n in names}}
    yield "form invalid UTF-8", {"data": "&".join(f"{n}=%FF%ED%A0%80%00" for n in names).encode()
                                 + b"&raw=\xff\xfe", "content_type": "application/x-www-form-urlencoded"}
    # Under the form parser's 500 kB limit, so the views see them.
    yield "form huge", {"data": {n: HUGE for n in names[:20]}}
    yield "form huge number", {"data": {n: HUGE_NUMBER for n in names}}
    yield "form plain text", {"data": {n: f"{MARKER}: the school nurse came to the meeting" for n in names}}
    yield "JSON object to a form", {"json": {n: 123 for n in names}}
    yield "JSON array to a form", {"json": [MARKER, {"text": MARKER}]}
    yield "form sent as JSON", {"data": f"text={MARKER}", "content_type": JSON}


def _json_vectors(names):
    """For the views that read JSON: every wrong shape and type, and unstorable text."""
    def raw(body):
        return {"data": body, "content_type": JSON}
    yield "JSON array", {"json": [MARKER, {"text": MARKER}]}
    yield "JSON string", {"json": MARKER}
    yield "JSON numbers", {"json": {n: 123 for n in names}}
    yield "JSON huge numbers", {"json": {n: 10 ** 30 for n in names}}
    yield "JSON infinite numbers", raw("{" + ", ".join(f'"{n}": 1e999' for n in names) + "}")
    yield "JSON true", {"json": {n: True for n in names}}
    yield "JSON nulls", {"json": {n: None for n in names}}
    yield "JSON lists", {"json": {n: [MARKER, 1] for n in names}}
    yield "JSON objects", {"json": {n: {"text": MARKER} for n in names}}
    yield "JSON items of wrong types", {"json": {n: [{"key": 1, "text": 2, "value": {"a": []}, "note": 3,
                                                       "seq": "soon"}, 5] for n in names}}
    yield "JSON missing keys", {"json": {}}
    yield "JSON plain text", {"json": {n: f"{MARKER}: we meet every week" for n in names}}
    yield "JSON an answer", {"json": {"answers": [{"key": "definition", "text": f"{MARKER}: one plan",
                                                   "seq": 1}]}}
    yield "JSON huge", {"json": {n: HUGE for n in names}}
    yield "JSON NUL", {"json": {n: MARKER + "\x00" for n in names}}
    yield "JSON NUL deep", {"json": {"answers": [{"key": "definition", "text": MARKER + "\x00", "seq": 1}]}}
    yield "JSON NUL key", {"json": {MARKER + "\x00": "x"}}
    yield "JSON unpaired surrogate", raw("{" + ", ".join(f'"{n}": "{MARKER}\\ud800"' for n in names) + "}")
    yield "JSON invalid UTF-8", raw(b'{"text": "\xff\xfe\xed\xa0\x80"}')
    yield "JSON invalid", raw('{"text": "' + MARKER)
    yield "JSON nested too deep", raw("[" * 100_000)
    yield "JSON sent as text", {"data": '{"text": "' + MARKER + '"}', "content_type": "text/plain"}
    yield "form sent as JSON", {"data": f"text={MARKER}", "content_type": JSON}


def _path_vectors(app, path, method):
    """The same route with each path argument made hostile: NUL in text, huge numbers."""
    adapter = app.url_map.bind("localhost")
    base, _, query = path.partition("?")
    endpoint, args = adapter.match(base, method=method)
    texts = {k: MARKER + "\x00" for k, v in args.items() if isinstance(v, str)}
    numbers = {k: 10 ** 30 for k, v in args.items() if isinstance(v, int)}
    just_past = {k: 2 ** 31 for k in numbers}
    for label, changed in (("path NUL", texts), ("path huge number", numbers), ("path just past an id", just_past)):
        if changed:
            yield label, adapter.build(endpoint, {**args, **changed}) + (f"?{query}" if query else "")


def _targets(app, world):
    """(endpoint, method, url) for every rule and method, with a URL from the access matrix."""
    pages = all_pages(world)
    targets = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - SKIPPED_METHODS):
            if rule.endpoint == "static":
                targets.append((rule.endpoint, method, "/static/app.css"))
                continue
            candidates = [p for p in pages if p.endpoint == rule.endpoint and p.method == method] or \
                         [p for p in pages if p.endpoint == rule.endpoint]
            assert candidates, f"no URL for {rule.endpoint} {method}: add it to tests/access_rules/"
            targets.append((rule.endpoint, method, candidates[0].url))
    # Logging out ends the session the other requests need, so it goes last.
    return sorted(targets, key=lambda t: t[0] == "auth.logout")


def _vectors(app, names, endpoint, method, path):
    vectors = [(label, {"query_string": query}) for label, query in _query_vectors(names, method)]
    if method != "GET":
        vectors += list(_form_vectors(names))
        if getattr(app.view_functions[endpoint], "takes_json", False):
            vectors += list(_json_vectors(names))
    return vectors + [(label, {"path": p}) for label, p in _path_vectors(app, path, method)]


def hostile_run(app, world, identities=("admin", "researcher", ANON), only=lambda kwargs: True) -> list[str]:
    """Send every hostile vector (that ``only`` accepts) to every target as each identity;
    return the answers that were server errors."""
    targets = _targets(app, world)
    names = _field_names(_signed_in(app, world, "admin"),
                         [url for e, m, url in targets if m == "GET" and isinstance(url, str)])
    failures = []
    for identity in identities:
        client = _signed_in(app, world, identity)
        for endpoint, method, url in targets:
            # A page that destroys its target gives a callable making a fresh one.
            path = url(world) if callable(url) else url
            for label, kwargs in _vectors(app, names, endpoint, method, path):
                if not only(kwargs):
                    continue
                kwargs = {"path": url(world) if callable(url) else url, **kwargs}
                kwargs["path"], _, query = kwargs["path"].partition("?")
                if query:   # the page's own query (a round) first; the vector's may repeat a name
                    extra = kwargs.get("query_string") or ""
                    kwargs["query_string"] = query + "&" + (extra if isinstance(extra, str) else urlencode(extra))
                with client.open(method=method, **kwargs) as response:
                    if response.status_code >= 500:
                        failures.append(f"{identity:10} {method:4} {endpoint:32} {label:26} -> "
                                        f"{response.status_code}")
    return failures


def _signed_in(app, world, identity):
    client = app.test_client()
    if identity != ANON:
        r = client.post("/login", data={"email": world.users[identity].email, "password": PASSWORD})
        assert r.status_code == 302
    return client


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_no_hostile_input_gets_a_server_error(app, world):
    failures = hostile_run(app, world)
    assert failures == [], f"{len(failures)} server errors:\n" + "\n".join(failures)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_no_log_record_carries_answer_text(app, world, session, caplog):
    """All logging on, SQL included, while respondents' text (stored, refused, or too
    odd to store) goes to every route: the text appears in no record."""
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm", "werkzeug",
                 app.logger.name):
        caplog.set_level(logging.DEBUG, logger=name)
    failures = hostile_run(app, world, identities=("researcher", ANON), only=lambda kwargs: MARKER in repr(kwargs))
    assert failures == []
    # The run stored answers carrying the text, and read them back (the coding pages).
    assert session.scalar(sa.select(sa.func.count()).select_from(Answer).where(Answer.text.contains(MARKER)))
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "SQL logging was not on"
    formatter = logging.Formatter()
    leaked = [formatter.format(r) for r in caplog.records if MARKER in formatter.format(r)]
    assert leaked == [], f"{len(leaked)} log records carry answer text, such as:\n{leaked[0][:500]}"
