"""``impactmodel import qdpx``: codings made in another QDA tool come back as one coder's."""
from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import sqlalchemy as sa
import xmlschema

from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.coding import queries, services
from impactmodel.coding.models import DoubleCoding
from tests.coding.qda_tools import STYLES, restyle
from tests.conftest import ENGINES

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "refi-qda"
FIXTURES = Path(__file__).parent / "fixtures"

TEXTS = ["We share one CAF now 😀 and meet at the panel.",
         "Line one.\r\nLine two: the key worker, finally, listens to us.\r\nThank you.",
         "Nothing has changed for us."]
ADDED = [("the panel", "L1.tools: Tools and frameworks"),                    # on A's coded answer
         ("the key worker", "S.key_worker: One contact person"),              # CR LF answer, after a break
         ("Line two: the key worker", "L2.dialogue: Dialogue and closer working"),
         ("changed", "F.leadership (to_develop)")]


@pytest.fixture
def exported(app, session, runner, tmp_path, make_round, make_authority, make_user, make_answer):
    """A round with one answer coded by A, exported; B is the coder working in another tool."""
    rnd = make_round("Round QDA")
    north = make_authority("North Borough", round=rnd)
    a = make_user(Role.RESEARCHER, assigned=[north])
    b = make_user(Role.RESEARCHER, assigned=[north])
    a.name, b.name = "Alex First", "Bea Second"     # tools keep users by name
    session.commit()
    answers = [make_answer(rnd, north, t) for t in TEXTS]
    with app.app_context():
        services.add_coding(session, a, answers[0].id, "L1.tools", None, 8, 12)     # "CAF "
        services.add_coding(session, a, answers[0].id, "F.multi_agency_panels", "positive",
                            TEXTS[0].index("the panel"), TEXTS[0].index("the panel") + 9)
    out = tmp_path / "round.qdpx"
    result = runner.invoke(args=["export", "qdpx", "--round", rnd.name, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return rnd, a, b, answers, out.read_bytes()


def _import(runner, tmp_path, data: bytes, rnd, coder: str, *extra: str):
    path = tmp_path / "coded.qdpx"
    path.write_bytes(data)
    return runner.invoke(args=["import", "qdpx", str(path), "--round", rnd.name, "--coder", coder, *extra])


def _codings(session, coder_id=None, coder=None):
    session.expire_all()
    q = sa.select(Coding).order_by(Coding.id)
    q = q.where(Coding.coder_id == coder_id) if coder_id else q.where(Coding.coder == coder)
    return list(session.scalars(q))


def _spans(codings, answers):
    text = {a.id: a.text for a in answers}
    return sorted((text[c.answer_id][c.start:c.end], c.code_id, c.valence.value, c.agreed) for c in codings)


@pytest.mark.parametrize("style", STYLES)
def test_a_tool_s_codings_come_back_as_the_coder_s_on_the_right_spans(exported, runner, session, tmp_path,
                                                                      style):
    rnd, a, b, answers, qdpx = exported
    changed = restyle(qdpx, style, ADDED, b.name)
    with zipfile.ZipFile(io.BytesIO(changed)) as zf:
        xmlschema.XMLSchema(str(SCHEMAS / "Project.xsd")).validate(io.BytesIO(zf.read("project.qde")))
    result = _import(runner, tmp_path, changed, rnd, b.email)
    assert result.exit_code == 0, result.output
    assert "Matched (already in the app): 2 coding(s)." in result.output      # A's two codings
    assert "New, as " + b.name + "'s: 4 coding(s) on 3 answer(s), 1 of them as a blind second" in result.output
    # On A's coded answer B's coding is a blind second coding (not agreed); elsewhere it is agreed.
    assert _spans(_codings(session, coder_id=b.id), answers) == [
        ("Line two: the key worker", "L2.dialogue", "positive", True),
        ("changed", "F.leadership", "to_develop", True),
        ("the key worker", "S.key_worker", "positive", True),
        ("the panel", "L1.tools", "positive", False)]
    assert len(_codings(session, coder_id=a.id)) == 2
    # The reliability report compares B's second coding with A's first.
    dc = session.scalar(sa.select(DoubleCoding).where(DoubleCoding.second_coder_id == b.id))
    assert dc.answer_id == answers[0].id and dc.second_done_at is not None and dc.reconciled_at is None
    data = queries.double_coded(session, rnd.id)
    assert data.units == [answers[0].id]
    assert data.pairs["first"][answers[0].id] == {("L1.tools", "positive"), ("F.multi_agency_panels", "positive")}
    assert data.pairs["second"][answers[0].id] == {("L1.tools", "positive")}

    # Importing the same file again adds nothing.
    again = _import(runner, tmp_path, changed, rnd, b.email)
    assert again.exit_code == 0, again.output
    assert "Matched (already in the app): 6 coding(s)." in again.output
    assert "Nothing new to store." in again.output
    assert len(_codings(session, coder_id=b.id)) == 4


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_import_is_all_or_nothing_and_reports_what_cannot_be_placed(exported, runner, session, tmp_path):
    rnd, a, b, answers, qdpx = exported
    changed = restyle(qdpx, "qualcoder", ADDED[1:], b.name)
    # A code made in the other tool, and a source that is no answer of the round.
    changed = _add_foreign_parts(changed)
    result = _import(runner, tmp_path, changed, rnd, b.email)
    assert result.exit_code != 0
    assert "Codes not in the codebook (not added): Trust" in result.output
    assert "code 'Trust' is not in the codebook" in result.output
    assert "'notes.txt': matches no answer of Round QDA" in result.output
    assert "nothing was imported" in result.output
    assert _codings(session, coder_id=b.id) == []

    checked = _import(runner, tmp_path, changed, rnd, b.email, "--check", "--leave-out-unplaced")
    assert checked.exit_code == 0 and "Nothing stored (checked only)." in checked.output
    assert _codings(session, coder_id=b.id) == []

    kept = _import(runner, tmp_path, changed, rnd, b.email, "--leave-out-unplaced")
    assert kept.exit_code == 0, kept.output
    assert len(_codings(session, coder_id=b.id)) == 3
    assert "Trust" not in {c.code_id for c in _codings(session, coder_id=b.id)}


def _add_foreign_parts(qdpx: bytes) -> bytes:
    ns = "urn:QDA-XML:project:1.0"
    ET.register_namespace("", ns)
    zin = zipfile.ZipFile(io.BytesIO(qdpx))
    root = ET.fromstring(zin.read("project.qde"))
    trust = str(uuid.uuid4())
    ET.SubElement(root.find(f"{{{ns}}}CodeBook/{{{ns}}}Codes"), f"{{{ns}}}Code", guid=trust, name="Trust",
                  isCodable="true")
    src = ET.SubElement(root.find(f"{{{ns}}}Sources"), f"{{{ns}}}TextSource", guid=str(uuid.uuid4()),
                        name="notes.txt")
    ET.SubElement(src, f"{{{ns}}}PlainTextContent").text = "My own notes on the visit."
    sel = ET.SubElement(src, f"{{{ns}}}PlainTextSelection", guid=str(uuid.uuid4()), startPosition="0",
                        endPosition="6")
    ET.SubElement(ET.SubElement(sel, f"{{{ns}}}Coding", guid=str(uuid.uuid4())), f"{{{ns}}}CodeRef",
                  targetGUID=trust)
    # Trust also applied to an answer.
    first = root.find(f".//{{{ns}}}TextSource/{{{ns}}}PlainTextSelection")
    ET.SubElement(ET.SubElement(first, f"{{{ns}}}Coding", guid=str(uuid.uuid4())), f"{{{ns}}}CodeRef",
                  targetGUID=trust)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        zout.writestr("project.qde", ET.tostring(root))
        for name in zin.namelist():
            if name != "project.qde":
                zout.writestr(name, zin.read(name))
    return out.getvalue()


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_drawn_answer_coded_in_another_tool_finishes_the_blind_coding(exported, app, runner, session,
                                                                        tmp_path, client, auth):
    rnd, a, b, answers, _qdpx = exported
    with app.app_context():
        services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=1)
    # B downloads the round while blind: A's codings are not in B's file.
    auth.login(b)
    blind = client.get(f"/coding/rounds/{rnd.id}/export.qdpx").data
    changed = restyle(blind, "nvivo", [("We share one CAF", "L1.tools: Tools and frameworks")], b.name)
    result = _import(runner, tmp_path, changed, rnd, b.email)
    assert result.exit_code == 0, result.output
    assert _spans(_codings(session, coder_id=b.id), answers) == [
        ("We share one CAF", "L1.tools", "positive", False)]
    session.expire_all()
    dc = session.scalar(sa.select(DoubleCoding).where(DoubleCoding.second_coder_id == b.id))
    assert dc.second_done_at is not None


def test_a_coder_without_an_account_codes_first_but_cannot_second_code(exported, runner, session, tmp_path):
    rnd, a, b, answers, qdpx = exported
    refused = _import(runner, tmp_path, restyle(qdpx, "maxqda", ADDED[:2], "Visiting Fellow"), rnd,
                      "Visiting Fellow")
    assert refused.exit_code != 0
    assert "coded by someone else: Visiting Fellow's codings would be a second coding" in refused.output
    assert _codings(session, coder="Visiting Fellow") == []
    ok = _import(runner, tmp_path, restyle(qdpx, "maxqda", ADDED[1:2], "Visiting Fellow"), rnd,
                 "Visiting Fellow")
    assert ok.exit_code == 0, ok.output
    assert _spans(_codings(session, coder="Visiting Fellow"), answers) == [
        ("the key worker", "S.key_worker", "positive", True)]


def test_hand_built_project_with_hierarchy_sets_notes_and_crlf(app, session, runner, tmp_path, make_round,
                                                               make_authority, make_user, make_answer):
    """A project written by hand: no namespace, nested codes named by id, a Set, Notes, inline
    CR LF text counted as one character per line break, selections named by their words."""
    rnd = make_round("Round QDA")
    north = make_authority("North Borough", round=rnd)
    b = make_user(Role.RESEARCHER, assigned=[north])
    answer = make_answer(rnd, north, "Line one.\nThe key worker listens.\nWe feel heard.")
    qde = (FIXTURES / "hand_built" / "project.qde").read_bytes()
    xmlschema.XMLSchema(str(SCHEMAS / "Project.xsd")).validate(io.BytesIO(qde))
    # Read with or without the REFI-QDA namespace.
    data = _zip({"project.qde": qde.replace(b' xmlns="urn:QDA-XML:project:1.0"', b"")})
    result = _import(runner, tmp_path, data, rnd, b.email)
    assert result.exit_code != 0                       # "Mood" is the other tool's own code
    assert "Codes not in the codebook (not added): Mood" in result.output
    result = _import(runner, tmp_path, data, rnd, b.email, "--leave-out-unplaced")
    assert result.exit_code == 0, result.output
    assert _spans(_codings(session, coder_id=b.id), [answer]) == [
        ("The key worker", "S.key_worker", "positive", True),
        ("We feel heard", "L3.cyp.confidence", "positive", True)]


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_web_upload_imports_for_the_researcher_and_keeps_to_their_authorities(
        exported, client, auth, session, make_authority, make_user):
    rnd, a, b, answers, qdpx = exported
    changed = restyle(qdpx, "atlasti", ADDED[1:2], b.name)
    south = make_authority("South Borough", round=rnd)
    outsider = make_user(Role.RESEARCHER, assigned=[south])
    auth.login(outsider)
    r = client.post(f"/coding/rounds/{rnd.id}/import.qdpx", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(changed), "coded.qdpx"), "coder": ""})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "Nothing was imported" in page
    assert "matches no answer of Round QDA that you may see" in page
    assert _codings(session, coder_id=outsider.id) == []

    auth.logout()
    auth.login(b)
    form = client.get(f"/coding/rounds/{rnd.id}/import.qdpx")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.get_data(as_text=True)
    r = client.post(f"/coding/rounds/{rnd.id}/import.qdpx", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(changed), "coded.qdpx"), "coder": ""})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert "Imported" in r.get_data(as_text=True)
    assert _spans(_codings(session, coder_id=b.id), answers) == [("the key worker", "S.key_worker", "positive", True)]
    bad = client.post(f"/coding/rounds/{rnd.id}/import.qdpx", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(b"not a zip"), "coded.qdpx")})
    assert bad.status_code == 422 and "this is not a .qdpx file" in bad.get_data(as_text=True)
