"""The Box 6 evidence category stored beside each score, so the continuum reads one short
column instead of decoding every authority's profile.

Revision ID: 0022
Revises: 0015
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('confidence_score') as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.String(length=20), nullable=True))
    # Copy it out of the stored profiles (PostgreSQL hands JSON back decoded, SQLite as text).
    conn = op.get_bind()
    score = sa.table('confidence_score', sa.column('id', sa.Integer), sa.column('profile', sa.JSON),
                     sa.column('evidence', sa.String))
    rows = conn.execute(sa.select(score.c.id, score.c.profile)).all()
    for score_id, profile in rows:
        if isinstance(profile, str):
            profile = json.loads(profile)
        evidence = (profile or {}).get('evidence')
        if evidence:
            conn.execute(sa.update(score).where(score.c.id == score_id).values(evidence=evidence))


def downgrade() -> None:
    with op.batch_alter_table('confidence_score') as batch_op:
        batch_op.drop_column('evidence')
