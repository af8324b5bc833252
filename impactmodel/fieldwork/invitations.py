"""Survey links for parents, carers and children: tokens, short codes, expiry and lookup."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session, joinedload, load_only

from impactmodel.audit import record
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Authority, Case, KeyGroup, Respondent, Round
from impactmodel.db import utcnow
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.models import Invitation, InstrumentVersion, Response
from impactmodel.fieldwork.responses import (FieldworkError, check_access, instrument_for_role,
                                             resolve_authority, resolve_case, resolve_key_group,
                                             resolve_round, retrying)

MAX_INVITATIONS = 500
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Short codes for typing: no 0/O, 1/I/L, 5/S, 2/Z or 8/B to confuse on a printed card.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8
# Days after a link's expiry during which a survey already begun can still be finished.
EXPIRY_GRACE_DAYS = 7


class InvitationNotFound(LookupError):
    """No invitation has this token."""


class InvitationEnded(Exception):
    """The invitation can no longer be used: ``reason`` is ``"expired"`` or ``"submitted"``."""

    def __init__(self, invitation: Invitation, reason: str):
        super().__init__(reason)
        self.invitation, self.reason = invitation, reason


def _base(base_url: str | None) -> str:
    return (base_url or (current_app.config["BASE_URL"] if has_app_context()
                         else "http://127.0.0.1:5000")).rstrip("/")


def invitation_url(token: str, base_url: str | None = None) -> str:
    """The absolute link a respondent opens (base: ``BASE_URL``)."""
    return f"{_base(base_url)}/s/{token}"


def code_entry_url(base_url: str | None = None) -> str:
    """The short address where a respondent types the code from their card."""
    return f"{_base(base_url)}/s"


def format_code(code: str | None) -> str:
    """A code as printed: two groups of four (``ACDE-FG34``), easier to copy."""
    return f"{code[:4]}-{code[4:]}" if code else ""


def clean_code(typed: str | None) -> str | None:
    """A typed code in stored form (capitals, no spaces or dashes), or None if it cannot be one."""
    code = re.sub(r"[\s\-–—]", "", typed or "").upper()
    if len(code) != CODE_LENGTH or not all(c in CODE_ALPHABET for c in code):
        return None
    return code


def _new_codes(session: Session, count: int) -> list[str]:
    """``count`` fresh codes, unique among themselves and in the database."""
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        fresh = {"".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                 for _ in range(wanted)} - codes
        taken = set(session.scalars(sa.select(Invitation.code).where(Invitation.code.in_(fresh))))
        codes |= fresh - taken
    return list(codes)


def create_invitations(session: Session, actor, *, round: Round | str | int,
                       authority: Authority | str | int, role: RespondentRole | str, count: int,
                       key_group: KeyGroup | str | int | None = None, case: Case | str | None = None,
                       days: int | None = None) -> list[Invitation]:
    """Create ``count`` single-respondent survey links for one round, authority and role.

    Each has a long random token (``secrets.token_urlsafe(32)``) and expires after
    ``days`` (default ``INVITATION_DAYS``, 90). The respondent is created when the link is
    first used. The invitations share a ``batch`` id (for printing). Commits.
    """
    role = RespondentRole(role)
    instrument_for_role(role)  # refuses a role with no instrument
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_INVITATIONS:
        raise FieldworkError(f"the number of links must be from 1 to {MAX_INVITATIONS}")
    rnd, auth = resolve_round(session, round), resolve_authority(session, authority)
    check_access(actor, auth.id)
    kg = resolve_key_group(session, rnd, key_group)
    case_row = resolve_case(session, rnd, auth, case, kg)
    if kg is None and case_row is not None and case_row.key_group_id is not None:
        kg = session.get(KeyGroup, case_row.key_group_id)
    if days is None:
        days = current_app.config.get("INVITATION_DAYS", 90) if has_app_context() else 90
    ids = dict(round_id=rnd.id, authority_id=auth.id, role=role, key_group_id=kg.id if kg else None,
               case_id=case_row.id if case_row else None, created_by_id=getattr(actor, "id", None))

    def work() -> list[Invitation]:
        # A code drawn at the same moment by another request loses on the unique index: retried.
        consortium.ensure_participation(session, session.get(Round, ids["round_id"]),
                                        session.get(Authority, ids["authority_id"]))
        now = utcnow()
        batch = secrets.token_hex(8)
        invitations = [Invitation(token=secrets.token_urlsafe(32), code=code, created_at=now,
                                  batch=batch, expires_at=now + timedelta(days=int(days)) if days else None,
                                  **ids)
                       for code in _new_codes(session, count)]
        session.add_all(invitations)
        session.flush()
        record(session, actor, "invitation.create", "invitation_batch", batch, round_id=ids["round_id"],
               authority_id=ids["authority_id"], role=role.value, count=count)
        session.commit()
        return invitations
    return retrying(session, work)


def _aware(dt: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were stored in UTC.
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


def find_invitation(session: Session, token: str, *, allow_submitted: bool = False) -> Invitation:
    """The invitation for ``token``. Raises InvitationNotFound, or InvitationEnded with
    reason ``"expired"`` or ``"submitted"`` (the latter unless ``allow_submitted``)."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise InvitationNotFound(token)
    invitation = session.scalar(sa.select(Invitation).where(Invitation.token == token))
    if invitation is None:
        raise InvitationNotFound(token)
    _check_usable(invitation, allow_submitted)
    return invitation


