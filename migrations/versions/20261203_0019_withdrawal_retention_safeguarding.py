"""Withdrawal, retention, the research contact and safeguarding flags.

* invitation.withdrawn_at: the respondent withdrew; the link stays closed.
* round.research_contact, round.retain_until, round.data_deleted_at: who respondents
  contact, how long their data is kept, and when it was deleted.
* authority.safeguarding_steps: the authority's own safeguarding procedure.
* safeguarding_flag: answers that may disclose harm, for the authority's researchers.

Revision ID: 0019
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitation') as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('round') as batch_op:
        batch_op.add_column(sa.Column('research_contact', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('retain_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('data_deleted_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('authority') as batch_op:
        batch_op.add_column(sa.Column('safeguarding_steps', sa.Text(), nullable=True))
    op.create_table(
        'safeguarding_flag',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('answer_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('authority_id', sa.Integer(), nullable=False),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('handled_by_id', sa.Integer(), nullable=True),
        sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['answer_id'], ['answer.id'], name=op.f('fk_safeguarding_flag_answer_id_answer'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_safeguarding_flag_round_id_round'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['authority_id'], ['authority.id'],
                                name=op.f('fk_safeguarding_flag_authority_id_authority'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['handled_by_id'], ['user.id'],
                                name=op.f('fk_safeguarding_flag_handled_by_id_user'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_safeguarding_flag')),
        sa.UniqueConstraint('answer_id', name=op.f('uq_safeguarding_flag_answer_id')),
    )
    op.create_index(op.f('ix_safeguarding_flag_authority_id'), 'safeguarding_flag', ['authority_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_safeguarding_flag_authority_id'), table_name='safeguarding_flag')
    op.drop_table('safeguarding_flag')
    with op.batch_alter_table('authority') as batch_op:
        batch_op.drop_column('safeguarding_steps')
    with op.batch_alter_table('round') as batch_op:
        batch_op.drop_column('data_deleted_at')
        batch_op.drop_column('retain_until')
        batch_op.drop_column('research_contact')
    with op.batch_alter_table('invitation') as batch_op:
        batch_op.drop_column('withdrawn_at')
