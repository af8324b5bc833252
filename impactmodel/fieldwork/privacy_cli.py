"""Respondents' data on the command line: retention (``impactmodel retention ...``), the
research contact shown on survey pages, and safeguarding (``impactmodel safeguarding ...``)."""
from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from impactmodel.consortium.cli import authority_named, round_named
from impactmodel.db import db, utcnow
from impactmodel.fieldwork import retention, safeguarding


@click.group("retention", help="How long each round keeps its respondents' data, and deleting it.")
def retention_group():
    pass


@retention_group.command("set")
@click.option("--round", "round_name", required=True, help="Round name (`impactmodel round list`).")
@click.option("--until", "until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Keep the data until this day (YYYY-MM-DD); it is deleted after it.")
@click.option("--clear", is_flag=True, help="Keep the round's data with no end date.")
@with_appcontext
def set_retention(round_name, until: datetime | None, clear):
    """Set the day until which a round's respondents' data is kept."""
    if (until is None) == (not clear):
        raise click.UsageError("give either --until YYYY-MM-DD or --clear")
    rnd = round_named(db.session, round_name)
    retention.set_retention(db.session, "cli", rnd, until.date() if until else None)
    click.echo(f"{rnd.name}: kept until {rnd.retain_until.isoformat()}" if rnd.retain_until
               else f"{rnd.name}: no retention date")


@retention_group.command("apply")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@with_appcontext
def apply_retention(dry_run):
    """Delete the respondents' data of every round whose retention date has passed.

    Safe to run daily (from cron or a systemd timer): a round already deleted is
    passed over. Prints one line per round due.
    """
    today = utcnow().date()
    plans = retention.apply(db.session, "cli", today, dry_run=dry_run)
    if not plans:
        click.echo("No round is past its retention date.")
    for found in plans:
        what = ", ".join(f"{n} {retention.DELETED[k]}" for k, n in found.counts.items() if n) or "nothing left"
        verb = "would delete" if dry_run else "deleted"
        click.echo(f"{found.round.name} (kept until {found.round.retain_until.isoformat()}): "
                   f"{verb if found.has_data else 'nothing to delete'}{': ' + what if found.has_data else ''}")


@click.command("research-contact")
@click.option("--round", "round_name", required=True, help="Round name (`impactmodel round list`).")
@click.argument("contact", required=False)
@click.option("--clear", is_flag=True, help="Use the app's RESEARCH_CONTACT for this round.")
@with_appcontext
def research_contact(round_name, contact, clear):
    """Set who respondents of a round contact about the research (shown on every survey
    page): a team's name with an e-mail address or telephone number. Without CONTACT,
    print the one in use."""
    rnd = round_named(db.session, round_name)
    if contact or clear:
        try:
            retention.set_contact(db.session, "cli", rnd, None if clear else contact)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    shown = rnd.research_contact or current_app.config["RESEARCH_CONTACT"]
    click.echo(f"{rnd.name}: {shown or '(none: survey pages ask people to go through whoever gave them the link)'}"
               + ("" if rnd.research_contact or not shown else " (the app's RESEARCH_CONTACT)"))


@click.group("safeguarding", help="The safeguarding word list and each authority's procedure.")
def safeguarding_group():
    pass


@safeguarding_group.command("check")
@click.argument("text", required=False)
@with_appcontext
def check_rules(text):
    """Validate surveys/safeguarding.yaml; with TEXT, say which rules it matches."""
    try:
        found = safeguarding.load()
    except safeguarding.RulesInvalid as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(found)} rules: {', '.join(r.id for r in found)}")
    if text is not None:
        matched = safeguarding.concerns(text)
        click.echo(f"matches: {', '.join(matched)}" if matched else "matches no rule")


@safeguarding_group.command("steps")
@click.option("--authority", required=True, help="Authority name (`impactmodel authority list`).")
@click.option("--file", "steps_file", type=click.File(encoding="utf-8"), default=None,
              help="A text file with the steps of the authority's procedure, one a line.")
@click.option("--clear", is_flag=True, help="Use the app's SAFEGUARDING_STEPS for this authority.")
@with_appcontext
def procedure_steps(authority, steps_file, clear):
    """Record the steps of an authority's safeguarding procedure, shown to its researchers
    with every flagged answer. Without --file or --clear, print the steps in use."""
    found = authority_named(db.session, authority)
    if steps_file is not None or clear:
        safeguarding.set_steps(db.session, "cli", found, None if clear else steps_file.read())
    click.echo(safeguarding.steps_for(found))


def init_app(app) -> None:
    for command in (retention_group, research_contact, safeguarding_group):
        app.cli.add_command(command)


