"""``impactmodel export qdpx``, the ``impactmodel codebook`` and ``impactmodel suggest`` commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from impactmodel import codebook as codebook_mod
from impactmodel.codebook import CodebookError, exchange
from impactmodel.codebook.models import CodebookVersion
from impactmodel.coding import qdpx_import, suggest
from impactmodel.coding.qdpx import export_qdpx as write_qdpx
from impactmodel.consortium.cli import round_named
from impactmodel.consortium.models import Round
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
    round_named(db.session, round_name)
    try:
        counts = write_qdpx(db.session, round_name, out)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote {out}: {counts['sources']} sources, {counts['selections']} coded spans, "
               f"{counts['codings']} codings, {counts['cases']} cases.", err=True)


@click.command("qdpx")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--round", "round_name", required=True, help="Round name.")
@click.option("--coder", required=True, help="Whose codings these are: an account's e-mail or name.")
@click.option("--check", is_flag=True, help="Show what would be imported; store nothing.")
@click.option("--leave-out-unplaced", is_flag=True,
              help="Import the rest when some codings cannot be placed (they are listed).")
@with_appcontext
def import_qdpx(file, round_name, coder, check, leave_out_unplaced):
    """Bring codings made in another QDA tool on an exported .qdpx back, as CODER's."""
    try:
        report = qdpx_import.import_qdpx(db.session, "cli", Path(file).read_bytes(), round_name, coder,
                                         check=check, leave_out_unplaced=leave_out_unplaced)
    except qdpx_import.QdpxRejected as exc:
        db.session.rollback()
        if exc.report is not None:
            click.echo(qdpx_import.describe(exc.report))
        raise click.ClickException("Nothing was imported:\n  " + "\n  ".join(exc.problems)) from None
    click.echo(qdpx_import.describe(report))
    click.echo("Stored." if report.stored else "Nothing stored (checked only)." if check
               else "Nothing new to store.")


@click.group("codebook", help="The codebook (surveys/codebook.yaml): check, sync, export, import.")
def codebook_group():
    pass


@codebook_group.command("check")
@with_appcontext
def check():
    """Validate the codebook (every code's coding rules too) and say whether the database has
    recorded it; change nothing."""
    cb = codebook_mod.load()
    try:
        cb.check_rules()
    except CodebookError as exc:
        raise click.ClickException(str(exc)) from None
    version = db.session.scalar(sa.select(CodebookVersion.version)
                                .where(CodebookVersion.checksum == cb.checksum))
    state = (f"recorded as version {version}" if version is not None else
             "not yet recorded in the database: `impactmodel codebook sync` records it")
    click.echo(f"Codebook valid: {len(cb.codes)} codes in {len(cb.groups)} groups ({state}).")


@codebook_group.command("sync")
@with_appcontext
def sync():
    """Validate the codebook and record it in the database as a new version if it changed."""
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
    cb = codebook_mod.load()
    if fmt == "csv":
        sys.stdout.write(exchange.export_csv(cb))
    else:
        sys.stdout.buffer.write(exchange.export_qdc(cb))


@codebook_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--check", "check_only", is_flag=True,
              help="Only check the file and show what it would do (the default without --apply); "
                   "exits with an error if it cannot be applied.")
@click.option("--apply", "apply_", is_flag=True, help="Apply the changes (default: only show them).")
@with_appcontext
def import_(file, check_only, apply_):
    """Show what a codebook file would change; apply it with --apply.

    FILE is the app's CSV, a REFI-QDA .qdc (with groups, or flat), or a flat codebook: a
    spreadsheet of codes (.csv or .xlsx, Taguette's codebook export among them). Flat
    entries are mapped to groups by their dotted ids and to valences by a suffix
    (docs/INTERCHANGE.md).
    """
    if check_only and apply_:
        raise click.UsageError("--check only checks: leave it out to --apply.")
    current = codebook_mod.load()
    try:
        reading = exchange.read_file(file, Path(file).read_bytes(), current)
    except exchange.CodebookProblems as exc:
        raise click.ClickException(f"Nothing was changed: {len(exc.problems)} problem(s) in {file}:\n  "
                                   + "\n  ".join(exc.problems)) from None
    except CodebookError as exc:
        raise click.ClickException(f"Nothing was changed: {exc}") from None
    click.echo(f"Read {file} as a {reading.kind}: {len(reading.codebook.codes)} codes in "
               f"{len(reading.codebook.groups)} groups.")
    if reading.rows:
        click.echo("How each entry was read:")
        for where, name, cid, kind, group, valence in reading.rows:
            click.echo(f"  {where:10} {name.strip()[:40]:40} -> {kind} {cid}"
                       + (f" in {group}" if group else "") + (f", {valence}" if valence else ""))
    d = exchange.diff(db.session, current, reading.codebook)
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
            version = exchange.apply_import(db.session, "cli", reading.codebook, current.checksum)
        except CodebookError as exc:
            raise click.ClickException(f"Nothing was changed: {exc}") from None
        click.echo(f"Codebook version {version} is now in use.")
    elif not d.empty:
        click.echo("Nothing changed yet: run again with --apply.")


@click.group("suggest", help="Suggested codes: a model of each round's agreed coding.")
def suggest_group():
    pass


@suggest_group.command("train")
@click.option("--round", "round_name", required=True, help="Round name.")
@with_appcontext
def suggest_train(round_name):
    """Train the round's suggested codes on its agreed coding, and measure them."""
    rnd = db.session.scalar(sa.select(Round).where(Round.name == round_name))
    if rnd is None:
        names = db.session.scalars(sa.select(Round.name).order_by(Round.name)).all()
        raise click.ClickException(f"no round called {round_name!r}; rounds: {', '.join(names) or 'none'}")
    try:
        row = suggest.train(db.session, "cli", rnd)
    except suggest.SuggestError as exc:
        raise click.ClickException(f"Nothing was trained: {exc}") from None
    m = row.metrics
    click.echo(f"Trained on {row.n_answers} coded answers of {row.n_respondents} respondents in "
               f"{row.training_seconds:.1f} s: {len(row.labels)} (code, valence) can be suggested; "
               f"{len(row.too_few)} codes have too few answers for some or all valences.")
    if m.get("held_out"):
        o = m["overall"]
        click.echo(f"Held out by respondent ({m['folds']} folds): precision {_share(o['model']['precision'])}, "
                   f"recall {_share(o['model']['recall'])}, kappa {_num(o['model']['kappa'])}; baseline "
                   f"precision {_share(o['baseline']['precision'])}, recall {_share(o['baseline']['recall'])}, "
                   f"kappa {_num(o['baseline']['kappa'])}.")
    else:
        click.echo(f"Not measured: {m.get('reason')}.")


def _share(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"
