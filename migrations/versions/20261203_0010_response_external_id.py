"""Responses collected offline keep the submission's instance id.

``response.external_id`` holds the instance id a KoboToolbox or ODK submission carries
(``uuid:...``); unique, so importing the same submissions again stores nothing twice.
Responses made in the app have none.

Revision ID: 0010
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('response') as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_response_external_id'), ['external_id'])


def downgrade() -> None:
    with op.batch_alter_table('response') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_response_external_id'), type_='unique')
        batch_op.drop_column('external_id')
