"""docs/DOMAIN.md lists exactly the codebook's codes, roles and evidence categories."""

import re
from pathlib import Path

import yaml

from impactmodel.enums import EvidenceCategory, RespondentRole, Valence

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "DOMAIN.md").read_text(encoding="utf-8")
CODEBOOK = yaml.safe_load((ROOT / "surveys" / "codebook.yaml").read_text(encoding="utf-8"))


def table_ids(pattern):
    """First-column identifiers of the doc's tables that match ``pattern``."""
    return {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", DOC, re.M) if re.fullmatch(pattern, m.group(1))}


def test_every_code_is_listed_once_with_its_label_and_valences():
    listed = re.findall(r"^\| `([A-Z][\w.]*)` \| (.+?) \| (.+?) \|$", DOC, re.M)
    ids = [row[0] for row in listed]
    assert len(ids) == len(set(ids)), "a code is listed twice"
    codes = {c["id"]: c for c in CODEBOOK["codes"]}
    assert set(ids) == set(codes)
    for code_id, label, valences in listed:
        assert label == codes[code_id]["label"], code_id
        assert valences.split(", ") == codes[code_id].get("valences", ["positive"]), code_id


def test_every_group_has_a_heading():
    headings = set(re.findall(r"^#### `([A-Z][\w.]*)`", DOC, re.M))
    used = {c["group"] for c in CODEBOOK["codes"]}
    assert headings == used


def test_roles_valences_and_evidence_categories_match_the_enums():
    assert table_ids(r"[a-z_]+") >= {r.value for r in RespondentRole} | {e.value for e in EvidenceCategory}
    for role in RespondentRole:
        assert f"| `{role.value}` |" in DOC
    for category in EvidenceCategory:
        assert f"| `{category.value}` |" in DOC
    for valence in Valence:
        assert f"`{valence.value}`" in DOC
