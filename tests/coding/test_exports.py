"""Exports: the coded CSV round trip, the REFI-QDA project (.qdpx) and codebook (.qdc)."""
from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
import xmlschema

from impactmodel import create_app
from impactmodel.auth.models import Role
from impactmodel.codebook.exchange import GUID_NAMESPACE, guid
from impactmodel.codebook.models import Coding
from impactmodel.coding import services
from impactmodel.consortium.models import Authority
from tests.conftest import ENGINES, config_for

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "refi-qda"
NS = {"q": "urn:QDA-XML:project:1.0"}

TEXTS = ["We share one CAF now 😀 and meet at the panel.",
         "Line one.\r\nLine two: the key worker, finally, listens to us.",
         "Nothing has changed for us."]


@pytest.fixture(scope="module")
def project_schema():
    return xmlschema.XMLSchema(str(SCHEMAS / "Project.xsd"))


@pytest.fixture
def coded_round(app, session, make_round, make_authority, make_user, make_answer, make_respondent):
    """Codings made in the workbench (spans, two coders), plus an imported excerpt-only coding."""
    rnd = make_round("Round QDA")
    north = make_authority("North Borough", round=rnd)
    south = make_authority("South Borough", round=rnd)
    a = make_user(Role.RESEARCHER, assigned=[north, south])
    b = make_user(Role.RESEARCHER, assigned=[north, south])
    answers = [make_answer(rnd, north, TEXTS[0], role="practitioner", key_group="lac"),
               make_answer(rnd, south, TEXTS[1], role="parent", question="features"),
               make_answer(rnd, south, TEXTS[2], role="child")]
    with app.app_context():
        t0, t1 = TEXTS[0], TEXTS[1]
        services.add_coding(session, a, answers[0].id, "L1.tools", None, t0.index("CAF"), t0.index("CAF") + 3)
        services.add_coding(session, a, answers[0].id, "F.multi_agency_panels", "positive",
                            t0.index("the panel"), t0.index("the panel") + 9)
        services.add_coding(session, a, answers[1].id, "S.key_worker", None, t1.index("key worker"),
                            t1.index("key worker") + 10)
        services.add_memo(session, a, answers[1].id, "Parent names the key worker unprompted")
        services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=3)
        services.add_coding(session, b, answers[0].id, "L1.tools", None, t0.index("CAF"), t0.index("CAF") + 3)
        services.add_coding(session, b, answers[0].id, "F.multi_agency_panels", "to_develop",
                            t0.index("the panel"), t0.index("the panel") + 9)
        resp = make_respondent(rnd, north, "dcs", reference="dcs-01")
        session.add(Coding(round_id=rnd.id, respondent_id=resp.id, code_id="L4.spread",
                           excerpt="Practice is shared across the county.", coder="importer", agreed=True))
        session.commit()
    return rnd, a, b, answers


