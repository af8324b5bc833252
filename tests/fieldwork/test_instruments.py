"""Instruments as data: loading, validation with clear errors, versioning by checksum."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from impactmodel import create_app
from impactmodel.codebook import load as load_codebook
from impactmodel.enums import EvidenceCategory, RespondentRole
from impactmodel.fieldwork import invitations, responses, surveys
from impactmodel.fieldwork.instruments import (INSTRUMENTS_DIR, InstrumentError, load_instruments,
                                               parse_instrument)
from impactmodel.fieldwork.models import Instrument, InstrumentVersion, Response
from impactmodel.fieldwork.questions import QUESTION_TYPES
from tests.conftest import config_for

MINIMAL = """
key: tiny
title: Tiny
role: parent
mode: survey
sections:
  - title: One
    questions:
      - {key: q1, type: text, label: "What?"}
"""


def test_the_five_instruments_load_one_per_role():
    loaded = load_instruments()
    assert sorted(loaded) == ["child_survey", "dcs_interview", "manager_interview", "parent_survey",
                              "practitioner_interview"]
    assert {d.role for d in loaded.values()} == set(RespondentRole)
    assert {d.mode for k, d in loaded.items() if k.endswith("interview")} == {"interview"}
    assert {d.mode for k, d in loaded.items() if k.endswith("survey")} == {"survey"}


def test_staff_schedules_follow_the_report():
    loaded = load_instruments()
    steering = {c.id for c in load_codebook().codes.values() if c.steering_group}
    assert len(steering) == 9
    for key in ("dcs_interview", "manager_interview"):
        ratings = loaded[key].question("feature_ratings")
        assert ratings["type"] == "feature_ratings"
        assert {f["code"] for f in ratings["features"]} == steering
        others = loaded[key].question("features_other")
        assert others["other"] and not {o["code"] for o in others["options"]} & steering
    practitioner = loaded["practitioner_interview"]
    # Practitioners name features unprompted: an open question, no list of features.
    assert practitioner.question("feature_ratings") is None
    assert practitioner.question("features_open")["type"] == "long_text"
    assert not any(o.get("code", "").startswith("F.") for q in practitioner.questions.values()
                   for o in q.get("options", []))
    # The Box 6 evidence question is asked of directors only.
    evidence = loaded["dcs_interview"].question("evidence")
    assert evidence["type"] == "evidence"
    assert {o["id"] for o in evidence["options"]} == {c.value for c in EvidenceCategory}
    assert loaded["manager_interview"].question("evidence") is None
    for d in (loaded[k] for k in ("dcs_interview", "manager_interview", "practitioner_interview")):
        assert d.question("impact_level")["type"] == "level"
        assert d.question("impact_level")["explain"]
        assert all(s.get("title") for s in d.sections)
        assert any(q.get("probes") for q in d.questions.values())


def test_surveys_use_codebook_ids_and_child_words():
    loaded = load_instruments()
    codebook = load_codebook()
    parent = loaded["parent_survey"].question("child_difference")
    cyp = {c.id for c in codebook.by_group("L3.cyp")}
    assert {o["code"] for o in parent["options"] if "code" in o} == cyp
    assert parent["other"] is True
    assert {o["code"] for o in loaded["parent_survey"].question("better")["options"]} == \
        {c.id for c in codebook.by_group("S")}
    child = loaded["child_survey"].question("child_difference")
    for o in child["options"]:
        if "code" in o:
            assert o["label"] == codebook.get(o["code"]).child_label
    assert loaded["child_survey"].question("help_feel")["type"] == "faces"
    assert loaded["child_survey"].question("who_helps")
    assert loaded["child_survey"].question("anything_else")["type"] == "long_text"


def test_question_types_are_a_registry():
    assert {"text", "long_text", "single_choice", "multi_choice", "scale", "faces", "level",
            "feature_ratings", "evidence"} <= set(QUESTION_TYPES)


@pytest.mark.parametrize("text, message", [
    ("key: x\n  title: [unclosed", "bad.yaml is not valid YAML"),
    (MINIMAL.replace("type: text", "type: essay"), "unknown type 'essay'; known types: evidence, faces"),
    (MINIMAL.replace("{key: q1, type: text, label: \"What?\"}",
                     "{key: q1, type: single_choice, label: X, options: [{id: a, label: A, code: L9.nope}]}"),
     "option 'a': unknown code 'L9.nope'"),
    (MINIMAL.replace("{key: q1, type: text, label: \"What?\"}",
                     "{key: q1, type: single_choice, label: X, options: [{id: a, label: A, code: L1.tools, valence: to_develop}]}"),
     "valence 'to_develop' does not apply to L1.tools"),
    (MINIMAL.replace("{key: q1, type: text, label: \"What?\"}",
                     "{key: q1, type: text, label: A}\n      - {key: q1, type: text, label: B}"),
     "key 'q1' is used twice"),
    (MINIMAL.replace("role: parent", "role: governor"), "unknown role 'governor'"),
    (MINIMAL.replace("{key: q1, type: text, label: \"What?\"}", "{key: q1, type: level}"),
     "questions[0] (key 'q1'): needs a label"),
    (MINIMAL.replace("{key: q1, type: text, label: \"What?\"}",
                     "{key: q1, type: faces, label: X, options: [{id: a, label: A}]}"), "needs a face"),
    (MINIMAL.replace("{key: q1, type: text, label: \"What?\"}",
                     "{key: q1, type: evidence, label: X, options: [{id: ascribed, label: A}]}"),
     "exactly the Box 6 categories"),
])
def test_bad_instruments_give_a_clear_error(text, message):
    with pytest.raises(InstrumentError) as err:
        parse_instrument(text, "bad.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("bad.yaml")


def test_a_broken_file_stops_the_app(tmp_path, database_url):
    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS_DIR, folder)
    (folder / "parent_survey.yaml").write_text("key: parent_survey\nsections: [", encoding="utf-8")
    with pytest.raises(InstrumentError, match="parent_survey.yaml is not valid YAML"):
        create_app(config_for(database_url, INSTRUMENTS_DIR=str(folder)))


def test_two_instruments_for_one_role_are_refused(tmp_path):
    shutil.copytree(INSTRUMENTS_DIR, tmp_path / "i")
    (tmp_path / "i" / "extra.yaml").write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(InstrumentError, match="parent_survey.yaml: role 'parent' already has the instrument 'tiny'"):
        load_instruments(tmp_path / "i")


def _edited(original, new_label):
    text = (INSTRUMENTS_DIR / "parent_survey.yaml").read_text(encoding="utf-8")
    text = text.replace("Who has been helping your child?", new_label)
    return {**original, "parent_survey": parse_instrument(text, "parent_survey.yaml")}


def test_versioning_by_checksum(app, session, fw):
    original = load_instruments()
    versions = responses.sync_instruments(session, original)
    session.commit()
    v1 = versions["parent_survey"]
    assert v1.version == 1
    # Unchanged: no new version.
    assert responses.sync_instruments(session, original)["parent_survey"].id == v1.id
    # Edited before anyone answered: the same version now holds the new text.
    first_edit = _edited(original, "Who helps your child?")
    again = responses.sync_instruments(session, first_edit)["parent_survey"]
    session.commit()
    assert (again.id, again.version) == (v1.id, 1)
    assert again.checksum == first_edit["parent_survey"].checksum

    with app.app_context():
        app.extensions["impactmodel.instruments"] = first_edit
        from impactmodel.db import db
        invitation = invitations.create_invitations(db.session, fw.admin, round=fw.round.id,
                                                    authority=fw.authority.id, role="parent", count=2)
        old = surveys.begin_survey(db.session, invitation[0], consent_by="self")
        assert old.instrument_version_id == v1.id
        # Edited after someone answered: a new version; the old response keeps its own.
        second_edit = _edited(original, "Which services help your child?")
        app.extensions["impactmodel.instruments"] = second_edit
        v2 = responses.current_version(db.session, "parent_survey")
        assert v2.version == 2 and v2.id != v1.id
        new = surveys.begin_survey(db.session, invitation[1], consent_by="self")
        assert new.instrument_version_id == v2.id
        db.session.refresh(old)
        assert old.instrument_version_id == v1.id
        assert responses.definition_of(old).question("support_received")["label"] == "Who helps your child?"
        assert responses.definition_of(new).question("support_received")["label"] == \
            "Which services help your child?"
        # The old response's answers still validate against its own version.
        responses.save_answer(db.session, "respondent", old, "support_received", value=["school"])
    assert session.scalar(sa.select(sa.func.count()).select_from(InstrumentVersion).join(Instrument)
                          .where(Instrument.key == "parent_survey")) == 2
    assert session.scalar(sa.select(sa.func.count()).select_from(Response)) == 2
