"""``impactmodel invite``: survey links; ``impactmodel instruments languages``: translations."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from impactmodel.consortium.cli import authority_named, round_named
from impactmodel.db import db
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork import invitations, responses
from impactmodel.fieldwork.instrument_translations import language_status, loaded_translations
from impactmodel.languages import LANGUAGES


@click.command("invite")
@click.option("--round", "round_name", required=True, help="Round name (`impactmodel round list`).")
@click.option("--authority", required=True, help="Authority name (`impactmodel authority list`).")
@click.option("--role", required=True, type=click.Choice([r.value for r in RespondentRole]),
              help="Who answers: parent, child, or a member of staff (self-completion).")
@click.option("--count", required=True, type=click.IntRange(1, invitations.MAX_INVITATIONS),
              help="How many single-respondent links to make.")
@click.option("--key-group", default=None, help="Key-group code of the round (lac, asd, ks3_absence).")
@click.option("--case", default=None, help="Case pseudonym, e.g. LAC-03 (never a name).")
@click.option("--create", is_flag=True,
              help="Make the round and the authority if there are none of those names.")
@with_appcontext
def invite(round_name, authority, role, count, key_group, case, create):
    """Create COUNT survey links and print one absolute URL per line.

    An unknown round or authority is refused, with the names it may have meant, unless
    --create is given.
    """
    session = db.session
    try:
        rnd = round_named(session, round_name, create=create, offers_create=True)
        auth = authority_named(session, authority, create=create, offers_create=True)
        made = invitations.create_invitations(session, "cli", round=rnd, authority=auth, role=role,
                                              count=count, key_group=key_group, case=case)
    except (ValueError, responses.FieldworkError) as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    base = current_app.config["BASE_URL"]
    for invitation in made:
        click.echo(invitations.invitation_url(invitation.token, base))


@click.group("instruments", help="The instruments in surveys/instruments/.")
def instruments_group():
    pass


@instruments_group.command("languages")
@with_appcontext
def languages():
    """Say which languages each instrument is complete in, and what each translation lacks.

    An instrument's words in another language are in surveys/instruments/<key>.<lang>.yaml;
    words a translation lacks are shown in English.
    """
    status = language_status(responses.loaded_instruments(), loaded_translations())
    for key, by_language in status.items():
        complete = [LANGUAGES["en"]] + [LANGUAGES[c] for c, lacking in by_language.items() if not lacking]
        click.echo(f"{key}: complete in {', '.join(complete)}")
        for code, lacking in by_language.items():
            if lacking:
                shown = ", ".join(lacking[:5]) + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else "")
                click.echo(f"  {LANGUAGES[code]} ({code}) lacks {len(lacking)}: {shown}")
