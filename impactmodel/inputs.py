"""Request input, checked once for every route before any view sees it.

Text no database can store is refused: PostgreSQL refuses the NUL character and neither
database can encode an unpaired UTF-16 surrogate (JSON can spell one, as "\\ud800").
The path, the query string, form fields, uploaded file names and JSON bodies (at any
depth) are checked; text is accepted exactly as sent or refused, never trimmed or changed.
A JSON body must be an object, and only views marked ``@takes_json`` accept one: the
others are forms, and a form library fed JSON would see numbers and lists where it
expects text. Numbers in the address beyond what the database holds find nothing (404).

Refusals answer 400 (a JSON error for scripts, a page for people) and log nothing of
what was sent. Uploaded files are decoded by the import that reads them
(``interchange.csvio``), which names the line of any such character.
"""
from __future__ import annotations

import re
from typing import Callable

from flask import Flask, abort, current_app, request

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Field names shown back in messages; anything else is "a field" (it may itself be hostile).
PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,60}")
# The largest id a table holds (PostgreSQL's integer); a larger number is no error, just no record.
LARGEST_ID = 2 ** 31 - 1


def unstorable(text: str) -> str | None:
    """What is wrong with ``text`` for storing, or None when it can be stored as it is."""
    match = UNSTORABLE.search(text)
    if match is None:
        return None
    return "a NUL character" if match.group() == "\x00" else "an unpaired surrogate character"


def as_id(value) -> int | None:
    """``value`` (text from a form or the address, or a JSON number) as a record id, or
    None when it is not one: not a whole number in ASCII digits, or larger than any id."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= LARGEST_ID:
        return value
    return None


def takes_json(view: Callable) -> Callable:
    """Mark a view that reads a JSON object body (scripts' requests)."""
    view.takes_json = True
    return view


def json_object(**types: type | tuple[type, ...]) -> dict:
    """The request's JSON object (``{}`` for an empty body). Each field named in ``types``,
    when present and not null, must be of that type; otherwise, or when the request is
    not JSON, it answers 400 saying what to send.

        data = json_object(text=str, coding_id=(int, str))
    """
    if not request.is_json:
        abort(400, description="Send a JSON object, with the header Content-Type: application/json.")
    # The body's shape and text were checked before the view (check_request).
    data = request.get_json(silent=True) or {}
    for name, expected in types.items():
        value = data.get(name)
        if value is None:
            continue
        # JSON true and false are Python bools, which are ints too.
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in _as_tuple(expected)):
            abort(400, description=f"The field '{name}' should be {_describe(expected)}.")
    return data


def _as_tuple(expected) -> tuple:
    return expected if isinstance(expected, tuple) else (expected,)


def _describe(expected) -> str:
    words = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
             list: "a list", dict: "an object"}
    return " or ".join(words.get(t, t.__name__) for t in _as_tuple(expected))


def _name(name: str) -> str:
    return f"the field '{name}'" if PLAIN_NAME.fullmatch(name) else "a field"


def _refuse(where: str, problem: str) -> None:
    abort(400, description=f"{where[0].upper()}{where[1:]} contains {problem}, which cannot be "
                           f"stored. Remove it and send again.")


def _check_pairs(pairs, place: str) -> None:
    for key, value in pairs:
        if problem := unstorable(key):
            _refuse(f"a field name in {place}", problem)
        if isinstance(value, str) and (problem := unstorable(value)):
            _refuse(f"{_name(key)} in {place}", problem)


def _check_json(data) -> None:
    """Walk the parsed body without recursion (it may nest as deep as the parser allows)."""
    stack = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if problem := unstorable(value):
                _refuse(f"{_name(path) if path else 'the body'} of the JSON", problem)
        elif isinstance(value, dict):
            for key, item in value.items():
                if problem := unstorable(key):
                    _refuse("a field name in the JSON", problem)
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))


def _check_json_body(view: Callable) -> None:
    if not request.get_data(cache=True):
        return
    if not getattr(view, "takes_json", False):
        abort(400, description="This address takes a form, not JSON.")
    try:
        data = request.get_json(silent=True)
    except RecursionError:   # nested deeper than the parser goes: not a body anyone sends
        data = None
    if data is None:
        abort(400, description="The body is not valid JSON (UTF-8).")
    if not isinstance(data, dict):
        abort(400, description="Send a JSON object ({\"name\": value, ...}), not an array or a single value.")
    _check_json(data)


def check_request() -> None:
    """The before-request check (see the module's docstring)."""
    if request.endpoint is None:   # no route matched: the 404 or 405 follows
        return
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and (problem := unstorable(value)):
            _refuse("the address", problem)
        if isinstance(value, int) and value > LARGEST_ID:
            abort(404)
    _check_pairs(request.args.items(multi=True), "the address")
    _check_pairs(request.form.items(multi=True), "the form")
    for file in request.files.values():
        if file.filename and (problem := unstorable(file.filename)):
            _refuse("the name of the uploaded file", problem)
    if request.is_json:
        _check_json_body(current_app.view_functions[request.endpoint])


def init_app(app: Flask) -> None:
    app.before_request(check_request)
