"""Authorities: a unique name key (case and spacing ignored) and a random public id.

``name_key`` is the authority's name casefolded with its whitespace collapsed, unique,
so "northshire county council" can no longer be added beside "Northshire County
Council". A database may already hold such near-duplicates: the oldest keeps the plain
key and each later one gets the key followed by a tab and its id (a key no name can
produce), so the upgrade never fails and no data is touched. They are logged here and
listed on the administrators' Authorities page, to be merged or renamed.

``public_id`` is 16 random url-safe characters, what URLs and file names now carry
instead of the sequential id.

Revision ID: 0008
Revises: 0007
"""
import logging
import secrets
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

authority = sa.table("authority", sa.column("id", sa.Integer), sa.column("name", sa.String),
                     sa.column("name_key", sa.String), sa.column("public_id", sa.String))


def _key(name: str) -> str:
    # As impactmodel.consortium.models.authority_key at this revision.
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _public_id() -> str:
    while True:
        public_id = secrets.token_urlsafe(12)
        if not public_id.isdigit():
            return public_id


def upgrade() -> None:
    with op.batch_alter_table('authority') as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column('public_id', sa.String(length=24), nullable=True))
    conn = op.get_bind()
    first: dict[str, tuple[int, str]] = {}
    for id_, name in conn.execute(sa.select(authority.c.id, authority.c.name).order_by(authority.c.id)):
        key = _key(name)
        if key in first:
            log.warning("authority %d %r has the same name as authority %d %r but for case or "
                        "spacing: kept apart; merge or rename it", id_, name, *first[key])
            key = f"{key}\t{id_}"
        else:
            first[key] = (id_, name)
        conn.execute(sa.update(authority).where(authority.c.id == id_)
                     .values(name_key=key, public_id=_public_id()))
    with op.batch_alter_table('authority') as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=400), nullable=False)
        batch_op.alter_column('public_id', existing_type=sa.String(length=24), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_authority_name_key'), ['name_key'])
        batch_op.create_unique_constraint(batch_op.f('uq_authority_public_id'), ['public_id'])


def downgrade() -> None:
    with op.batch_alter_table('authority') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_authority_public_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_authority_name_key'), type_='unique')
        batch_op.drop_column('public_id')
        batch_op.drop_column('name_key')
