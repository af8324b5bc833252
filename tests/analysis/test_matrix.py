"""The framework matrix (`impactmodel export matrix` and its web download) and the
retrieval page, from codings imported with `impactmodel import coded`."""
from __future__ import annotations

import io

import openpyxl
import pytest
import sqlalchemy as sa

from impactmodel.analysis import matrix
from impactmodel.analysis.models import AuthorityMemo
from impactmodel.auth.models import Role
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Authority, Respondent
from tests.conftest import ENGINES

ROUND = "Round 7"
CODED = """authority,respondent,role,code,valence,key_group,excerpt,coder
Northshire County Council,p-01,practitioner,L1.tools,positive,lac,We use one assessment form now.,r1
Northshire County Council,c-01,child,L3.cyp.happier,positive,lac,I feel happier at school.,r1
Northshire County Council,m-01,manager,L1.structures,positive,,=SUM(A1:A9) is our referral form,r1
Eastbrook Borough Council,p-01,practitioner,L1.tools,positive,asd,The panel has not met yet.,r1
Eastbrook Borough Council,p-03,practitioner,L4.information,to_develop,asd,Records are not shared yet.,r1
Eastbrook Borough Council,p-02,practitioner,L2.dialogue,positive,asd,,r1
"""


def _import(runner, tmp_path, text=CODED):
    path = tmp_path / "coded.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["import", "coded", str(path), "--round", ROUND])
    assert result.exit_code == 0, result.output


