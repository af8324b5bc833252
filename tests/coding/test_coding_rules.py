"""Coding rules: every code has a definition, include, exclude and example; check enforces them."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa
import yaml

from impactmodel import codebook as codebook_mod
from impactmodel.codebook import CODE_MENTION, RULE_PARTS, CodebookError
from impactmodel.codebook import exchange
from impactmodel.codebook.models import Code


@pytest.fixture
def app_config(tmp_path):
    path = tmp_path / "codebook.yaml"
    shutil.copy(codebook_mod.CODEBOOK_PATH, path)
    return {"CODEBOOK_PATH": str(path)}


def shipped():
    return codebook_mod.load(codebook_mod.CODEBOOK_PATH)


def _edit(path, change) -> None:
    definition = yaml.safe_load(path.read_text(encoding="utf-8"))
    for code in definition["codes"]:
        change(code)
    path.write_text(exchange.dump_yaml(definition), encoding="utf-8")


def test_every_shipped_code_has_all_four_parts_and_names_real_neighbours():
    cb = shipped()
    cb.check_rules()
    for code in cb.codes.values():
        assert all(getattr(code, part) for part in RULE_PARTS), code.id
        named = set(CODE_MENTION.findall(code.exclude))
        assert named - {code.id} and named <= set(cb.codes) | set(cb.groups), (code.id, named)
    # The overlapping neighbours point at each other.
    assert "F.multi_agency_working" in cb.get("F.working_together").exclude
    assert "F.working_together" in cb.get("F.multi_agency_working").exclude
    assert "L1.forums" in cb.get("L2.dialogue").exclude and "L2.dialogue" in cb.get("L1.forums").exclude
    assert cb.get("F.co_location").example_constructed and not cb.get("L1.tools").example_constructed


def test_rewording_rules_leaves_the_structure_alone():
    cb = shipped()
    bare = yaml.safe_load(codebook_mod.CODEBOOK_PATH.read_text(encoding="utf-8"))
    for code in bare["codes"]:
        for part in (*RULE_PARTS, "example_constructed"):
            code.pop(part, None)
    stripped = codebook_mod.parse(exchange.dump_yaml(bare))
    assert stripped.structure == cb.structure and stripped.checksum != cb.checksum
    with pytest.raises(CodebookError, match="76 code"):
        stripped.check_rules()


def test_a_rule_that_is_not_text_is_refused():
    bad = "groups: [{id: L1, label: L1}]\ncodes: [{id: L1.x, group: L1, label: X, include: [a, b]}]\n"
    with pytest.raises(CodebookError, match="L1.x.*include must be text"):
        codebook_mod.parse(bad)


def test_codebook_check_fails_naming_each_code_and_missing_part(runner, app_config, tmp_path):
    ok = runner.invoke(args=["codebook", "check"])
    assert ok.exit_code == 0, ok.output

    path = tmp_path / "codebook.yaml"

    def gaps(code):
        if code["id"] == "L1.tools":
            del code["include"]
        elif code["id"] == "F.ict":
            code["example"] = "  "
            del code["definition"]
        elif code["id"] == "S.key_worker":
            code["exclude"] = "Another code applies."    # names no neighbour
    _edit(path, gaps)
    failed = runner.invoke(args=["codebook", "check"])
    assert failed.exit_code != 0
    assert "3 code(s) lack coding rules" in failed.output
    assert "L1.tools: no include" in failed.output
    assert "F.ict: no definition, example" in failed.output
    assert "S.key_worker: its exclude names no other code" in failed.output
    assert "L1.roles" not in failed.output


def test_qdc_and_csv_carry_all_four_parts_and_read_back(app):
    cb = shipped()
    qdc = exchange.export_qdc(cb).decode()
    tools = cb.get("L1.tools")
    for heading, text in (("Definition: ", tools.definition), ("Use when: ", tools.include),
                          ("Do not use when: ", tools.exclude), ("Example: ", tools.example)):
        assert heading + text in qdc
    assert "Example (constructed): " + cb.get("F.co_location").example in qdc
    for name, data in (("book.qdc", exchange.export_qdc(cb)), ("book.csv", exchange.export_csv(cb).encode())):
        back = exchange.read_import(name, data, cb)
        assert back.codes == cb.codes, name


def test_the_code_table_mirrors_the_rules(app, session):
    codebook_mod.sync(session, shipped())
    session.commit()
    row = session.get(Code, "F.co_location")
    code = shipped().get("F.co_location")
    assert (row.definition, row.include, row.exclude, row.example, row.example_constructed) == (
        code.definition, code.include, code.exclude, code.example, True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Code).where(Code.definition == "")) == 0
