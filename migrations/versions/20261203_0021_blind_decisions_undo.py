"""An explicit "no code applies" in blind second coding, and removed codings kept for undo.

* double_coding.no_code_applies: the blind coder finished with no code, having confirmed
  it. Blind codings already finished with no code were finished that way on purpose (the
  button said so), so they are marked as such.
* removed_coding: a removed coding as it was, with its memos, until its coder undoes it.

Revision ID: 0021
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0019'
branch_labels = None
depends_on = None

double_coding = sa.table('double_coding', sa.column('answer_id', sa.Integer), sa.column('second_coder_id', sa.Integer),
                         sa.column('second_done_at', sa.DateTime), sa.column('no_code_applies', sa.Boolean))
coding = sa.table('coding', sa.column('answer_id', sa.Integer), sa.column('coder_id', sa.Integer))


def upgrade() -> None:
    with op.batch_alter_table('double_coding') as batch_op:
        batch_op.add_column(sa.Column('no_code_applies', sa.Boolean(), server_default=sa.false(), nullable=False))
    has_codings = (sa.select(coding.c.answer_id)
                   .where(coding.c.answer_id == double_coding.c.answer_id,
                          coding.c.coder_id == double_coding.c.second_coder_id)
                   .correlate(double_coding).exists())
    op.execute(double_coding.update().where(double_coding.c.second_done_at.is_not(None), ~has_codings)
               .values(no_code_applies=True))
    op.create_table(
        'removed_coding',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('coding_id', sa.Integer(), nullable=False),
        sa.Column('answer_id', sa.Integer(), nullable=False),
        sa.Column('removed_by_id', sa.Integer(), nullable=True),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('row', sa.JSON(), nullable=False),
        sa.Column('memos', sa.JSON(), nullable=False),
        sa.Column('restored_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['answer_id'], ['answer.id'], name=op.f('fk_removed_coding_answer_id_answer'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['removed_by_id'], ['user.id'], name=op.f('fk_removed_coding_removed_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_removed_coding')),
    )
    op.create_index(op.f('ix_removed_coding_coding_id'), 'removed_coding', ['coding_id'])
    op.create_index(op.f('ix_removed_coding_answer_id'), 'removed_coding', ['answer_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_removed_coding_answer_id'), table_name='removed_coding')
    op.drop_index(op.f('ix_removed_coding_coding_id'), table_name='removed_coding')
    op.drop_table('removed_coding')
    with op.batch_alter_table('double_coding') as batch_op:
        batch_op.drop_column('no_code_applies')
