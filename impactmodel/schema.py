"""The database schema's commands: `impactmodel db upgrade|downgrade|current|revision` (Alembic)."""
from __future__ import annotations

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import with_appcontext

from impactmodel.paths import MIGRATIONS_DIR


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.set_main_option("sqlalchemy.url", (url or current_app.config["DATABASE_URL"]).replace("%", "%%"))
    return cfg


@click.group(help="Database schema (Alembic migrations in migrations/).")
def db():
    pass


@db.command()
@click.argument("revision", default="head")
@with_appcontext
def upgrade(revision):
    """Bring the database up to REVISION (default: the newest)."""
    command.upgrade(alembic_config(), revision)
    click.echo(f"Database at {revision}.")


@db.command()
@click.argument("revision", default="-1")
@with_appcontext
def downgrade(revision):
    """Step the database down to REVISION (default: one step)."""
    command.downgrade(alembic_config(), revision)


@db.command()
@with_appcontext
def current():
    """Show the database's revision."""
    command.current(alembic_config(), verbose=False)


@db.command()
@click.option("-m", "--message", required=True)
@with_appcontext
def revision(message):
    """Write a new migration from the difference between the models and the database."""
    command.revision(alembic_config(), message=message, autogenerate=True)


def init_app(app: Flask) -> None:
    app.cli.add_command(db)
