"""Imports keep authority boundaries: a user imports only rows of the authorities they may
see, only an administrator creates rounds and authorities, and repeated rows are stored once."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Authority, Respondent, Round
from impactmodel.interchange import csvio
from tests.conftest import ENGINES


@pytest.fixture
def two_boroughs(session, make_round, make_authority, make_respondent, make_user):
    """Round 'R' with Assigned Borough (the researcher's) and Other Borough, a manager of
    each at level 3, and a researcher assigned only to Assigned Borough."""
    rnd = make_round("R")
    mine = make_authority("Assigned Borough", round=rnd)
    other = make_authority("Other Borough", round=rnd)
    make_respondent(rnd, mine, "manager", reference="m-1", level=3)
    make_respondent(rnd, other, "manager", reference="m-1", level=3)
    researcher = make_user(Role.RESEARCHER, assigned=[mine])
    return rnd, mine, other, researcher


def upload(client, kind, text, round_choice="R", new_round="", action="import"):
    return client.post("/import", data={"kind": kind, "round_choice": round_choice, "new_round": new_round,
                                        "action": action, "file": (io.BytesIO(text.encode()), "in.csv")},
                       content_type="multipart/form-data")


def state(session):
    """Everything an import could change."""
    session.expire_all()
    return (sorted(session.execute(sa.select(Respondent.authority_id, Respondent.reference,
                                             Respondent.impact_level)).all()),
            sorted(session.execute(sa.select(Coding.respondent_id, Coding.code_id)).all()),
            sorted(session.scalars(sa.select(Authority.name))),
            sorted(session.scalars(sa.select(Round.name))))


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
@pytest.mark.parametrize("kind,text", [
    ("levels", "authority,respondent,role,level\nAssigned Borough,m-1,manager,2\n"
               "Other Borough,m-1,manager,1\n"),
    ("coded", "authority,respondent,role,code\nAssigned Borough,m-1,manager,L1.tools\n"
              "Other Borough,m-1,manager,L1.tools\n"),
])
def test_rows_of_an_authority_not_assigned_are_refused_with_their_line(client, auth, session, two_boroughs,
                                                                       kind, text):
    *_, researcher = two_boroughs
    auth.login(researcher)
    before = state(session)
    for action in ("check", "import"):
        response = upload(client, kind, text, action=action)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "Nothing was imported: 1 problem" in page
        assert ("<td>3</td><td>authority</td><td>you are not assigned to &#39;Other Borough&#39;; "
                "you can import rows of Assigned Borough</td>") in page
    assert state(session) == before   # not even the row of the assigned authority


def test_a_refused_row_says_nothing_about_the_other_authoritys_respondents(client, auth, session,
                                                                          two_boroughs):
    *_, researcher = two_boroughs
    auth.login(researcher)
    # Other Borough's m-1 is a manager: a clash would say so, were the row checked further.
    page = upload(client, "coded", "authority,respondent,role,code\nOther Borough,m-1,dcs,L1.tools\n") \
        .get_data(as_text=True)
    assert "you are not assigned to &#39;Other Borough&#39;" in page
    problems = page.split("problems-title")[1].split("</table>")[0]
    assert "already recorded" not in problems and "manager" not in problems


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_researcher_cannot_create_a_round_or_an_authority(client, auth, session, two_boroughs):
    *_, researcher = two_boroughs
    auth.login(researcher)
    before = state(session)
    form = client.get("/import").get_data(as_text=True)
    assert "A new round…" not in form and "Only an administrator creates rounds and authorities" in form
    text = "authority,respondent,role,level\nAssigned Borough,m-2,manager,2\nNew Borough,m-1,manager,2\n"
    response = upload(client, "levels", text, round_choice="__new__", new_round="Round 9")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "there is no round &#39;Round 9&#39;, and only an administrator can create a round" in page
    assert ("<td>3</td><td>authority</td><td>there is no authority &#39;New Borough&#39;, and only an "
            "administrator can add one; you can import rows of Assigned Borough</td>") in page
    assert state(session) == before


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_researcher_imports_into_their_authority(client, auth, session, two_boroughs):
    rnd, mine, other, researcher = two_boroughs
    auth.login(researcher)
    text = ("authority,respondent,role,level\nAssigned Borough,m-1,manager,2\n"
            "Assigned Borough,p-1,practitioner,1.5\n")
    response = upload(client, "levels", text)
    assert response.status_code == 302
    session.expire_all()
    levels = dict(session.execute(sa.select(Respondent.authority_id, Respondent.impact_level)
                                  .where(Respondent.reference == "m-1")).all())
    assert levels == {mine.id: 2.0, other.id: 3.0}


def test_an_administrators_web_import_creates_rounds_and_authorities(client, auth, session, two_boroughs):
    auth.login(Role.ADMIN)
    assert "A new round…" in client.get("/import").get_data(as_text=True)
    text = "authority,respondent,role,level\nOther Borough,m-1,manager,2\nNew Borough,m-1,manager,2\n"
    assert upload(client, "levels", text, round_choice="__new__", new_round="Round 9").status_code == 302
    assert "New Borough" in state(session)[2] and "Round 9" in state(session)[3]


def test_a_round_not_in_the_list_is_refused(client, auth, session, two_boroughs):
    auth.login(Role.ADMIN)
    response = upload(client, "levels", "authority,respondent,role,level\nOther Borough,m-1,manager,2\n",
                      round_choice="Invented round")
    assert response.status_code == 422 and "Choose a round from the list." in response.get_data(as_text=True)
    assert "Invented round" not in state(session)[3]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_service_itself_keeps_the_boundary(app, session, two_boroughs):
    """Not only the page: the import functions refuse for the user they act for."""
    rnd, mine, other, researcher = two_boroughs
    before = state(session)
    with app.app_context():
        with pytest.raises(csvio.ImportRejected) as refused:
            csvio.import_levels(session, io.StringIO("authority,respondent,role,level\n"
                                                     "Other Borough,m-1,manager,1\n"), "R", actor=researcher)
    assert [str(p) for p in refused.value.problems] == [
        "line 2, column 'authority': you are not assigned to 'Other Borough'; "
        "you can import rows of Assigned Borough"]
    assert state(session) == before


def test_a_user_without_import_rights_imports_nothing(app, session, two_boroughs, make_user):
    rnd, mine, *_ = two_boroughs
    contact = make_user(Role.AUTHORITY_CONTACT, authority=mine)
    before = state(session)
    with app.app_context(), pytest.raises(csvio.ImportRejected, match="your role may not import data"):
        csvio.import_levels(session, io.StringIO("authority,respondent,role,level\n"
                                                 "Assigned Borough,m-1,manager,1\n"), "R", actor=contact)
    assert state(session) == before


def test_a_researcher_with_no_authority_is_told_so(client, auth, session, two_boroughs):
    auth.login(Role.RESEARCHER)
    page = upload(client, "levels", "authority,respondent,role,level\nAssigned Borough,m-1,manager,1\n") \
        .get_data(as_text=True)
    assert "you are not assigned to &#39;Assigned Borough&#39;; you are not assigned to any authority" in page


# --- Duplicate rows -------------------------------------------------------------------

CODED = """authority,respondent,role,code,valence,key_group,excerpt,coder
Northshire,dcs-1,dcs,F.locality_working,positive,,"Locality teams",rk
Northshire,dcs-1,dcs,L1.tools,,,,rk
Northshire,dcs-1,dcs,F.locality_working,positive,,"Locality teams",rk
Northshire,dcs-1,dcs,L1.tools,positive,,,rk
Northshire,dcs-1,dcs,L1.tools,,,,jb
"""


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_repeated_coding_rows_are_named_and_kept_one_coding_per_row(runner, session, tmp_path):
    # An export writes one row per coding, and one person's two closed answers can carry
    # the same code: repeated rows are each a coding, so the round trip keeps them; the
    # import names them so a mistaken repeat can be removed.
    path = tmp_path / "coded.csv"
    path.write_text(CODED, encoding="utf-8")
    check = runner.invoke(args=["import", "coded", str(path), "--round", "R", "--check"])
    assert check.exit_code == 0, check.output
    assert "would import 5 rows" in check.output
    assert ("2 rows repeat an earlier row exactly (line 4 repeats line 2, line 5 repeats line 3): "
            "would each be stored as a coding of its own") in check.output
    result = runner.invoke(args=["import", "coded", str(path), "--round", "R"])
    assert result.exit_code == 0, result.output
    # L1.tools with no valence is its default, positive: the same coding as line 3.
    assert "Imported 5 rows" in result.output
    assert "(line 4 repeats line 2, line 5 repeats line 3): each was stored as a coding of its own" \
        in result.output
    codings = sorted(session.execute(sa.select(Coding.code_id, Coding.coder)).all())
    assert codings == [("F.locality_working", "rk"), ("F.locality_working", "rk"), ("L1.tools", "jb"),
                       ("L1.tools", "rk"), ("L1.tools", "rk")]
    # The same file again would double every coding: refused, naming the lines.
    again = runner.invoke(args=["import", "coded", str(path), "--round", "R"])
    assert again.exit_code != 0 and "was this file imported before?" in again.output


def test_duplicate_level_rows_are_reported_on_the_page(client, auth, session, two_boroughs):
    auth.login(Role.ADMIN)
    text = ("authority,respondent,role,level\nOther Borough,m-1,manager,2\nOther Borough,p-1,practitioner,1\n"
            "Other Borough,m-1,manager,2\n")
    response = upload(client, "levels", text)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 2 rows" in page
    assert "1 row repeats an earlier row exactly (line 4 repeats line 2): was left out, so nothing is stored twice." in page


def test_many_duplicates_are_counted_and_the_first_named(runner, session, tmp_path):
    path = tmp_path / "levels.csv"
    path.write_text("authority,respondent,role,level\n" + "Northshire,m-1,manager,2\n" * 13, encoding="utf-8")
    result = runner.invoke(args=["import", "levels", str(path), "--round", "R"])
    assert result.exit_code == 0, result.output
    assert "12 rows repeat an earlier row exactly" in result.output and "were left out" in result.output
    assert "(line 3 repeats line 2, line 4 repeats line 2" in result.output
    assert "line 12 repeats line 2 and 2 more):" in result.output


def test_a_researcher_with_no_round_to_import_into_is_told_who_creates_one(client, auth):
    auth.login(Role.RESEARCHER)
    page = client.get("/import").get_data(as_text=True)
    assert "There is no round yet: an administrator creates rounds." in page
