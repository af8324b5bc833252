"""KoboToolbox/ODK CSV exports of the app's XLSForms: imported once, all or nothing."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.coding.queries import QueueFilter, queue_query
from impactmodel.consortium.models import Authority, Participation, Respondent, Round
from impactmodel.enums import EvidenceCategory, Valence
from impactmodel.fieldwork import instruments
from impactmodel.fieldwork.models import Answer, Response, ResponseMode, ResponseStatus
from impactmodel.interchange.xlsform import build_form
from tests.conftest import ENGINES

INSTRUMENTS = instruments.load()
SERVICE = ["_id", "_uuid", "_submission_time", "_validation_status", "__version__", "_index"]


def kobo_csv(key: str, submissions: list[dict], *, delimiter: str = ",", separator: str = "/",
             split: bool = True, whole: bool = True, instance_column: str = "meta/instanceID") -> str:
    """A CSV as KoboToolbox exports it ("XML values and headers", groups in headers):
    one column per field, named by its group path; a select_multiple both as one
    space-separated column (``whole``) and as one 0/1 column per choice (``split``).
    Each submission maps a field's path ("support/support_received") to its value,
    and ``uuid`` to the submission's uuid."""
    inst = INSTRUMENTS[key]
    form = build_form(inst)
    meta = {"start": "2026-11-03T10:15:00.000+00:00", "end": "2026-11-03T10:40:00.000+00:00",
            "role": inst.role.value, "consent": "OK", "assent": "OK", "instrument": inst.key,
            "instrument_checksum": inst.checksum}
    header, rows = [], [[] for _ in submissions]
    for f in form.fields:
        path = "/".join(f.path)
        columns = [(separator.join(f.path), None)] if whole or not f.multiple else []
        if f.multiple and split:
            columns += [(f"{separator.join(f.path)}/{c}", c) for c in f.choices]
        for column, choice in columns:
            header.append(column)
            for row, sub in zip(rows, submissions):
                value = sub.get(path, meta.get(path, "") if f.question is None else "")
                row.append(value if choice is None else ("1" if choice in value.split() else "0")
                           if value else "")
    header += [instance_column] + SERVICE
    for i, (row, sub) in enumerate(zip(rows, submissions)):
        row += [f"uuid:{sub['uuid']}", str(100 + i), sub["uuid"], "2026-11-04T09:00:00", "", "vAbc", str(i + 1)]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


PARENT = {"uuid": "8d3c2a1e-0000-4000-8000-000000000001", "authority": "Northshire",
          "respondent": "parent-k1", "key_group": "asd",
          "support/support_received": "school other",
          "support/support_received__other": "The GP, who listened",
          "child/child_difference": "L3__cyp__confidence L3__cyp__safer",
          "child/child_difference_more": "He is more confident at school now",
          "family/family_difference": "less_worried one_contact"}
DCS = {"uuid": "8d3c2a1e-0000-4000-8000-000000000002", "authority": "northshire ",
       "respondent": "dcs-k1",
       "meaning/definition": "Everyone around one table",
       "meaning/shared_understanding": "shared",
       "features/feature_ratings/F__locality_working": "key",
       "features/feature_ratings/F__commissioning": "to_develop",
       "features/feature_ratings/F__funding_models": "some",
       "level/impact_level": "level_2_5",
       "evidence/evidence": "ascribed",
       "evidence/evidence__other": "Exclusions fell by a third"}


