"""Flat codebooks (Taguette's CSV and .qdc, a spreadsheet of codes): dotted ids mapped to
groups and a suffix to valences, with a preview; every problem in a file listed at once."""
from __future__ import annotations

import csv
import html as htmllib
import io
import shutil
import uuid
from pathlib import Path

import pytest
from openpyxl import Workbook

from impactmodel import codebook as codebook_mod
from impactmodel.auth.models import Role
from impactmodel.codebook import exchange as codebook_io
from impactmodel.codebook import flat as flat_codebook

SUFFIX = {"positive": "+", "to_develop": "~", "negative": "-"}


@pytest.fixture
def app_config(tmp_path):
    path = tmp_path / "codebook.yaml"
    shutil.copy(codebook_mod.CODEBOOK_PATH, path)
    return {"CODEBOOK_PATH": str(path)}


def _current():
    return codebook_mod.load(codebook_mod.CODEBOOK_PATH)


def _flat_tags(cb) -> list[str]:
    """The codebook as a flat list of tags, as it would be kept in Taguette: one tag per
    code, or one per valence for codes with more than the positive one."""
    tags = []
    for c in cb.codes.values():
        if tuple(c.valences) == ("positive",):
            tags.append(c.id)
        else:
            tags += [c.id + SUFFIX[v] for v in c.valences]
    return tags


