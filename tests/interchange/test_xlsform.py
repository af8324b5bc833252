"""Instruments as XLSForms: every instrument converts with pyxform (and passes ODK Validate)."""
from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from impactmodel.fieldwork import instruments
from impactmodel.fieldwork.questions import QUESTION_TYPES
from impactmodel.interchange.xlsform import XLSFormError, build_form, choice_name, write_xlsform

KEYS = sorted(instruments.load())

# One question of every registered type, with the awkward parts: a label a spreadsheet would
# run as a formula, a codebook option, "something else", an exclusive option and a maximum.
EVERY_TYPE = """
key: every_type
title: Every type
role: practitioner
mode: interview
sections:
  - key: all
    title: All types
    questions:
      - {key: short, type: text, label: "=HYPERLINK(\\"http://evil.example\\")", required: true}
      - {key: long, type: long_text, label: Long}
      - key: one
        type: single_choice
        label: One
        options: [{id: a, label: A, code: L1.tools}]
        other: true
      - key: many
        type: multi_choice
        label: Many
        max: 2
        options: [{id: none, label: None, exclusive: true}, {id: b, label: B, code: L3.cyp.safer}]
      - {key: scale, type: scale, label: Scale, options: [{id: hi, label: High}, {id: lo, label: Low}]}
      - {key: faces, type: faces, label: Faces, options: [{id: ok, label: OK, face: ok}]}
      - {key: level, type: level, label: Level}
      - key: ratings
        type: feature_ratings
        label: Ratings
        features_from: steering_group
        ratings: [{id: key, label: Key, valence: positive}, {id: dk, label: Don't know}]
      - key: evidence
        type: evidence
        label: Evidence
        options:
          - {id: early_days, label: Early}
          - {id: not_ascribed, label: Not ascribed}
          - {id: ascribed, label: Ascribed}
          - {id: no_response, label: No response}
"""


def sheet(path, name):
    rows = list(load_workbook(path)[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


@pytest.mark.parametrize("key", KEYS)
def test_every_instrument_exports_an_xlsform_that_pyxform_converts(runner, tmp_path, key):
    out = tmp_path / f"{key}.xlsx"
    result = runner.invoke(args=["export", "xlsform", "--instrument", key, "--out", str(out)])
    assert result.exit_code == 0, result.output
    warnings: list[str] = []
    xform = convert(str(out), warnings=warnings).xform
    assert warnings == []
    inst = instruments.load()[key]
    assert f'<data id="{key}" version="{inst.checksum[:12]}"' in xform
    assert f"calculate=\"'{inst.checksum}'\"" in xform
    settings = sheet(out, "settings")[0]
    assert (settings["form_id"], settings["form_title"]) == (key, inst.title)
    # Every option that carries a code names it in its choice, dots written as "__".
    choices = {(c["list_name"], c["name"]) for c in sheet(out, "choices")}
    coded = [(q["key"], o["id"]) for q in inst.questions.values() for o in q.get("options", [])]
    assert coded and all((k, o.replace(".", "__")) in choices for k, o in coded)
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) for _, name in choices)
    survey = {r["name"]: r for r in sheet(out, "survey")}
    assert survey["authority"]["type"] == "text" and survey["respondent"]["type"] == "text"
    assert survey["role"]["type"] == "select_one role" and survey["role"]["default"] == inst.role.value


def test_every_question_type_has_an_xlsform_form(tmp_path):
    inst = instruments.parse_instrument(EVERY_TYPE)
    assert {q["type"] for q in inst.questions.values()} == set(QUESTION_TYPES)
    form = build_form(inst)
    types = {r["name"]: r["type"] for r in form.survey if "name" in r}
    assert types["short"] == "text" and types["long"] == "text"
    assert types["one"] == "select_one one" and types["one__other"] == "text"
    assert types["many"] == "select_multiple many"
    assert (types["scale"], types["faces"], types["level"]) == \
        ("select_one scale", "select_one faces", "select_one level")
    assert types["ratings"] == "begin group" and types["F__multi_agency_working"] == "select_one ratings"
    assert types["evidence"] == "select_one evidence" and types["evidence__other"] == "text"
    many = next(r for r in form.survey if r["name"] == "many")
    assert many["constraint"] == ("not(selected(., 'none') and count-selected(.) > 1) and "
                                  "count-selected(.) <= 2")
    out = tmp_path / "every.xlsx"
    out.write_bytes(write_xlsform(inst))
    warnings: list[str] = []
    convert(str(out), warnings=warnings)
    assert warnings == []
    # The label is text in the workbook, not a formula.
    cell = next(c for c in load_workbook(out)["survey"]["C"] if str(c.value).startswith("=HYPER"))
    assert cell.data_type == "s"


def test_option_ids_that_would_share_a_choice_name_are_refused():
    inst = instruments.parse_instrument(EVERY_TYPE.replace(
        "options: [{id: a, label: A, code: L1.tools}]",
        "options: [{id: a.b, label: A}, {id: a__b, label: B}]"))
    with pytest.raises(XLSFormError, match="question 'one': options 'a.b' and 'a__b' have the same "
                                           "choice name 'a__b'"):
        build_form(inst)


def test_choice_names_are_xml_names():
    assert choice_name("L3.cyp.confidence") == "L3__cyp__confidence"
    with pytest.raises(XLSFormError, match="cannot be an XLSForm name"):
        build_form(instruments.parse_instrument(EVERY_TYPE.replace("id: hi", "id: 'very high'")))


def test_unknown_instrument_is_named(runner, tmp_path):
    result = runner.invoke(args=["export", "xlsform", "--instrument", "nope", "--out",
                                 str(tmp_path / "x.xlsx")])
    assert result.exit_code == 1
    assert "there is no instrument 'nope'; the instruments are child_survey, dcs_interview" in result.output


@pytest.mark.slow
def test_every_instrument_passes_odk_validate(tmp_path):
    """ODK Validate (shipped with pyxform, run on Java) checks the XForm as ODK Collect would."""
    for key, inst in instruments.load().items():
        out = tmp_path / f"{key}.xlsx"
        out.write_bytes(write_xlsform(inst))
        warnings: list[str] = []
        convert(str(out), warnings=warnings, validate=True)
        assert warnings == [], key
