"""The codebook page, and importing a new version: preview first, ids never change."""
from __future__ import annotations

import html as htmllib
import io
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from impactmodel import codebook as codebook_mod
from impactmodel.auth.models import Role
from impactmodel.codebook import exchange
from impactmodel.codebook.models import Code, CodebookVersion
from impactmodel.coding import services


@pytest.fixture
def app_config(tmp_path):
    path = tmp_path / "codebook.yaml"
    shutil.copy(codebook_mod.CODEBOOK_PATH, path)
    return {"CODEBOOK_PATH": str(path)}


def _csv_with_changes() -> str:
    text = exchange.export_csv(codebook_mod.load(codebook_mod.CODEBOOK_PATH))
    lines = text.splitlines()
    lines = [ln.replace("code,L1.tools,L1,Tools and frameworks,", "code,L1.tools,L1,Tools and shared frameworks,")
             for ln in lines if not ln.startswith("code,S.reliability,")]
    lines.append("code,F.pooled_budgets,F,Pooled budgets,Budgets shared between agencies.,,,positive to_develop,,"
                 "Budgets pooled between agencies.,Use for pooled budgets.,Other funding is F.funding_models.,"
                 "We pool our budgets.,yes")
    return "\n".join(lines) + "\n"


def test_codebook_page_lists_codes_and_versions(client, auth):
    auth.login(Role.RESEARCHER)
    page = client.get("/coding/codebook").get_data(as_text=True)
    assert "L3.cyp.confidence" in page and "Confidence and self-esteem" in page
    assert "in use" in page and "steering group" in page
    assert "Import a new version" not in page        # only administrators change the codebook


def test_import_previews_then_applies_a_new_version(app, client, auth, session, app_config):
    auth.login(Role.ADMIN)
    client.get("/coding/codebook")                    # records version 1
    upload = {"file": (io.BytesIO(_csv_with_changes().encode()), "codebook.csv")}
    preview = client.post("/coding/codebook/import", data=upload, content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "F.pooled_budgets" in html and "Tools and shared frameworks" in html and "S.reliability" in html
    assert "Apply these changes" in html
    # Nothing changed yet.
    assert "pooled_budgets" not in Path(app_config["CODEBOOK_PATH"]).read_text(encoding="utf-8")
    definition = html.split('<textarea name="definition" hidden aria-hidden="true">')[1].split("</textarea>")[0]
    base = html.split('name="base" value="')[1].split('"')[0]
    r = client.post("/coding/codebook/apply", data={"definition": htmllib.unescape(definition), "base": base})
    assert r.status_code == 302
    with app.app_context():
        cb = codebook_mod.load()
    assert cb.get("F.pooled_budgets").valences == ("positive", "to_develop")
    assert cb.get("L1.tools").label == "Tools and shared frameworks"
    assert cb.get("S.reliability") is None
    assert session.scalar(sa.select(sa.func.max(CodebookVersion.version))) == 2
    assert session.get(Code, "S.reliability").retired is True
    written = Path(app_config["CODEBOOK_PATH"]).read_text(encoding="utf-8")
    assert written.startswith("# The codebook")    # the file's header comment is kept
    # Applying the same preview again is refused: the codebook has changed since.
    again = client.post("/coding/codebook/apply", data={"definition": htmllib.unescape(definition), "base": base})
    assert "changed since this preview" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_import_cannot_retire_a_code_in_use_or_move_a_code(app, client, auth, session, make_round,
                                                          make_authority, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    answer = make_answer(rnd, borough, "They kept their word.")
    admin = auth.login(Role.ADMIN)
    with app.app_context():
        services.add_coding(session, admin, answer.id, "S.reliability", None, 0, 4)
    upload = {"file": (io.BytesIO(_csv_with_changes().encode()), "codebook.csv")}
    html = client.post("/coding/codebook/import", data=upload,
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "cannot be applied" in html and "S.reliability is left out but 1 coding(s) use it" in html
    assert "Apply these changes" not in html
    moved = _csv_with_changes().replace("code,L3.cyp.safer,L3.cyp,", "code,L3.cyp.safer,L3,")
    html = client.post("/coding/codebook/import", data={"file": (io.BytesIO(moved.encode()), "c.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "would move from group L3.cyp to L3" in html


def test_qdc_import_matches_codes_by_id_and_refuses_a_changed_id(app, client, auth):
    auth.login(Role.ADMIN)
    cb = codebook_mod.load(codebook_mod.CODEBOOK_PATH)
    qdc = exchange.export_qdc(cb).replace(b"L1.tools: Tools and frameworks", b"L1.tools: Tools")
    r = client.post("/coding/codebook/import", data={"file": (io.BytesIO(qdc), "book.qdc")},
                    content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert "Relabelled (1)" in html and "Tools" in html and "Retired" not in html
    renamed = exchange.export_qdc(cb).replace(b"L1.tools: Tools and frameworks", b"L1.kit: Tools")
    r = client.post("/coding/codebook/import", data={"file": (io.BytesIO(renamed), "book.qdc")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "ids never change" in r.get_data(as_text=True)


def test_cli_codebook_import_shows_changes_and_applies_with_flag(app, runner, tmp_path, app_config):
    path = tmp_path / "new.csv"
    path.write_text(_csv_with_changes(), encoding="utf-8")
    shown = runner.invoke(args=["codebook", "import", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "F.pooled_budgets" in shown.output and "--apply" in shown.output
    assert "pooled_budgets" not in Path(app_config["CODEBOOK_PATH"]).read_text(encoding="utf-8")
    applied = runner.invoke(args=["codebook", "import", str(path), "--apply"])
    assert applied.exit_code == 0 and "is now in use" in applied.output
    assert "F.pooled_budgets" in runner.invoke(args=["codebook", "export"]).output


def test_csv_import_lists_every_problem_at_once():
    current = codebook_mod.load(codebook_mod.CODEBOOK_PATH)
    text = exchange.export_csv(current).splitlines()
    text[3] = text[3].replace("group,", "grup,", 1)
    width = len(text[0].split(","))          # the header's columns
    text.append(",".join(["code", "F.extra", "F", "Extra", "", "", "maybe", "positive"] + [""] * (width - 8)))
    text.append("code,F.short,F")
    with pytest.raises(codebook_mod.CodebookError) as caught:
        exchange.read_import("codebook.csv", ("\n".join(text) + "\n").encode(), current)
    message = str(caught.value)
    assert "line 4, column 'kind': use group or code, not 'grup'" in message
    assert f"line {len(text) - 1}, column 'steering_group': use yes or no, not 'maybe'" in message
    assert f"line {len(text)}: has 3 fields but the header has {width}" in message
