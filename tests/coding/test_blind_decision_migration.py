"""The migration that records "no code applies": blind codings already finished with no
code were finished so on purpose, and keep counting as that decision."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command

from impactmodel.schema import alembic_config
from impactmodel.db import make_engine
from tests.conftest import ENGINES
from tests.test_migrations import empty_url  # noqa: F401  (the fixture)

NOW = datetime(2008, 5, 1, tzinfo=timezone.utc)
USER = {"password_hash": "x", "role": "researcher", "active": True, "created_at": NOW}


@pytest.mark.parametrize("empty_url", ENGINES, indirect=True)
def test_finished_empty_blind_codings_become_no_code_decisions(empty_url):
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0015")
    engine = make_engine(empty_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    user_columns = {c.name for c in meta.tables["user"].columns}
    users = [{**{k: v for k, v in USER.items() if k in user_columns}, "id": i, "email": f"c{i}@example.org",
              "name": f"Coder {i}"} for i in (1, 2, 3)]
    rows = {
        "round": [{"id": 1, "name": "Round 1", "created_at": NOW}],
        "authority": [{"id": 1, "name": "Northshire", "name_key": "northshire", "public_id": "p" * 16,
                       "label": "Authority A", "created_at": NOW}],
        "respondent": [{"id": 1, "round_id": 1, "authority_id": 1, "reference": "m1", "role": "manager",
                        "created_at": NOW}],
        "code": [{"id": "L1.tools", "label": "Tools", "description": "", "level": 1, "group": "L1",
                  "steering_group": False, "valences": ["positive"], "retired": False}],
        "instrument": [{"id": 1, "key": "manager_interview", "title": "Managers", "role": "manager"}],
        "instrument_version": [{"id": 1, "instrument_id": 1, "version": 1, "checksum": "0" * 64,
                                "definition": {}, "created_at": NOW}],
        "response": [{"id": 1, "respondent_id": 1, "instrument_version_id": 1, "mode": "interview",
                      "status": "in_progress", "started_at": NOW, "updated_at": NOW}],
        "answer": [{"id": 1, "response_id": 1, "question_key": "q", "text": "We meet.", "updated_at": NOW}],
        "user": users,
        # Coder 2 finished with a code, coder 3 with none; coder 1 has not finished.
        "coding": [{"id": 1, "round_id": 1, "respondent_id": 1, "answer_id": 1, "code_id": "L1.tools",
                    "valence": "positive", "coder": "c2@example.org", "coder_id": 2, "agreed": False,
                    "created_at": NOW, "identity": "a" * 64}],
        "double_coding": [
            {"id": 1, "round_id": 1, "answer_id": 1, "second_coder_id": 1, "drawn_at": NOW, "second_done_at": None},
            {"id": 2, "round_id": 1, "answer_id": 1, "second_coder_id": 2, "drawn_at": NOW, "second_done_at": NOW},
            {"id": 3, "round_id": 1, "answer_id": 1, "second_coder_id": 3, "drawn_at": NOW, "second_done_at": NOW},
        ],
    }
    with engine.begin() as conn:
        for table, values in rows.items():
            columns = {c.name for c in meta.tables[table].columns}
            conn.execute(sa.insert(meta.tables[table]), [{k: v for k, v in r.items() if k in columns}
                                                         for r in values])
    command.upgrade(cfg, "0021")
    with engine.connect() as conn:
        flags = dict(conn.execute(sa.text("SELECT id, no_code_applies FROM double_coding ORDER BY id")).all())
    assert {k: bool(v) for k, v in flags.items()} == {1: False, 2: False, 3: True}
    command.downgrade(cfg, "0015")
    with engine.connect() as conn:
        assert "no_code_applies" not in {c["name"] for c in sa.inspect(conn).get_columns("double_coding")}
        assert not sa.inspect(conn).has_table("removed_coding")
    engine.dispose()
