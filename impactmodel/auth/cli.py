"""``impactmodel user``: accounts from the command line. Passwords are always asked for,
never taken as an option, so they stay out of shell history and process lists."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from impactmodel.auth import services
from impactmodel.auth.models import Role, User
from impactmodel.consortium.cli import authority_named
from impactmodel.db import db


def _refuse_password_option(_ctx, _param, value):
    if value is not None:
        raise click.UsageError("passwords are not taken on the command line (they would stay in "
                               "the shell's history): leave out --password and type it when asked")
    return value


# Hidden, so that a --password from an old script gets the reason rather than "no such option".
no_password_option = click.option("--password", hidden=True, expose_value=False, is_eager=True,
                                  callback=_refuse_password_option)


def _ask_password() -> str:
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _account(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"there is no account for {email} (`impactmodel user list` shows them)")
    return user


@click.group(help="Manage user accounts.")
def user():
    pass


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--authority", "authority_name", help="The authority of an authority contact.")
@no_password_option
@with_appcontext
def create(email, name, role, authority_name):
    """Create an account (the password is asked for, not echoed)."""
    authority_id = authority_named(db.session, authority_name).id if authority_name else None
    password = _ask_password()
    try:
        services.create_user(db.session, "cli", email=email, name=name, role=Role(role),
                             password=password, authority_id=authority_id)
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {role} account {email}.")


@user.command("list")
@with_appcontext
def list_users():
    """Print every account: e-mail, role, whether active, name."""
    for account in db.session.scalars(sa.select(User).order_by(sa.func.lower(User.email))):
        state = "active" if account.active else "deactivated"
        click.echo(f"{account.email}\t{account.role.value}\t{state}\t{account.name}")


@user.command("set-password")
@click.argument("email")
@no_password_option
@with_appcontext
def set_password(email):
    """Give the account EMAIL a new password (asked for twice, not echoed).

    Every session of that account ends.
    """
    account = _account(email)
    password = _ask_password()
    try:
        services.update_user(db.session, "cli", account, name=account.name, role=account.role,
                             active=account.active, authority_id=account.authority_id,
                             assigned_authority_ids=[a.id for a in account.assigned_authorities],
                             password=password)
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"New password set for {account.email}; its sessions have ended.")


@user.command("deactivate")
@click.argument("email")
@with_appcontext
def deactivate(email):
    """Stop the account EMAIL from signing in, and end its sessions (its history stays)."""
    account = _account(email)
    if not account.active:
        click.echo(f"{account.email} is already deactivated.")
        return
    services.update_user(db.session, "cli", account, name=account.name, role=account.role,
                         active=False, authority_id=account.authority_id,
                         assigned_authority_ids=[a.id for a in account.assigned_authorities])
    click.echo(f"Deactivated {account.email}; its sessions have ended.")
