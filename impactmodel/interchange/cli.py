from __future__ import annotations

import io
import sys

import click
from flask.cli import with_appcontext

from impactmodel.consortium.cli import round_named
from impactmodel.db import db
from impactmodel.fieldwork.responses import loaded_instruments
from impactmodel.interchange import authority_context, csvio, responses, submissions, xlsform


@click.group("import", help="Import CSV data (all-or-nothing).")
def import_group():
    pass


@click.group("export", help="Export a round's data.")
def export_group():
    pass


def _import_command(name: str, func, summary: str, describe=csvio.describe) -> None:
    """Register ``impactmodel import NAME FILE --round R [--check]`` running ``func``."""

    @import_group.command(name, help=summary)
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--round", "round_name", required=True, help="Round name (created if new).")
    @click.option("--check", is_flag=True,
                  help="Check every row and say what would be created; import nothing.")
    @with_appcontext
    def command(file, round_name, check):
        try:
            with open(file, "rb") as fh:
                text = csvio.decode(fh.read())
            result = func(db.session, io.StringIO(text, newline=""), round_name, dry_run=check)
        except csvio.ImportRejected as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None
        click.echo(describe(result, checked_only=check))


_import_command("coded", csvio.import_coded, "Import codings: one row per code applied.")
_import_command("levels", csvio.import_levels, "Import staff members' self-reported levels of impact.")
_import_command("submissions", submissions.import_submissions,
                "Import KoboToolbox or ODK CSV exports of the app's XLSForms (one row per submission).",
                submissions.describe)
_import_command("context", authority_context.import_contexts,
                "Import authorities' context in a round: authority, authority_type, children (aged 0-19), "
                "integrated_since (a year). The round and authorities must exist.", authority_context.describe)


@export_group.command("coded")
@click.option("--round", "round_name", required=True)
@with_appcontext
def export_coded(round_name):
    """Write the round's agreed codings as CSV to standard output."""
    round_named(db.session, round_name)
    try:
        csvio.export_coded(db.session, round_name, sys.stdout)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None


@export_group.command("context")
@click.option("--round", "round_name", required=True)
@with_appcontext
def export_context(round_name):
    """Write each authority's context in the round as CSV, by name (the import's columns)."""
    authority_context.export_contexts(db.session, round_named(db.session, round_name), sys.stdout)


@export_group.command("xlsform")
@click.option("--instrument", "key", required=True, help="Instrument key, such as parent_survey.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="The XLSForm file to write (.xlsx).")
@with_appcontext
def export_xlsform(key, out):
    """Write an instrument as an XLSForm for KoboToolbox or ODK Collect."""
    instruments = loaded_instruments()
    if key not in instruments:
        raise click.ClickException(f"there is no instrument {key!r}; the instruments are "
                                   f"{', '.join(sorted(instruments))}")
    try:
        data = xlsform.write_xlsform(instruments[key])
    except xlsform.XLSFormError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with open(out, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"Wrote {key} as an XLSForm to {out}.")


@export_group.command("responses")
@click.option("--round", "round_name", required=True)
@click.option("--instrument", "instrument_key", required=True, help="The instrument's key, such as parent_survey.")
@click.option("--labels", is_flag=True, help="Write option labels instead of option ids.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False),
              help="Write to this file: XLSX (with a Dictionary sheet) if it ends in .xlsx, else CSV. "
                   "Without it, CSV goes to standard output.")
@click.option("--dictionary", "dictionary_path", type=click.Path(dir_okay=False),
              help="Also write the data dictionary (variable, label, type, choices) as CSV to this file.")
@with_appcontext
def export_responses(round_name, instrument_key, labels, out_path, dictionary_path):
    """Write the round's responses to one instrument: one row per response, one column per
    question (one 0/1 column per option of a multiple choice). Only interviews and sent
    surveys are written."""
    try:
        export = responses.build(db.session, round_name, instrument_key, labels=labels)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if out_path and out_path.lower().endswith(".xlsx"):
            with open(out_path, "wb") as fh:
                n = responses.write_xlsx(export, fh)
        elif out_path:
            with open(out_path, "w", encoding="utf-8", newline="") as fh:
                n = responses.write_csv(export, fh)
        else:
            out = io.StringIO()
            n = responses.write_csv(export, out)
            click.echo(out.getvalue(), nl=False)
        if dictionary_path:
            with open(dictionary_path, "w", encoding="utf-8", newline="") as fh:
                responses.write_dictionary_csv(export, fh)
    except OSError as exc:
        raise click.ClickException(f"cannot write {exc.filename}: {exc.strerror}") from None
    if out_path:
        click.echo(f"Wrote {n} response{'' if n == 1 else 's'} to {out_path}.",
                   err=True)
