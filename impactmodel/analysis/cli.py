from __future__ import annotations

import click
from flask.cli import with_appcontext

from impactmodel.analysis import matrix
from impactmodel.consortium.cli import round_named
from impactmodel.db import db


@click.command("matrix")
@click.option("--round", "round_name", required=True)
@click.option("--rows", type=click.Choice(matrix.ROWS), default="authority", show_default=True,
              help="What the rows are: authorities, cases or key groups.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The .xlsx file to write.")
@with_appcontext
def export_matrix(round_name, rows, out):
    """Write the round's framework matrix (rows by codes: excerpts, and counts) as XLSX, with names."""
    rnd = round_named(db.session, round_name)
    try:
        done = matrix.write_matrix(db.session, rnd.name, rows, out)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"{out}: {done['rows']} rows, {done['codes']} codes, {done['excerpts']} excerpts"
               + (f"; {done['cut']} cells end with '+N more'" if done["cut"] else "") + ".")
