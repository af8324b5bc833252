"""Counts about a round's surveys: how many links were answered, and the closed answers
that carry no code.

True counts only; the round report's presenters (scoring/findings.py) anonymise
authorities and suppress small counts.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.consortium.models import KeyGroup, Respondent, Round
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork import instruments
from impactmodel.fieldwork.models import Answer, Instrument, InstrumentVersion, Invitation, Response, response_counts

# Closed questions on a scale: the ones whose answers are views rather than facts.
RATED_TYPES = ("scale", "faces")


@dataclass
class Uptake:
    """Survey links of one authority, role and key group (None: links made without one)."""

    authority_id: int
    role: str
    key_group: str | None
    sent: int
    begun: int
    returned: int


def _links_of_key_group(rnd: Round, key_group: str) -> sa.ColumnElement[bool]:
    return Invitation.key_group_id.in_(
        sa.select(KeyGroup.id).where(KeyGroup.round_id == rnd.id, KeyGroup.code == key_group))


def authorities_with_links(session: Session, rnd: Round, key_group: str | None = None) -> list[int]:
    """The ids of the authorities with survey links in the round (of ``key_group``, if given)."""
    query = sa.select(Invitation.authority_id).where(Invitation.round_id == rnd.id).group_by(Invitation.authority_id)
    if key_group:
        query = query.where(_links_of_key_group(rnd, key_group))
    return list(session.scalars(query))


def uptake(session: Session, rnd: Round, key_group: str | None = None,
           authority_ids: list[int] | None = None) -> list[Uptake]:
    """Links made, opened (a respondent began) and sent back, per authority, role and key
    group; of the authorities ``authority_ids`` (None: all).

    A link counts as sent when it was made: links are handed out on paper or by the
    authority, so the app cannot know which reached a family.
    """
    # Counted by the key group's id, then named: grouping a round's links by the code's
    # text would sort them all.
    counts = (sa.select(Invitation.authority_id, Invitation.role, Invitation.key_group_id,
                        sa.func.count().label("sent"), sa.func.count(Invitation.respondent_id).label("begun"),
                        sa.func.count(Invitation.submitted_at).label("returned"))
              .where(Invitation.round_id == rnd.id)
              .group_by(Invitation.authority_id, Invitation.role, Invitation.key_group_id))
    if key_group:
        counts = counts.where(_links_of_key_group(rnd, key_group))
    if authority_ids is not None:
        counts = counts.where(Invitation.authority_id.in_(authority_ids))
    c = counts.subquery()
    q = sa.select(c.c.authority_id, c.c.role, KeyGroup.code, c.c.sent, c.c.begun, c.c.returned).outerjoin(
        KeyGroup, KeyGroup.id == c.c.key_group_id)
    return [Uptake(aid, getattr(role, "value", role), kg, sent, begun, returned)
            for aid, role, kg, sent, begun, returned in session.execute(q)]


@dataclass
class RatedQuestion:
    """A closed survey question whose options carry no code, and how each option was chosen."""

    instrument: str
    role: str
    key: str
    label: str
    options: list[tuple[str, str]]       # (id, label), in the instrument's order
    counts: Counter                      # option id -> respondents who chose it


def rated_questions() -> list[tuple[instruments.InstrumentDef, dict]]:
    """The survey questions on a scale whose options carry no codebook code (so no coding
    counts them): found in the instruments, not listed by hand."""
    out = []
    for inst in instruments.load().values():
        if inst.mode != "survey":
            continue
        for q in inst.questions.values():
            if q["type"] in RATED_TYPES and not any(o.get("code") for o in q.get("options", [])):
                out.append((inst, q))
    return out


def rated_answers(session: Session, rnd: Round, key_group: str | None = None) -> list[RatedQuestion]:
    """How often each option of each rated question was chosen in ``rnd``'s sent surveys."""
    found = rated_questions()
    out = {}
    for inst, q in found:
        out[(inst.key, q["key"])] = RatedQuestion(inst.key, inst.role.value, q["key"], q["label"],
                                                  [(o["id"], o["label"]) for o in q["options"]], Counter())
    if not out:
        return []
    # Counted in the database: a national round has tens of thousands of these answers.
    # JSON has no equality on PostgreSQL, so the value is grouped as its JSON text.
    value = sa.cast(Answer.value, sa.Text)
    query = (sa.select(Instrument.key, Answer.question_key, value, sa.func.count())
             .join(Response, Answer.response_id == Response.id)
             .join(InstrumentVersion, InstrumentVersion.id == Response.instrument_version_id)
             .join(Instrument, Instrument.id == InstrumentVersion.instrument_id)
             .join(Respondent, Respondent.id == Response.respondent_id)
             .where(Respondent.round_id == rnd.id, response_counts(),
                    Instrument.key.in_({i for i, _k in out}), Answer.question_key.in_({k for _i, k in out}),
                    Respondent.role.in_([RespondentRole(q.role) for q in out.values()]))
             .group_by(Instrument.key, Answer.question_key, value))
    if key_group:
        query = query.join(KeyGroup, KeyGroup.id == Respondent.key_group_id).where(KeyGroup.code == key_group)
    for inst_key, question, text, n in session.execute(query):
        rated = out.get((inst_key, question))
        chosen = json.loads(text) if text else None
        if rated is not None and isinstance(chosen, str):
            rated.counts[chosen] += n
    return list(out.values())