def write(tmp_path, text, name="submissions.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def state(session):
    """Everything an import could change."""
    session.expire_all()
    return (sorted(session.execute(sa.select(Respondent.authority_id, Respondent.reference,
                                             Respondent.impact_level)).all()),
            sorted(session.execute(sa.select(Response.respondent_id, Response.external_id)).all()),
            session.scalar(sa.select(sa.func.count()).select_from(Answer)),
            sorted(session.execute(sa.select(Coding.respondent_id, Coding.code_id, Coding.valence)).all()),
            sorted(session.scalars(sa.select(Authority.name))),
            sorted(session.scalars(sa.select(Round.name))))


def imported(runner, path, round_name="Round 1"):
    return runner.invoke(args=["import", "submissions", path, "--round", round_name])


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_kobo_export_imports_once_and_again_adds_nothing(runner, session, tmp_path, make_user):
    path = write(tmp_path, kobo_csv("parent_survey", [PARENT]) + "")
    dcs = write(tmp_path, kobo_csv("dcs_interview", [DCS]), "dcs.csv")
    result = imported(runner, path)
    assert result.exit_code == 0, result.output
    assert ("Imported 1 submission into 'Round 1', with the new round 'Round 1', 1 new authority "
            "(Northshire) and 1 new respondent.") in result.output
    result = imported(runner, dcs)
    assert result.exit_code == 0, result.output
    assert "Imported 1 submission into 'Round 1', with 1 new respondent." in result.output

    rnd = session.scalar(sa.select(Round))
    parent, director = (session.scalar(sa.select(Respondent).where(Respondent.reference == ref))
                        for ref in ("parent-k1", "dcs-k1"))
    assert parent.authority_id == director.authority_id     # "northshire " is Northshire
    assert parent.key_group.code == "asd" and director.impact_level == 2.5
    responses = {r.respondent_id: r for r in session.scalars(sa.select(Response))}
    assert responses[parent.id].external_id == f"uuid:{PARENT['uuid']}"
    assert responses[parent.id].status is ResponseStatus.COMPLETE
    assert responses[parent.id].mode is ResponseMode.ASSISTED and responses[parent.id].consent_by == "self"
    assert responses[director.id].mode is ResponseMode.INTERVIEW
    assert responses[director.id].started_at.isoformat() == "2026-11-03T10:15:00+00:00"
    assert responses[director.id].completed_at.isoformat() == "2026-11-03T10:40:00+00:00"
    answers = {(a.response_id, a.question_key): a for a in session.scalars(sa.select(Answer))}
    received = answers[responses[parent.id].id, "support_received"]
    assert (received.value, received.text) == (["school", "other"], "The GP, who listened")
    ratings = answers[responses[director.id].id, "feature_ratings"].value
    assert ratings == {"F.locality_working": "key", "F.commissioning": "to_develop",
                       "F.funding_models": "some"}

    # Closed answers are coded on arrival, with the codebook ids the choice names carry.
    codings = sorted(session.execute(sa.select(Coding.respondent_id, Coding.code_id, Coding.valence)
                                     .where(Coding.coder == "instrument")).all())
    assert codings == sorted([
        (parent.id, "L3.cyp.confidence", Valence.POSITIVE), (parent.id, "L3.cyp.safer", Valence.POSITIVE),
        (parent.id, "L3.family", Valence.POSITIVE), (parent.id, "L3.access", Valence.POSITIVE),
        (director.id, "P.shared_understanding", Valence.POSITIVE),
        (director.id, "F.locality_working", Valence.POSITIVE),
        (director.id, "F.commissioning", Valence.TO_DEVELOP)])
    evidence = session.scalar(sa.select(Participation.evidence).where(Participation.round_id == rnd.id))
    assert evidence is EvidenceCategory.ASCRIBED
    # Open answers wait in the coding queue.
    queued = set(session.scalars(sa.select(Answer.question_key).where(
        Answer.id.in_(queue_query(session, make_user(Role.ADMIN), QueueFilter(round_id=rnd.id)).order_by(None)))))
    assert queued == {"support_received", "child_difference_more", "definition", "evidence"}

    before = state(session)
    again = imported(runner, path)
    assert again.exit_code == 0, again.output
    assert ("Imported 0 submissions into 'Round 1', with 0 new respondents. 1 submission was "
            "imported before and was left out.") in again.output
    assert state(session) == before


BAD_ROWS = [
    ({"authority": ""}, "line 3, column 'authority': is empty"),
    ({"respondent": ""}, "line 3, column 'respondent': is empty"),
    ({"consent": ""}, "line 3, column 'consent': should be 'OK'"),
    ({"child/child_difference": "L3__cyp__nonsense"},
     "line 3, column 'child/child_difference': 'L3__cyp__nonsense' is not a choice of this question"),
    ({"child/child_difference": "no_difference L3__cyp__safer"},
     "line 3, column 'child/child_difference': You ticked 'No difference yet' and other answers too"),
    ({"key_group": "martians"}, "line 3, column 'key_group': unknown key group 'martians'"),
    ({"role": "child"}, "line 3, column 'role': should be 'parent'"),
    ({"start": "yesterday"}, "line 3, column 'start': 'yesterday' is not a date and time"),
    ({"instrument_checksum": "0" * 64}, "line 3, column 'instrument_checksum': is not a version of an "
                                        "instrument of the app"),
    ({"respondent": "parent-k1"}, "line 3, column 'respondent': respondent 'parent-k1' of Northshire "
                                  "also answered on line 2"),
    ({"uuid": PARENT["uuid"]}, "line 3, column 'meta/instanceID': repeats the submission on line 2"),
    ({"support/support_received": "",
      "child/child_difference": "", "child/child_difference_more": "", "family/family_difference": "",
      "support/support_received__other": ""}, "line 3: answers no question"),
]


@pytest.mark.parametrize("change,message", BAD_ROWS)
def test_one_bad_row_imports_nothing_and_names_row_and_column(runner, session, tmp_path, change, message):
    second = {**PARENT, "uuid": "8d3c2a1e-0000-4000-8000-000000000003", "respondent": "parent-k2", **change}
    before = state(session)
    result = imported(runner, write(tmp_path, kobo_csv("parent_survey", [PARENT, second])))
    assert result.exit_code == 1
    assert "Nothing was imported: 1 problem(s)." in result.output
    assert message in result.output
    assert state(session) == before


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_bad_row_after_good_ones_leaves_the_database_unchanged(runner, session, tmp_path):
    good = imported(runner, write(tmp_path, kobo_csv("parent_survey", [PARENT])))
    assert good.exit_code == 0, good.output
    before = state(session)
    rows = [PARENT, {**PARENT, "uuid": "8d3c2a1e-0000-4000-8000-000000000004", "respondent": "parent-k4"},
            {**PARENT, "uuid": "8d3c2a1e-0000-4000-8000-000000000005", "respondent": "parent-k1"}]
    result = imported(runner, write(tmp_path, kobo_csv("parent_survey", rows)))
    assert result.exit_code == 1
    assert ("line 4, column 'respondent': respondent 'parent-k1' of Northshire already has a response "
            "to 'parent_survey'") in result.output
    assert state(session) == before


@pytest.mark.parametrize("options", [
    {"delimiter": ";"},                                      # Kobo's semicolon-separated CSV
    {"whole": False},                                        # select_multiple as 0/1 columns only
    {"split": False, "separator": "-", "instance_column": "KEY"},   # ODK Central
    {"split": False, "separator": "-", "instance_column": "meta-instanceID"},
])
def test_export_settings_that_are_supported(runner, session, tmp_path, options):
    result = imported(runner, write(tmp_path, kobo_csv("parent_survey", [PARENT], **options)))
    assert result.exit_code == 0, result.output
    value = session.scalar(sa.select(Answer.value).where(Answer.question_key == "child_difference"))
    assert value == ["L3.cyp.confidence", "L3.cyp.safer"]
    assert session.scalar(sa.select(Response.external_id)) == f"uuid:{PARENT['uuid']}"


def test_labels_as_headers_are_refused_with_the_column(runner, session, tmp_path):
    text = kobo_csv("parent_survey", [PARENT]).replace("support/support_received,",
                                                       "Who has been helping your child?,", 1)
    result = imported(runner, write(tmp_path, text))
    assert result.exit_code == 1
    assert "line 1, column 'Who has been helping your child?': is not a field of this form" in result.output


def test_check_only_says_what_would_be_imported(runner, session, tmp_path):
    before = state(session)
    result = runner.invoke(args=["import", "submissions", write(tmp_path, kobo_csv("parent_survey", [PARENT])),
                                 "--round", "Round 1", "--check"])
    assert result.exit_code == 0, result.output
    assert ("All rows are valid: would import 1 submission into 'Round 1', with the new round 'Round 1', "
            "1 new authority (Northshire) and 1 new respondent.") in result.output
    assert state(session)[:4] == before[:4]


def upload(client, text, round_choice="R", action="import"):
    return client.post("/import", data={"kind": "submissions", "round_choice": round_choice,
                                        "new_round": "", "action": action,
                                        "file": (io.BytesIO(text.encode()), "kobo.csv")},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_researcher_uploads_only_rows_of_assigned_authorities(client, auth, session, make_round,
                                                             make_authority, make_user):
    rnd = make_round("R")
    mine = make_authority("Northshire", round=rnd)
    make_authority("Southvale", round=rnd)
    researcher = make_user(Role.RESEARCHER, assigned=[mine])
    auth.login(researcher)
    other = {**PARENT, "uuid": "8d3c2a1e-0000-4000-8000-000000000006", "authority": "Southvale"}
    before = state(session)
    response = upload(client, kobo_csv("parent_survey", [PARENT, other]))
    assert response.status_code == 422
    assert ("<td>3</td><td>authority</td><td>you are not assigned to &#39;Southvale&#39;</td>"
            in response.get_data(as_text=True))
    assert state(session) == before
    response = upload(client, kobo_csv("parent_survey", [PARENT]))
    assert response.status_code == 302
    assert session.scalar(sa.select(Response.external_id)) == f"uuid:{PARENT['uuid']}"
    assert upload(client, kobo_csv("parent_survey", [PARENT])).status_code == 302   # again: nothing new
    assert session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1
