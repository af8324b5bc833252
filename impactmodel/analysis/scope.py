"""Which codings a user's pages and downloads may show, as SQL conditions (no id lists)."""
from __future__ import annotations

import sqlalchemy as sa

from impactmodel.auth.models import Role, User, researcher_assignment
from impactmodel.coding.models import DoubleCoding


def authorities_seen(user: User | None, authority_id) -> sa.ColumnElement[bool]:
    """``authority_id`` (a column) is an authority whose own data ``user`` may see, as
    ``User.may_see_authority`` decides; ``user`` None is the command line: every one."""
    if user is None or user.role is Role.ADMIN:
        return sa.true()
    if user.role is Role.RESEARCHER:
        ra = researcher_assignment.c
        return authority_id.in_(sa.select(ra.authority_id).where(ra.user_id == user.id))
    if user.role is Role.AUTHORITY_CONTACT and user.authority_id is not None:
        return authority_id == user.authority_id
    return sa.false()


def not_blind(user: User | None, answer_id) -> sa.ColumnElement[bool]:
    """Leave out the answers ``user`` still has to code blind as a second coder: seeing
    the first coder's codings there would end the blindness."""
    if user is None:
        return sa.true()
    pending = sa.select(DoubleCoding.answer_id).where(DoubleCoding.second_coder_id == user.id,
                                                      DoubleCoding.second_done_at.is_(None))
    return sa.or_(answer_id.is_(None), answer_id.not_in(pending))
