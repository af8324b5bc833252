"""``impactmodel import indicators`` and ``impactmodel export indicators``."""
from __future__ import annotations

import io
import sys

import click
from flask.cli import with_appcontext

from impactmodel.db import db
from impactmodel.indicators import services
from impactmodel.interchange import csvio


@click.command("indicators")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--round", "round_name", required=True, help="Round name (created if new).")
@click.option("--check", is_flag=True, help="Check every row and say what would be created; import nothing.")
@with_appcontext
def import_indicators(file, round_name, check):
    """Import indicator figures: authority, indicator, period, key_group, and value or
    numerator and denominator. A figure already stored is replaced."""
    try:
        with open(file, "rb") as fh:
            text = csvio.decode(fh.read())
        result = services.import_indicators(db.session, io.StringIO(text, newline=""), round_name,
                                            dry_run=check)
    except csvio.ImportRejected as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None
    click.echo(services.describe(result, checked_only=check))


@click.command("indicators")
@click.option("--round", "round_name", required=True)
@with_appcontext
def export_indicators(round_name):
    """Write the round's indicator figures as CSV (the import's columns plus rate_per_10000)."""
    try:
        services.export_indicators(db.session, round_name, sys.stdout)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
