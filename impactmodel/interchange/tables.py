"""Every round-report table by a stable name, and ``impactmodel export table``.

The command line shows what a consortium analyst sees: authorities anonymised, counts
under the threshold suppressed. Every table exists for every round; a round not yet
scored gives the scoring tables empty, with a note saying so. The report page and its
downloads build their tables here too, so a table is the same wherever it is read.
"""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from impactmodel.auth.models import Role, User
from impactmodel.consortium.models import KeyGroup, Round
from impactmodel.db import db
from impactmodel.indicators import present as indicators
from impactmodel.scoring import exports, findings, present, services

# name -> title, in the order the round report shows them.
TABLES = {
    "continuum": "Integration confidence by authority",
    "impacts": "Impacts at each level, by group",
    "embedding": "Level 4: embedding achieved and hoped for, by group",
    "progress": "Too early to say, and a shared understanding of integration",
    "table1": "Table 1. Parents' and children's views on support received",
    "table2": "Table 2. Key contributing features: DCS, manager and practitioner views",
    "gaps": "Where managers and practitioners differ",
    "to_develop": "Features still to develop, by group",
    "suggestions": "Parents' and carers' suggestions for improvement",
    "closed_answers": "Answers on a scale that carry no code",
    "thirds": "Impacts and features in the upper and the lower third of the continuum",
    "context": "Authority context beside the index",
    "change": "Change since the authority's previous round",
    "response_rates": "Survey links sent, begun and sent back",
    "indicators": "Quantitative indicators by authority",
    "indicator_distribution": "Quantitative indicators across authorities",
}
NOT_SCORED = "The round has not been scored yet: compute its scores to fill this table."
# Read from the round as it is rather than from stored scores: filled before scoring.
FROM_THE_ROUND = ("closed_answers", "response_rates", "indicators", "indicator_distribution")
# Tables with a row per authority, read from the stored scores (the others from the round's summary).
BY_AUTHORITY = ("continuum", "context", "change")
# Tables that can count one key group's respondents only.
BY_KEY_GROUP = present.KEY_GROUP_TABLES + ("closed_answers", "response_rates")


def analyst(threshold: int) -> present.Viewer:
    """A consortium analyst's view, for outputs made without a signed-in user."""
    return present.Viewer(User(role=Role.ANALYST, name="Consortium analyst", email=""), threshold)


def round_table(session: Session, rnd: Round, name: str, viewer: present.Viewer,
                key_group: str | None = None) -> present.Table:
    """The round's table ``name`` (one of TABLES) as ``viewer`` sees it; with ``key_group``
    (a key group's code), the tables of BY_KEY_GROUP count its respondents only."""
    return round_tables(session, rnd, viewer, key_group, names=(name,))[name]


def round_tables(session: Session, rnd: Round, viewer: present.Viewer, key_group: str | None = None,
                 names=tuple(TABLES), stored=None, continuum_rows=None) -> dict[str, present.Table]:
    """The round's tables ``names`` as ``viewer`` sees them, reading the stored results once
    (``stored``, and the continuum's rows, when the caller has read them already)."""
    out = {}
    if "indicators" in names or "indicator_distribution" in names:
        labels = indicators.key_group_labels(rnd)
        if "indicators" in names:
            out["indicators"] = indicators.figures_table(indicators.figures(session, rnd, viewer), labels, viewer)
        if "indicator_distribution" in names:
            out["indicator_distribution"] = indicators.distribution_table(indicators.spreads(session, rnd, viewer),
                                                                          labels, viewer)
    if "closed_answers" in names:
        out["closed_answers"] = findings.rated_answers_table(session, rnd, viewer, key_group)
    if "response_rates" in names:
        out["response_rates"] = findings.response_rates_table(session, rnd, viewer, key_group)
    scored = [n for n in names if n not in out]
    if not scored:
        return out
    # No table reads the profiles (the largest part of a stored score) of method 2.0 results,
    # and most read only the round's summary, not its authorities' scores.
    stored = stored or services.stored_results(session, rnd, scores=bool(set(scored) & set(BY_AUTHORITY)))
    summary = present.key_group_summary(stored.scoring.summary if stored.scoring else {}, key_group)
    own_tables = ("change", "to_develop", "suggestions", "thirds", "context")
    report_names = set(scored) - set(own_tables)
    report = (present.report_tables(stored, viewer, key_group, names=report_names, rows=continuum_rows)
              if report_names else {})
    for name in scored:
        if name == "change":
            table = present.change_table(present.change_rows(stored, services.earlier_scores(session, rnd),
                                                             viewer))
        elif name == "to_develop":
            table = findings.to_develop_table(summary, viewer)
            table.note = findings.key_group_note(indicators.key_group_labels(rnd), key_group) + table.note
        elif name == "suggestions":
            table = findings.suggestions_table(summary, viewer)
        elif name == "thirds":
            table = findings.thirds_table(summary, viewer)
        elif name == "context":
            table = findings.context_table(session, rnd, stored, viewer)
        else:
            table = report[name]
        if stored.empty and name == "context":
            table.note = f"The round has not been scored yet: the index is empty. {table.note}"
        elif stored.empty:
            table.note = f"{NOT_SCORED} {table.note}".strip()
        elif key_group and name in BY_KEY_GROUP and key_group not in summary.get("key_groups", {}):
            table.note = (f"The stored results hold no respondent of the key group '{key_group}' "
                          f"(recompute the round's scores if it has some now). {table.note}").strip()
        out[name] = table
    return out


def round_key_group(session: Session, rnd: Round, code: str | None) -> str | None:
    """``code`` when it names one of the round's key groups, else None (no filter)."""
    if not code:
        return None
    return session.scalar(sa.select(KeyGroup.code).where(KeyGroup.round_id == rnd.id, KeyGroup.code == code))


@click.command("table")
@click.argument("name", required=False)
@click.option("--round", "round_name", help="Round name.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--key-group", "key_group", help="A key group's code: count its respondents only "
              f"({', '.join(BY_KEY_GROUP)}).")
@click.option("--list", "list_", is_flag=True, help="List the table names, one a line, with their titles.")
@with_appcontext
def export_table(name, round_name, fmt, key_group, list_):
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
    if key_group and round_key_group(db.session, rnd, key_group) is None:
        codes = ", ".join(kg.code for kg in rnd.key_groups) or "none"
        raise click.ClickException(f"{rnd.name} has no key group {key_group!r} (its key groups: {codes})")
    if key_group and name not in BY_KEY_GROUP:
        raise click.ClickException(f"the table {name!r} is not broken down by key group: "
                                   f"--key-group goes with {', '.join(BY_KEY_GROUP)}")
    table = round_table(db.session, rnd, name, analyst(current_app.config["SMALL_NUMBER_THRESHOLD"]),
                        key_group)
    # Bytes (the workbook) go to the binary stream as they are.
    click.echo(exports.to_csv(table) if fmt == "csv" else exports.to_xlsx(table), nl=False)
