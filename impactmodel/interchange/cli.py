from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from impactmodel.db import db
from impactmodel.interchange import csvio


@click.group("import", help="Import CSV data (all-or-nothing).")
def import_group():
    pass


@click.group("export", help="Export a round's data.")
def export_group():
    pass


def _run_import(func, file, round_name):
    try:
        with open(file, encoding="utf-8", newline="") as fh:
            result = func(db.session, fh, round_name)
    except csvio.ImportRejected as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None
    click.echo(f"Imported {result.rows} rows into round {result.round.name!r} "
               f"({result.authorities_created} new authorities, "
               f"{result.respondents_created} new respondents).")


@import_group.command("coded")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--round", "round_name", required=True, help="Round name (created if new).")
@with_appcontext
def import_coded(file, round_name):
    """Import codings: one row per code applied."""
    _run_import(csvio.import_coded, file, round_name)


@import_group.command("levels")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--round", "round_name", required=True, help="Round name (created if new).")
@with_appcontext
def import_levels(file, round_name):
    """Import staff members' self-reported levels of impact."""
    _run_import(csvio.import_levels, file, round_name)


@export_group.command("coded")
@click.option("--round", "round_name", required=True)
@with_appcontext
def export_coded(round_name):
    """Write the round's agreed codings as CSV to standard output."""
    try:
        csvio.export_coded(db.session, round_name, sys.stdout)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
