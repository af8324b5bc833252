"""Session versions on accounts; the audit log refuses TRUNCATE on PostgreSQL.

``user.session_version`` is part of every session's identity: raising it ends every
session signed in before. Existing accounts start at 0, so sessions signed in before
this migration end once (their cookies carried a different identity) and users sign
in again.

PostgreSQL's TRUNCATE fires no row triggers, so the UPDATE/DELETE triggers of 0001
did not stop it; a statement trigger does. It also fires when audit_event is emptied
by a TRUNCATE ... CASCADE of the user table it refers to. SQLite has no TRUNCATE:
its nearest, DELETE without WHERE, is refused by the DELETE trigger of 0001 (SQLite
skips its truncate shortcut on tables with triggers).

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user') as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0',
                                      nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        # The function of 0001 raises 'the audit log is append-only' for any trigger.
        op.execute("""CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
                      FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
    with op.batch_alter_table('user') as batch_op:
        batch_op.drop_column('session_version')
