"""Excerpts by code filtered by valence, role or key group: one code's codings of one
valence in id order, and a round's respondents of one role and key group.

Revision ID: 0027
Revises: 0018
"""
from alembic import op

revision = '0027'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_coding_code_round_agreed_valence', 'coding',
                    ['code_id', 'round_id', 'agreed', 'valence', 'id'])
    op.create_index('ix_respondent_round_role', 'respondent', ['round_id', 'role', 'key_group_id'])


def downgrade() -> None:
    op.drop_index('ix_respondent_round_role', table_name='respondent')
    op.drop_index('ix_coding_code_round_agreed_valence', table_name='coding')
