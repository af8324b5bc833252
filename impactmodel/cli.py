"""The ``impactmodel`` command: a Flask CLI group with the project's commands."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import OperationalError, ProgrammingError

from impactmodel.app import create_app


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