def _sheet(wb, name):
    rows = list(wb[name].iter_rows(values_only=True))
    header = rows[0]
    return header, {row[0]: dict(zip(header, row)) for row in rows[1:]}


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_an_imported_excerpt_is_in_the_cell_of_its_authority_and_code(runner, tmp_path):
    _import(runner, tmp_path)
    out = tmp_path / "matrix.xlsx"
    result = runner.invoke(args=["export", "matrix", "--round", ROUND, "--rows", "authority", "--out", str(out)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Excerpts", "Counts"]
    header, excerpts = _sheet(wb, "Excerpts")
    assert header[0] == "authority" and "L1.tools" in header and "L3.cyp.happier" in header
    assert header[-1] == "Memos"
    # Names on the command line; each excerpt with its respondent's reference and role.
    north = excerpts["Northshire County Council"]
    assert north["L1.tools"] == "We use one assessment form now. [p-01, practitioner]"
    assert north["L1.structures"] == "=SUM(A1:A9) is our referral form [m-01, manager]"
    assert north["L3.cyp.happier"] == "I feel happier at school. [c-01, child]"
    assert excerpts["Eastbrook Borough Council"]["L1.tools"] == "The panel has not met yet. [p-01, practitioner]"
    # A coding without words has no excerpt to show, and is not counted.
    assert excerpts["Eastbrook Borough Council"]["L2.dialogue"] is None
    _, counts = _sheet(wb, "Counts")
    assert counts["Northshire County Council"]["L1.tools"] == 1
    assert counts["Eastbrook Borough Council"]["L2.dialogue"] is None   # empty: none
    # Text a spreadsheet would run is a string cell, never a formula.
    cell = next(c for row in wb["Excerpts"].iter_rows() for c in row if str(c.value).startswith("=SUM"))
    assert cell.data_type == "s"


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_rows_by_case_and_key_group_and_memos_travel(app, runner, session, tmp_path, make_user):
    _import(runner, tmp_path)
    north = consortium.find_authority_by_name(session, "Northshire County Council")
    rnd = consortium.get_or_create_round(session, ROUND)
    case = consortium.get_or_create_case(session, rnd, north, "LAC-01", None)
    for ref in ("p-01", "c-01"):
        session.scalar(sa.select(Respondent).where(Respondent.reference == ref,
                                                   Respondent.authority_id == north.id)).case_id = case.id
    session.add_all([AuthorityMemo(round_id=rnd.id, authority_id=north.id, text="Panels drive the story."),
                     AuthorityMemo(round_id=rnd.id, authority_id=north.id, case_id=case.id,
                                   text="Child and practitioner agree.")])
    session.commit()

    by_case = tmp_path / "cases.xlsx"
    assert runner.invoke(args=["export", "matrix", "--round", ROUND, "--rows", "case",
                               "--out", str(by_case)]).exit_code == 0
    _, cases = _sheet(openpyxl.load_workbook(by_case), "Excerpts")
    row = cases["Northshire County Council · LAC-01"]
    assert row["L1.tools"] == "We use one assessment form now. [p-01, practitioner]"
    assert row["L3.cyp.happier"] == "I feel happier at school. [c-01, child]"
    assert row["Memos"].endswith("Child and practitioner agree.")

    by_authority = tmp_path / "authorities.xlsx"
    assert runner.invoke(args=["export", "matrix", "--round", ROUND, "--out", str(by_authority)]).exit_code == 0
    _, authorities = _sheet(openpyxl.load_workbook(by_authority), "Excerpts")
    assert authorities["Northshire County Council"]["Memos"].endswith("Panels drive the story.")

    by_group = tmp_path / "groups.xlsx"
    assert runner.invoke(args=["export", "matrix", "--round", ROUND, "--rows", "key_group",
                               "--out", str(by_group)]).exit_code == 0
    header, groups = _sheet(openpyxl.load_workbook(by_group), "Excerpts")
    assert "Memos" not in header
    lac = next(v for k, v in groups.items() if k.startswith("lac"))
    assert "I feel happier at school. [c-01, child]" == lac["L3.cyp.happier"]
    assert groups[matrix.NO_KEY_GROUP]["L1.structures"] == "=SUM(A1:A9) is our referral form [m-01, manager]"


def test_a_full_cell_ends_with_how_many_more(runner, tmp_path):
    long = "word " * 3000   # 15,000 characters: two fit in a cell, five do not
    rows = "".join(f"Northshire County Council,p-{i:02d},practitioner,L1.tools,positive,,{long}{i},r1\n"
                   for i in range(5))
    _import(runner, tmp_path, "authority,respondent,role,code,valence,key_group,excerpt,coder\n" + rows)
    out = tmp_path / "matrix.xlsx"
    result = runner.invoke(args=["export", "matrix", "--round", ROUND, "--out", str(out)])
    assert "1 cells end with '+N more'" in result.output
    wb = openpyxl.load_workbook(out)
    _, excerpts = _sheet(wb, "Excerpts")
    cell = excerpts["Northshire County Council"]["L1.tools"]
    assert len(cell) <= matrix.CELL_LIMIT
    assert cell.endswith("\n\n+3 more")
    assert cell.count("[p-") == 2
    assert _sheet(wb, "Counts")[1]["Northshire County Council"]["L1.tools"] == 5


def test_an_unknown_round_or_row_kind_is_refused(runner, tmp_path):
    _import(runner, tmp_path)
    out = tmp_path / "m.xlsx"
    result = runner.invoke(args=["export", "matrix", "--round", "Round 77", "--out", str(out)])
    assert result.exit_code != 0 and "Round 7" in result.output
    result = runner.invoke(args=["export", "matrix", "--round", ROUND, "--rows", "respondent", "--out", str(out)])
    assert result.exit_code != 0 and "authority" in result.output
    assert not out.exists()


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_web_matrix_holds_only_the_researchers_authorities(runner, tmp_path, client, auth, session):
    _import(runner, tmp_path)
    north = consortium.find_authority_by_name(session, "Northshire County Council")
    rnd = consortium.get_or_create_round(session, ROUND)
    auth.login(Role.RESEARCHER, assigned=[north])
    response = client.get(f"/rounds/{rnd.id}/matrix-authority.xlsx")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    _, excerpts = _sheet(wb, "Excerpts")
    assert list(excerpts) == ["Northshire County Council"]
    assert "The panel has not met yet" not in str(list(wb["Excerpts"].values))
    assert client.get(f"/rounds/{rnd.id}/matrix-respondent.xlsx").status_code == 404


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_an_imported_excerpt_is_on_the_retrieval_page(runner, tmp_path, client, auth, session):
    _import(runner, tmp_path)
    rnd = consortium.get_or_create_round(session, ROUND)
    auth.login(Role.ADMIN)
    page = client.get(f"/retrieval?round={rnd.id}&code=L1.tools").get_data(as_text=True)
    assert "We use one assessment form now." in page and "The panel has not met yet." in page
    assert "I feel happier at school." not in page
    assert "2 excerpts on this page." in page
    east = session.scalar(sa.select(Authority).where(Authority.name == "Eastbrook Borough Council"))
    only = client.get(f"/retrieval?round={rnd.id}&code=L1.tools&authority={east.public_id}").get_data(as_text=True)
    assert "The panel has not met yet." in only and "We use one assessment form now." not in only
    url = f"/retrieval?round={rnd.id}&code=L4.information&valence="
    assert "Records are not shared yet." in client.get(url + "to_develop").get_data(as_text=True)
    assert "Records are not shared yet." not in client.get(url + "positive").get_data(as_text=True)
    assert "No excerpt is coded to L1.tools" in client.get(
        f"/retrieval?round={rnd.id}&code=L1.tools&role=child").get_data(as_text=True)
    by_group = client.get(f"/retrieval?round={rnd.id}&code=L1.tools&key_group=lac").get_data(as_text=True)
    assert "assessment form" in by_group and "panel has not met" not in by_group
    unknown = client.get(f"/retrieval?round={rnd.id}&code=L9.nothing")
    assert unknown.status_code == 422 and "no code" in unknown.get_data(as_text=True)
