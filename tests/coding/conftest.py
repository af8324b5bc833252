"""Answers to code, made directly with the models (no fieldwork code involved)."""
from __future__ import annotations

import itertools

import pytest

from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.instruments import checksum
from impactmodel.fieldwork.models import (Answer, Instrument, InstrumentVersion, Response,
                                          ResponseMode, ResponseStatus)

QUESTIONS = {
    "impact": "What difference has integrated working made for the key group?",
    "features": "Which features of your authority helped, and what is still to develop?",
}
_seq = itertools.count(1)


@pytest.fixture
def make_answer(session, make_respondent):
    """``make_answer(round, authority, text, role=..., question=..., key_group=..., mode=..., status=...)``
    -> Answer (by default from a finished interview)."""
    versions = {}

    def version_for(role: RespondentRole) -> InstrumentVersion:
        if role not in versions:
            inst = Instrument(key=f"{role.value}_{next(_seq)}", title=f"{role.label} interview", role=role)
            definition = {"key": inst.key, "title": inst.title, "role": role.value, "mode": "interview",
                          "sections": [{"key": "s1", "title": "Impact", "questions": [
                              {"key": k, "type": "text", "label": label} for k, label in QUESTIONS.items()]}]}
            version = InstrumentVersion(instrument=inst, version=1, checksum=checksum(definition),
                                        definition=definition)
            session.add_all([inst, version])
            session.commit()
            versions[role] = version
        return versions[role]

    def make(rnd, authority, text, *, role="practitioner", question="impact", key_group=None,
             respondent=None, mode=ResponseMode.INTERVIEW, status=ResponseStatus.COMPLETE):
        role = RespondentRole(role)
        resp = respondent or make_respondent(rnd, authority, role, key_group=key_group)
        response = Response(respondent_id=resp.id, instrument_version_id=version_for(role).id,
                            mode=ResponseMode(mode), status=ResponseStatus(status))
        answer = Answer(question_key=question, text=text)
        response.answers.append(answer)
        session.add(response)
        session.commit()
        return answer
    return make


@pytest.fixture
def double_coded_pair(app, session, make_round, make_authority, make_user, make_answer):
    """One answer coded alike by a first and a blind second coder: ``(round, first coder)``."""
    from impactmodel.auth.models import Role
    from impactmodel.coding import services

    rnd = make_round()
    borough = make_authority(round=rnd)
    a = make_user(Role.RESEARCHER, assigned=[borough])
    b = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, "The panel meets weekly.")
    with app.app_context():
        services.add_coding(session, a, answer.id, "L1.tools", None, 0, 3)
        services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=1)
        services.add_coding(session, b, answer.id, "L1.tools", None, 0, 3)
        services.finish_second_coding(session, b, answer.id)
    return rnd, a