def _export_coded(runner, rnd):
    result = runner.invoke(args=["export", "coded", "--round", rnd.name])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_coded_csv_round_trip_is_lossless(coded_round, runner, tmp_path, database_url, sqlite_template):
    rnd, a, _b, _answers = coded_round
    first = _export_coded(runner, rnd)
    rows = list(csv.DictReader(io.StringIO(first)))
    assert len(rows) == 4      # the agreed codings; the blind second coder's are not exported
    caf = next(r for r in rows if r["code"] == "L1.tools")
    assert caf["excerpt"] == "CAF" and caf["coder"] == a.email and caf["key_group"] == "lac"
    assert any(r["excerpt"] == "key worker" and r["role"] == "parent" for r in rows)
    path = tmp_path / "coded.csv"
    path.write_text(first, encoding="utf-8")

    # Into an empty database, and out again.
    import shutil
    empty = tmp_path / "empty.sqlite"
    shutil.copy(sqlite_template, empty)
    other = create_app(config_for(f"sqlite:///{empty}"))
    try:
        other_runner = other.test_cli_runner()
        result = other_runner.invoke(args=["import", "coded", str(path), "--round", rnd.name])
        assert result.exit_code == 0, result.output
        again = other_runner.invoke(args=["export", "coded", "--round", rnd.name]).output
    finally:
        other.extensions["impactmodel.engine"].dispose()
    assert sorted(again.splitlines()) == sorted(first.splitlines())


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_qdpx_validates_and_keeps_spans_coders_and_cases(coded_round, runner, tmp_path, project_schema):
    rnd, a, b, answers = coded_round
    out = tmp_path / "round.qdpx"
    result = runner.invoke(args=["export", "qdpx", "--round", rnd.name, "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        qde = zf.read("project.qde")
        sources = {n: zf.read(n).decode("utf-8") for n in names if n.startswith("sources/")}
    assert not qde.startswith(b"\xef\xbb\xbf") and qde.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    project_schema.validate(io.BytesIO(qde))
    from xml.etree import ElementTree as ET
    root = ET.fromstring(qde)
    users = {u.get("guid"): u.get("name") for u in root.iterfind("q:Users/q:User", NS)}
    assert sorted(users.values()) == sorted([a.name, b.name, "importer"])
    # Authorities are cases, by anonymised label on the command line.
    cases = [c.get("name") for c in root.iterfind("q:Cases/q:Case", NS)]
    assert "North Borough" not in qde.decode() and len(cases) == 2
    assert all(c.startswith("Authority ") for c in cases)
    # Each answer is a source with a plain-text file under sources/.
    text_sources = root.findall("q:Sources/q:TextSource", NS)
    assert len(text_sources) == 4     # three answers and the imported excerpts
    by_text = {}
    for src in text_sources:
        path = "sources/" + src.get("plainTextPath").removeprefix("internal://")
        assert path in sources
        by_text[sources[path]] = src
    # One line ending per source: the answer's CR LF is written as LF, offsets remapped.
    assert all("\r" not in text for text in sources.values())
    lf_answer = TEXTS[1].replace("\r\n", "\n")
    assert lf_answer in by_text
    src = by_text[TEXTS[0]]
    selections = src.findall("q:PlainTextSelection", NS)
    spans = {(int(s.get("startPosition")), int(s.get("endPosition"))): s for s in selections}
    caf = TEXTS[0].index("CAF")
    assert (caf, caf + 3) in spans and TEXTS[0][caf:caf + 3] == "CAF"
    # Two coders coded the CAF span: one Coding per coder, each by its User.
    codings = spans[(caf, caf + 3)].findall("q:Coding", NS)
    assert sorted(users[c.get("creatingUser")] for c in codings) == sorted([a.name, b.name])
    panel = spans[(TEXTS[0].index("the panel"), TEXTS[0].index("the panel") + 9)]
    code_names = {c.get("guid"): c.get("name") for c in root.iter("{urn:QDA-XML:project:1.0}Code")}
    refs = sorted(code_names[c.find("q:CodeRef", NS).get("targetGUID")] for c in panel.findall("q:Coding", NS))
    assert refs == ["F.multi_agency_panels (positive)", "F.multi_agency_panels (to_develop)"]
    key_worker = by_text[lf_answer].find("q:PlainTextSelection", NS)
    s0, e0 = int(key_worker.get("startPosition")), int(key_worker.get("endPosition"))
    assert lf_answer[s0:e0] == "key worker" and s0 == TEXTS[1].index("key worker") - 1
    assert by_text[lf_answer].find("q:NoteRef", NS) is not None
    assert root.find("q:Notes/q:Note/q:PlainTextContent", NS).text == "Parent names the key worker unprompted"
    excerpts = by_text["Practice is shared across the county."].find("q:PlainTextSelection", NS)
    assert (excerpts.get("startPosition"), excerpts.get("endPosition")) == ("0", "37")
    # The steering-group features are a Set of codes, as in the .qdc.
    steering = root.find("q:Sets/q:Set", NS)
    assert steering.get("name") == "External Steering Group features"
    members = {code_names[m.get("targetGUID")] for m in steering.findall("q:MemberCode", NS)}
    assert len(members) == 9 and "F.locality_working: Locality working" in members


def test_web_qdpx_names_authorities_for_researchers_and_keeps_to_assignments(
        coded_round, client, auth, session, project_schema):
    rnd, *_ = coded_round
    north = session.scalar(sa.select(Authority).where(Authority.name == "North Borough"))
    auth.login(Role.RESEARCHER, assigned=[north])
    r = client.get(f"/coding/rounds/{rnd.id}/export.qdpx")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        qde = zf.read("project.qde")
    project_schema.validate(io.BytesIO(qde))
    text = qde.decode()
    assert 'name="North Borough"' in text and "South Borough" not in text
    # South's answer and memo stay out (the codebook's own rules mention a key worker).
    assert "the key worker, finally" not in text and "names the key worker" not in text


def test_qdc_export_validates_and_imports_back(client, auth):
    schema = xmlschema.XMLSchema(str(SCHEMAS / "Codebook.xsd"))
    auth.login(Role.ANALYST)
    qdc = client.get("/coding/codebook.qdc")
    assert qdc.status_code == 200
    schema.validate(io.BytesIO(qdc.data))
    assert b'name="L1.tools: Tools and frameworks"' in qdc.data
    assert b"External Steering Group features" in qdc.data
    csv_text = client.get("/coding/codebook.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == ("kind,id,parent,label,description,level,steering_group,valences,"
                                        "child_label,definition,include,exclude,example,example_constructed")
    assert "code,F.leadership,F,Leadership,,,,positive to_develop,,Leadership and management" in csv_text


def test_invalid_codebook_stops_the_app(database_url, tmp_path):
    broken = tmp_path / "codebook.yaml"
    broken.write_text("groups: [{id: L1, label: L1}]\ncodes: [{id: X.bad, group: L1, label: Bad}]\n")
    with pytest.raises(ValueError, match="must start with its group id"):
        create_app(config_for(database_url, CODEBOOK_PATH=str(broken)))


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_coded_csv_takes_a_span_kept_without_its_excerpt_from_the_answer(coded_round, runner, session):
    # Codings made before excerpts were stored have a span and no excerpt: their words
    # are read from the answer, and a coding of the whole answer has none.
    rnd, _a, _b, answers = coded_round
    caf = TEXTS[0].index("CAF")
    session.execute(sa.update(Coding).where(Coding.answer_id == answers[0].id, Coding.start == caf)
                    .values(excerpt=None))
    session.execute(sa.update(Coding).where(Coding.answer_id == answers[1].id)
                    .values(excerpt=None, start=None, end=None))
    session.commit()
    rows = list(csv.DictReader(io.StringIO(_export_coded(runner, rnd))))
    assert [r["excerpt"] for r in rows if r["code"] == "L1.tools"] == ["CAF"]
    assert [r["excerpt"] for r in rows if r["code"] == "S.key_worker"] == [""]
    assert any(r["excerpt"] == "Practice is shared across the county." for r in rows)


def test_qdpx_guids_are_the_same_in_every_export_of_the_same_data(coded_round, runner, tmp_path):
    rnd, _a, _b, answers = coded_round

    def guids(name):
        out = tmp_path / name
        result = runner.invoke(args=["export", "qdpx", "--round", rnd.name, "--out", str(out)])
        assert result.exit_code == 0, result.output
        with zipfile.ZipFile(out) as zf:
            qde = zf.read("project.qde").decode()
        return re.findall(r'guid="([^"]+)"', qde)

    first = guids("first.qdpx")
    assert first == guids("second.qdpx")
    assert len(set(first)) == len(first) and all(uuid.UUID(g).version == 5 for g in first)
    # Name-based (version 5) UUIDs, as the import recomputes them to recognise exported rows.
    assert str(uuid.uuid5(GUID_NAMESPACE, f"answer:{answers[0].id}")) in first
    assert guid("coding", "123") == str(uuid.uuid5(GUID_NAMESPACE, "coding:123"))
