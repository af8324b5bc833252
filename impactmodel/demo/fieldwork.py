"""Load a generated round as fieldwork: interviews, survey links, coding, double coding.

This is the path real data takes in the app: researchers interview staff (answers
saved through the fieldwork services), parents and children answer from their links,
researchers code the open answers by span, and a share is double coded and reconciled.
"""
from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from impactmodel.auth.models import User
from impactmodel.coding import services as coding
from impactmodel.coding.models import DoubleCoding
from impactmodel.demo.generate import AuthorityRound, Said
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork import interviews, responses, surveys
from impactmodel.fieldwork import invitations as survey_links
from impactmodel.fieldwork.models import Answer

OUTCOME_QUESTION = {"lac": "outcomes_lac", "asd": "outcomes_asd", "ks3_absence": "outcomes_ks3", None: "outcomes_lac"}
DEFINITIONS = [
    "It is about everyone working around the child rather than the child going round the services.",
    "People mean different things by it here; for me it is joint working and sharing information.",
    "Honestly there is not a shared definition yet, though people know the direction we are going in.",
]
SHARED = ["not_yet", "partly", "shared"]
# Share of interviews per authority left for researchers to code in the coding queue.
UNCODED_SHARE = 0.15


def _question(person: Said, code: str, valence: str) -> str:
    if code.startswith("L1."):
        return "l1_changes"
    if code.startswith("L2."):
        return "l2_changes"
    if code.startswith("L3."):
        return OUTCOME_QUESTION[person.key_group]
    if code.startswith("L4."):
        return "embedding"
    if valence == "to_develop":
        return "to_develop_open"
    return "features_open" if person.role == "practitioner" else "features_why"


def _answers(person: Said, maturity: float, evidence: str) -> tuple[list[dict], dict[str, list]]:
    """The interview's answers, and for each question the (code, valence, start, end) spans."""
    texts: dict[str, str] = {}
    spans: dict[str, list] = {}
    for code, valence, sentence in person.codings:
        key = _question(person, code, valence)
        if sentence in texts.get(key, ""):
            continue
        start = len(texts[key]) + 1 if key in texts else 0
        texts[key] = f"{texts[key]} {sentence}" if key in texts else sentence
        spans.setdefault(key, []).append((code, valence, start, start + len(sentence)))
    step = min(2, int(maturity * 3))
    items = [{"key": "definition", "text": DEFINITIONS[2 - step]},
             {"key": "shared_understanding", "value": SHARED[step]},
             {"key": "impact_level", "value": person.level}]
    if person.role == "dcs":
        items.append({"key": "evidence", "value": evidence})
    items += [{"key": key, "text": text} for key, text in texts.items()]
    return items, spans


def load_interviews(session, researcher: User, round_name: str, ar: AuthorityRound, evidence: str,
                    rng: np.random.Generator) -> int:
    """Interview the authority's staff and code their answers. Returns codings made."""
    staff = [p for p in ar.respondents if RespondentRole(p.role).is_staff]
    uncoded = set(rng.choice(len(staff), size=int(round(UNCODED_SHARE * len(staff))), replace=False))
    made = 0
    for i, person in enumerate(staff):
        response = interviews.start_interview(session, researcher, round=round_name, authority=ar.name,
                                              role=person.role, key_group=person.key_group,
                                              reference=person.reference)
        items, spans = _answers(person, ar.maturity, evidence)
        responses.save_answers(session, researcher, response, items)
        responses.complete_response(session, researcher, response)
        if i in uncoded:
            continue
        answers = responses.answers_of(session, response)
        for key, coded in spans.items():
            for code, valence, start, end in coded:
                coding.add_coding(session, researcher, answers[key].id, code, valence, start, end)
                made += 1
    return made


def load_surveys(session, researcher: User, round_name: str, ar: AuthorityRound) -> int:
    """Parents and children answer from their links; two links per role stay unanswered."""
    people = {"parent": [], "child": []}
    for person in ar.respondents:
        if person.role in people:
            people[person.role].append(person)
    submitted = 0
    for role, persons in people.items():
        questions = responses.instrument_for_role(role).questions
        difference = {o["id"] for o in questions["child_difference"]["options"]}
        invitations = survey_links.create_invitations(session, researcher, round=round_name,
                                                      authority=ar.name, role=role, count=len(persons) + 2,
                                                      key_group=persons[0].key_group)
        for invitation, person in zip(invitations, persons):
            codes = [c for c, _v, _s in person.codings]
            answers = {"child_difference": {"value": [c for c in codes if c in difference]}}
            if role == "parent":
                family = [opt for opt, code in (("less_worried", "L3.family"),
                                                ("know_where_to_go", "L3.parent_views")) if code in codes]
                answers |= {"support_helpful": {"value": "very" if len(codes) > 3 else "quite"},
                            "joined_up": {"value": "together" if "L3.parent_views" in codes else "partly"},
                            "family_difference": {"value": family or ["no_difference"]},
                            "better": {"value": [c for c in codes if c.startswith("S.")]}}
                said = [s for c, _v, s in person.codings if c.startswith("S.")]
                if said:
                    answers["better_more"] = {"text": said[0]}
            else:
                # How children feel about their help, and whether they are listened to, vary
                # with how much difference they said it made.
                answers |= {"help_feel": {"value": ("ok", "happy", "very_happy")[min(len(codes), 3) - 1]},
                            "listened": {"value": ("sometimes", "mostly", "always")[len(codes) % 3]},
                            "anything_else": {"text": " ".join(s for _c, _v, s in person.codings[:2])}}
            surveys.submit_survey(session, invitation, answers)
            submitted += 1
    return submitted


def double_code(session, admin: User, first: User, second: User, round_id: int, seed: int) -> int:
    """A fifth of the coded answers go to a blind second coder, who has done three in four
    of them (the rest wait in their queue); half of those done are reconciled."""
    rng = np.random.default_rng(seed)
    drawn = coding.draw_double_sample(session, admin, round_id, second.id, share=0.2, seed=seed)
    for n, row in enumerate(drawn):
        if n % 4 == 3:
            continue  # still waiting for the second coder
        answer = session.get(Answer, row.answer_id)
        ctx = coding.answer_context(session, admin, answer.id)
        firsts = [c for c in coding.visible_codings(session, ctx, admin) if c.coder_id == first.id]
        applied = 0
        for c in firsts:
            if rng.random() < 0.12:
                continue  # the second coder misses it
            code = c.code_id
            if rng.random() < 0.06 and c.code.group.startswith("L"):
                code = "L2.dialogue" if code != "L2.dialogue" else "L2.relationships"
            try:
                coding.add_coding(session, second, answer.id, code, c.valence.value, c.start, c.end)
                applied += 1
            except coding.CodingError:
                pass  # an alternative code that is not allowed at that valence
        # Having missed every code, the second coder confirms that none applies.
        coding.finish_second_coding(session, second, answer.id, no_code_applies=not applied)
        if n % 2 == 0:
            firsts_pairs = {(c.code_id, c.valence.value) for c in firsts}
            coding.reconcile(session, admin, answer.id, firsts_pairs)
    return session.scalar(sa.select(sa.func.count()).select_from(DoubleCoding)
                          .where(DoubleCoding.round_id == round_id))
