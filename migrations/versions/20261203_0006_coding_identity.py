"""Codings keep their excerpt, can be flagged for review, and cannot be stored twice.

Adds ``coding.needs_review`` and ``coding.identity`` (unique: the key identical codings
share, see ``impactmodel.coding.models.coding_identity``; the function is copied here as
it stood at this revision). Existing rows are brought in line first:

- a span coding without an excerpt gets the text its span covers now;
- a span outside its answer's text (the answer was shortened) cannot be recovered: the
  coding loses the span and is flagged for review;
- identical rows of one import (no answer) are numbered, so they stay distinct;
- identical codings of an answer (the same code applied twice by the same coder) keep
  the oldest row; memos on a copy move to it.

Revision ID: 0006
Revises: 0005
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

coding = sa.table('coding', sa.column('id', sa.Integer), sa.column('answer_id', sa.Integer),
                  sa.column('respondent_id', sa.Integer), sa.column('code_id', sa.String),
                  sa.column('valence', sa.String), sa.column('start', sa.Integer),
                  sa.column('end', sa.Integer), sa.column('excerpt', sa.Text),
                  sa.column('coder', sa.String), sa.column('coder_id', sa.Integer),
                  sa.column('needs_review', sa.Boolean), sa.column('identity', sa.String))
answer = sa.table('answer', sa.column('id', sa.Integer), sa.column('text', sa.Text))
memo = sa.table('memo', sa.column('id', sa.Integer), sa.column('coding_id', sa.Integer))


def _identity(row: dict, occurrence: int) -> str:
    who = f"user:{row['coder_id']}" if row['coder_id'] is not None else f"name:{row['coder'] or ''}"
    if row['answer_id'] is not None:
        where = (["answer", row['answer_id'], row['start'], row['end']] if row['start'] is not None
                 else ["answer", row['answer_id'], "excerpt", row['excerpt'] or ""])
    else:
        where = ["respondent", row['respondent_id'], "excerpt", row['excerpt'] or "", occurrence]
    parts = where + [row['code_id'], row['valence'], who]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table('coding') as batch_op:
        batch_op.add_column(sa.Column('needs_review', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('identity', sa.String(length=64), nullable=True))

    conn = op.get_bind()
    texts = dict(conn.execute(sa.select(answer.c.id, answer.c.text).where(
        answer.c.id.in_(sa.select(coding.c.answer_id).where(coding.c.start.is_not(None)))
    )).all())
    rows = [dict(r._mapping) for r in conn.execute(sa.select(coding).order_by(coding.c.id))]
    seen: dict[str, int] = {}
    for row in rows:
        values = {}
        if row['answer_id'] is not None and row['start'] is not None:
            text = texts.get(row['answer_id']) or ""
            if row['end'] > len(text):
                values = {"start": None, "end": None, "needs_review": True}
            elif row['excerpt'] is None:
                values = {"excerpt": text[row['start']:row['end']]}
        row.update(values)
        if row['needs_review']:
            conn.execute(sa.update(coding).where(coding.c.id == row['id']).values(**values))
            continue
        occurrence = 0
        key = _identity(row, occurrence)
        if row['answer_id'] is None:
            while key in seen:
                occurrence += 1
                key = _identity(row, occurrence)
        elif key in seen:
            conn.execute(sa.update(memo).where(memo.c.coding_id == row['id']).values(coding_id=seen[key]))
            conn.execute(sa.delete(coding).where(coding.c.id == row['id']))
            continue
        seen[key] = row['id']
        conn.execute(sa.update(coding).where(coding.c.id == row['id']).values(identity=key, **values))

    with op.batch_alter_table('coding') as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_coding_identity'), ['identity'])


def downgrade() -> None:
    with op.batch_alter_table('coding') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_coding_identity'), type_='unique')
        batch_op.drop_column('identity')
        batch_op.drop_column('needs_review')
