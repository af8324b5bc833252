"""Which finished double-coded answers the coders disagree on, found in the database.

The disagreements page shows twenty answers at a time from rounds with thousands drawn;
reading every drawn answer's codings to find the page's twenty would cost the whole
round. Here the database compares the sets and answers one small row per drawn answer,
so only the page's answers are read in full (``queries.double_coded(..., only=...)``).

The sets compared are those of ``queries.double_coded``: each finished second coder's
(code, valence) pairs, and the first coding (every other person's codings of the answer);
a second coder with no coding counts only when they recorded that no code applies, and an
answer with no second coder counting is not double-coded. An answer differs when some pair
is missing from one of the sets that count.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from impactmodel.auth.models import User
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding
from impactmodel.coding.queries import INSTRUMENT_CODER
from impactmodel.consortium.models import Respondent
from impactmodel.fieldwork.models import Answer, Response


@dataclass(frozen=True)
class DisagreementPage:
    answer_ids: list[int]     # the page's differing answers, oldest first
    total: int                # differing answers listed, on every page
    page: int                 # the page shown (the last one when asked for one past it)
    pages: int
    agreed_pending: int       # answers the coders agree on, not yet reconciled


def _finished(round_id: int):
    return sa.and_(DoubleCoding.round_id == round_id, DoubleCoding.second_done_at.is_not(None))


def page_of_disagreements(session: Session, viewer: User, round_id: int, authority_ids: list[int] | None,
                          page: int, per_page: int, show_reconciled: bool) -> DisagreementPage:
    """The ``page``-th ``per_page`` differing answers of the round among ``authority_ids``
    (None: every authority), leaving out those ``viewer`` still codes blind, and the
    reconciled ones unless ``show_reconciled``."""
    second = aliased(DoubleCoding)
    by_a_second_coder = sa.exists().where(second.answer_id == Coding.answer_id,
                                          second.second_coder_id == Coding.coder_id,
                                          second.round_id == round_id, second.second_done_at.is_not(None))
    # 0 is the first coding's slot; a finished second coder's slot is their user id.
    slot = sa.case((by_a_second_coder, Coding.coder_id), else_=0)
    marks = (sa.select(Coding.answer_id, Coding.code_id, Coding.valence, slot.label("slot"))
             .where(Coding.answer_id.in_(sa.select(DoubleCoding.answer_id).where(_finished(round_id))),
                    Coding.coder != INSTRUMENT_CODER)
             .distinct().subquery())
    slots_with_pair = (sa.select(marks.c.answer_id, sa.func.count().label("n"))
                       .group_by(marks.c.answer_id, marks.c.code_id, marks.c.valence).subquery())
    coded_by_them = sa.exists().where(Coding.answer_id == DoubleCoding.answer_id,
                                      Coding.coder_id == DoubleCoding.second_coder_id,
                                      Coding.coder != INSTRUMENT_CODER)
    units = (sa.select(DoubleCoding.answer_id,
                       (1 + sa.func.count()).label("slots"),
                       sa.func.max(sa.case((DoubleCoding.reconciled_at.is_not(None), 1), else_=0))
                       .label("reconciled"))
             .where(_finished(round_id), sa.or_(DoubleCoding.no_code_applies, coded_by_them))
             .group_by(DoubleCoding.answer_id))
    if authority_ids is not None:
        units = (units.join(Answer, DoubleCoding.answer_id == Answer.id)
                 .join(Response, Answer.response_id == Response.id)
                 .join(Respondent, Response.respondent_id == Respondent.id)
                 .where(Respondent.authority_id.in_(authority_ids)))
    units = units.subquery()
    # Never show a coder the first coding of an answer they still code blind.
    blind = sa.select(DoubleCoding.answer_id).where(DoubleCoding.second_coder_id == viewer.id,
                                                    DoubleCoding.reconciled_at.is_(None))
    differs = sa.exists().where(slots_with_pair.c.answer_id == units.c.answer_id,
                                slots_with_pair.c.n < units.c.slots)
    # One small row an answer drawn (a few thousand at national scale), paged here.
    rows = session.execute(sa.select(units.c.answer_id, differs, units.c.reconciled)
                           .where(units.c.answer_id.not_in(blind)).order_by(units.c.answer_id)).all()
    listed = [a for a, differ, settled in rows if differ and (show_reconciled or not settled)]
    agreed_pending = sum(1 for _a, differ, settled in rows if not differ and not settled)
    pages = max(1, -(-len(listed) // per_page))
    page = min(max(page, 1), pages)
    return DisagreementPage(listed[(page - 1) * per_page: page * per_page], len(listed), page, pages,
                            agreed_pending)
