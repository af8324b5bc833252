"""The ``impactmodel`` command: a Flask CLI group with the project's commands."""
from __future__ import annotations

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.exc import OperationalError, ProgrammingError

from impactmodel import ROOT, create_app


class ImpactmodelGroup(FlaskGroup):
    """The command group; a database without the schema gets a plain instruction."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as exc:
            text = str(exc.orig).lower()
            if "no such table" in text or "does not exist" in text and "relation" in text:
                raise click.ClickException("the database has no tables yet (or an old schema): "
                                           "run `impactmodel db upgrade` first") from None
            raise


@click.group(cls=ImpactmodelGroup, create_app=create_app, add_version_option=False,
             help="impactmodel: integration confidence for children's services.")
@click.version_option(package_name="impactmodel", message="impactmodel %(version)s")
def cli():
    pass


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
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


@click.command("demo-data")
@click.option("--seed", default=2008, show_default=True, help="Random seed for the generator.")
@with_appcontext
def demo_data(seed):
    """Load the demo consortium into the configured database (schema upgraded first)."""
    from impactmodel.demo import load_demo
    command.upgrade(alembic_config(), "head")
    load_demo(seed=seed, echo=click.echo)


def init_app(app: Flask) -> None:
    app.cli.add_command(db)
    app.cli.add_command(demo_data)
