"""Survey links by round and authority.

* ix_invitation_round_authority: the response rates page counts one page of
  authorities' links, and lists the authorities with links, from this index rather
  than from every link of the round.

Revision ID: 0030
Revises: 0032
"""
from alembic import op

revision = '0030'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_invitation_round_authority', 'invitation', ['round_id', 'authority_id'])


def downgrade() -> None:
    op.drop_index('ix_invitation_round_authority', table_name='invitation')
