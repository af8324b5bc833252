"""An authority's context in a round: what kind of authority, how large, how long integrated.

Recorded on the participation (an authority can be reorganised, grow, or start again
between rounds), by administrators on the web. The round report shows it beside the
index and the researchers' placements. Exact sizes and years would let a reader match
an anonymised label to a named authority, so viewers outside the authority see the
size as a band (:func:`size_band`).
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.audit import record
from impactmodel.consortium.models import Authority, Participation, Round

AUTHORITY_TYPES = {
    "county": "County council",
    "unitary": "Unitary authority",
    "metropolitan": "Metropolitan borough",
    "london_borough": "London borough",
    "welsh_unitary": "Welsh unitary authority",
}
# Children and young people aged 0-19: the smallest English authority has about 500
# (Isles of Scilly), the largest county about 300,000.
CHILDREN_MAX = 1_000_000
EARLIEST_YEAR = 1990
LATEST_YEAR = 2100
# Bands of children 0-19 shown to viewers who see the authority only by its label.
SIZE_BANDS = (25_000, 50_000, 100_000, 200_000)


class ContextError(ValueError):
    """A context value that cannot be recorded; the message says which and why."""


@dataclass
class Context:
    authority_type: str | None
    children: int | None
    integrated_since: int | None


def check(authority_type: str | None, children: int | None, integrated_since: int | None) -> Context:
    """The context as given, or ContextError naming the first value out of range."""
    if authority_type is not None and authority_type not in AUTHORITY_TYPES:
        raise ContextError(f"The type of authority must be one of: {', '.join(AUTHORITY_TYPES.values())}.")
    if children is not None and not 1 <= children <= CHILDREN_MAX:
        raise ContextError(f"Children aged 0-19 must be a whole number from 1 to {CHILDREN_MAX}.")
    if integrated_since is not None and not EARLIEST_YEAR <= integrated_since <= LATEST_YEAR:
        raise ContextError(f"The year integrated arrangements began must be from {EARLIEST_YEAR} "
                           f"to {LATEST_YEAR}.")
    return Context(authority_type, children, integrated_since)


def record_context(session: Session, actor, rnd: Round, authority: Authority, *, authority_type: str | None,
                   children: int | None, integrated_since: int | None) -> Participation:
    """Record ``authority``'s context in ``rnd`` (None clears a value); audit and commit."""
    if not actor.role.can_manage_rounds:
        raise ContextError("Only administrators record authorities' context.")
    ctx = check(authority_type, children, integrated_since)
    part = session.scalar(sa.select(Participation).where(Participation.round_id == rnd.id,
                                                         Participation.authority_id == authority.id))
    if part is None:
        raise ContextError(f"{authority.name} does not take part in {rnd.name}.")
    part.authority_type, part.children, part.integrated_since = (ctx.authority_type, ctx.children,
                                                                 ctx.integrated_since)
    record(session, actor, "participation.context", "participation", part.id, round_id=rnd.id,
           authority_id=authority.id, authority_type=ctx.authority_type, children=ctx.children,
           integrated_since=ctx.integrated_since)
    session.commit()
    return part


def size_band(children: int | None) -> str | None:
    """"50,000 to 99,999": the band of children 0-19 a labelled authority is shown with."""
    if children is None:
        return None
    low = 0
    for high in SIZE_BANDS:
        if children < high:
            return f"under {high:,}" if low == 0 else f"{low:,} to {high - 1:,}"
        low = high
    return f"{low:,} or more"


def contexts(session: Session, rnd: Round) -> dict[int, Context]:
    """Each participating authority's context in ``rnd``, by authority id."""
    rows = session.execute(sa.select(Participation.authority_id, Participation.authority_type,
                                     Participation.children, Participation.integrated_since)
                           .where(Participation.round_id == rnd.id)).all()
    return {aid: Context(t, n, y) for aid, t, n, y in rows}
