"""Load the generated consortium through the app's own imports and services."""
from __future__ import annotations

import csv
import io
from typing import Callable

import sqlalchemy as sa
from flask import current_app

from impactmodel.auth.models import Role, User
from impactmodel.auth.services import create_user
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Locality, Participation, Round
from impactmodel.db import db
from impactmodel.demo import generate
from impactmodel.enums import EvidenceCategory
from impactmodel.interchange import csvio

# Demo accounts only: printed by `make demo`, never used outside the demo database.
DEMO_USERS = [
    ("admin@demo.larc.test", "Alex Admin", Role.ADMIN, "demo-admin-pass"),
    ("researcher@demo.larc.test", "Rosa Researcher", Role.RESEARCHER, "demo-research-pass"),
    ("coder2@demo.larc.test", "Sam Second-Coder", Role.RESEARCHER, "demo-coder2-pass"),
    ("contact@demo.larc.test", "Chris Contact", Role.AUTHORITY_CONTACT, "demo-contact-pass"),
    ("analyst@demo.larc.test", "Ana Analyst", Role.ANALYST, "demo-analyst-pass"),
]


def _coded_csv(authorities: list[generate.AuthorityRound]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csvio.CODED_COLUMNS)
    for ar in authorities:
        for person in ar.respondents:
            for code, valence, excerpt in person.codings:
                writer.writerow([ar.name, person.reference, person.role, code, valence,
                                 person.key_group or "", excerpt, "researcher@demo.larc.test"])
    return out.getvalue()


def _levels_csv(authorities: list[generate.AuthorityRound]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csvio.LEVELS_COLUMNS)
    for ar in authorities:
        for person in ar.respondents:
            if person.level is not None:
                writer.writerow([ar.name, person.reference, person.role, f"{person.level:g}"])
    return out.getvalue()


def _evidence(maturity: float) -> EvidenceCategory:
    if maturity > 0.85:
        return EvidenceCategory.ASCRIBED
    if maturity > 0.5:
        return EvidenceCategory.NOT_ASCRIBED
    if maturity > 0.2:
        return EvidenceCategory.EARLY_DAYS
    return EvidenceCategory.NO_RESPONSE


def load_demo(seed: int = 2008, echo: Callable[[str], None] = print) -> None:
    session = db.session
    loaded = session.scalar(sa.select(sa.func.count()).select_from(Round)
                            .where(Round.name.in_(generate.ROUNDS)))
    if loaded == len(generate.ROUNDS):
        _create_users(session)  # in case an earlier load stopped before the accounts
        echo("The demo consortium is already loaded.")
        _print_logins(echo)
        return
    if loaded:
        raise RuntimeError("this database holds part of the demo consortium (an earlier load "
                           "stopped half-way): load the demo into an empty database")
    plan = generate.consortium(seed)
    for round_name, authorities in plan.items():
        echo(f"Loading {round_name}: {len(authorities)} authorities...")
        csvio.import_coded(session, io.StringIO(_coded_csv(authorities)), round_name, actor="demo")
        csvio.import_levels(session, io.StringIO(_levels_csv(authorities)), round_name, actor="demo")
        rnd = session.scalar(sa.select(Round).where(Round.name == round_name))
        for ar in authorities:
            authority = consortium.get_or_create_authority(session, ar.name)
            part = session.scalar(sa.select(Participation).where(Participation.round_id == rnd.id,
                                                                 Participation.authority_id == authority.id))
            locality = session.scalar(sa.select(Locality).where(Locality.authority_id == authority.id,
                                                                Locality.name == ar.locality))
            part.locality = locality or Locality(authority_id=authority.id, name=ar.locality)
            part.evidence = _evidence(ar.maturity)
        session.commit()
    _create_users(session)
    echo("Demo consortium loaded.")
    _print_logins(echo)


def _create_users(session) -> None:
    names = [a[0] for a in generate.AUTHORITIES]
    for email, name, role, password in DEMO_USERS:
        if session.scalar(sa.select(User.id).where(User.email == email)):
            continue
        authority_id = None
        assigned = []
        if role is Role.AUTHORITY_CONTACT:
            authority_id = consortium.get_or_create_authority(session, names[2]).id
        if role is Role.RESEARCHER:
            assigned = [consortium.get_or_create_authority(session, n).id for n in names]
        create_user(session, "demo", email=email, name=name, role=role, password=password,
                    authority_id=authority_id, assigned_authority_ids=assigned)


def _print_logins(echo) -> None:
    base = current_app.config["BASE_URL"]
    echo("")
    echo(f"  Open {base}/ and sign in as one of:")
    for email, _name, role, password in DEMO_USERS:
        echo(f"    {role.label:<20} {email:<28} password: {password}")
    echo("")
