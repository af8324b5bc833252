"""A round's codings in the order the .qdpx export reads them (by authority, answer and
id) from an index, rather than sorting hundreds of thousands of rows with their excerpts.

Revision ID: 0028
Revises: 0030
"""
from alembic import op

revision = '0028'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_coding_round_authority_answer', 'coding', ['round_id', 'authority_id', 'answer_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_coding_round_authority_answer', table_name='coding')
