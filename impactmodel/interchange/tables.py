"""Every round-report table by a stable name, and ``impactmodel export table``.

The command line shows what a consortium analyst sees: authorities anonymised, counts
under the threshold suppressed. Every table exists for every round; a round not yet
scored gives the scoring tables empty, with a note saying so.
"""
from __future__ import annotations


import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from impactmodel.auth.models import Role, User
from impactmodel.consortium.models import Round
from impactmodel.db import db
from impactmodel.indicators import present as indicators
from impactmodel.scoring import exports, present, services

# name -> title, in the order the round report shows them.
TABLES = {
    "continuum": "Integration confidence by authority",
    "impacts": "Impacts at each level, by group",
    "embedding": "Level 4: embedding achieved and hoped for, by group",
    "progress": "Too early to say, and a shared understanding of integration",
    "table1": "Table 1. Parents' and children's views on support received",
    "table2": "Table 2. Key contributing features: DCS, manager and practitioner views",
    "gaps": "Where managers and practitioners differ",
    "change": "Change since the authority's previous round",
    "indicators": "Quantitative indicators by authority",
    "indicator_distribution": "Quantitative indicators across authorities",
}
NOT_SCORED = "The round has not been scored yet: compute its scores to fill this table."


def analyst(threshold: int) -> present.Viewer:
    """A consortium analyst's view, for outputs made without a signed-in user."""
    return present.Viewer(User(role=Role.ANALYST, name="Consortium analyst", email=""), threshold)


def round_table(session: Session, rnd: Round, name: str, viewer: present.Viewer) -> present.Table:
    """The round's table ``name`` (one of TABLES) as ``viewer`` sees it."""
    if name in ("indicators", "indicator_distribution"):
        shown = indicators.figures(session, rnd, viewer)
        make = indicators.figures_table if name == "indicators" else indicators.distribution_table
        return make(shown, indicators.key_group_labels(rnd), viewer)
    stored = services.stored_results(session, rnd)
    if name == "change":
        table = present.change_table(present.change_rows(stored, services.earlier_scores(session, rnd), viewer))
    else:
        table = present.report_tables(stored, viewer)[name]
    if stored.empty:
        table.note = f"{NOT_SCORED} {table.note}".strip()
    return table


@click.command("table")
@click.argument("name", required=False)
@click.option("--round", "round_name", help="Round name.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--list", "list_", is_flag=True, help="List the table names, one a line, with their titles.")
@with_appcontext
def export_table(name, round_name, fmt, list_):
    """Write the round-report table NAME to standard output, as a consortium analyst sees it."""
    if list_:
        for table, title in TABLES.items():
            click.echo(f"{table}  {title}")
        return
    if name not in TABLES:
        raise click.ClickException(f"{'no table called ' + repr(name) if name else 'name a table'}: "
                                   f"use one of {', '.join(TABLES)} (export table --list)")
    if not round_name:
        raise click.ClickException("name the round with --round")
    try:
        rnd = services.find_round(db.session, round_name)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    table = round_table(db.session, rnd, name, analyst(current_app.config["SMALL_NUMBER_THRESHOLD"]))
    # Bytes (the workbook) go to the binary stream as they are.
    click.echo(exports.to_csv(table) if fmt == "csv" else exports.to_xlsx(table), nl=False)
