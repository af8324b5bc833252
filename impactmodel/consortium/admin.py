"""Administrators' changes to authorities: rename, merge two into one, remove from a round.

Each takes the acting user, checks first that nothing would be lost or mixed up
(raising AuthorityError and changing nothing otherwise), writes an audit event with
ids and counts only, and commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.analysis.models import AuthorityMemo
from impactmodel.audit import record
from impactmodel.auth.models import User, researcher_assignment
from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import (Authority, Case, Locality, Participation, Respondent, Round,
                                           authority_key)
from impactmodel.fieldwork.models import Answer, Invitation, Response
from impactmodel.indicators.models import IndicatorValue
from impactmodel.scoring.models import ConfidenceScore


class AuthorityError(ValueError):
    """A change that would lose or mix up data, or makes no sense; nothing was changed."""


def rename_authority(session: Session, actor, authority: Authority, new_name: str) -> Authority:
    name = " ".join(new_name.split())
    limit = Authority.__table__.c.name.type.length
    if not name:
        raise AuthorityError("Enter the authority's new name.")
    if len(name) > limit:
        raise AuthorityError(f"An authority's name has at most {limit} characters.")
    if name == authority.name:
        raise AuthorityError(f"The authority is already called {name}.")
    other = session.scalar(sa.select(Authority).where(Authority.name_key == authority_key(name),
                                                      Authority.id != authority.id))
    if other is not None:
        raise AuthorityError(f"{other.name} ({other.label}) already has that name: merge the two "
                             "authorities instead of renaming.")
    authority.name = name
    record(session, actor, "authority.rename", "authority", authority.id)
    session.commit()
    return authority


@dataclass
class MergePlan:
    """What merging ``source`` into ``target`` moves, and what stands in its way."""

    source: Authority
    target: Authority
    counts: dict[str, int] = field(default_factory=dict)
    clashes: list[str] = field(default_factory=list)


# Plain words for the counts, in the order pages list them.
MERGE_COUNTS = {
    "participations": "rounds taken part in, moved over",
    "participations_joined": "rounds both took part in, kept as one",
    "respondents": "respondents",
    "codings": "codings",
    "cases": "cases",
    "invitations": "survey links",
    "localities": "localities",
    "scores": "stored scores, moved over",
    "scores_dropped": "stored scores of rounds both took part in, to compute again",
    "indicators": "indicator figures",
    "assignments": "researcher assignments",
    "contacts": "authority contacts' accounts",
}


def plan_merge(session: Session, source: Authority, target: Authority) -> MergePlan:
    plan = MergePlan(source, target)
    if source.id == target.id:
        plan.clashes.append("an authority cannot be merged into itself")
        return plan

    def count(model, *where) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    shared = sa.select(Participation.round_id).where(Participation.authority_id == target.id)
    scored = sa.select(ConfidenceScore.round_id).where(ConfidenceScore.authority_id == target.id)
    joined = count(Participation, Participation.authority_id == source.id, Participation.round_id.in_(shared))
    dropped = count(ConfidenceScore, ConfidenceScore.authority_id == source.id,
                    ConfidenceScore.round_id.in_(scored))
    plan.counts = {
        "participations": count(Participation, Participation.authority_id == source.id) - joined,
        "participations_joined": joined,
        "respondents": count(Respondent, Respondent.authority_id == source.id),
        "codings": session.scalar(sa.select(sa.func.count(Coding.id)).join(
            Respondent, Coding.respondent_id == Respondent.id).where(Respondent.authority_id == source.id)),
        "cases": count(Case, Case.authority_id == source.id),
        "invitations": count(Invitation, Invitation.authority_id == source.id),
        "localities": count(Locality, Locality.authority_id == source.id),
        "scores": count(ConfidenceScore, ConfidenceScore.authority_id == source.id) - dropped,
        "scores_dropped": dropped,
        "assignments": count(researcher_assignment, researcher_assignment.c.authority_id == source.id),
        "contacts": count(User, User.authority_id == source.id),
        "indicators": count(IndicatorValue, IndicatorValue.authority_id == source.id),
    }
    # Respondents and cases are known by a reference unique within round and authority:
    # two with the same reference would become one, so they are named and nothing moves.
    for model, what in ((Respondent, "respondent"), (Case, "case")):
        mine, theirs = sa.orm.aliased(model), sa.orm.aliased(model)
        for round_name, reference in session.execute(
                sa.select(Round.name, mine.reference)
                .join(theirs, sa.and_(theirs.round_id == mine.round_id, theirs.reference == mine.reference))
                .join(Round, Round.id == mine.round_id)
                .where(mine.authority_id == source.id, theirs.authority_id == target.id)
                .order_by(Round.name, mine.reference)):
            plan.clashes.append(f"{round_name}: both have a {what} {reference!r}")
    # Likewise two figures for the same indicator, period and key group: which one is right?
    mine, theirs = sa.orm.aliased(IndicatorValue), sa.orm.aliased(IndicatorValue)
    for round_name, indicator, period in session.execute(
            sa.select(Round.name, mine.indicator, mine.period)
            .join(theirs, sa.and_(theirs.round_id == mine.round_id, theirs.indicator == mine.indicator,
                                  theirs.period == mine.period,
                                  theirs.key_group_id.is_not_distinct_from(mine.key_group_id)))
            .join(Round, Round.id == mine.round_id)
            .where(mine.authority_id == source.id, theirs.authority_id == target.id)
            .order_by(Round.name, mine.indicator, mine.period).distinct()):
        plan.clashes.append(f"{round_name}: both have a figure for {indicator} in {period}")
    return plan


def merge_authorities(session: Session, actor, source: Authority, target: Authority) -> MergePlan:
    """Move everything of ``source`` to ``target`` and remove ``source``.

    In a round both took part in, the target's participation stays (taking the source's
    locality and evidence where it has none) and the source's stored score goes: the
    round's scores are then out of date and say so until computed again.
    """
    plan = plan_merge(session, source, target)
    if plan.clashes:
        more = f" and {len(plan.clashes) - 10} more" if len(plan.clashes) > 10 else ""
        raise AuthorityError(f"Nothing was merged. {'; '.join(plan.clashes[:10])}{more}.")
    src, tgt = source.id, target.id

    def move(model, *where) -> None:
        session.execute(sa.update(model).where(model.authority_id == src, *where)
                        .values(authority_id=tgt).execution_options(synchronize_session=False))

    # Localities: one of the same name already at the target takes the source's place.
    target_localities = dict(session.execute(sa.select(Locality.name, Locality.id)
                                             .where(Locality.authority_id == tgt)).all())
    for loc_id, name in session.execute(sa.select(Locality.id, Locality.name)
                                        .where(Locality.authority_id == src)).all():
        if name in target_localities:
            session.execute(sa.update(Participation).where(Participation.locality_id == loc_id)
                            .values(locality_id=target_localities[name])
                            .execution_options(synchronize_session=False))
            session.execute(sa.delete(Locality).where(Locality.id == loc_id)
                            .execution_options(synchronize_session=False))
    move(Locality)

    # Participations: folded into the target's in rounds both took part in, moved otherwise.
    fresh = {"populate_existing": True}   # locality ids may have changed just above
    target_parts = {p.round_id: p for p in session.scalars(
        sa.select(Participation).where(Participation.authority_id == tgt).execution_options(**fresh))}
    for part in session.scalars(sa.select(Participation).where(Participation.authority_id == src)
                                .execution_options(**fresh)).all():
        kept = target_parts.get(part.round_id)
        if kept is None:
            continue
        kept.locality_id = kept.locality_id or part.locality_id
        kept.evidence = kept.evidence or part.evidence
        session.delete(part)
    session.flush()
    move(Participation)

    move(Respondent)
    move(Case)
    move(AuthorityMemo)
    move(Invitation)
    move(IndicatorValue)
    scored = sa.select(ConfidenceScore.round_id).where(ConfidenceScore.authority_id == tgt)
    session.execute(sa.delete(ConfidenceScore).where(ConfidenceScore.authority_id == src,
                                                     ConfidenceScore.round_id.in_(scored))
                    .execution_options(synchronize_session=False))
    move(ConfidenceScore)

    ra = researcher_assignment.c
    already = sa.select(ra.user_id).where(ra.authority_id == tgt)
    session.execute(sa.insert(researcher_assignment).from_select(
        ["user_id", "authority_id"],
        sa.select(ra.user_id, sa.literal(tgt)).where(ra.authority_id == src, ra.user_id.not_in(already))))
    session.execute(sa.delete(researcher_assignment).where(ra.authority_id == src))
    move(User)

    # The database would cascade the deletion to anything still pointing at the source:
    # make sure nothing does, rather than trust the moves above.
    for model in (Respondent, Case, AuthorityMemo, Invitation, Participation, Locality, ConfidenceScore, IndicatorValue):
        if session.scalar(sa.select(sa.func.count()).select_from(model).where(model.authority_id == src)):
            session.rollback()
            raise AuthorityError(f"Nothing was merged: some {model.__tablename__} rows could not be moved.")
    session.execute(sa.delete(Authority).where(Authority.id == src)
                    .execution_options(synchronize_session=False))
    record(session, actor, "authority.merge", "authority", tgt, merged_authority=src, **plan.counts)
    session.commit()
    session.expire_all()
    return plan


@dataclass
class RemovalPlan:
    """What removing ``authority`` from ``round`` deletes."""

    round: Round
    authority: Authority
    counts: dict[str, int]

    @property
    def has_data(self) -> bool:
        return any(self.counts.values())

    @property
    def confirmation(self) -> str:
        """The counts as the confirmation form carries them, to notice a change meanwhile."""
        return "-".join(str(self.counts[k]) for k in REMOVAL_COUNTS)


REMOVAL_COUNTS = {
    "respondents": "respondents",
    "responses": "interviews and surveys",
    "answers": "answers",
    "codings": "codings",
    "cases": "cases",
    "invitations": "survey links",
    "scores": "stored score",
    "indicators": "indicator figures",
}


def _participation(session: Session, rnd: Round, authority: Authority) -> Participation:
    part = session.scalar(sa.select(Participation).where(Participation.round_id == rnd.id,
                                                         Participation.authority_id == authority.id))
    if part is None:
        raise AuthorityError(f"{authority.name} does not take part in {rnd.name}.")
    return part


def plan_removal(session: Session, rnd: Round, authority: Authority) -> RemovalPlan:
    _participation(session, rnd, authority)

    def count(query) -> int:
        return session.scalar(query)

    mine = sa.and_(Respondent.round_id == rnd.id, Respondent.authority_id == authority.id)
    n = sa.func.count()
    return RemovalPlan(rnd, authority, {
        "respondents": count(sa.select(n).select_from(Respondent).where(mine)),
        "responses": count(sa.select(n).select_from(Response).join(Respondent).where(mine)),
        "answers": count(sa.select(n).select_from(Answer).join(Response).join(Respondent).where(mine)),
        "codings": count(sa.select(n).select_from(Coding)
                         .join(Respondent, Coding.respondent_id == Respondent.id).where(mine)),
        "cases": count(sa.select(n).select_from(Case).where(Case.round_id == rnd.id,
                                                             Case.authority_id == authority.id)),
        "invitations": count(sa.select(n).select_from(Invitation).where(
            Invitation.round_id == rnd.id, Invitation.authority_id == authority.id)),
        "scores": count(sa.select(n).select_from(ConfidenceScore).where(
            ConfidenceScore.round_id == rnd.id, ConfidenceScore.authority_id == authority.id)),
        "indicators": count(sa.select(n).select_from(IndicatorValue).where(
            IndicatorValue.round_id == rnd.id, IndicatorValue.authority_id == authority.id)),
    })


def remove_participation(session: Session, actor, rnd: Round, authority: Authority,
                         confirmed: str | None = None) -> RemovalPlan:
    """Take ``authority`` out of ``rnd`` with everything it has in that round.

    When there is anything besides the participation, ``confirmed`` must be the
    ``RemovalPlan.confirmation`` the administrator saw: if the data changed since,
    nothing is removed.
    """
    part = _participation(session, rnd, authority)
    plan = plan_removal(session, rnd, authority)
    if plan.has_data and confirmed != plan.confirmation:
        raise AuthorityError(f"{authority.name} has data in {rnd.name} that would be deleted, and it "
                             "changed since it was shown: check what would be removed and confirm again.")
    where = dict(round_id=rnd.id, authority_id=authority.id)
    # Respondents take their responses, answers and codings with them (ON DELETE CASCADE).
    for model in (Invitation, Respondent, Case, ConfidenceScore, IndicatorValue):
        session.execute(sa.delete(model).filter_by(**where).execution_options(synchronize_session=False))
    session.delete(part)
    record(session, actor, "round.remove_authority", "participation", part.id,
           round_id=rnd.id, authority_id=authority.id, **plan.counts)
    session.commit()
    session.expire_all()
    return plan
