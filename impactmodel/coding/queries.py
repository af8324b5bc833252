"""Queries for the coding workbench: the queue, one answer's context, reliability input.

The one place where ORM rows become plain data for the pages and for
``impactmodel.stats``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.auth.models import Role, User
from impactmodel.coding.models import Coding, DoubleCoding
from impactmodel.consortium.models import Authority, KeyGroup, Participation, Respondent, Round
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.models import Answer, InstrumentVersion, Response

INSTRUMENT_CODER = "instrument"   # closed answers, coded on arrival


def question_text(definition: dict | None, key: str) -> str:
    """The question as asked (its ``label``), found in a stored instrument definition."""
    def walk(node):
        if isinstance(node, dict):
            if node.get("key") == key and isinstance(node.get("label"), str):
                return node["label"]
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            return None
        for child in children:
            found = walk(child)
            if found:
                return found
        return None
    return walk(definition or {}) or key


def visible_authority_ids(session: Session, user: User) -> list[int] | None:
    """Authorities whose answers ``user`` may code; None means every authority."""
    if user.role is Role.ADMIN:
        return None
    if user.role is Role.RESEARCHER:
        return [a.id for a in user.assigned_authorities]
    return []


def _coded_by_people():
    """Answers with at least one coding that a person made."""
    return sa.select(Coding.answer_id).where(Coding.answer_id.is_not(None),
                                             Coding.coder != INSTRUMENT_CODER)


@dataclass
class QueueFilter:
    round_id: int | None = None
    authority_id: int | None = None
    role: str | None = None
    key_group: str | None = None
    question: str | None = None
    status: str = "uncoded"          # uncoded | coded | all

    def args(self) -> dict:
        """As query-string arguments (only those set), to carry between pages."""
        out = {"round": self.round_id, "authority": self.authority_id, "role": self.role,
               "key_group": self.key_group, "question": self.question,
               "status": None if self.status == "uncoded" else self.status}
        return {k: v for k, v in out.items() if v not in (None, "")}


def queue_query(session: Session, user: User, flt: QueueFilter):
    """Open answers (non-empty text) matching ``flt`` that ``user`` may code, in id order."""
    q = (sa.select(Answer.id)
         .join(Response, Answer.response_id == Response.id)
         .join(Respondent, Response.respondent_id == Respondent.id)
         .where(Answer.text.is_not(None), sa.func.length(sa.func.trim(Answer.text)) > 0))
    visible = visible_authority_ids(session, user)
    if visible is not None:
        q = q.where(Respondent.authority_id.in_(visible))
    if flt.round_id:
        q = q.where(Respondent.round_id == flt.round_id)
    if flt.authority_id:
        q = q.where(Respondent.authority_id == flt.authority_id)
    if flt.role:
        q = q.where(Respondent.role == RespondentRole(flt.role))
    if flt.key_group:
        q = q.join(KeyGroup, Respondent.key_group_id == KeyGroup.id).where(KeyGroup.code == flt.key_group)
    if flt.question:
        q = q.where(Answer.question_key == flt.question)
    if flt.status == "uncoded":
        q = q.where(Answer.id.not_in(_coded_by_people()))
    elif flt.status == "coded":
        q = q.where(Answer.id.in_(_coded_by_people()))
    return q.order_by(Answer.id)


def queue_ids(session: Session, user: User, flt: QueueFilter) -> list[int]:
    return list(session.scalars(queue_query(session, user, flt)))


@dataclass
class AnswerRow:
    """An answer as the workbench shows it: no respondent reference, no case."""

    id: int
    text: str
    question_key: str
    question: str
    role: RespondentRole
    authority: Authority
    round: Round
    key_group: str | None
    respondent_id: int
    coded: bool = False
    n_codings: int = 0


def answer_rows(session: Session, ids: list[int]) -> list[AnswerRow]:
    """The rows for ``ids``, in that order."""
    if not ids:
        return []
    rows = session.execute(
        sa.select(Answer, Respondent, InstrumentVersion.definition, KeyGroup.code)
        .join(Response, Answer.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .join(InstrumentVersion, Response.instrument_version_id == InstrumentVersion.id)
        .outerjoin(KeyGroup, Respondent.key_group_id == KeyGroup.id)
        .where(Answer.id.in_(ids))).all()
    counts = dict(session.execute(
        sa.select(Coding.answer_id, sa.func.count()).where(
            Coding.answer_id.in_(ids), Coding.coder != INSTRUMENT_CODER, Coding.agreed.is_(True))
        .group_by(Coding.answer_id)).all())
    coded = set(session.scalars(_coded_by_people().where(Coding.answer_id.in_(ids))))
    by_id = {}
    for answer, resp, definition, kg in rows:
        by_id[answer.id] = AnswerRow(
            id=answer.id, text=answer.text or "", question_key=answer.question_key,
            question=question_text(definition, answer.question_key), role=resp.role,
            authority=resp.authority, round=resp.round, key_group=kg, respondent_id=resp.id,
            coded=answer.id in coded, n_codings=counts.get(answer.id, 0))
    return [by_id[i] for i in ids if i in by_id]


def answer_row(session: Session, answer_id: int) -> AnswerRow | None:
    rows = answer_rows(session, [answer_id])
    return rows[0] if rows else None


def filter_choices(session: Session, user: User, round_id: int | None) -> dict:
    """Rounds, authorities (as the user may name them), key groups and questions to filter by."""
    rounds = session.scalars(sa.select(Round).order_by(Round.created_at.desc(), Round.id.desc())).all()
    visible = visible_authority_ids(session, user)
    aq = sa.select(Authority).order_by(Authority.name)
    if round_id:
        aq = aq.join(Participation, Participation.authority_id == Authority.id).where(
            Participation.round_id == round_id)
    if visible is not None:
        aq = aq.where(Authority.id.in_(visible))
    authorities = [(a.id, user.authority_display_name(a)) for a in session.scalars(aq)]
    kq = sa.select(KeyGroup.code, KeyGroup.label).distinct().order_by(KeyGroup.code)
    if round_id:
        kq = kq.where(KeyGroup.round_id == round_id)
    key_groups = list(dict(session.execute(kq).all()).items())
    # JSON columns cannot be compared on PostgreSQL: find the keys first, then the texts.
    qq = (sa.select(Answer.question_key, Response.instrument_version_id)
          .join(Response, Answer.response_id == Response.id)
          .join(Respondent, Response.respondent_id == Respondent.id)
          .where(Answer.text.is_not(None)).distinct())
    if round_id:
        qq = qq.where(Respondent.round_id == round_id)
    if visible is not None:
        qq = qq.where(Respondent.authority_id.in_(visible))
    pairs = session.execute(qq).all()
    definitions = dict(session.execute(
        sa.select(InstrumentVersion.id, InstrumentVersion.definition)
        .where(InstrumentVersion.id.in_({v for _k, v in pairs}))).all()) if pairs else {}
    questions: dict[str, str] = {}
    for key, version_id in pairs:
        questions.setdefault(key, question_text(definitions.get(version_id), key))
    return {"rounds": rounds, "authorities": authorities, "key_groups": key_groups,
            "questions": sorted(questions.items(), key=lambda kv: kv[1].lower())}


@dataclass
class DoubleCoded:
    """The finished double-coded answers of a round, as plain data for ``impactmodel.stats``.

    ``slots`` are the rater columns: ``"first"`` (whoever coded the answer first) and
    ``"second"`` (its blind second coder; ``"second 2"``... when an answer was drawn
    for more than one). ``pairs[slot][answer_id]`` is the set of (code, valence)
    that slot applied; an answer missing from a slot was not coded by it.
    """

    units: list[int] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)
    pairs: dict[str, dict[int, set[tuple[str, str]]]] = field(default_factory=dict)
    coders: dict[str, dict[int, str]] = field(default_factory=dict)   # slot -> answer -> who
    reconciled: set[int] = field(default_factory=set)

    def codes(self, slot: str) -> dict[int, set[str]]:
        """``{answer_id: codes applied}`` for one slot (valence aside)."""
        return {u: {c for c, _v in p} for u, p in self.pairs.get(slot, {}).items()}

    def presence_mapping(self) -> dict[str, dict[int, set[str]]]:
        return {s: self.codes(s) for s in self.slots}


def double_coded(session: Session, round_id: int, *, authority_ids: list[int] | None = None) -> DoubleCoded:
    """Answers of the round whose blind second coding is finished, with every coder's codes."""
    q = (sa.select(DoubleCoding).where(DoubleCoding.round_id == round_id,
                                       DoubleCoding.second_done_at.is_not(None))
         .order_by(DoubleCoding.answer_id, DoubleCoding.id))
    rows = list(session.scalars(q))
    if authority_ids is not None:
        allowed = set(session.scalars(
            sa.select(Answer.id).join(Response, Answer.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .where(Answer.id.in_({r.answer_id for r in rows}),
                   Respondent.authority_id.in_(authority_ids))))
        rows = [r for r in rows if r.answer_id in allowed]
    out = DoubleCoded()
    order: dict[int, list[int]] = {}
    for r in rows:
        order.setdefault(r.answer_id, []).append(r.second_coder_id)
        if r.reconciled_at is not None:
            out.reconciled.add(r.answer_id)
    out.units = sorted(order)
    width = max((len(v) for v in order.values()), default=1)
    out.slots = ["first", "second"] + [f"second {i}" for i in range(2, width + 1)]
    out.pairs = {s: {} for s in out.slots}
    out.coders = {s: {} for s in out.slots}
    names = dict(session.execute(sa.select(User.id, User.name)).all())
    for u in out.units:
        out.pairs["first"][u] = set()
        for i, coder_id in enumerate(order[u]):
            slot = out.slots[i + 1]
            out.pairs[slot][u] = set()
            out.coders[slot][u] = names.get(coder_id, "?")
    codings = session.execute(
        sa.select(Coding.answer_id, Coding.code_id, Coding.valence, Coding.coder_id, Coding.coder)
        .where(Coding.answer_id.in_(out.units), Coding.coder != INSTRUMENT_CODER)).all()
    for answer_id, code_id, valence, coder_id, coder in codings:
        seconds = order[answer_id]
        slot = out.slots[seconds.index(coder_id) + 1] if coder_id in seconds else "first"
        out.pairs[slot][answer_id].add((code_id, valence.value if hasattr(valence, "value") else valence))
        if slot == "first":
            who = names.get(coder_id, coder) if coder_id else coder
            prev = out.coders["first"].get(answer_id)
            out.coders["first"][answer_id] = who if prev in (None, who) else f"{prev}, {who}"
    return out
