"""docs/METHODOLOGY.md and the code name the same components with the same weights."""
from __future__ import annotations

import re

from impactmodel import ROOT
from impactmodel.scoring import core

DOC = ROOT / "docs" / "METHODOLOGY.md"


def test_documented_components_and_weights_match_the_code():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Components and weights", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([0-9.]+) \|", section, flags=re.MULTILINE)
    assert rows, "no component table found in METHODOLOGY.md"
    assert [(name, float(w)) for name, w in rows] == [(c[0], c[1]) for c in core.COMPONENTS]
    assert f"Method version: **{core.METHOD_VERSION}**" in text
    assert f"{core.DEFAULT_REPLICATES} replicates by\ndefault" in text or \
        f"{core.DEFAULT_REPLICATES} replicates by default" in text.replace("\n", " ")
