"""The whole response beside the answer being coded: every answer of that respondent,
in the order the instruments asked them, each with the codings the viewer may see."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.auth.models import User
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding
from impactmodel.coding.queries import INSTRUMENT_CODER, question_text
from impactmodel.coding.services import AnswerContext
from impactmodel.fieldwork.models import Answer, InstrumentVersion, Response, response_counts


@dataclass
class ContextAnswer:
    id: int
    question: str
    text: str
    value: object                    # a closed answer's value, shown when there is no text
    current: bool                    # the answer being coded
    segments: list[tuple[str, list[str]]] = field(default_factory=list)   # (text, codes covering it)
    codes: list[tuple[str, str]] = field(default_factory=list)            # (code, valence), in order


def question_order(definition: dict | None) -> list[str]:
    """The question keys of an instrument definition, in the order they are asked."""
    keys: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("key"), str) and "label" in node:
                keys.append(node["key"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)
    walk(definition or {})
    return keys


def segments(text: str, spans: list[tuple[tuple[int, int], str]]) -> list[tuple[str, list[str]]]:
    """``text`` cut at every span boundary, each piece with the codes whose spans cover it."""
    cuts = sorted({0, len(text)} | {s for (s, _e), _c in spans} | {e for (_s, e), _c in spans})
    return [(text[a:b], [code for (s, e), code in spans if s <= a and b <= e]) for a, b in zip(cuts, cuts[1:])]


def whole_response(session: Session, actor: User, ctx: AnswerContext) -> list[ContextAnswer]:
    """Every answer of ``ctx``'s respondent that counts, in the order asked.

    Codings shown are those the viewer sees on the answer itself: agreed codings, or,
    on an answer they code blind, only their own. While the viewer codes the current
    answer blind, they see only their own codings on every answer, so that no other
    coder's reading of this respondent leads theirs.
    """
    rows = session.execute(
        sa.select(Answer, InstrumentVersion.definition)
        .join(Response, Answer.response_id == Response.id)
        .join(InstrumentVersion, Response.instrument_version_id == InstrumentVersion.id)
        .where(Response.respondent_id == ctx.respondent.id, response_counts())
        .order_by(Response.id, Answer.id)).all()
    ids = [a.id for a, _d in rows]
    blind_here = set(session.scalars(sa.select(DoubleCoding.answer_id).where(
        DoubleCoding.answer_id.in_(ids), DoubleCoding.second_coder_id == actor.id,
        DoubleCoding.reconciled_at.is_(None)))) if ids else set()
    codings: dict[int, list[Coding]] = {}
    for c in session.scalars(sa.select(Coding).where(Coding.answer_id.in_(ids), Coding.coder != INSTRUMENT_CODER)
                             .order_by(Coding.start, Coding.id)) if ids else []:
        own_blind = c.coder_id == actor.id and not c.agreed
        if ctx.blind is not None or c.answer_id in blind_here:
            visible = own_blind
        else:
            visible = c.agreed
        if visible:
            codings.setdefault(c.answer_id, []).append(c)
    order = []
    for answer, definition in rows:
        keys = question_order(definition)
        rank = keys.index(answer.question_key) if answer.question_key in keys else len(keys)
        order.append((answer.response_id, rank, answer.id, answer, definition))
    out = []
    for _r, _rank, _id, answer, definition in sorted(order, key=lambda t: t[:3]):
        text = answer.text or ""
        mine = codings.get(answer.id, [])
        spans = [((c.start, c.end), c.code_id) for c in mine
                 if c.start is not None and not c.needs_review and 0 <= c.start < c.end <= len(text)]
        if not text.strip() and answer.value is None:
            continue
        out.append(ContextAnswer(
            id=answer.id, question=question_text(definition, answer.question_key), text=text,
            value=answer.value, current=answer.id == ctx.answer.id, segments=segments(text, spans),
            codes=[(c.code_id, c.valence.value) for c in mine]))
    return out
