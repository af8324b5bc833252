"""Memos on authorities and cases in the REFI-QDA export: Notes linked to their Case."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import sqlalchemy as sa
import xmlschema

from impactmodel.analysis.models import AuthorityMemo
from impactmodel.auth.models import Role
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Respondent
from impactmodel.interchange import csvio
from tests.conftest import ENGINES

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "refi-qda" / "Project.xsd"
NS = {"q": "urn:QDA-XML:project:1.0"}
CODED = ("authority,respondent,role,code,valence,key_group,excerpt,coder\n"
         "Northshire County Council,p-01,practitioner,L1.tools,positive,,We share one form.,r1\n"
         "Eastbrook Borough Council,p-01,practitioner,L1.tools,positive,,We share nothing yet.,r1\n")


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_authority_and_case_memos_are_notes_linked_to_their_case(runner, session, tmp_path, make_user):
    csvio.import_coded(session, io.StringIO(CODED), "Round 3", actor="test")
    rnd = consortium.get_or_create_round(session, "Round 3")
    north = consortium.find_authority_by_name(session, "Northshire County Council")
    east = consortium.find_authority_by_name(session, "Eastbrook Borough Council")
    case = consortium.get_or_create_case(session, rnd, north, "LAC-01", None)
    session.scalar(sa.select(Respondent).where(Respondent.authority_id == north.id)).case_id = case.id
    author = make_user(Role.RESEARCHER, assigned=[north])
    session.add_all([
        AuthorityMemo(round_id=rnd.id, authority_id=north.id, author_id=author.id, text="Panels drive the story."),
        AuthorityMemo(round_id=rnd.id, authority_id=north.id, case_id=case.id, author_id=author.id,
                      text="The practitioner's account stands alone."),
        AuthorityMemo(round_id=rnd.id, authority_id=east.id, text="Nothing shared yet.")])
    session.commit()

    out = tmp_path / "round.qdpx"
    result = runner.invoke(args=["export", "qdpx", "--round", rnd.name, "--out", str(out)])
    assert result.exit_code == 0, result.output
    qde = zipfile.ZipFile(out).read("project.qde")
    xmlschema.XMLSchema(str(SCHEMA)).validate(io.BytesIO(qde))
    root = ET.fromstring(qde)
    cases = {c.get("guid"): c for c in root.iterfind("q:Cases/q:Case", NS)}
    notes = {n.findtext("q:PlainTextContent", namespaces=NS): n for n in root.iterfind("q:Notes/q:Note", NS)}
    links = {link.get("originGUID"): link.get("targetGUID") for link in root.iterfind("q:Links/q:Link", NS)}
    users = {u.get("guid") for u in root.iterfind("q:Users/q:User", NS)}

    def case_of(text):
        return cases[links[notes[text].get("guid")]]

    # The command line shows labels in the REFI-QDA export.
    assert case_of("Panels drive the story.").get("name") == north.label
    assert case_of("Nothing shared yet.").get("name") == east.label
    child = case_of("The practitioner's account stands alone.")
    assert child.get("name") == f"{north.label} · case LAC-01"
    # The case holds its respondent's source.
    assert len(child.findall("q:SourceRef", NS)) == 1
    assert notes["Panels drive the story."].get("creatingUser") in users
