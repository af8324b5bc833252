"""Authority context per round: type of authority, children aged 0-19, year integration began.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('participation') as batch_op:
        batch_op.add_column(sa.Column('authority_type', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('children', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('integrated_since', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('participation') as batch_op:
        batch_op.drop_column('integrated_since')
        batch_op.drop_column('children')
        batch_op.drop_column('authority_type')
