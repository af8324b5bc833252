"""Researcher-run interviews: a staff respondent's reference, and starting or resuming an interview."""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.audit import record
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Authority, Case, KeyGroup, Respondent, Round
from impactmodel.db import utcnow
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.models import Response, ResponseMode
from impactmodel.fieldwork.responses import (FieldworkError, check_access, current_version,
                                             instrument_for_role, resolve_authority, resolve_case,
                                             resolve_key_group, resolve_round, retrying)

REFERENCE_WIDTH = 3


def next_reference(session: Session, rnd: Round, authority: Authority, role: RespondentRole) -> str:
    """A fresh reference ``<role>-<n>`` that fits the ones already in the authority and round.

    The number follows the highest existing ``<role>-<n>`` and is padded to the width
    those references use (the widest, if they differ), or to three digits when there are
    none: after ``manager-01`` ... ``manager-03`` comes ``manager-04``, not ``manager-004``.
    """
    role = RespondentRole(role)
    pattern = re.compile(rf"^{re.escape(role.value)}-(\d+)$")
    taken = set(session.scalars(sa.select(Respondent.reference).where(
        Respondent.round_id == rnd.id, Respondent.authority_id == authority.id)))
    numbered = [m.group(1) for m in map(pattern.match, taken) if m]
    width = max((len(d) for d in numbered), default=REFERENCE_WIDTH)
    n = max((int(d) for d in numbered), default=0) + 1
    while f"{role.value}-{n:0{width}d}" in taken:
        n += 1
    return f"{role.value}-{n:0{width}d}"


def start_interview(session: Session, actor, *, round: Round | str | int,
                    authority: Authority | str | int, role: RespondentRole | str,
                    key_group: KeyGroup | str | int | None = None, case: Case | str | None = None,
                    reference: str | None = None) -> Response:
    """Start (or return the existing) researcher-administered interview.

    Parameters
    ----------
    round, authority : a Round/Authority, its id or its name. The authority takes part
        in the round from now on, if it did not already.
    role : a staff role (``dcs``, ``manager``, ``practitioner``); picks the instrument.
    key_group : optional key-group code (``lac``...) or KeyGroup of the round.
    case : optional case pseudonym (``LAC-03``) or Case; created if new.
    reference : the respondent's reference, unique in the authority and round; a fresh
        one from ``next_reference`` when omitted (``manager-004``, or ``manager-04`` where
        the authority's references for the round have two digits). The same reference
        resumes the interview.

    Returns the Response (mode ``interview``, consent recorded by the researcher).
    Raises PermissionError if ``actor`` may not see the authority, FieldworkError for
    bad input.
    """
    role = RespondentRole(role)
    if not role.is_staff:
        raise FieldworkError("interviews are for directors, managers and practitioners; "
                             "parents and children answer a survey")
    rnd, auth = resolve_round(session, round), resolve_authority(session, authority)
    check_access(actor, auth.id)
    version = current_version(session, instrument_for_role(role).key)
    kg = resolve_key_group(session, rnd, key_group)
    case_row = resolve_case(session, rnd, auth, case, kg)
    if kg is None and case_row is not None and case_row.key_group_id is not None:
        kg = session.get(KeyGroup, case_row.key_group_id)

    def work() -> Response:
        consortium.ensure_participation(session, rnd, auth)
        ref = (reference or "").strip()
        if ref:  # a known reference resumes that person's interview
            try:
                respondent = consortium.get_or_create_respondent(
                    session, rnd, auth, ref, role, kg.id if kg else None, case_row.id if case_row else None)
            except consortium.RespondentConflict as exc:
                raise FieldworkError(str(exc)) from None
        else:
            # A fresh reference is always a new person: if another researcher took the same
            # number a moment ago, the insert fails and retrying picks the next one.
            respondent = Respondent(round_id=rnd.id, authority_id=auth.id,
                                    reference=next_reference(session, rnd, auth, role), role=role,
                                    key_group_id=kg.id if kg else None,
                                    case_id=case_row.id if case_row else None)
            session.add(respondent)
            session.flush()
        existing = session.scalar(sa.select(Response).where(Response.respondent_id == respondent.id)
                                  .order_by(Response.id).limit(1))
        if existing is not None:
            return existing
        now = utcnow()
        response = Response(respondent_id=respondent.id, instrument_version_id=version.id,
                            mode=ResponseMode.INTERVIEW, interviewer_id=getattr(actor, "id", None),
                            consent_by="researcher", consented_at=now, started_at=now)
        session.add(response)
        session.flush()
        record(session, actor, "interview.start", "response", response.id, round_id=rnd.id,
               authority_id=auth.id, respondent_id=respondent.id, instrument_version_id=version.id)
        session.commit()
        return response
    return retrying(session, work)
