"""The backup and restore steps of docs/OPERATING.md, run against a real PostgreSQL.

The test takes the ``pg_dump`` and ``pg_restore`` lines from the page itself, so the page
cannot drift from what works: a restored database has every row, the migration head,
and an audit log that is append-only again.
"""
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from alembic.script import ScriptDirectory

from impactmodel import audit, create_app
from impactmodel.schema import alembic_config
from tests.conftest import config_for

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "OPERATING.md").read_text(encoding="utf-8")


def documented(command: str) -> list[str]:
    """The page's one ``command`` line, split as a shell would (variables left for us)."""
    lines = [line for line in DOC.splitlines() if line.startswith(command + " ")]
    assert len(lines) == 1, f"docs/OPERATING.md should show one {command} line"
    return shlex.split(lines[0])


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_documented_backup_restores_every_row_and_the_audit_guard(
        database_url, app, session, make_round, make_authority, make_user, make_respondent,
        postgres, tmp_path):
    rnd = make_round("Round 1 (2007-08)")
    authority = make_authority("Northshire County Council", round=rnd)
    admin = make_user("admin")
    make_respondent(rnd, authority)
    audit.record(session, admin, "create", "round", rnd.id)
    session.commit()
    before = row_counts(database_url)
    assert before["round"] == 1 and before["audit_event"] >= 1

    dump = tmp_path / "impactmodel.dump"
    argv = documented("pg_dump")
    argv = [f"{postgres.bindir}/pg_dump"] + [
        f"--file={dump}" if a.startswith("--file=") else libpq_url(database_url) if a == "$PGURL" else a
        for a in argv[1:]]
    subprocess.run(argv, check=True, capture_output=True)

    postgres.admin("DO $$ BEGIN CREATE ROLE impactmodel LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    restored_name = "restored_" + re.sub(r"\W", "", database_url.rsplit("/", 1)[1])
    postgres.admin(f'CREATE DATABASE "{restored_name}" OWNER impactmodel ENCODING \'UTF8\'')
    restored_url = postgres.url(restored_name)
    argv = documented("pg_restore")
    argv = [f"{postgres.bindir}/pg_restore"] + [
        f"--dbname={libpq_url(restored_url)}" if a.startswith("--dbname=")
        else str(dump) if a.endswith(".dump") else a
        for a in argv[1:]]
    try:
        subprocess.run(argv, check=True, capture_output=True)
        assert row_counts(restored_url) == before

        restored = create_app(config_for(restored_url))
        result = restored.test_cli_runner().invoke(args=["round", "list"])
        assert result.exit_code == 0 and result.output.splitlines() == ["Round 1 (2007-08)"]
        restored.extensions["impactmodel.engine"].dispose()

        engine = sa.create_engine(restored_url)
        head = ScriptDirectory.from_config(alembic_config(restored_url)).get_current_head()
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == head
            with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
                conn.execute(sa.text("UPDATE audit_event SET action = 'rewritten'"))
        finally:
            engine.dispose()
    finally:
        postgres.drop_database(restored_name)
