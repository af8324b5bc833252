"""Migrations: up to head, down to base, up again, with data present, on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from impactmodel.db import Base, make_engine
import impactmodel.models  # noqa: F401
from impactmodel.schema import alembic_config
from tests.conftest import ENGINES

# Table snapshots as of the first revision: the test must not depend on today's models.
authority = sa.table("authority", sa.column("id"), sa.column("name"), sa.column("label"),
                     sa.column("created_at"))
round_ = sa.table("round", sa.column("id"), sa.column("name"), sa.column("created_at"))
respondent = sa.table("respondent", sa.column("id"), sa.column("round_id"), sa.column("authority_id"),
                      sa.column("reference"), sa.column("role"), sa.column("impact_level"),
                      sa.column("created_at"))
code = sa.table("code", sa.column("id"), sa.column("label"), sa.column("description"),
                sa.column("level"), sa.column("group"), sa.column("steering_group"),
                sa.column("valences", sa.JSON), sa.column("retired"))
coding = sa.table("coding", sa.column("id"), sa.column("round_id"), sa.column("respondent_id"),
                  sa.column("code_id"), sa.column("valence"), sa.column("excerpt"),
                  sa.column("coder"), sa.column("agreed"), sa.column("created_at"))


@pytest.fixture
def empty_url(request, tmp_path):
    engine = request.param
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite'}"
    else:
        server = request.getfixturevalue("postgres")
        name = f"m_{uuid.uuid4().hex[:10]}"
        yield server.create_database(name)
        server.drop_database(name)


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def seed(conn, *, at_head: bool = False) -> dict:
    from datetime import datetime, timezone
    now = datetime(2008, 5, 1, tzinfo=timezone.utc)
    conn.execute(sa.insert(round_), [{"id": 1, "name": "Round 1", "created_at": now}])
    row = {"id": 1, "name": "Northshire", "label": "Authority A", "created_at": now}
    if at_head:   # columns added since, without defaults in the database
        row |= {"name_key": "northshire", "public_id": "Qx3-public_id"}
    conn.execute(sa.insert(sa.table("authority", *(sa.column(c) for c in row))), [row])
    conn.execute(sa.insert(respondent), [{"id": 1, "round_id": 1, "authority_id": 1, "reference": "m1",
                                          "role": "manager", "impact_level": 2.5, "created_at": now}])
    conn.execute(sa.insert(code), [{"id": "L1.tools", "label": "Tools", "description": "",
                                    "level": 1, "group": "L1", "steering_group": False,
                                    "valences": ["positive"], "retired": False}])
    conn.execute(sa.insert(coding), [{"id": 1, "round_id": 1, "respondent_id": 1, "code_id": "L1.tools",
                                      "valence": "positive", "excerpt": "we brought in the CAF",
                                      "coder": "rk", "agreed": True, "created_at": now}])
    return snapshot(conn)


def snapshot(conn) -> dict:
    return {
        "authority": conn.execute(sa.select(authority.c.name, authority.c.label)).all(),
        "respondent": conn.execute(sa.select(respondent.c.reference, respondent.c.role,
                                             respondent.c.impact_level)).all(),
        "coding": conn.execute(sa.select(coding.c.code_id, coding.c.valence, coding.c.excerpt,
                                         coding.c.coder)).all(),
    }


@pytest.mark.parametrize("empty_url", ENGINES, indirect=True)
def test_up_down_up_keeps_data_on_the_way_up(empty_url):
    cfg = alembic_config(empty_url)
    revs = revisions()
    assert revs[0] == "0001"
    command.upgrade(cfg, revs[0])
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        before = seed(conn)
    for rev in revs[1:]:  # step by step, checking the data after each revision
        command.upgrade(cfg, rev)
        with engine.connect() as conn:
            assert snapshot(conn) == before, f"data changed by migration {rev}"
    command.downgrade(cfg, "base")
    with engine.connect() as conn:
        left = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    assert left == set(), f"tables left after downgrade to base: {left}"
    command.upgrade(cfg, "head")
    with engine.begin() as conn:
        assert seed(conn, at_head=True) == before
    engine.dispose()


@pytest.mark.parametrize("empty_url", ENGINES, indirect=True)
def test_models_and_migrations_agree(empty_url):
    command.upgrade(alembic_config(empty_url), "head")
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


@pytest.mark.parametrize("empty_url", ENGINES, indirect=True)
def test_audit_log_is_append_only_in_the_database(empty_url):
    command.upgrade(alembic_config(empty_url), "head")
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_event (at, actor, action, entity, details) "
                             "VALUES (CURRENT_TIMESTAMP, 'cli', 'test', 'round', '{}')"))
    for statement in ("UPDATE audit_event SET action = 'changed'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT action FROM audit_event")).scalars().all() == ["test"]
    engine.dispose()


@pytest.mark.parametrize("empty_url", ["postgresql"], indirect=True)
def test_audit_log_refuses_truncate_on_postgresql(empty_url):
    # SQLite has no TRUNCATE; its DELETE without WHERE is refused above.
    command.upgrade(alembic_config(empty_url), "head")
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_event (at, actor, action, entity, details) "
                             "VALUES (CURRENT_TIMESTAMP, 'cli', 'test', 'round', '{}')"))
    for statement in ("TRUNCATE audit_event", 'TRUNCATE "user" CASCADE'):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT action FROM audit_event")).scalars().all() == ["test"]
    command.downgrade(alembic_config(empty_url), "0004")
    with engine.connect() as conn:  # the downgrade takes the trigger away again
        assert conn.execute(sa.text("SELECT count(*) FROM pg_trigger "
                                    "WHERE tgname = 'audit_event_no_truncate'")).scalar() == 0
    engine.dispose()


@pytest.mark.parametrize("empty_url", ENGINES, indirect=True)
def test_authority_keys_keep_near_duplicates_apart_and_public_ids_are_random(empty_url):
    from datetime import datetime, timezone
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0004")
    engine = make_engine(empty_url)
    now = datetime(2008, 5, 1, tzinfo=timezone.utc)
    names = ["Northshire County Council", "northshire  county council", "NORTHSHIRE COUNTY COUNCIL ",
             "Southvale"]
    with engine.begin() as conn:
        conn.execute(sa.insert(authority), [{"id": i, "name": n, "label": f"Authority {chr(64 + i)}",
                                             "created_at": now} for i, n in enumerate(names, 1)])
    command.upgrade(cfg, "0008")
    keyed = sa.table("authority", sa.column("id"), sa.column("name"), sa.column("name_key"),
                     sa.column("public_id"), sa.column("label"), sa.column("created_at"))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(keyed).order_by(keyed.c.id)).all()
    # The oldest keeps the plain key; the later near-duplicates are kept apart, not lost.
    assert [r.name_key for r in rows] == ["northshire county council", "northshire county council\t2",
                                          "northshire county council\t3", "southvale"]
    assert [r.name for r in rows] == names
    ids = [r.public_id for r in rows]
    assert len(set(ids)) == 4 and all(len(i) == 16 and not i.isdigit() for i in ids)
    new = {"id": 9, "name": "Southvale Council", "label": "Authority Z", "name_key": "southvale",
           "public_id": "another-public-id", "created_at": now}
    with pytest.raises(sa.exc.IntegrityError, match="name_key"):
        with engine.begin() as conn:
            conn.execute(sa.insert(keyed).values(new))
    with engine.begin() as conn:   # the same row with a key of its own goes in
        conn.execute(sa.insert(keyed).values(new | {"name_key": "southvale council"}))
    command.downgrade(cfg, "0004")
    with engine.connect() as conn:
        assert conn.execute(sa.select(authority.c.name).order_by(authority.c.id)).scalars().all() == \
            names + ["Southvale Council"]
    engine.dispose()


@pytest.mark.parametrize("empty_url", ENGINES, indirect=True)
def test_stored_scores_get_their_evidence_category_from_their_profiles(empty_url):
    from datetime import datetime, timezone
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0015")
    engine = make_engine(empty_url)
    now = datetime(2008, 5, 1, tzinfo=timezone.utc)
    score = sa.table("confidence_score", sa.column("id"), sa.column("round_id"), sa.column("authority_id"),
                     sa.column("components", sa.JSON), sa.column("flags", sa.JSON),
                     sa.column("profile", sa.JSON), sa.column("method_version"), sa.column("computed_at"))
    with engine.begin() as conn:
        conn.execute(sa.insert(round_), [{"id": 1, "name": "Round 1", "created_at": now}])
        conn.execute(sa.insert(sa.table("authority", *(sa.column(c) for c in (
            "id", "name", "label", "created_at", "name_key", "public_id")))), [
            {"id": i, "name": f"A{i}", "label": f"Authority {i}", "created_at": now, "name_key": f"a{i}",
             "public_id": f"public-{i}"} for i in (1, 2)])
        conn.execute(sa.insert(score), [
            {"id": 1, "round_id": 1, "authority_id": 1, "components": {}, "flags": {},
             "profile": {"evidence": "ascribed", "quotes": []}, "method_version": "2.0", "computed_at": now},
            {"id": 2, "round_id": 1, "authority_id": 2, "components": {}, "flags": {}, "profile": {},
             "method_version": "2.0", "computed_at": now}])
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id, evidence FROM confidence_score ORDER BY id")).all() == \
            [(1, "ascribed"), (2, None)]
    command.downgrade(cfg, "0015")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM confidence_score")).scalar() == 2
    engine.dispose()
