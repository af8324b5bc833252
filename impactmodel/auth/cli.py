from __future__ import annotations

import click
from flask.cli import with_appcontext

from impactmodel.auth import services
from impactmodel.auth.models import Role
from impactmodel.consortium.services import find_authority_by_name
from impactmodel.db import db


@click.group(help="Manage user accounts.")
def user():
    pass


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--authority", "authority_name", help="The authority of an authority contact.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create(email, name, role, authority_name, password):
    """Create an account (the password is asked for, not echoed)."""
    authority_id = None
    if authority_name:
        authority = find_authority_by_name(db.session, authority_name)
        if authority is None:
            raise click.ClickException(f"no authority called {authority_name!r}")
        authority_id = authority.id
    try:
        services.create_user(db.session, "cli", email=email, name=name, role=Role(role),
                             password=password, authority_id=authority_id)
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {role} account {email}.")
