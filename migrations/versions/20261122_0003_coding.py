"""Coding schema changes: none. The coding workbench uses the foundation's tables as they are
(code, codebook_version, coding, memo, double_coding); this revision keeps the chain.

Revision ID: 0003
Revises: 0002
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
