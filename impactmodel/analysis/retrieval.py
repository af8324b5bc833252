"""Every excerpt coded to a code: the retrieval page's query, paged by coding id.

A round can hold hundreds of thousands of codings, so a page is read with keyset
paging (the codings after the last one shown, by id) and a page size, never by
offset or by a list of ids; and nothing counts them all (that alone would cost more
than a page).
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.analysis.scope import authorities_seen, not_blind
from impactmodel.auth.models import User
from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Authority, Case, KeyGroup, Respondent
from impactmodel.enums import RespondentRole, Valence

PAGE_SIZE = 50


@dataclass(frozen=True)
class ExcerptFilter:
    round_id: int
    code_id: str
    authority_id: int | None = None
    role: RespondentRole | None = None
    key_group_id: int | None = None
    valence: Valence | None = None


@dataclass(frozen=True)
class Excerpt:
    coding_id: int
    excerpt: str
    valence: Valence
    reference: str
    role: RespondentRole
    authority: str
    key_group: str | None
    case: str | None
    answer_id: int | None


def _where(viewer: User | None, flt: ExcerptFilter) -> list:
    where = [*_codings_of(flt), Coding.excerpt.is_not(None), Coding.excerpt != "",
             authorities_seen(viewer, Respondent.authority_id), not_blind(viewer, Coding.answer_id)]
    if flt.authority_id is not None:
        where.append(Respondent.authority_id == flt.authority_id)
    if flt.role is not None:
        where.append(Respondent.role == flt.role)
    if flt.key_group_id is not None:
        where.append(Respondent.key_group_id == flt.key_group_id)
    if flt.valence is not None:
        where.append(Coding.valence == flt.valence)
    return where


def _codings_of(flt: ExcerptFilter) -> list:
    return [Coding.round_id == flt.round_id, Coding.code_id == flt.code_id, Coding.agreed.is_(True)]


def _authoritys_codings(flt: ExcerptFilter) -> sa.CTE:
    """The ids of the codings of the code by the authority's chosen respondents, read
    through ix_coding_round_agreed (round, agreed, respondent, code) and set apart
    (MATERIALIZED) so the database cannot fold them back into the page's query: there it
    would rather walk every coding of the code in id order until a page was found."""
    theirs = sa.select(Respondent.id).where(Respondent.round_id == flt.round_id,
                                            Respondent.authority_id == flt.authority_id)
    if flt.role is not None:
        theirs = theirs.where(Respondent.role == flt.role)
    if flt.key_group_id is not None:
        theirs = theirs.where(Respondent.key_group_id == flt.key_group_id)
    return (sa.select(Coding.id).where(*_codings_of(flt), Coding.respondent_id.in_(theirs))
            .cte("authoritys_codings").prefix_with("MATERIALIZED"))


def excerpts_query(viewer: User | None, flt: ExcerptFilter, after: int | None, page_size: int) -> sa.Select:
    """The query of one page (and one row more, to tell whether a next page exists)."""
    q = sa.select(Coding.id, Coding.excerpt, Coding.valence, Respondent.reference, Respondent.role,
                  Respondent.authority_id, Authority.name, Authority.label, KeyGroup.code, Case.reference,
                  Coding.answer_id)
    if flt.authority_id is None:
        q = q.select_from(Coding)
    else:
        theirs = _authoritys_codings(flt)
        q = q.select_from(theirs).join(Coding, Coding.id == theirs.c.id)
    q = (q.join(Respondent, Coding.respondent_id == Respondent.id)
         .join(Authority, Respondent.authority_id == Authority.id)
         .outerjoin(KeyGroup, Respondent.key_group_id == KeyGroup.id)
         .outerjoin(Case, Respondent.case_id == Case.id)
         .where(*_where(viewer, flt)))
    if after is not None:
        q = q.where(Coding.id > after)
    return q.order_by(Coding.id).limit(page_size + 1)


def excerpts(session: Session, viewer: User | None, flt: ExcerptFilter, after: int | None = None,
             page_size: int = PAGE_SIZE) -> tuple[list[Excerpt], int | None]:
    """One page of excerpts coded to ``flt.code_id`` (oldest coding first), and the id to
    pass as ``after`` for the next page (None on the last page). Authorities are named
    as ``viewer`` may see them."""
    rows = session.execute(excerpts_query(viewer, flt, after, page_size)).all()
    page = [Excerpt(cid, text, valence, ref, role,
                    name if viewer is None or viewer.may_see_authority(aid) else label, kg, case, answer_id)
            for cid, text, valence, ref, role, aid, name, label, kg, case, answer_id in rows[:page_size]]
    return page, (page[-1].coding_id if len(rows) > page_size else None)
