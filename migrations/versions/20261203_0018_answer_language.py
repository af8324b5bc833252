"""The language a response and each of its answers were given in.

* response.language: the language the respondent last answered in (en, cy).
* answer.language: the language the answer was last saved in, so a coder reads it as written.
Rows from before were all given in English.

Revision ID: 0018
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('response', 'answer'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=False,
                                          server_default='en'))


def downgrade() -> None:
    for table in ('answer', 'response'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('language')
