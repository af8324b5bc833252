"""Every excerpt coded to a code: the retrieval page's query, paged by coding id.

A round can hold hundreds of thousands of codings, so a page is read with keyset
paging (the codings after the last one shown, by id) and a page size, never by
offset or by a list of ids; and nothing counts them all (that alone would cost more
than a page).

A page is found one of two ways. When the chosen respondents are few (one authority's,
or a role or key group that few answered as), their codings of the code are gathered
through them. Otherwise the code's codings are walked in id order (with the valence, if
chosen, through an index that holds it), which finds a page quickly when the chosen
respondents are many; walking would be slow when they are few, since a page may then
need every coding of the code read.
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
# Up to this many chosen respondents, a page is gathered through their codings: one index
# probe each, a few milliseconds for a thousand.
FEW_RESPONDENTS = 1000


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
    return where


def _codings_of(flt: ExcerptFilter) -> list:
    # "agreed = true" rather than "agreed IS true": only an equality lets the database
    # walk ix_coding_code_round_agreed in id order.
    where = [Coding.round_id == flt.round_id, Coding.code_id == flt.code_id, Coding.agreed == sa.true()]
    if flt.valence is not None:
        where.append(Coding.valence == flt.valence)
    return where


def _chosen_respondents(flt: ExcerptFilter) -> sa.Select | None:
    """The respondents the filter chooses (by ix_respondent_round_role), or None when it
    chooses by none of authority, role and key group."""
    if flt.authority_id is None and flt.role is None and flt.key_group_id is None:
        return None
    chosen = sa.select(Respondent.id).where(Respondent.round_id == flt.round_id)
    if flt.authority_id is not None:
        chosen = chosen.where(Respondent.authority_id == flt.authority_id)
    if flt.role is not None:
        chosen = chosen.where(Respondent.role == flt.role)
    if flt.key_group_id is not None:
        chosen = chosen.where(Respondent.key_group_id == flt.key_group_id)
    return chosen


def through_respondents(session: Session, flt: ExcerptFilter) -> bool:
    """Whether the page is best gathered through the chosen respondents' codings: always
    for one authority's, otherwise when at most FEW_RESPONDENTS are chosen (counted no
    further than that)."""
    chosen = _chosen_respondents(flt)
    if chosen is None:
        return False
    if flt.authority_id is not None:
        return True
    few = sa.select(sa.func.count()).select_from(chosen.limit(FEW_RESPONDENTS + 1).subquery())
    return session.scalar(few) <= FEW_RESPONDENTS


def _respondents_codings(flt: ExcerptFilter) -> sa.CTE:
    """The ids of the codings of the code by the chosen respondents, read through
    ix_coding_round_agreed (round, agreed, respondent, code, valence) and set apart
    (MATERIALIZED) so the database cannot fold them back into the page's query: there it
    would rather walk every coding of the code in id order until a page was found."""
    return (sa.select(Coding.id).where(*_codings_of(flt), Coding.respondent_id.in_(_chosen_respondents(flt)))
            .cte("respondents_codings").prefix_with("MATERIALIZED"))


def excerpts_query(viewer: User | None, flt: ExcerptFilter, after: int | None, page_size: int,
                   through: bool = False) -> sa.Select:
    """The query of one page (and one row more, to tell whether a next page exists);
    ``through``: gathered through the chosen respondents' codings (see ``through_respondents``)."""
    q = sa.select(Coding.id, Coding.excerpt, Coding.valence, Respondent.reference, Respondent.role,
                  Respondent.authority_id, Authority.name, Authority.label, KeyGroup.code, Case.reference,
                  Coding.answer_id)
    if through:
        theirs = _respondents_codings(flt)
        q = q.select_from(theirs).join(Coding, Coding.id == theirs.c.id)
    else:
        q = q.select_from(Coding)
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
    through = through_respondents(session, flt)
    if not through and session.get_bind().dialect.name == "postgresql":
        # PostgreSQL's default cost of a random read (4, for spinning disks) makes walking
        # the whole coding table by its primary key look cheaper than walking the code's
        # own index, ten times slower when the chosen codings are sparse. The round's
        # codings are read from memory: cost them so, for this transaction only.
        session.execute(sa.text("SET LOCAL random_page_cost = 1.1"))
    rows = session.execute(excerpts_query(viewer, flt, after, page_size, through=through)).all()
    page = [Excerpt(cid, text, valence, ref, role,
                    name if viewer is None or viewer.may_see_authority(aid) else label, kg, case, answer_id)
            for cid, text, valence, ref, role, aid, name, label, kg, case, answer_id in rows[:page_size]]
    return page, (page[-1].coding_id if len(rows) > page_size else None)
