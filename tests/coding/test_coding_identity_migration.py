"""The migration to coding identities keeps every coding's words and leaves no copies."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from impactmodel.db import make_engine
from impactmodel.schema import alembic_config
from tests.conftest import ENGINES
from tests.test_migrations import empty_url  # noqa: F401  (the fixture)

NOW = datetime(2008, 5, 1, tzinfo=timezone.utc)
ROWS = {
    "round": [{"id": 1, "name": "Round 1", "created_at": NOW}],
    "authority": [{"id": 1, "name": "Northshire", "label": "Authority A", "created_at": NOW}],
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
    "coding": [
        # made before excerpts were kept: inside the text, then beyond it (the answer shrank)
        {"id": 1, "answer_id": 1, "start": 3, "end": 7},
        {"id": 2, "answer_id": 1, "start": 10, "end": 30, "code_id": "L1.tools"},
        # the same code applied twice to one span by one coder; a memo on the copy
        {"id": 3, "answer_id": 1, "start": 0, "end": 2, "coder": "rk"},
        {"id": 4, "answer_id": 1, "start": 0, "end": 2, "coder": "rk"},
        # two identical imported rows (no answer)
        {"id": 5, "answer_id": None, "start": None, "end": None, "excerpt": "the CAF"},
        {"id": 6, "answer_id": None, "start": None, "end": None, "excerpt": "the CAF"},
    ],
    "memo": [{"id": 1, "answer_id": 1, "coding_id": 4, "text": "why", "created_at": NOW}],
}
CODING_DEFAULTS = {"round_id": 1, "respondent_id": 1, "code_id": "L1.tools", "valence": "positive",
                   "excerpt": None, "coder": "ab", "agreed": True, "created_at": NOW}


@pytest.mark.parametrize("empty_url", ENGINES, indirect=True)
def test_existing_codings_get_their_words_a_flag_or_are_merged(empty_url):
    cfg = alembic_config(empty_url)
    before = ScriptDirectory.from_config(cfg).get_revision("0006").down_revision
    command.upgrade(cfg, before)
    engine = make_engine(empty_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for table, rows in ROWS.items():
            if table == "coding":
                rows = [{**CODING_DEFAULTS, **r} for r in rows]
            conn.execute(sa.insert(meta.tables[table]), rows)
    command.upgrade(cfg, "0006")
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.text(
            'SELECT id, start, "end", excerpt, needs_review, identity FROM coding'))}
        memo_coding = conn.execute(sa.text("SELECT coding_id FROM memo")).scalar_one()
    engine.dispose()
    assert sorted(rows) == [1, 2, 3, 5, 6]
    assert (rows[1].excerpt, rows[1].needs_review) == ("meet", False)
    assert (rows[2].start, rows[2].end, rows[2].needs_review, rows[2].identity) == (None, None, True, None)
    assert memo_coding == 3
    assert rows[5].identity != rows[6].identity
    assert all(rows[i].identity for i in (1, 3, 5, 6))
    command.downgrade(cfg, before)
