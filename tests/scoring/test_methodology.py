"""docs/METHODOLOGY.md and the code name the same components with the same weights."""
from __future__ import annotations

import re

from impactmodel.paths import ROOT
from impactmodel.scoring import core

DOC = ROOT / "docs" / "METHODOLOGY.md"


def test_documented_components_and_weights_match_the_code():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Components and weights", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([0-9.]+) \|", section, flags=re.MULTILINE)
    assert rows, "no component table found in METHODOLOGY.md"
    assert [(name, float(w)) for name, w in rows] == [(c[0], c[1]) for c in core.COMPONENTS]
    assert f"Method version: **{core.METHOD_VERSION}**" in text
    flat = " ".join(text.split())
    assert f"drawn {core.DEFAULT_REPLICATES:,} times" in flat
    assert (f"at least {core.MIN_GROUP[0]} DCS, {core.MIN_GROUP[1]} managers and {core.MIN_GROUP[2]} "
            "practitioners") in flat
    assert f"at least {core.KAPPA_FLOOR:g}" in flat
