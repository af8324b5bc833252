"""Widen the coding index on (round, agreed) to cover what scoring reads.

Scoring reads (respondent, code, valence) of a round's agreed codings, and every score
page checks a signature of them; with these columns in the index both are answered
from the index alone.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('coding') as batch_op:
        batch_op.drop_index('ix_coding_round_agreed')
        batch_op.create_index('ix_coding_round_agreed',
                              ['round_id', 'agreed', 'respondent_id', 'code_id', 'valence'])


def downgrade() -> None:
    with op.batch_alter_table('coding') as batch_op:
        batch_op.drop_index('ix_coding_round_agreed')
        batch_op.create_index('ix_coding_round_agreed', ['round_id', 'agreed'])
