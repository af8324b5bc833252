"""Withdrawal: a respondent who no longer wants to take part is removed from everything.

Their respondent row goes, and with it (ON DELETE CASCADE) every response, answer,
coding, memo, double-coding draw and safeguarding flag that came from them. The only
trace left is an audit event with ids and counts, never an answer's words. The round's
stored scores and reliability report are not edited: each keeps the signature of the
data it was computed from, so the change shows them as out of date until they are
computed again (``scoring.services.is_stale``, ``coding.stored_reliability.is_stale``).
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.audit import record
from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Respondent
from impactmodel.db import utcnow
from impactmodel.fieldwork.models import Answer, Invitation, Response, SafeguardingFlag


class NotWithdrawable(ValueError):
    """The survey cannot be withdrawn from its link (it was sent, or already withdrawn)."""


@dataclass
class WithdrawalCounts:
    responses: int
    answers: int
    codings: int

    def as_dict(self) -> dict[str, int]:
        return {"responses": self.responses, "answers": self.answers, "codings": self.codings}


def counts(session: Session, respondent: Respondent) -> WithdrawalCounts:
    """What withdrawing ``respondent`` removes."""
    responses = sa.select(Response.id).where(Response.respondent_id == respondent.id)
    n = sa.func.count()
    return WithdrawalCounts(
        responses=session.scalar(sa.select(n).select_from(Response).where(Response.respondent_id == respondent.id)),
        answers=session.scalar(sa.select(n).select_from(Answer).where(Answer.response_id.in_(responses))),
        codings=session.scalar(sa.select(n).select_from(Coding).where(Coding.respondent_id == respondent.id)),
    )


def _remove(session: Session, actor, respondent: Respondent, via: str) -> WithdrawalCounts:
    found = counts(session, respondent)
    now = utcnow()
    # A survey link that made this respondent stays closed: opening it again must not
    # start a new respondent in their place.
    session.execute(sa.update(Invitation).where(Invitation.respondent_id == respondent.id)
                    .values(withdrawn_at=now, respondent_id=None)
                    .execution_options(synchronize_session=False))
    flags = session.scalar(sa.select(sa.func.count()).select_from(SafeguardingFlag)
                           .join(Answer, SafeguardingFlag.answer_id == Answer.id)
                           .join(Response, Answer.response_id == Response.id)
                           .where(Response.respondent_id == respondent.id))
    record(session, actor, "respondent.withdraw", "respondent", respondent.id, via=via,
           round_id=respondent.round_id, authority_id=respondent.authority_id,
           role=respondent.role.value, safeguarding_flags=flags, **found.as_dict())
    session.execute(sa.delete(Respondent).where(Respondent.id == respondent.id)
                    .execution_options(synchronize_session=False))
    session.commit()
    session.expire_all()
    return found


def withdraw_respondent(session: Session, actor, respondent: Respondent) -> WithdrawalCounts:
    """Withdraw ``respondent`` at their request, made to the research team. Commits.

    Raises PermissionError when ``actor`` may not see the respondent's authority.
    """
    may = getattr(actor, "may_see_authority", None)
    if may is not None and not may(respondent.authority_id):
        raise PermissionError("you are not assigned to this authority")
    return _remove(session, actor, respondent, "research team")


def withdraw_by_link(session: Session, invitation: Invitation) -> WithdrawalCounts:
    """The respondent withdraws from their own link, before sending. Commits.

    A link not yet used is closed too (nothing else to remove). Once the answers are
    sent the link no longer changes anything (its token is all that proves who holds
    it): the research team withdraws them on request. Raises NotWithdrawable.
    """
    # Claimed like a submission: of a withdrawal and a send racing, only one happens.
    claimed = session.execute(sa.update(Invitation).where(
        Invitation.id == invitation.id, Invitation.submitted_at.is_(None), Invitation.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow()).execution_options(synchronize_session=False))
    if not claimed.rowcount:
        session.rollback()
        raise NotWithdrawable("this survey's link can no longer withdraw it")
    inv = session.get(Invitation, invitation.id, populate_existing=True)
    if inv.respondent_id is None:
        record(session, "respondent", "respondent.withdraw", "invitation", inv.id, via="link",
               round_id=inv.round_id, authority_id=inv.authority_id, responses=0, answers=0, codings=0)
        session.commit()
        return WithdrawalCounts(0, 0, 0)
    return _remove(session, "respondent", session.get(Respondent, inv.respondent_id), "link")
