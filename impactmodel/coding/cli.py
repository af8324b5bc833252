"""``impactmodel export qdpx`` and the ``impactmodel codebook`` commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from impactmodel import codebook as codebook_mod
from impactmodel.codebook import CodebookError
from impactmodel.db import db


@click.command("qdpx")
@click.option("--round", "round_name", required=True, help="Round name.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The .qdpx file to write.")
@with_appcontext
def export_qdpx(round_name, out):
    """Write the round's answers and codings as a REFI-QDA project (.qdpx).

    Authorities appear by their anonymised labels.
    """
    from impactmodel.coding.qdpx import export_qdpx as write
    try:
        counts = write(db.session, round_name, out)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote {out}: {counts['sources']} sources, {counts['selections']} coded spans, "
               f"{counts['codings']} codings, {counts['cases']} cases.", err=True)


@click.group("codebook", help="The codebook (surveys/codebook.yaml): check, export, import.")
def codebook_group():
    pass


@codebook_group.command("check")
@with_appcontext
def check():
    """Validate the codebook and record it as a version if it changed."""
    cb = codebook_mod.load()
    try:
        cb.check_rules()
    except CodebookError as exc:
        raise click.ClickException(str(exc)) from None
    version = codebook_mod.sync(db.session, cb)
    db.session.commit()
    click.echo(f"Codebook valid: {len(cb.codes)} codes in {len(cb.groups)} groups (version {version}).")


@codebook_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "qdc"]), default="csv", show_default=True)
@with_appcontext
def export(fmt):
    """Write the codebook to standard output as CSV or as a REFI-QDA codebook (.qdc)."""
    from impactmodel.coding import codebook_io
    cb = codebook_mod.load()
    if fmt == "csv":
        sys.stdout.write(codebook_io.export_csv(cb))
    else:
        sys.stdout.buffer.write(codebook_io.export_qdc(cb))


@codebook_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--apply", "apply_", is_flag=True, help="Apply the changes (default: only show them).")
@with_appcontext
def import_(file, apply_):
    """Show what a codebook file (.csv or .qdc) would change; apply it with --apply."""
    from impactmodel.coding import codebook_io
    current = codebook_mod.load()
    try:
        new = codebook_io.read_import(file, Path(file).read_bytes(), current)
    except CodebookError as exc:
        raise click.ClickException(f"Nothing was changed: {exc}") from None
    d = codebook_io.diff(db.session, current, new)
    for title, changes in (("New", d.new), ("Relabelled", d.relabelled), ("Rules changed", d.redescribed),
                           ("Valences", d.revalenced), ("Steering group", d.steering),
                           ("Retired", d.retired), ("Groups", d.groups)):
        for c in changes:
            click.echo(f"{title:15} {c.id:32} {c.label}" + (f"  ({c.detail})" if c.detail else ""))
    if d.empty:
        click.echo("No changes.")
    if d.problems:
        raise click.ClickException("Cannot apply:\n  " + "\n  ".join(d.problems))
    if apply_ and not d.empty:
        try:
            version = codebook_io.apply_import(db.session, "cli", new, current.checksum)
        except CodebookError as exc:
            raise click.ClickException(f"Nothing was changed: {exc}") from None
        click.echo(f"Codebook version {version} is now in use.")
    elif not d.empty:
        click.echo("Nothing changed yet: run again with --apply.")
