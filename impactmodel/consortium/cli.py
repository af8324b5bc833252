"""``impactmodel round list`` and ``authority list``, and finding a round or an authority
named on the command line: an unknown name is refused with the names it was probably
meant to be, so a typo never creates a second round or authority."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from impactmodel.consortium import services
from impactmodel.consortium.models import Authority, Participation, Round
from impactmodel.db import db


def _quoted(names) -> str:
    return ", ".join(repr(n) for n in names)


def round_named(session: Session, name: str, *, create: bool = False,
                offers_create: bool = False) -> Round:
    """The round called exactly ``name``; with ``create``, made if new. Otherwise an unknown
    name raises a ClickException suggesting the closest round names, or listing them all
    (and, when the command ``offers_create``, how to make it)."""
    rnd = session.scalar(sa.select(Round).where(Round.name == name.strip()))
    if rnd is not None:
        return rnd
    if create:
        try:
            return services.get_or_create_round(session, name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    names = list(session.scalars(sa.select(Round.name).order_by(Round.id)))
    raise _unknown("round", "rounds", name, names, f"the rounds are {_quoted(names)}.", offers_create)


def authority_named(session: Session, name: str, *, create: bool = False,
                    offers_create: bool = False) -> Authority:
    """The authority called ``name`` (ignoring case and spacing); with ``create``, made if
    new. Otherwise an unknown name raises a ClickException suggesting the closest names."""
    authority = services.find_authority_by_name(session, name)
    if authority is not None:
        return authority
    if create:
        try:
            return services.get_or_create_authority(session, name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    names = list(session.scalars(sa.select(Authority.name).order_by(Authority.name)))
    raise _unknown("authority", "authorities", name, names,
                   "`impactmodel authority list` shows every authority.", offers_create)


def _unknown(what: str, plural: str, name: str, names: list[str], listing: str,
             offers_create: bool) -> click.ClickException:
    """No ``what`` called ``name``: suggest the closest names, else ``listing``."""
    close = services.closest_names(name, names)
    if close:
        hint = f"did you mean {' or '.join(repr(n) for n in close)}?"
    elif names:
        hint = listing
    else:
        hint = f"there are no {plural} yet."
    create = f" Give --create to make a new {what} of that name." if offers_create else ""
    return click.ClickException(f"no {what} called {name!r}: {hint}{create}")


@click.group("round", help="The consortium's rounds.")
def round_group():
    pass


@round_group.command("list")
@with_appcontext
def list_rounds():
    """Print every round's exact name, one a line, oldest first."""
    for name in db.session.scalars(sa.select(Round.name).order_by(Round.id)):
        click.echo(name)


@click.group("authority", help="The consortium's authorities.")
def authority_group():
    pass


@authority_group.command("list")
@click.option("--round", "round_name", default=None,
              help="Only the authorities taking part in this round.")
@with_appcontext
def list_authorities(round_name):
    """Print authorities' names, one a line, in alphabetical order."""
    query = sa.select(Authority.name).order_by(Authority.name)
    if round_name is not None:
        rnd = round_named(db.session, round_name)
        query = query.join(Participation, Participation.authority_id == Authority.id) \
                     .where(Participation.round_id == rnd.id)
    for name in db.session.scalars(query):
        click.echo(name)
