"""Memos on an authority or a case in a round: written, edited and removed by researchers
(and administrators) who may see that authority; each change is audited."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.analysis.models import AuthorityMemo
from impactmodel.audit import record
from impactmodel.auth.models import Role, User
from impactmodel.coding.services import MAX_MEMO
from impactmodel.consortium.models import Authority, Case, Participation, Round
from impactmodel.db import utcnow


class MemoError(ValueError):
    """A memo that cannot be stored as it is; the message says why."""


class NotAllowed(PermissionError):
    """The user may not write memos on this authority, or change this memo."""


def _may_write(actor: User, authority_id: int) -> None:
    if not actor.role.can_code or not actor.may_see_authority(authority_id):
        raise NotAllowed("you may not write memos on this authority")


def _clean(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise MemoError("Write the memo first.")
    if len(text) > MAX_MEMO:
        raise MemoError(f"A memo is at most {MAX_MEMO} characters.")
    return text


def add_memo(session: Session, actor: User, rnd: Round, authority: Authority, text: str,
             case: Case | None = None) -> AuthorityMemo:
    """A memo on ``authority`` in ``rnd``, or on one of its cases."""
    _may_write(actor, authority.id)
    text = _clean(text)
    if case is not None and (case.round_id != rnd.id or case.authority_id != authority.id):
        raise MemoError("That case belongs to another round or authority.")
    taking_part = session.scalar(sa.select(Participation.id).where(Participation.round_id == rnd.id,
                                                                   Participation.authority_id == authority.id))
    if taking_part is None:
        raise MemoError(f"The authority does not take part in {rnd.name}.")
    memo = AuthorityMemo(round_id=rnd.id, authority_id=authority.id, case_id=case.id if case else None,
                         author_id=actor.id, text=text)
    session.add(memo)
    session.flush()
    record(session, actor, "authority_memo.add", "authority_memo", memo.id, round_id=rnd.id,
           authority_id=authority.id, case_id=memo.case_id)
    session.commit()
    return memo


def _own(session: Session, actor: User, memo_id: int) -> AuthorityMemo:
    memo = session.get(AuthorityMemo, memo_id)
    if memo is None:
        raise LookupError(f"no memo {memo_id}")
    _may_write(actor, memo.authority_id)
    if memo.author_id != actor.id and actor.role is not Role.ADMIN:
        raise NotAllowed("only the memo's author (or an administrator) may change it")
    return memo


def edit_memo(session: Session, actor: User, memo_id: int, text: str) -> AuthorityMemo:
    memo = _own(session, actor, memo_id)
    memo.text = _clean(text)
    memo.updated_at = utcnow()
    record(session, actor, "authority_memo.edit", "authority_memo", memo.id, authority_id=memo.authority_id,
           case_id=memo.case_id)
    session.commit()
    return memo


def delete_memo(session: Session, actor: User, memo_id: int) -> AuthorityMemo:
    """Remove a memo; returns it (detached) so the caller can say where it was."""
    memo = _own(session, actor, memo_id)
    record(session, actor, "authority_memo.delete", "authority_memo", memo.id, authority_id=memo.authority_id,
           case_id=memo.case_id)
    session.delete(memo)
    session.commit()
    return memo


def memos_of(session: Session, round_id: int, authority_id: int, case_id: int | None = None) -> list[AuthorityMemo]:
    """The memos on an authority in a round (``case_id`` None), or on one of its cases."""
    q = sa.select(AuthorityMemo).where(AuthorityMemo.round_id == round_id, AuthorityMemo.authority_id == authority_id,
                                       AuthorityMemo.case_id.is_(None) if case_id is None
                                       else AuthorityMemo.case_id == case_id)
    return list(session.scalars(q.order_by(AuthorityMemo.created_at, AuthorityMemo.id)))
