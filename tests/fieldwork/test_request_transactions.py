"""How a request's transaction ends: COMMIT when it only read, ROLLBACK otherwise.

For a transaction that ran only SELECTs the two are the same; but psycopg forgets its
prepared statements at every ROLLBACK, so ending reads with ROLLBACK would have PostgreSQL
plan every statement of every request afresh.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from impactmodel.consortium.models import Authority
from impactmodel.db import db
from impactmodel.fieldwork import invitations
from tests.conftest import ENGINES


def _endings(app):
    seen = []
    engine = app.extensions["impactmodel.engine"]
    event.listen(engine, "commit", lambda conn: seen.append("commit"))
    event.listen(engine, "rollback", lambda conn: seen.append("rollback"))
    return seen


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_page_that_only_reads_ends_its_transaction_with_commit(app, client, session, fw):
    invitation = invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                                role="parent", count=1)[0]
    client.get(f"/s/{invitation.token}")
    seen = _endings(app)
    assert client.get(f"/s/{invitation.token}").status_code == 200
    assert seen == ["commit"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_page_statement_is_prepared_once_requests_repeat_it(app, client, session, fw):
    invitation = invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                                role="parent", count=1)[0]
    for _ in range(8):
        assert client.get(f"/s/{invitation.token}").status_code == 200
    with app.extensions["impactmodel.engine"].connect() as conn:
        prepared = conn.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements "
                                       "WHERE statement LIKE '%FROM invitation%'"))
    assert prepared == 1


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_changes_left_uncommitted_by_a_request_are_rolled_back(app, session, fw):
    with app.test_request_context():
        db.session.execute(sa.update(Authority).where(Authority.id == fw.authority.id).values(name="Changed"))
    with app.test_request_context():
        db.session.add(Authority(name="Never kept", label="LA-98"))
        db.session.flush()
    with app.test_request_context():
        db.session.add(Authority(name="Never flushed", label="LA-99"))
    session.expire_all()
    names = set(session.scalars(sa.select(Authority.name)))
    assert fw.authority.name in names and not names & {"Changed", "Never kept", "Never flushed"}
