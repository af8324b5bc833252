"""Cases: a child's support seen through the practitioner, the parent and the child.

Reads for the case list of an authority and the case view; pages check who may see
the authority before calling these.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.analysis.models import AuthorityMemo
from impactmodel.analysis.scope import not_blind
from impactmodel.auth.models import User
from impactmodel.codebook.models import Code, Coding
from impactmodel.coding.queries import question_text
from impactmodel.consortium.models import Case, KeyGroup, Respondent
from impactmodel.enums import RespondentRole, Valence
from impactmodel.fieldwork.models import Answer, InstrumentVersion, Response, response_counts

# The three voices a case is seen through, in the order the page shows them.
VOICES = (RespondentRole.PRACTITIONER, RespondentRole.PARENT, RespondentRole.CHILD)


@dataclass
class CaseRow:
    case: Case
    key_group: str | None
    voices: dict[RespondentRole, int]
    codings: int
    memos: int

    @property
    def all_voices(self) -> bool:
        return all(self.voices.get(v) for v in VOICES)


def authority_cases(session: Session, round_id: int, authority_id: int) -> list[CaseRow]:
    """The authority's cases in the round, with who has spoken in each, their agreed
    codings and the memos on them."""
    cases = list(session.scalars(sa.select(Case).where(Case.round_id == round_id,
                                                       Case.authority_id == authority_id)
                                 .order_by(Case.reference)))
    ids = sa.select(Case.id).where(Case.round_id == round_id, Case.authority_id == authority_id)
    voices: dict[int, dict[RespondentRole, int]] = defaultdict(dict)
    for case_id, role, n in session.execute(
            sa.select(Respondent.case_id, Respondent.role, sa.func.count())
            .where(Respondent.case_id.in_(ids)).group_by(Respondent.case_id, Respondent.role)):
        voices[case_id][role] = n
    codings = dict(session.execute(
        sa.select(Respondent.case_id, sa.func.count(Coding.id)).join(Coding, Coding.respondent_id == Respondent.id)
        .where(Respondent.case_id.in_(ids), Coding.agreed.is_(True)).group_by(Respondent.case_id)).all())
    memos = dict(session.execute(
        sa.select(AuthorityMemo.case_id, sa.func.count()).where(AuthorityMemo.case_id.in_(ids))
        .group_by(AuthorityMemo.case_id)).all())
    groups = dict(session.execute(sa.select(KeyGroup.id, KeyGroup.code).where(KeyGroup.round_id == round_id)).all())
    return [CaseRow(c, groups.get(c.key_group_id), voices.get(c.id, {}), codings.get(c.id, 0), memos.get(c.id, 0))
            for c in cases]


@dataclass
class CodingLine:
    code_id: str
    label: str
    level: int | None
    valence: Valence
    excerpt: str | None


@dataclass
class AnswerLine:
    question: str
    text: str | None
    value: Any
    codings: list[CodingLine] = field(default_factory=list)


@dataclass
class Voice:
    """One respondent of a case: what they said and what it was coded."""

    respondent: Respondent
    answers: list[AnswerLine] = field(default_factory=list)
    imported: list[CodingLine] = field(default_factory=list)   # codings without an answer (CSV imports)

    @property
    def levels(self) -> list[int]:
        """The levels of impact their positive codings reach (1-4), lowest first."""
        lines = self.imported + [c for a in self.answers for c in a.codings]
        return sorted({c.level for c in lines if c.level is not None and c.valence is Valence.POSITIVE})


def case_voices(session: Session, case: Case, viewer: User) -> dict[RespondentRole, list[Voice]]:
    """Every respondent of the case by role (the three voices first), with their answers
    (surveys once sent) and agreed codings; answers ``viewer`` still has to code blind
    show without codings."""
    respondents = list(session.scalars(sa.select(Respondent).where(Respondent.case_id == case.id)
                                       .order_by(Respondent.reference)))
    voices = {r.id: Voice(r) for r in respondents}
    ids = sa.select(Respondent.id).where(Respondent.case_id == case.id)
    answers: dict[int, AnswerLine] = {}
    for answer, respondent_id, definition in session.execute(
            sa.select(Answer, Response.respondent_id, InstrumentVersion.definition)
            .join(Response, Answer.response_id == Response.id)
            .join(InstrumentVersion, Response.instrument_version_id == InstrumentVersion.id)
            .where(Response.respondent_id.in_(ids), response_counts())
            .order_by(Response.id, Answer.id)):
        if not (answer.text or "").strip() and answer.value in (None, "", []):
            continue
        line = AnswerLine(question_text(definition, answer.question_key), answer.text, answer.value)
        answers[answer.id] = line
        voices[respondent_id].answers.append(line)
    for respondent_id, answer_id, code_id, label, level, valence, excerpt in session.execute(
            sa.select(Coding.respondent_id, Coding.answer_id, Coding.code_id, Code.label, Code.level,
                      Coding.valence, Coding.excerpt)
            .join(Code, Coding.code_id == Code.id)
            .where(Coding.respondent_id.in_(ids), Coding.agreed.is_(True), not_blind(viewer, Coding.answer_id))
            .order_by(Coding.id)):
        line = CodingLine(code_id, label, level, valence, excerpt)
        if answer_id is None:
            voices[respondent_id].imported.append(line)
        elif answer_id in answers:
            answers[answer_id].codings.append(line)
    by_role: dict[RespondentRole, list[Voice]] = {role: [] for role in VOICES}
    for r in respondents:
        by_role.setdefault(r.role, []).append(voices[r.id])
    return by_role
