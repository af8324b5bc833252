"""`impactmodel demo-data`: the demo consortium, loaded into the configured database."""
from __future__ import annotations

import click
from alembic import command
from flask.cli import with_appcontext

from impactmodel.demo import load_demo
from impactmodel.schema import alembic_config


@click.command("demo-data")
@click.option("--seed", default=2008, show_default=True, help="Random seed for the generator.")
@with_appcontext
def demo_data(seed):
    """Load the demo consortium into the configured database (schema upgraded first)."""
    command.upgrade(alembic_config(), "head")
    load_demo(seed=seed, echo=click.echo)
