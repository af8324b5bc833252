"""Retention: a round's respondents' data is deleted once its retention date has passed.

What goes: every respondent of the round (with their interviews, surveys, answers,
codings, memos, double-coding draws and safeguarding flags), its survey links, its cases
(pseudonyms of children) and its suggested-codes model (learnt from the answers' words).
What stays holds no one's answers: the stored scores and report tables, the reliability
report, a publication, indicator figures, and the audit log, which records the deletion
with counts. `impactmodel retention apply` runs it (docs/FIELDWORK.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.audit import record
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import SuggestionModel
from impactmodel.consortium.models import Case, Respondent, Round
from impactmodel.db import utcnow
from impactmodel.fieldwork.models import Answer, Invitation, Response

# What is deleted, in the order a plan lists it, with the words for people.
DELETED = {"respondents": "respondents", "answers": "answers", "codings": "codings",
           "invitations": "survey links", "cases": "cases", "suggestion_models": "suggested-codes model"}


@dataclass
class RetentionPlan:
    round: Round
    counts: dict[str, int]

    @property
    def has_data(self) -> bool:
        return any(self.counts.values())


def due(session: Session, today: date) -> list[Round]:
    """Rounds whose retention date is before ``today``."""
    return list(session.scalars(sa.select(Round).where(Round.retain_until.is_not(None),
                                                       Round.retain_until < today).order_by(Round.id)))


def plan(session: Session, rnd: Round) -> RetentionPlan:
    n = sa.func.count()
    respondents = sa.select(Respondent.id).where(Respondent.round_id == rnd.id)
    responses = sa.select(Response.id).where(Response.respondent_id.in_(respondents))
    return RetentionPlan(rnd, {
        "respondents": session.scalar(sa.select(n).select_from(Respondent).where(Respondent.round_id == rnd.id)),
        "answers": session.scalar(sa.select(n).select_from(Answer).where(Answer.response_id.in_(responses))),
        "codings": session.scalar(sa.select(n).select_from(Coding).where(Coding.round_id == rnd.id)),
        "invitations": session.scalar(sa.select(n).select_from(Invitation).where(Invitation.round_id == rnd.id)),
        "cases": session.scalar(sa.select(n).select_from(Case).where(Case.round_id == rnd.id)),
        "suggestion_models": session.scalar(sa.select(n).select_from(SuggestionModel)
                                            .where(SuggestionModel.round_id == rnd.id)),
    })


def apply(session: Session, actor, today: date, *, dry_run: bool = False) -> list[RetentionPlan]:
    """Delete the data of every round past its retention date; commit once per round.
    With ``dry_run``, only say what would go. Running it again deletes only what was
    added since (nothing, normally) and records nothing when nothing is deleted."""
    plans = []
    for rnd in due(session, today):
        found = plan(session, rnd)
        plans.append(found)
        if dry_run or not found.has_data:
            continue
        # Respondents take their responses, answers, codings and flags with them (ON DELETE CASCADE).
        for model in (Invitation, Respondent, Case, SuggestionModel):
            session.execute(sa.delete(model).where(model.round_id == rnd.id)
                            .execution_options(synchronize_session=False))
        rnd.data_deleted_at = utcnow()
        record(session, actor, "round.retention_delete", "round", rnd.id,
               retain_until=rnd.retain_until.isoformat(), **found.counts)
        session.commit()
    session.expire_all()
    return plans


def set_retention(session: Session, actor, rnd: Round, until: date | None) -> Round:
    """Set (or, with None, clear) the day until which the round's data is kept. Commits."""
    rnd.retain_until = until
    record(session, actor, "round.retention_set", "round", rnd.id,
           retain_until=until.isoformat() if until else None)
    session.commit()
    return rnd


def set_contact(session: Session, actor, rnd: Round, contact: str | None) -> Round:
    """Set (or clear) who respondents of the round contact about the research. Commits."""
    contact = " ".join(contact.split()) if contact else None
    if contact and len(contact) > 500:
        raise ValueError("the contact must be at most 500 characters")
    rnd.research_contact = contact or None
    record(session, actor, "round.contact_set", "round", rnd.id, cleared=rnd.research_contact is None)
    session.commit()
    return rnd
