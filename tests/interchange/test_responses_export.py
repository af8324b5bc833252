"""The raw responses export: command line and web, CSV and XLSX, on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from impactmodel import sheets
from impactmodel.auth.models import Role
from impactmodel.fieldwork import interviews as fieldwork_interviews
from impactmodel.fieldwork import invitations, surveys
from impactmodel.fieldwork import responses as fieldwork_responses
from impactmodel.fieldwork.instruments import parse_instrument
from impactmodel.interchange import responses
from tests.conftest import ENGINES

EVIL = "=HYPERLINK(\"http://evil.example\",\"Click me\")"
WORDS = "-We had to wait.\rThen it got better 😀"


@pytest.fixture
def fieldwork(app, session, make_round, make_authority, make_user):
    """North (the researcher's) and South each sent a parent survey (South's in Welsh);
    North also has one left unsent, and a director's interview."""
    rnd = make_round("Round 1")
    north, south = make_authority(EVIL, round=rnd), make_authority("South", round=rnd)
    researcher = make_user(Role.RESEARCHER, assigned=[north])
    with app.app_context():
        sent, unsent = invitations.create_invitations(session, "cli", round=rnd, authority=north, role="parent",
                                                      count=2, key_group="ks3_absence")
        surveys.submit_survey(session, sent, {
            "support_received": {"value": ["school", "other"], "text": "@grandma"},
            "support_helpful": {"value": "quite"},
            "child_difference_more": {"text": WORDS}})
        surveys.begin_survey(session, unsent, consent_by="self")
        fieldwork_responses.save_answer(session, "cli", surveys.survey_response(session, unsent), "support_helpful",
                                        value="not")
        other = invitations.create_invitations(session, "cli", round=rnd, authority=south, role="parent", count=1)[0]
        surveys.begin_survey(session, other, consent_by="self", language="cy")
        surveys.submit_survey(session, other, {"support_helpful": {"value": "very"}})
        interview = fieldwork_interviews.start_interview(session, "cli", round=rnd, authority=north, role="dcs",
                                                         reference="dcs-1")
        fieldwork_responses.save_answer(session, "cli", interview, "impact_level", value=2.5)
    return rnd, north, south, researcher


