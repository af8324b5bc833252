"""Read-only summaries of rounds for the consortium pages."""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.coding.models import Coding
from impactmodel.consortium.models import Participation, Respondent, Round
from impactmodel.enums import RespondentRole


def round_overview(session: Session, rnd: Round) -> list[dict]:
    """One row per participating authority: respondents by role and agreed codings."""
    by_role: dict[int, dict[str, int]] = defaultdict(dict)
    for authority_id, role, n in session.execute(
            sa.select(Respondent.authority_id, Respondent.role, sa.func.count())
            .where(Respondent.round_id == rnd.id)
            .group_by(Respondent.authority_id, Respondent.role)):
        by_role[authority_id][RespondentRole(role).value] = n
    codings = dict(session.execute(
        sa.select(Respondent.authority_id, sa.func.count(Coding.id))
        .join(Coding, Coding.respondent_id == Respondent.id)
        .where(Respondent.round_id == rnd.id, Coding.agreed.is_(True))
        .group_by(Respondent.authority_id)).all())
    parts = session.scalars(sa.select(Participation).where(Participation.round_id == rnd.id)).all()
    return [{"participation": p, "authority": p.authority,
             "roles": {r.value: by_role[p.authority_id].get(r.value, 0) for r in RespondentRole},
             "codings": codings.get(p.authority_id, 0)} for p in parts]
