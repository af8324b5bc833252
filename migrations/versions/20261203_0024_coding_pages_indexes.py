"""Indexes for the coding pages at national scale: the open answers by response (the
queue's count and question choices read the index alone), and an answer's codings with
what comparing coders reads (disagreements, the reliability page's check for changes).

Revision ID: 0024
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0027'
branch_labels = None
depends_on = None

OPEN_TEXT = "text IS NOT NULL AND length(trim(text)) > 0"


def upgrade() -> None:
    op.create_index('ix_answer_open', 'answer', ['response_id', 'question_key', 'id'],
                    postgresql_where=sa.text(OPEN_TEXT), sqlite_where=sa.text(OPEN_TEXT))
    op.create_index('ix_coding_answer_marks', 'coding', ['answer_id'],
                    postgresql_include=['id', 'coder_id', 'coder', 'code_id', 'valence'])


def downgrade() -> None:
    op.drop_index('ix_coding_answer_marks', table_name='coding')
    op.drop_index('ix_answer_open', table_name='answer')
