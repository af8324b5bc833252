"""Which finished double-coded answers the coders disagree on, compared in the database
and kept.

The disagreements page shows twenty answers at a time from rounds with thousands drawn.
Comparing every drawn answer's codings on every request would cost the whole round, so
each finished draw keeps its answer's verdict (``DrawVerdict``) with the draw's
``codings_version`` it was compared at. The database raises that version whenever the
answer's codings or draws change (migration 0031's triggers), and a request compares
again only the answers whose draws have moved on: after a coder's save, one answer.
The page's twenty are then read in full (``queries.double_coded(..., only=...)``).

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
from impactmodel.coding.models import DoubleCoding, DrawVerdict
from impactmodel.coding.queries import INSTRUMENT_CODER
from impactmodel.consortium.models import Respondent
from impactmodel.db import batches
from impactmodel.fieldwork.models import Answer, Response

# The first key of the PostgreSQL advisory lock that lets one request at a time bring a
# round's verdicts up to date (the second is the round's id).
_REFRESH_LOCK = 31
# Answers compared again by one statement.
REFRESH_BATCH = 500


@dataclass(frozen=True)
class DisagreementPage:
    answer_ids: list[int]     # the page's differing answers, oldest first
    total: int                # differing answers listed, on every page
    page: int                 # the page shown (the last one when asked for one past it)
    pages: int
    agreed_pending: int       # answers the coders agree on, not yet reconciled


def _finished(round_id: int):
    return sa.and_(DoubleCoding.round_id == round_id, DoubleCoding.second_done_at.is_not(None))


def compare(round_id: int, answers):
    """A select of ``answer_id`` and ``differs`` for the answers in ``answers`` (answer
    ids, or a select of them) that have a finished draw and a second coder who counts.

    Reads only those answers' codings, through the coding index on answers.
    """
    draws = (sa.select(DoubleCoding.answer_id, DoubleCoding.second_coder_id, DoubleCoding.no_code_applies)
             .where(_finished(round_id), DoubleCoding.answer_id.in_(answers))).cte("draws")
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
    units = (sa.select(draws.c.answer_id, (1 + sa.func.count()).label("slots"))
             .outerjoin(coded_by, sa.and_(coded_by.c.answer_id == draws.c.answer_id,
                                          coded_by.c.slot == draws.c.second_coder_id))
             .where(sa.or_(draws.c.no_code_applies, coded_by.c.slot.is_not(None)))
             .group_by(draws.c.answer_id).subquery())
    differs = sa.func.coalesce(fewest.c.fewest < units.c.slots, False)
    return (sa.select(units.c.answer_id, differs.label("differs"))
            .outerjoin(fewest, fewest.c.answer_id == units.c.answer_id))


def _out_of_date(round_id: int):
    """The answers with a finished draw whose verdict is missing or older than the draw."""
    return (sa.select(DoubleCoding.answer_id)
            .outerjoin(DrawVerdict, DrawVerdict.draw_id == DoubleCoding.id)
            .where(_finished(round_id), sa.or_(DrawVerdict.draw_id.is_(None),
                                               DrawVerdict.codings_version != DoubleCoding.codings_version)))


def refresh_verdicts(session: Session, round_id: int) -> bool:
    """Compare again the round's answers whose draws have moved on since their verdict
    was kept, and commit. Returns whether there were any (one cheap statement if not)."""
    if not session.scalar(sa.select(_out_of_date(round_id).exists())):
        return False
    if session.get_bind().dialect.name == "postgresql":
        # One request at a time per round: two replacing the same verdicts could deadlock.
        # Waiting here, the statements below see what the other request kept.
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_REFRESH_LOCK, round_id)))
    # A few hundred answers a statement, named by id: each statement then reads those
    # answers' draws and codings through their indexes, whatever the planner believes of
    # tables just loaded (given a subquery, it may scan every coding for each answer).
    for batch in batches(sorted(set(session.scalars(_out_of_date(round_id)))), REFRESH_BATCH):
        verdicts = compare(round_id, batch).subquery()
        draws = sa.select(DoubleCoding.id).where(_finished(round_id), DoubleCoding.answer_id.in_(batch))
        session.execute(sa.delete(DrawVerdict).where(DrawVerdict.draw_id.in_(draws)))
        # Each draw keeps the version it had in this statement's snapshot: a coder's save
        # made meanwhile raises the draw past it, and the answer is compared again next time.
        session.execute(sa.insert(DrawVerdict).from_select(
            ["draw_id", "round_id", "codings_version", "differs"],
            sa.select(DoubleCoding.id, DoubleCoding.round_id, DoubleCoding.codings_version, verdicts.c.differs)
            .outerjoin(verdicts, verdicts.c.answer_id == DoubleCoding.answer_id)
            .where(_finished(round_id), DoubleCoding.answer_id.in_(batch))))
    session.commit()
    return True


def verdicts_by_answer(viewer: User, round_id: int, authority_ids: list[int] | None):
    """A select of one row per finished double-coded answer the viewer may settle, from
    the kept verdicts (bring them up to date first with :func:`refresh_verdicts`):
    ``answer_id``, ``differs``, ``counted`` (a second coder counts) and ``reconciled``,
    each 0 or 1."""
    # Never show a coder the first coding of an answer they still code blind.
    blind = sa.select(DoubleCoding.answer_id).where(DoubleCoding.second_coder_id == viewer.id,
                                                    DoubleCoding.reconciled_at.is_(None))
    query = (sa.select(DoubleCoding.answer_id,
                       sa.func.max(sa.case((DrawVerdict.differs, 1), else_=0)).label("differs"),
                       sa.func.max(sa.case((DrawVerdict.differs.is_(None), 0), else_=1)).label("counted"),
                       sa.func.max(sa.case((DoubleCoding.reconciled_at.is_not(None), 1), else_=0))
                       .label("reconciled"))
             .join(DrawVerdict, DrawVerdict.draw_id == DoubleCoding.id)
             .where(_finished(round_id), DoubleCoding.answer_id.not_in(blind))
             .group_by(DoubleCoding.answer_id))
    if authority_ids is not None:
        query = (query.join(Answer, DoubleCoding.answer_id == Answer.id)
                 .join(Response, Answer.response_id == Response.id)
                 .join(Respondent, Response.respondent_id == Respondent.id)
                 .where(Respondent.authority_id.in_(authority_ids)))
    return query


def page_of_disagreements(session: Session, viewer: User, round_id: int, authority_ids: list[int] | None,
                          page: int, per_page: int, show_reconciled: bool) -> DisagreementPage:
    """The ``page``-th ``per_page`` differing answers of the round among ``authority_ids``
    (None: every authority), leaving out those ``viewer`` still codes blind, and the
    reconciled ones unless ``show_reconciled``. Brings the kept verdicts up to date first."""
    refresh_verdicts(session, round_id)
    found = verdicts_by_answer(viewer, round_id, authority_ids).cte("verdicts")
    listed = found.c.differs == 1 if show_reconciled else sa.and_(found.c.differs == 1, found.c.reconciled == 0)
    pending = sa.and_(found.c.counted == 1, found.c.differs == 0, found.c.reconciled == 0)
    counts = sa.select(sa.func.count().filter(listed).label("total"),
                       sa.func.count().filter(pending).label("pending")).subquery()

    def read(page: int) -> tuple[int, int, list[int]]:
        # The counts and the page's ids in one statement: one row per id on the page,
        # or a single row without one when the page is empty.
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