def _taguette_csv(rows: list[list[str]]) -> bytes:
    """A codebook CSV as Taguette writes it (its own header and a count column)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["tag", "parent", "description", "number of highlights"])
    for row in rows:
        writer.writerow([row[0], "", row[1] if len(row) > 1 else "", 0])
    return out.getvalue().encode()


def _taguette_qdc(names: list[str]) -> bytes:
    """A codebook .qdc as Taguette writes it: flat codable codes, upper-case GUIDs, no Sets."""
    namespace = uuid.UUID("51B2B2B7-27EB-4ECB-9D56-E75B0A0496C2")
    codes = "".join(f'<Code guid="{str(uuid.uuid5(namespace, n)).upper()}" name="{htmllib.escape(n)}" '
                    'isCodable="true"/>' for n in names)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<CodeBook xmlns="urn:QDA-XML:codebook:1.0" '
            f'origin="Taguette 1.4.1"><Codes>{codes}</Codes><Sets></Sets></CodeBook>').encode()


def test_a_flat_list_of_the_codebook_in_use_changes_nothing():
    current = _current()
    for name, raw in (("codebook.csv", _taguette_csv([[t] for t in _flat_tags(current)])),
                      ("codebook.qdc", _taguette_qdc(_flat_tags(current)))):
        reading = codebook_io.read_file(name, raw, current)
        assert reading.kind.startswith("flat")
        new = reading.codebook
        assert set(new.codes) == set(current.codes)
        assert set(new.groups) == set(current.groups)
        for cid, code in current.codes.items():
            assert new.codes[cid] == code, cid
        for gid, group in current.groups.items():
            assert new.groups[gid] == group, gid


def test_taguette_csv_maps_groups_and_valences_and_keeps_the_rest(app, runner, tmp_path, app_config):
    current = _current()
    tags = [[t] for t in _flat_tags(current) if not t.startswith("F.ict")]
    tags += [["F.ict_pos"], ["F.ict_dev"], ["F.ict_neg", "ICT that gets in the way."],
             ["F.pooled_budgets: Pooled budgets", "Budgets shared between agencies."],
             ["L2.stress-: Stress"], ["Q: Questions raised"], ["Q.unclear: Unclear remit"]]
    path = tmp_path / "taguette.csv"
    path.write_bytes(_taguette_csv(tags))
    shown = runner.invoke(args=["codebook", "import", str(path), "--check"])
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "flat codebook (Taguette CSV)" in out
    assert "F.ict_neg" in out and "-> code F.ict in F, negative" in out
    assert "-> code L2.stress in L2, negative" in out and "-> group Q" in out
    assert "-> code L3.cyp.happier in L3.cyp, positive" in out
    for line in ("New             F.pooled_budgets", "New             L2.stress", "New             Q.unclear",
                 "Valences        F.ict"):
        assert line in out, out
    assert "Nothing changed yet" in out
    assert "pooled_budgets" not in Path(app_config["CODEBOOK_PATH"]).read_text(encoding="utf-8")

    applied = runner.invoke(args=["codebook", "import", str(path), "--apply"])
    assert applied.exit_code == 0 and "is now in use" in applied.output, applied.output
    with app.app_context():
        cb = codebook_mod.load()
    ict = cb.get("F.ict")
    assert ict.valences == ("positive", "to_develop", "negative")
    assert ict.description == "ICT that gets in the way."
    assert ict.definition == current.get("F.ict").definition     # rules not restated are kept
    assert ict.steering_group == current.get("F.ict").steering_group
    assert cb.get("L2.stress").valences == ("negative",) and cb.get("L2.stress").level == 2
    assert cb.get("F.pooled_budgets").label == "Pooled budgets"
    assert cb.groups["Q"]["label"] == "Questions raised" and cb.get("Q.unclear").group == "Q"
    assert cb.get("L3.cyp.happier") == current.get("L3.cyp.happier")


def test_cli_check_and_apply_cannot_go_together(runner, tmp_path):
    path = tmp_path / "codes.csv"
    path.write_bytes(_taguette_csv([[t] for t in _flat_tags(_current())]))
    both = runner.invoke(args=["codebook", "import", str(path), "--check", "--apply"])
    assert both.exit_code != 0 and "--check only checks" in both.output
    checked = runner.invoke(args=["codebook", "import", str(path), "--check"])
    assert checked.exit_code == 0 and "No changes." in checked.output


def test_web_previews_a_spreadsheet_of_codes_then_applies_it(app, client, auth, app_config):
    auth.login(Role.ADMIN)
    current = _current()
    wb = Workbook()
    ws = wb.active
    ws.append(["Code", "Label", "Valence", "Description"])
    for tag in _flat_tags(current):
        ws.append([tag, None, None, None])
    ws.append(["F.pooled_budgets", "Pooled budgets", "to develop", "Budgets shared between agencies."])
    ws.append(["F.pooled_budgets", None, "+", None])
    buf = io.BytesIO()
    wb.save(buf)
    preview = client.post("/coding/codebook/import", data={"file": (io.BytesIO(buf.getvalue()), "codes.xlsx")},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert "Read as a flat codebook (XLSX)" in html and "How each entry of the flat file was read" in html
    assert "New codes (1)" in html and "Apply these changes" in html
    assert "pooled_budgets" not in Path(app_config["CODEBOOK_PATH"]).read_text(encoding="utf-8")
    definition = html.split('<textarea name="definition" hidden aria-hidden="true">')[1].split("</textarea>")[0]
    base = html.split('name="base" value="')[1].split('"')[0]
    r = client.post("/coding/codebook/apply", data={"definition": htmllib.unescape(definition), "base": base})
    assert r.status_code == 302
    with app.app_context():
        cb = codebook_mod.load()
    # The valence first given is the default.
    assert cb.get("F.pooled_budgets").valences == ("to_develop", "positive")


def test_every_problem_in_a_flat_file_is_listed_at_once(client, auth, runner, tmp_path):
    current = _current()
    rows = [[t] for t in _flat_tags(current)]
    rows += [["Tools we use"], ["L9.new: A code in no group"], ["F.brand_new"], ["F.ict+"],
             ["L1.tools-", "Tools that fail."]]
    raw = _taguette_csv(rows)
    with pytest.raises(codebook_io.CodebookProblems) as caught:
        codebook_io.read_file("taguette.csv", raw, current)
    problems = caught.value.problems
    n = len(_flat_tags(current)) + 1        # the header is line 1
    expected = [f"line {n + 1}: 'Tools we use' does not start with a code id",
                f"line {n + 2}: L9.new belongs to no group",
                f"line {n + 3}: F.brand_new is a new code without a label",
                f"line {n + 4}: F.ict (positive) is also on line"]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == 4     # L1.tools- is a new valence of a known code: not a problem

    path = tmp_path / "taguette.csv"
    path.write_bytes(raw)
    refused = runner.invoke(args=["codebook", "import", str(path)])
    assert refused.exit_code != 0 and "4 problem(s)" in refused.output
    assert all(start.split(":")[0] in refused.output for start in expected)

    auth.login(Role.ADMIN)
    page = client.post("/coding/codebook/import", data={"file": (io.BytesIO(raw), "taguette.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "4 problems" in html and html.count("<li>line ") == 4 and "Apply these changes" not in html


def test_every_problem_in_a_qdc_with_groups_is_listed_at_once():
    current = _current()
    qdc = codebook_io.export_qdc(current)
    qdc = qdc.replace(b'name="L1.tools: Tools and frameworks"', b'name="Tools and frameworks"')
    qdc = qdc.replace(b'name="F.ict (to_develop)"', b'name="F.ict (later)"')
    with pytest.raises(codebook_io.CodebookProblems) as caught:
        codebook_io.read_file("book.qdc", qdc, current)
    problems = caught.value.problems
    assert len(problems) == 2, problems
    assert problems[0] == ("code 'Tools and frameworks' is L1.tools (same GUID): ids never change, "
                           "relabel the code instead")
    assert problems[1].startswith("code F.ict: a child code must be a valence")


def test_every_problem_in_the_full_csv_is_listed_at_once():
    current = _current()
    lines = codebook_io.export_csv(current).splitlines()
    width = len(lines[0].split(","))
    lines.append(",".join(["code", "X.one", "X", "One"] + [""] * (width - 4)))
    lines.append(",".join(["code", "F.two", "F", "Two", "", "", "", "sideways"] + [""] * (width - 8)))
    with pytest.raises(codebook_io.CodebookProblems) as caught:
        codebook_io.read_file("codebook.csv", ("\n".join(lines) + "\n").encode(), current)
    assert caught.value.problems == [
        "code X.one names unknown group 'X'",
        "code F.two has unknown valences sideways: use positive, to_develop or negative"]


@pytest.mark.parametrize("name, expected", [
    ("L1.tools", ("L1.tools", None, "")), ("F.ict+", ("F.ict", "positive", "")),
    ("F.ict~: ICT", ("F.ict", "to_develop", "ICT")), ("L2.stress- Stress", ("L2.stress", "negative", "Stress")),
    ("F.ict_dev", ("F.ict", "to_develop", "")), ("F.ict (negative)", ("F.ict", "negative", "")),
    ("L2.other_negative", ("L2.other_negative", None, "")), ("Tools", ("Tools", None, "")),
    ("- a bullet", None)])
def test_names_split_into_id_valence_and_label(name, expected):
    assert flat_codebook.split_name(name, _current()) == expected


def test_a_file_that_is_not_a_workbook_is_refused_plainly(client, auth):
    auth.login(Role.ADMIN)
    page = client.post("/coding/codebook/import", data={"file": (io.BytesIO(b"PK\x03\x04 not really"), "codes.xlsx")},
                       content_type="multipart/form-data")
    assert page.status_code == 422
    assert "not an Excel workbook (.xlsx) that can be read" in page.get_data(as_text=True)
