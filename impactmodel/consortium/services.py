"""Finding and creating rounds, authorities, key groups and respondents.

Imports, fieldwork and the demo all create these through here, so that an
authority always gets its anonymised label and a round its standard key groups.
"""
from __future__ import annotations

import difflib
import secrets

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from impactmodel.consortium.models import (Authority, Case, KeyGroup, Participation, Respondent,
                                           Round, anonymised_label, authority_key, new_public_id)
from impactmodel.db import utcnow
from impactmodel.enums import RespondentRole

# The key groups of Round 1 (the report); a round may define others.
STANDARD_KEY_GROUPS = {
    "lac": "Looked-after children",
    "asd": "Children and young people with autistic spectrum disorder",
    "ks3_absence": "Young people with over 20% absence at key stage 3",
}


def get_or_create_round(session: Session, name: str) -> Round:
    name = name.strip()
    if not name:
        raise ValueError("a round needs a name")
    rnd = session.scalar(sa.select(Round).where(Round.name == name))
    if rnd is None:
        rnd = Round(name=name)
        rnd.key_groups = [KeyGroup(code=c, label=l) for c, l in STANDARD_KEY_GROUPS.items()]
        session.add(rnd)
        session.flush()
    return rnd


def closest_names(name: str, names: list[str]) -> list[str]:
    """The names among ``names`` that ``name`` was probably meant to be: those equal to it
    but for case and spacing; else those it begins, ignoring case ("Round 1" for
    "Round 1 (2007-08)"); else difflib's close matches (a typo). Empty when none is near."""
    key = authority_key(name)
    keys = {n: authority_key(n) for n in names}
    same = [n for n in names if keys[n] == key]
    if same:
        return same
    begun = [n for n in names if key and keys[n].startswith(key)]
    if begun:
        return begun
    close = difflib.get_close_matches(key, list(keys.values()), n=3, cutoff=0.75)
    return sorted((n for n in names if keys[n] in close), key=lambda n: close.index(keys[n]))


def find_authority_by_name(session: Session, name: str) -> Authority | None:
    """The authority called ``name``, ignoring case and spacing ("northshire  county
    council" finds "Northshire County Council"). Every lookup by name comes here."""
    return session.scalar(sa.select(Authority).where(Authority.name_key == authority_key(name)))


def get_or_create_authority(session: Session, name: str) -> Authority:
    """The authority called ``name`` (as find_authority_by_name matches), made if new
    with a random free anonymised label."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("an authority needs a name")
    limit = Authority.__table__.c.name.type.length
    if len(name) > limit:
        raise ValueError(f"an authority name has at most {limit} characters")
    authority = find_authority_by_name(session, name)
    # INSERT ... ON CONFLICT DO NOTHING: a request adding the same authority at the same
    # moment makes the insert a no-op (after waiting for it) instead of failing the
    # transaction; the lookup then finds the winner's row. A clash on the random label
    # also does nothing, and the next attempt draws another.
    attempts = 0
    while authority is None and attempts < 10:
        attempts += 1
        insert = _insert(session)(Authority).values(
            name=name, name_key=authority_key(name), label=_free_label(session),
            public_id=new_public_id(), created_at=utcnow())
        session.execute(insert.on_conflict_do_nothing())
        authority = find_authority_by_name(session, name)
    if authority is None:
        raise RuntimeError(f"could not add the authority {name!r}")
    return authority


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _free_label(session: Session) -> str:
    # Random, not the next letter: labels in creation or name order could be mapped back
    # to the (public) list of participating authorities.
    taken = set(session.scalars(sa.select(Authority.label)))
    pool = [anonymised_label(i) for i in range(max(26, 2 * len(taken) + 2))]
    return secrets.SystemRandom().choice([lbl for lbl in pool if lbl not in taken])


def ensure_participation(session: Session, rnd: Round, authority: Authority) -> Participation:
    part = session.scalar(sa.select(Participation).where(Participation.round_id == rnd.id,
                                                         Participation.authority_id == authority.id))
    if part is None:
        part = Participation(round_id=rnd.id, authority_id=authority.id)
        session.add(part)
        session.flush()
    return part


def key_group(session: Session, rnd: Round, code: str) -> KeyGroup | None:
    return session.scalar(sa.select(KeyGroup).where(KeyGroup.round_id == rnd.id, KeyGroup.code == code))


def get_or_create_case(session: Session, rnd: Round, authority: Authority, reference: str,
                       key_group_id: int | None) -> Case:
    case = session.scalar(sa.select(Case).where(Case.round_id == rnd.id,
                                                Case.authority_id == authority.id,
                                                Case.reference == reference))
    if case is None:
        case = Case(round_id=rnd.id, authority_id=authority.id, reference=reference,
                    key_group_id=key_group_id)
        session.add(case)
        session.flush()
    return case


class RespondentConflict(ValueError):
    pass


def get_or_create_respondent(session: Session, rnd: Round, authority: Authority, reference: str,
                             role: RespondentRole, key_group_id: int | None = None,
                             case_id: int | None = None) -> Respondent:
    """The respondent ``reference`` of this authority and round, made if new.

    A reference already used with another role is a conflict, not a new person.
    """
    resp = session.scalar(sa.select(Respondent).where(Respondent.round_id == rnd.id,
                                                      Respondent.authority_id == authority.id,
                                                      Respondent.reference == reference))
    if resp is None:
        resp = Respondent(round_id=rnd.id, authority_id=authority.id, reference=reference,
                          role=role, key_group_id=key_group_id, case_id=case_id)
        session.add(resp)
        session.flush()
    elif resp.role is not role:
        raise RespondentConflict(f"respondent {reference!r} is already recorded as {resp.role.value}, "
                                 f"not {role.value}")
    else:
        if key_group_id is not None and resp.key_group_id is None:
            resp.key_group_id = key_group_id
    return resp


def next_reference(session: Session, rnd: Round, authority: Authority, role: RespondentRole) -> str:
    """A fresh respondent reference such as ``parent-007`` (no personal data in it)."""
    count = session.scalar(sa.select(sa.func.count()).select_from(Respondent).where(
        Respondent.round_id == rnd.id, Respondent.authority_id == authority.id,
        Respondent.role == role))
    n = count + 1
    while True:
        ref = f"{role.value}-{n:03d}"
        exists = session.scalar(sa.select(Respondent.id).where(
            Respondent.round_id == rnd.id, Respondent.authority_id == authority.id,
            Respondent.reference == ref))
        if exists is None:
            return ref
        n += 1
