"""Fieldwork: invitation batches and short codes, child assent, autosave sequence per answer.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_invitation_batch'), ['batch'], unique=False)
        batch_op.add_column(sa.Column('code', sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f('ix_invitation_code'), ['code'], unique=True)
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assented_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_seq', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_column('client_seq')
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_column('assented_at')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_code'))
        batch_op.drop_column('code')
        batch_op.drop_index(batch_op.f('ix_invitation_batch'))
        batch_op.drop_column('batch')