# Every survey request runs this query, so it is built once: building it (the subquery and
# the eager loads) costs more than running it. It reads only the columns the respondent's
# pages and their saves use (each row's other columns load if something asks for them):
# every column read is a column described, converted and mapped on each request.
_SURVEY = (sa.select(Invitation, Response)
           .outerjoin(Response, Response.id == sa.select(sa.func.min(Response.id))
                      .where(Response.respondent_id == Invitation.respondent_id)
                      .correlate(Invitation).scalar_subquery())
           .where(Invitation.token == sa.bindparam("token"))
           .options(load_only(Invitation.token, Invitation.round_id, Invitation.authority_id,
                              Invitation.role, Invitation.key_group_id, Invitation.case_id,
                              Invitation.respondent_id, Invitation.expires_at, Invitation.submitted_at,
                              Invitation.withdrawn_at),
                    joinedload(Invitation.round).load_only(Round.research_contact, Round.retain_until),
                    load_only(Response.respondent_id, Response.instrument_version_id, Response.status,
                              Response.language),
                    joinedload(Response.respondent).load_only(Respondent.round_id, Respondent.authority_id,
                                                              Respondent.role),
                    joinedload(Response.instrument_version).load_only(InstrumentVersion.checksum)))


def find_survey(session: Session, token: str, *, allow_submitted: bool = False) -> tuple[Invitation, Response | None]:
    """The invitation for ``token`` (with its round) and the response begun through it (with
    its respondent and instrument version, but not the version's definition), in one query.
    Raises as ``find_invitation``."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise InvitationNotFound(token)
    row = session.execute(_SURVEY, {"token": token}).first()
    if row is None:
        raise InvitationNotFound(token)
    _check_usable(row.Invitation, allow_submitted)
    return row.Invitation, row.Response


def _check_usable(invitation: Invitation, allow_submitted: bool) -> None:
    if invitation.withdrawn_at is not None:
        raise InvitationEnded(invitation, "withdrawn")
    if invitation.submitted_at is not None:
        if not allow_submitted:
            raise InvitationEnded(invitation, "submitted")
    elif invitation.expires_at is not None and _aware(invitation.expires_at) <= utcnow():
        # Someone already answering when the link runs out may finish: a short grace
        # period, so a page being typed is not lost at the deadline.
        begun = invitation.respondent_id is not None
        grace = timedelta(days=EXPIRY_GRACE_DAYS)
        if not begun or _aware(invitation.expires_at) + grace <= utcnow():
            raise InvitationEnded(invitation, "expired")


def find_invitation_by_code(session: Session, typed: str) -> Invitation:
    """The invitation whose short code was typed (any case, spaces and dashes ignored).

    Raises InvitationNotFound. Whether it can still be used is for ``find_invitation``
    (the survey's own pages) to say, with its kind pages for ended links.
    """
    code = clean_code(typed)
    invitation = code and session.scalar(sa.select(Invitation).where(Invitation.code == code))
    if not invitation:
        raise InvitationNotFound(typed)
    return invitation


def invitation_status(invitation: Invitation) -> str:
    """``withdrawn``, ``submitted``, ``expired``, ``started`` or ``not_opened``."""
    if invitation.withdrawn_at is not None:
        return "withdrawn"
    if invitation.submitted_at is not None:
        return "submitted"
    if invitation.expires_at is not None and _aware(invitation.expires_at) <= utcnow():
        return "expired"
    return "started" if invitation.respondent_id is not None else "not_opened"
