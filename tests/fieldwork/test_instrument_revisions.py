"""The instruments as revised against the method: new questions under new keys, existing keys
with their meaning, parents' options in plain directional words, and the new answers coded."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel import codebook as codebook_mod
from impactmodel.coding import services as coding
from impactmodel.codebook.models import Coding
from impactmodel.db import db
from impactmodel.fieldwork import interviews, invitations, responses, surveys
from impactmodel.fieldwork.instruments import load_instruments
from impactmodel.fieldwork.questions import question_type

# What answers already stored mean: each question's type and each option's id with its code.
# A revision may reword labels and add options, never change these.
KEPT = {
    "parent_survey": {
        "support_received": ("multi_choice", {"school": None, "social_worker": None, "ewo": None,
                                              "camhs": None, "autism_team": None, "health": None,
                                              "family_support": None, "youth_service": None,
                                              "carer_support": None}),
        "support_helpful": ("scale", {"very": None, "quite": None, "little": None, "not": None,
                                      "rather_not": None}),
        "child_difference": ("multi_choice", {"no_difference": None, **{
            c: c for c in ("L3.cyp.confidence", "L3.cyp.schoolwork", "L3.cyp.safer", "L3.cyp.happier",
                           "L3.cyp.likes_school", "L3.cyp.peers", "L3.cyp.people", "L3.cyp.calmer",
                           "L3.cyp.attendance", "L3.cyp.aspirations", "L3.cyp.behaviour",
                           "L3.cyp.less_angry", "L3.cyp.communication", "L3.cyp.home", "L3.cyp.health")}}),
        "child_difference_more": ("long_text", {}),
        "family_difference": ("multi_choice", {"no_difference": None, "less_worried": "L3.family",
                                               "cope_better": "L3.family", "feel_supported": "L3.family",
                                               "know_where_to_go": "L3.parent_views",
                                               "not_repeating": "L3.parent_views",
                                               "quicker_help": "L3.access", "one_contact": "L3.access"}),
        "family_difference_more": ("long_text", {}),
        "better": ("multi_choice", {c: c for c in ("S.earlier_help", "S.communication", "S.understanding",
                                                   "S.reliability", "S.clear_information", "S.key_worker",
                                                   "S.being_included")}),
        "better_more": ("long_text", {}),
    },
    "child_survey": {
        "help_feel": ("faces", {"very_happy": None, "happy": None, "ok": None, "sad": None, "no_say": None}),
        "child_difference": ("multi_choice", {"no_change": None, **{
            c: c for c in ("L3.cyp.happier", "L3.cyp.safer", "L3.cyp.schoolwork", "L3.cyp.peers",
                           "L3.cyp.confidence", "L3.cyp.calmer", "L3.cyp.likes_school", "L3.cyp.attendance",
                           "L3.cyp.home", "L3.cyp.less_angry", "L3.cyp.behaviour", "L3.cyp.people")}}),
        "who_helps": ("multi_choice", {"teacher": None, "social_worker": None, "carer": None, "doctor": None,
                                       "school_helper": None, "youth_worker": None}),
        "listened": ("faces", {"always": None, "mostly": None, "sometimes": None, "not_really": None,
                               "no_say": None}),
        "anything_else": ("long_text", {}),
    },
}

NEW = {
    "parent_survey": {"joined_up", "joined_up_more", "case_support", "case_integrated", "case_otherwise"},
    "manager_interview": {"frontline_reached", "frontline_how", "universal_targeted", "universal_targeted_more"},
    "practitioner_interview": {"frontline_reached", "frontline_how", "universal_targeted",
                               "universal_targeted_more", "case_support", "case_integrated", "case_otherwise"},
}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield db.session


def test_existing_keys_keep_their_meaning():
    instruments = load_instruments()
    for key, questions in KEPT.items():
        for qkey, (qtype, options) in questions.items():
            q = instruments[key].questions[qkey]
            assert q["type"] == qtype, (key, qkey)
            now = {o["id"]: o.get("code") for o in q.get("options", [])}
            assert {i: now.get(i, "gone") for i in options} == options, (key, qkey)


def test_new_questions_have_new_keys_of_their_own():
    instruments = load_instruments()
    for key, added in NEW.items():
        assert added <= set(instruments[key].questions), key
        assert not added & set(KEPT.get(key, {})), key
    # The case example is open text, for the coding queue like any other answer.
    for key in ("parent_survey", "practitioner_interview"):
        for qkey in ("case_support", "case_integrated", "case_otherwise"):
            assert question_type(instruments[key].questions[qkey]["type"]).open


def test_parents_read_plain_directional_options_never_bare_codebook_labels():
    book = codebook_mod.load()
    parent = load_instruments()["parent_survey"]
    for q in parent.questions.values():
        for o in q.get("options", []):
            if o.get("code"):
                assert o["label"] != book.get(o["code"]).label, (q["key"], o["label"])


def test_children_and_parents_are_offered_the_same_outcomes():
    book = codebook_mod.load()
    every_outcome = {c.id for c in book.by_group("L3.cyp")}
    instruments = load_instruments()
    for key in ("parent_survey", "child_survey"):
        offered = {o.get("code") for o in instruments[key].questions["child_difference"]["options"]}
        assert every_outcome <= offered, key


def test_front_line_and_universal_targeted_answers_are_coded_on_completion(ctx, fw):
    # Practitioners name features unprompted, so their closed answers here carry no feature
    # codes (and the questions come after the unprompted ones); managers' do.
    practitioner = load_instruments()["practitioner_interview"]
    assert practitioner.section_of("frontline_reached") > practitioner.section_of("features_open")
    expected = {"manager": [("F.communication", "to_develop"), ("F.universal_services", "positive")],
                "practitioner": []}
    for role in ("manager", "practitioner"):
        r = interviews.start_interview(ctx, fw.researcher, round=fw.round, authority=fw.authority, role=role)
        responses.save_answers(ctx, fw.researcher, r, [
            {"key": "frontline_reached", "value": "partly"},
            {"key": "universal_targeted", "value": "well"},
            {"key": "frontline_how", "text": "Team briefings, but locality staff hear last."}])
        responses.complete_response(ctx, fw.researcher, r)
        coded = sorted((c.code_id, c.valence.value) for c in ctx.scalars(
            sa.select(Coding).where(Coding.respondent_id == r.respondent_id)))
        assert coded == expected[role], role


def test_a_parents_case_example_and_joined_up_answer_are_coded_like_any_answer(ctx, fw):
    invitation = invitations.create_invitations(ctx, "cli", round=fw.round, authority=fw.authority,
                                             role="parent", count=1)[0]
    words = "The school and the social worker met together with us once a month."
    response = surveys.submit_survey(ctx, invitation, {
        "joined_up": {"value": "together"},
        "case_integrated": {"text": words}})
    coded = [(c.code_id, c.coder) for c in ctx.scalars(
        sa.select(Coding).where(Coding.respondent_id == response.respondent_id))]
    assert coded == [("L3.parent_views", "instrument")]
    answer = responses.answers_of(ctx, response)["case_integrated"]
    coding.add_coding(ctx, fw.researcher, answer.id, "L3.access", None, 0, len(words))
    assert ctx.scalar(sa.select(sa.func.count()).select_from(Coding)
                      .where(Coding.answer_id == answer.id, Coding.code_id == "L3.access")) == 1
