"""``impactmodel invite``: survey links from the command line (CONTRACTS.md §5)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from impactmodel.consortium import services as consortium
from impactmodel.db import db
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork import services


@click.command("invite")
@click.option("--round", "round_name", required=True, help="Round name (created if new).")
@click.option("--authority", required=True, help="Authority name (created if new).")
@click.option("--role", required=True, type=click.Choice([r.value for r in RespondentRole]),
              help="Who answers: parent, child, or a member of staff (self-completion).")
@click.option("--count", required=True, type=click.IntRange(1, services.MAX_INVITATIONS),
              help="How many single-respondent links to make.")
@click.option("--key-group", default=None, help="Key-group code of the round (lac, asd, ks3_absence).")
@click.option("--case", default=None, help="Case pseudonym, e.g. LAC-03 (never a name).")
@with_appcontext
def invite(round_name, authority, role, count, key_group, case):
    """Create COUNT survey links and print one absolute URL per line."""
    session = db.session
    try:
        rnd = consortium.get_or_create_round(session, round_name)
        auth = consortium.get_or_create_authority(session, authority)
        made = services.create_invitations(session, "cli", round=rnd, authority=auth, role=role,
                                           count=count, key_group=key_group, case=case)
    except (ValueError, services.FieldworkError) as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    base = current_app.config["BASE_URL"]
    for invitation in made:
        click.echo(services.invitation_url(invitation.token, base))
