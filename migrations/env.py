"""Alembic environment. The URL comes from the app's configuration (see impactmodel.schema)."""
from __future__ import annotations

from alembic import context

import impactmodel.models  # noqa: F401  (fills the metadata)
from impactmodel.db import Base, make_engine

config = context.config


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url"), foreign_keys=False)
    with engine.connect() as connection:
        run(connection)
    engine.dispose()
