"""Which finished double-coded answers the coders disagree on, found in the database.

The disagreements page shows twenty answers at a time from rounds with thousands drawn;
reading every drawn answer's codings to find the page's twenty would cost the whole
round. Here the database compares the sets, counts the differing answers and picks the
page's, so only those are read in full (``queries.double_coded(..., only=...)``).

The sets compared are those of ``queries.double_coded``: each finished second coder's
(code, valence) pairs, and the first coding (every other person's codings of the answer);
a second coder with no coding counts only when they recorded that no code applies, and an
answer with no second coder counting is not double-coded. An answer differs when some pair
is missing from one of the sets that count.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

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


def verdicts(viewer: User, round_id: int, authority_ids: list[int] | None):
    """A select of one row per finished double-coded answer the viewer may settle:
    ``answer_id``, ``differs`` and ``reconciled``.

    Everything starts from the round's finished draws (a few thousand rows) and reads
    only their answers' codings, through the coding index on answers.
    """
    # Never show a coder the first coding of an answer they still code blind.
    blind = sa.select(DoubleCoding.answer_id).where(DoubleCoding.second_coder_id == viewer.id,
                                                    DoubleCoding.reconciled_at.is_(None))
    draws = (sa.select(DoubleCoding.answer_id, DoubleCoding.second_coder_id, DoubleCoding.no_code_applies,
                       DoubleCoding.reconciled_at)
             .where(_finished(round_id), DoubleCoding.answer_id.not_in(blind)))
    if authority_ids is not None:
        draws = (draws.join(Answer, DoubleCoding.answer_id == Answer.id)
                 .join(Response, Answer.response_id == Response.id)
                 .join(Respondent, Response.respondent_id == Respondent.id)
                 .where(Respondent.authority_id.in_(authority_ids)))
    draws = draws.cte("draws")
    drawn = sa.select(draws.c.answer_id).distinct().cte("drawn")
    # Each coding's slot: its coder's id when they are a finished second coder of the
    # answer, else 0 (the first coding: every other person's codings of it).
    seconds = draws.alias("seconds")
    marks = (sa.select(Coding.answer_id, Coding.code_id, Coding.valence,
                       sa.func.coalesce(seconds.c.second_coder_id, 0).label("slot"))
             .join(drawn, drawn.c.answer_id == Coding.answer_id)
             .outerjoin(seconds, sa.and_(seconds.c.answer_id == Coding.answer_id,
                                         seconds.c.second_coder_id == Coding.coder_id))
             .where(Coding.coder != INSTRUMENT_CODER)).cte("marks")
    # An answer differs when some (code, valence) pair is missing from a slot that
    # counts: when the fewest slots holding any one pair is below the slots counting.
    per_pair = (sa.select(marks.c.answer_id, sa.func.count(sa.distinct(marks.c.slot)).label("n"))
                .group_by(marks.c.answer_id, marks.c.code_id, marks.c.valence).subquery())
    fewest = (sa.select(per_pair.c.answer_id, sa.func.min(per_pair.c.n).label("fewest"))
              .group_by(per_pair.c.answer_id).subquery())
    # A second coder counts when they coded the answer or recorded that no code applies.
    coded_by = sa.select(marks.c.answer_id, marks.c.slot).where(marks.c.slot != 0).distinct().subquery()
    units = (sa.select(draws.c.answer_id, (1 + sa.func.count()).label("slots"),
                       sa.func.max(sa.case((draws.c.reconciled_at.is_not(None), 1), else_=0)).label("reconciled"))
             .outerjoin(coded_by, sa.and_(coded_by.c.answer_id == draws.c.answer_id,
                                          coded_by.c.slot == draws.c.second_coder_id))
             .where(sa.or_(draws.c.no_code_applies, coded_by.c.slot.is_not(None)))
             .group_by(draws.c.answer_id).subquery())
    differs = sa.func.coalesce(fewest.c.fewest < units.c.slots, False)
    return (sa.select(units.c.answer_id, differs.label("differs"), (units.c.reconciled == 1).label("reconciled"))
            .outerjoin(fewest, fewest.c.answer_id == units.c.answer_id))


def page_of_disagreements(session: Session, viewer: User, round_id: int, authority_ids: list[int] | None,
                          page: int, per_page: int, show_reconciled: bool) -> DisagreementPage:
    """The ``page``-th ``per_page`` differing answers of the round among ``authority_ids``
    (None: every authority), leaving out those ``viewer`` still codes blind, and the
    reconciled ones unless ``show_reconciled``."""
    found = verdicts(viewer, round_id, authority_ids).cte("verdicts")
    listed = found.c.differs if show_reconciled else sa.and_(found.c.differs, sa.not_(found.c.reconciled))
    pending = sa.and_(sa.not_(found.c.differs), sa.not_(found.c.reconciled))
    counts = sa.select(sa.func.count().filter(listed).label("total"),
                       sa.func.count().filter(pending).label("pending")).subquery()

    def read(page: int) -> tuple[int, int, list[int]]:
        # The counts and the page's ids in one statement (the comparison is made once):
        # one row per id on the page, or a single row without one when the page is empty.
        ids = (sa.select(found.c.answer_id).where(listed).order_by(found.c.answer_id)
               .offset((page - 1) * per_page).limit(per_page).subquery())
        rows = session.execute(sa.select(counts.c.total, counts.c.pending, ids.c.answer_id)
                               .outerjoin(ids, sa.true()).order_by(ids.c.answer_id)).all()
        return rows[0].total, rows[0].pending, [r.answer_id for r in rows if r.answer_id is not None]

    page = max(page, 1)
    total, agreed_pending, ids = read(page)
    pages = max(1, -(-total // per_page))
    if page > pages:            # past the end: the last page
        page = pages
        total, agreed_pending, ids = read(page)
    return DisagreementPage(ids, total, page, pages, agreed_pending)
