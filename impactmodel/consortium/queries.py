"""Read-only summaries of rounds for the consortium pages."""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import DUPLICATE_MARK, Authority, Participation, Respondent, Round
from impactmodel.enums import RespondentRole


def round_overview(session: Session, rnd: Round) -> list[dict]:
    """One row per participating authority: respondents by role and agreed codings."""
    by_role: dict[int, dict[str, int]] = defaultdict(dict)
    for authority_id, role, n in session.execute(
            sa.select(Respondent.authority_id, Respondent.role, sa.func.count())
            .where(Respondent.round_id == rnd.id)
            .group_by(Respondent.authority_id, Respondent.role)):
        by_role[authority_id][RespondentRole(role).value] = n
    # Counted from ix_coding_round_agreed_authority alone: no join with the respondents.
    codings = dict(session.execute(
        sa.select(Coding.authority_id, sa.func.count())
        .where(Coding.round_id == rnd.id, Coding.agreed.is_(True))
        .group_by(Coding.authority_id)).all())
    # Authorities and localities in the same statement: one row per authority otherwise.
    parts = session.scalars(sa.select(Participation).where(Participation.round_id == rnd.id)
                            .options(sa.orm.joinedload(Participation.authority),
                                     sa.orm.joinedload(Participation.locality))).all()
    return [{"participation": p, "authority": p.authority,
             "roles": {r.value: by_role[p.authority_id].get(r.value, 0) for r in RespondentRole},
             "codings": codings.get(p.authority_id, 0)} for p in parts]


def authority_overview(session: Session, authority_id: int | None = None) -> list[dict]:
    """Every authority (or one) by name: the rounds it takes part in with its respondents
    in each, and, for a near-duplicate kept apart by the upgrade, the authority it matches."""
    query = sa.select(Authority).order_by(Authority.name_key)
    if authority_id is not None:
        query = query.where(Authority.id == authority_id)
    authorities = session.scalars(query).all()
    respondents = {(a, r): n for a, r, n in session.execute(
        sa.select(Respondent.authority_id, Respondent.round_id, sa.func.count())
        .group_by(Respondent.authority_id, Respondent.round_id))}
    rounds: dict[int, list[tuple[Round, int]]] = defaultdict(list)
    for part in session.scalars(sa.select(Participation).join(Round)
                                .order_by(Round.created_at, Round.id)
                                .options(sa.orm.joinedload(Participation.round))):
        rounds[part.authority_id].append((part.round, respondents.get((part.authority_id, part.round_id), 0)))
    by_key = {a.name_key: a for a in session.scalars(sa.select(Authority))}
    return [{"authority": a, "rounds": rounds[a.id], "respondents": sum(n for _r, n in rounds[a.id]),
             "duplicate_of": by_key.get(a.name_key.split(DUPLICATE_MARK)[0]) if a.near_duplicate else None}
            for a in authorities]
