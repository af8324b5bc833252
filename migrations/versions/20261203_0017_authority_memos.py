"""Memos on an authority, or on one of its cases, in a round; respondents found by case,
and one code's codings of a round found in id order.

Revision ID: 0017
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'authority_memo',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('authority_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_authority_memo_round_id_round'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['authority_id'], ['authority.id'],
                                name=op.f('fk_authority_memo_authority_id_authority'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_authority_memo_case_id_case'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_authority_memo_author_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_authority_memo')),
    )
    op.create_index('ix_authority_memo_round_authority', 'authority_memo', ['round_id', 'authority_id'])
    op.create_index(op.f('ix_authority_memo_case_id'), 'authority_memo', ['case_id'])
    # The case pages and the matrix by case read a case's respondents.
    op.create_index(op.f('ix_respondent_case_id'), 'respondent', ['case_id'])
    op.create_index('ix_coding_code_round_agreed', 'coding', ['code_id', 'round_id', 'agreed', 'id'])


def downgrade() -> None:
    op.drop_index('ix_coding_code_round_agreed', table_name='coding')
    op.drop_index(op.f('ix_respondent_case_id'), table_name='respondent')
    op.drop_index(op.f('ix_authority_memo_case_id'), table_name='authority_memo')
    op.drop_index('ix_authority_memo_round_authority', table_name='authority_memo')
    op.drop_table('authority_memo')
