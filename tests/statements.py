"""Counting the SQL a block of code sends: tests that pin how many statements a page or a
save takes, so its cost does not grow with the round."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def statements(app):
    """The statements sent through ``app``'s engine while the block runs, in order."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    engine = app.extensions["impactmodel.engine"]
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def statements_of_page(app, client, url: str) -> tuple[int, str]:
    """How many statements the page at ``url`` takes, and its text. It is asked for once
    before, so what a process reads once (question labels, say) is not counted."""
    client.get(url)
    with statements(app) as seen:
        text = client.get(url).get_data(as_text=True)
    return len(seen), text
