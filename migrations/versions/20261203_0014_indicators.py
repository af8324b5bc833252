"""Quantitative indicators: one figure per round, authority, indicator, period and key group.

Revision ID: 0014
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None

SAME_FIGURE = ['round_id', 'authority_id', 'indicator', 'period']


def upgrade() -> None:
    op.create_table('indicator_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('key_group_id', sa.Integer(), nullable=True),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('numerator', sa.Float(), nullable=True),
    sa.Column('denominator', sa.Float(), nullable=True),
    sa.Column('rate_per_10000', sa.Float(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('denominator IS NULL OR denominator > 0',
                       name=op.f('ck_indicator_value_denominator_positive')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'],
                            name=op.f('fk_indicator_value_authority_id_authority'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['key_group_id'], ['key_group.id'],
                            name=op.f('fk_indicator_value_key_group_id_key_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'],
                            name=op.f('fk_indicator_value_round_id_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_value'))
    )
    with op.batch_alter_table('indicator_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_value_authority_id'), ['authority_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_indicator_value_round_id'), ['round_id'], unique=False)
        batch_op.create_index('uq_indicator_value_key_group', SAME_FIGURE + ['key_group_id'], unique=True,
                              sqlite_where=sa.text('key_group_id IS NOT NULL'),
                              postgresql_where=sa.text('key_group_id IS NOT NULL'))
        batch_op.create_index('uq_indicator_value_whole', SAME_FIGURE, unique=True,
                              sqlite_where=sa.text('key_group_id IS NULL'),
                              postgresql_where=sa.text('key_group_id IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('indicator_value', schema=None) as batch_op:
        batch_op.drop_index('uq_indicator_value_whole')
        batch_op.drop_index('uq_indicator_value_key_group')
        batch_op.drop_index(batch_op.f('ix_indicator_value_round_id'))
        batch_op.drop_index(batch_op.f('ix_indicator_value_authority_id'))
    op.drop_table('indicator_value')
