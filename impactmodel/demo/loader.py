"""Load the generated consortium through the app's own imports and services."""
from __future__ import annotations

import io
from typing import Callable

import numpy as np
import sqlalchemy as sa
from flask import current_app

from impactmodel import sheets
from impactmodel.auth.models import Role, User
from impactmodel.auth.services import create_user
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Locality, Participation, Round
from impactmodel.db import db
from impactmodel.demo import cases as demo_cases
from impactmodel.demo import fieldwork as demo_fieldwork
from impactmodel.demo import generate
from impactmodel.enums import EvidenceCategory
from impactmodel.indicators import services as indicators
from impactmodel.interchange import csvio
from impactmodel.scoring.services import compute_scores

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
    writer = sheets.csv_writer(out)
    writer.writerow(csvio.CODED_COLUMNS)
    for ar in authorities:
        for person in ar.respondents:
            for code, valence, excerpt in person.codings:
                writer.writerow([ar.name, person.reference, person.role, code, valence,
                                 person.key_group or "", excerpt, "researcher@demo.larc.test"])
    return out.getvalue()


def _levels_csv(authorities: list[generate.AuthorityRound]) -> str:
    out = io.StringIO()
    writer = sheets.csv_writer(out)
    writer.writerow(csvio.LEVELS_COLUMNS)
    for ar in authorities:
        for person in ar.respondents:
            if person.level is not None:
                writer.writerow([ar.name, person.reference, person.role, f"{person.level:g}"])
    return out.getvalue()


def _indicators_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = sheets.csv_writer(out)
    writer.writerow(indicators.COLUMNS)
    writer.writerows(rows)
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
    figures = generate.indicator_rows(seed)
    users = _create_users(session)
    rng = np.random.default_rng(seed)
    for index, (round_name, authorities) in enumerate(plan.items()):
        if index == 0:
            # The earlier round arrives as researchers' coded spreadsheets.
            echo(f"Importing {round_name} from coded CSV: {len(authorities)} authorities...")
            csvio.import_coded(session, io.StringIO(_coded_csv(authorities)), round_name, actor="demo")
            csvio.import_levels(session, io.StringIO(_levels_csv(authorities)), round_name, actor="demo")
        else:
            # The current round is collected and coded in the app itself.
            rnd = consortium.get_or_create_round(session, round_name)
            # Shown on every survey page of the round (an invented address).
            rnd.research_contact = "the consortium's research team, research@larc.example.org"
            for ar in authorities:
                consortium.ensure_participation(session, rnd, consortium.get_or_create_authority(session, ar.name))
            session.commit()
            for n, ar in enumerate(authorities, 1):
                echo(f"{round_name}: interviews, surveys and coding in {ar.name} ({n}/{len(authorities)})...")
                demo_fieldwork.load_interviews(session, users["researcher"], round_name, ar,
                                               _evidence(ar.maturity).value, rng)
                demo_fieldwork.load_surveys(session, users["researcher"], round_name, ar)
        rnd = session.scalar(sa.select(Round).where(Round.name == round_name))
        if index > 0:
            echo(f"{round_name}: double coding a fifth of the coded answers...")
            demo_fieldwork.double_code(session, users["admin"], users["researcher"], users["coder2"],
                                       rnd.id, seed)
        for ar in authorities:
            authority = consortium.get_or_create_authority(session, ar.name)
            part = session.scalar(sa.select(Participation).where(Participation.round_id == rnd.id,
                                                                 Participation.authority_id == authority.id))
            locality = session.scalar(sa.select(Locality).where(Locality.authority_id == authority.id,
                                                                Locality.name == ar.locality))
            part.locality = locality or Locality(authority_id=authority.id, name=ar.locality)
            part.evidence = _evidence(ar.maturity)
            part.authority_type, part.children, part.integrated_since = generate.CONTEXT[ar.name]
        session.commit()
        echo(f"{round_name}: following {demo_cases.link_cases(session, users['researcher'], rnd)} cases "
             "through practitioner, parent and child...")
        echo(f"{round_name}: importing quantitative indicators for two periods...")
        indicators.import_indicators(session, io.StringIO(_indicators_csv(figures[round_name])), round_name,
                                     actor="demo")
        echo(f"{round_name}: scoring integration confidence...")
        compute_scores(session, "demo", rnd, seed=seed)
    echo("Demo consortium loaded.")
    _print_logins(echo)


def _create_users(session) -> dict[str, User]:
    """The demo accounts, by the part of their e-mail before the @."""
    names = [a[0] for a in generate.AUTHORITIES]
    users = {}
    for email, name, role, password in DEMO_USERS:
        existing = session.scalar(sa.select(User).where(User.email == email))
        if existing is not None:
            users[email.split("@")[0]] = existing
            continue
        authority_id = None
        assigned = []
        if role is Role.AUTHORITY_CONTACT:
            authority_id = consortium.get_or_create_authority(session, names[2]).id
        if role is Role.RESEARCHER:
            assigned = [consortium.get_or_create_authority(session, n).id for n in names]
        users[email.split("@")[0]] = create_user(
            session, "demo", email=email, name=name, role=role, password=password,
            authority_id=authority_id, assigned_authority_ids=assigned)
    return users


def _print_logins(echo) -> None:
    base = current_app.config["BASE_URL"]
    echo("")
    echo(f"  Open {base}/ and sign in as one of:")
    for email, _name, role, password in DEMO_USERS:
        echo(f"    {role.label:<20} {email:<28} password: {password}")
    echo("")
