"""Cases in the demo consortium: a practitioner, a parent and a child of one key group
heard about one child's support, and the researcher's memos on them."""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.analysis import memos
from impactmodel.analysis.cases import VOICES, case_voices
from impactmodel.auth.models import User
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Authority, KeyGroup, Participation, Respondent, Round

CASES_PER_GROUP = 2


def _case_memo(levels: dict[str, int | None]) -> str:
    said = "; ".join(f"the {role}'s reach level {level}" if level else f"the {role} names no impact yet"
                     for role, level in levels.items())
    reached = {level for level in levels.values() if level}
    if len(reached) == 1 and None not in levels.values():
        return f"Codings: {said}. The three accounts agree: a case to quote."
    return (f"Codings: {said}. The accounts differ: ask the practitioner what the family "
            "sees at home, and whether the child's account matches.")


def link_cases(session: Session, researcher: User, rnd: Round) -> int:
    """Group each authority's practitioners, parents and children of a key group into cases,
    as researchers would when they follow one child; write memos. Returns cases made."""
    groups = dict(session.execute(sa.select(KeyGroup.id, KeyGroup.code).where(KeyGroup.round_id == rnd.id)).all())
    authorities = session.scalars(sa.select(Authority).join(Participation, Participation.authority_id == Authority.id)
                                  .where(Participation.round_id == rnd.id).order_by(Authority.name)).all()
    made = 0
    for authority in authorities:
        people: dict[int, dict[str, list[Respondent]]] = defaultdict(lambda: defaultdict(list))
        for r in session.scalars(sa.select(Respondent).where(
                Respondent.round_id == rnd.id, Respondent.authority_id == authority.id,
                Respondent.role.in_(VOICES), Respondent.key_group_id.is_not(None)).order_by(Respondent.id)):
            people[r.key_group_id][r.role.value].append(r)
        cases = []
        for kg_id, roles in sorted(people.items(), key=lambda item: groups[item[0]]):
            for n in range(min([CASES_PER_GROUP] + [len(roles[v.value]) for v in VOICES])):
                case = consortium.get_or_create_case(session, rnd, authority, f"{groups[kg_id].upper()}-{n + 1:02d}",
                                                     kg_id)
                for v in VOICES:
                    roles[v.value][n].case_id = case.id
                cases.append(case)
        session.commit()
        for case in cases:
            voices = case_voices(session, case, researcher)
            levels = {role.value: max((lvl for voice in voices[role] for lvl in voice.levels), default=None)
                      for role in VOICES}
            memos.add_memo(session, researcher, rnd, authority, _case_memo(levels), case=case)
        if cases:
            memos.add_memo(session, researcher, rnd, authority,
                           f"{len(cases)} cases heard in all three voices. Read them beside the staff "
                           "interviews before placing the authority on the continuum.")
        made += len(cases)
    return made
