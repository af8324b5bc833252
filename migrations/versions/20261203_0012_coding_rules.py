"""Codes carry coding rules: a definition, when to use the code, when not to, an example.

The rules live in surveys/codebook.yaml; the ``code`` table mirrors them (filled when the
codebook is next synchronised), so tools reading the database see what coders read.

Revision ID: 0012
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0013'
branch_labels = None
depends_on = None

RULES = ("definition", "include", "exclude", "example")


def upgrade():
    with op.batch_alter_table("code") as batch:
        for name in RULES:
            batch.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("example_constructed", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("code") as batch:
        for name in ("example_constructed", *reversed(RULES)):
            batch.drop_column(name)
