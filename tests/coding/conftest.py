"""Answers to code, made directly with the models (no fieldwork code involved)."""
from __future__ import annotations

import itertools

import pytest

from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.models import (Answer, Instrument, InstrumentVersion, Response,
                                          ResponseMode, ResponseStatus)

QUESTIONS = {
    "impact": "What difference has integrated working made for the key group?",
    "features": "Which features of your authority helped, and what is still to develop?",
}
_seq = itertools.count(1)


@pytest.fixture
def make_answer(session, make_respondent):
    """``make_answer(round, authority, text, role=..., question=..., key_group=...)`` -> Answer."""
    versions = {}

    def version_for(role: RespondentRole) -> InstrumentVersion:
        if role not in versions:
            inst = Instrument(key=f"{role.value}_{next(_seq)}", title=f"{role.label} interview", role=role)
            definition = {"key": inst.key, "title": inst.title, "role": role.value, "mode": "interview",
                          "sections": [{"key": "s1", "title": "Impact", "questions": [
                              {"key": k, "type": "text", "label": label} for k, label in QUESTIONS.items()]}]}
            version = InstrumentVersion(instrument=inst, version=1, checksum=f"{next(_seq):064d}",
                                        definition=definition)
            session.add_all([inst, version])
            session.commit()
            versions[role] = version
        return versions[role]

    def make(rnd, authority, text, *, role="practitioner", question="impact", key_group=None,
             respondent=None):
        role = RespondentRole(role)
        resp = respondent or make_respondent(rnd, authority, role, key_group=key_group)
        response = Response(respondent_id=resp.id, instrument_version_id=version_for(role).id,
                            mode=ResponseMode.INTERVIEW, status=ResponseStatus.COMPLETE)
        answer = Answer(question_key=question, text=text)
        response.answers.append(answer)
        session.add(response)
        session.commit()
        return answer
    return make