def _csv(text: str) -> list[dict]:
    rows = list(sheets.csv_rows(text))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_cli_writes_one_row_per_sent_response_with_a_column_per_option(fieldwork, runner, tmp_path):
    result = runner.invoke(args=["export", "responses", "--round", "Round 1", "--instrument", "parent_survey"])
    assert result.exit_code == 0, result.output
    rows = _csv(result.output)
    assert [r["authority"] for r in rows] == [EVIL, "South"]     # the unsent survey stays in the app
    north = rows[0]
    assert north["role"] == "parent" and north["key_group"] == "ks3_absence" and north["language"] == "en"
    assert north["mode"] == "self" and north["version"] == "1"
    assert datetime.strptime(north["completed_at"], "%Y-%m-%d %H:%M:%S")
    assert (north["support_received__school"], north["support_received__social_worker"],
            north["support_received__other"]) == ("1", "0", "1")
    assert north["support_received__text"] == "@grandma" and north["support_helpful"] == "quite"
    assert north["child_difference_more"] == WORDS
    # A question not answered is empty, not 0.
    assert rows[1]["support_received__school"] == "" and rows[1]["support_helpful"] == "very"
    assert rows[1]["language"] == "cy"
    assert list(rows[0])[:10] == ["respondent", "role", "authority", "key_group", "case", "language", "mode",
                                  "version", "started_at", "completed_at"]
    raw = list(csv.reader(io.StringIO(result.stdout_bytes.decode(), newline="")))
    assert raw[1][2] == "'" + EVIL and raw[1][-1] == ""      # written inert; rows end in CRLF
    assert result.stdout_bytes.endswith(b"\r\n")

    labelled = _csv(runner.invoke(args=["export", "responses", "--round", "Round 1", "--instrument",
                                        "parent_survey", "--labels"]).output)
    assert labelled[0]["support_helpful"] == "Quite helpful"
    assert labelled[0]["support_received__school"].startswith("The school")
    assert labelled[0]["support_received__ewo"] == ""
    assert [r["language"] for r in labelled] == ["English", "Cymraeg"]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_cli_writes_xlsx_with_a_dictionary_and_a_separate_csv_dictionary(fieldwork, runner, tmp_path):
    out, dictionary = tmp_path / "parents.xlsx", tmp_path / "dictionary.csv"
    result = runner.invoke(args=["export", "responses", "--round", "Round 1", "--instrument", "parent_survey",
                                 "--out", str(out), "--dictionary", str(dictionary)])
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["Responses", "Dictionary"]
    ws = wb["Responses"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["respondent", "role", "authority"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    row = dict(zip(header, [c.value for c in ws[2]]))
    assert row["authority"] == EVIL and row["support_received__school"] == 1 and row["version"] == 1
    assert isinstance(row["started_at"], datetime)
    assert row["child_difference_more"] == WORDS.replace("\r", "\n")   # XML reads a CR as LF
    entries = {r[0]: r for r in wb["Dictionary"].iter_rows(values_only=True)}
    assert entries["variable"] == ("variable", "label", "type", "choices")
    assert set(header) == set(entries) - {"variable"}
    assert entries["support_helpful"][2] == "choice" and "quite, Quite helpful" in entries["support_helpful"][3]
    assert entries["support_received__school"][2] == "checkbox"
    assert entries["language"][2:] == ("choice", "en, English | cy, Cymraeg")
    on_disk = list(sheets.csv_rows(dictionary.read_text(encoding="utf-8")))
    assert [tuple(r) for r in on_disk] == [tuple("" if v is None else v for v in e) for e in entries.values()]

    interviews = runner.invoke(args=["export", "responses", "--round", "Round 1", "--instrument", "dcs_interview"])
    (dcs,) = _csv(interviews.output)
    assert dcs["respondent"] == "dcs-1" and dcs["impact_level"] == "2.5" and dcs["completed_at"] == ""
    assert dcs["language"] == "en"


def test_cli_refuses_unknown_round_and_instrument(fieldwork, runner):
    result = runner.invoke(args=["export", "responses", "--round", "Nope", "--instrument", "parent_survey"])
    assert result.exit_code == 1 and "no round called 'Nope'" in result.output
    result = runner.invoke(args=["export", "responses", "--round", "Round 1", "--instrument", "nope"])
    assert result.exit_code == 1 and "no instrument 'nope'" in result.output and "parent_survey" in result.output


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_web_download_holds_only_the_authorities_the_user_may_see(fieldwork, client, auth):
    rnd, north, south, researcher = fieldwork
    auth.login(researcher)
    page = client.get(f"/rounds/{rnd.id}/export/responses")
    assert page.status_code == 200 and "parent_survey.xlsx" in page.get_data(as_text=True)
    csv_response = client.get(f"/rounds/{rnd.id}/export/responses/parent_survey.csv")
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert [r["authority"] for r in _csv(csv_response.get_data(as_text=True))] == [EVIL]
    xlsx = client.get(f"/rounds/{rnd.id}/export/responses/parent_survey.xlsx?labels=1")
    assert 'parent_survey-responses-labels.xlsx"' in xlsx.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(xlsx.data))["Responses"]
    assert ws.max_row == 2 and ws["C2"].value == EVIL and ws["C2"].data_type == "s"
    dictionary = client.get(f"/rounds/{rnd.id}/export/responses/parent_survey/dictionary.csv")
    assert list(sheets.csv_rows(dictionary.get_data(as_text=True)))[0] == ["variable", "label", "type", "choices"]
    assert client.get(f"/rounds/{rnd.id}/export/responses/nope.csv").status_code == 404
    assert client.get(f"/rounds/{rnd.id}/export/responses/parent_survey.pdf").status_code == 404
    auth.logout()
    auth.login(Role.ADMIN)
    assert len(_csv(client.get(f"/rounds/{rnd.id}/export/responses/parent_survey.csv")
                    .get_data(as_text=True))) == 2


V1 = """
key: pulse
title: Pulse
role: parent
mode: survey
sections:
  - title: One
    questions:
      - {key: first, type: text, label: First}
      - {key: dropped, type: single_choice, label: Dropped, options: [{id: a, label: A}]}
      - {key: ticks, type: multi_choice, label: Ticks, options: [{id: x, label: X}, {id: old, label: Old}]}
"""
V2 = """
key: pulse
title: Pulse
role: parent
mode: survey
sections:
  - title: One
    questions:
      - {key: added, type: text, label: Added}
      - {key: first, type: text, label: First again}
      - {key: ticks, type: multi_choice, label: Ticks, options: [{id: y, label: Y}, {id: x, label: X}]}
"""


def test_versions_give_the_union_of_questions_in_definition_order():
    merged = responses.merged_questions([parse_instrument(V1), parse_instrument(V2)])
    assert [q["key"] for q in merged] == ["added", "first", "dropped", "ticks"]
    assert merged[1]["label"] == "First again"
    ticks = [c.variable for c in responses.question_columns(merged[3], labels=False)]
    assert ticks == ["ticks__y", "ticks__x", "ticks__old"]
