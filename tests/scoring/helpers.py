"""Constructed rounds for the scoring tests, written as the CSV imports' text."""
from __future__ import annotations

import csv
import io

from impactmodel.interchange import csvio

# Figure 2 (report l.708-738): a 'confident' authority. Every member of a group names the
# group's features, so the groups agree; locality working and a holistic view are named
# by all three groups; few features to develop; levels 2.5-3.
FIGURE2 = {
    "positive": {
        "dcs": ["F.locality_working", "F.holistic_view", "F.needs_analysis", "F.ict",
                "F.relationships_cultures", "F.workforce_development"],
        "manager": ["F.locality_working", "F.holistic_view", "F.needs_analysis", "F.multi_agency_panels",
                    "F.vision", "F.workforce_development", "F.working_together"],
        "practitioner": ["F.locality_working", "F.holistic_view", "F.multi_agency_panels", "F.vision",
                         "F.ict", "F.relationships_cultures", "F.leadership", "F.working_together"],
    },
    "to_develop": {
        "dcs": [],
        "manager": ["F.co_location", "F.consultation_professionals"],
        "practitioner": ["F.co_location", "F.consultation_professionals", "F.leadership", "F.communication"],
    },
    "impacts": {"dcs": ["L1.tools", "L1.structures", "L2.dialogue", "L2.relationships", "L3.access"],
                "manager": ["L1.tools", "L1.structures", "L2.dialogue", "L2.relationships", "L3.access"],
                "practitioner": ["L1.tools", "L1.structures", "L2.dialogue", "L2.relationships", "L3.access"]},
    "levels": {"dcs": [3], "manager": [2.5, 3, 3], "practitioner": [2.5, 2.5, 3, 3]},
}

# Figure 3 (l.740-776): an authority at an earlier stage. No positive feature is named by
# all three groups, many features to develop, levels lower and scattered. Members of a
# group name different parts of the group's list.
FIGURE3 = {
    "positive": {
        "dcs": [["F.ict", "F.locality_working", "F.early_intervention", "F.needs_analysis",
                 "F.multi_agency_working"]],
        "manager": [["F.multi_agency_panels", "F.locality_working"], ["F.holistic_view"],
                    ["F.needs_analysis", "F.multi_agency_working"]],
        "practitioner": [["F.multi_agency_panels"], ["F.ict"], ["F.early_intervention"], ["F.holistic_view"]],
    },
    "to_develop": {
        "dcs": [["F.resources"]],
        "manager": [["F.resources", "F.working_together", "F.time"], ["F.communication", "F.leadership"],
                    ["F.funding_models", "F.resources"]],
        "practitioner": [["F.resources", "F.working_together"], ["F.communication", "F.time"],
                         ["F.leadership", "F.funding_models"], ["F.resources", "F.communication"]],
    },
    "impacts": {"dcs": [["L1.tools", "L1.forums"]],
                "manager": [["L1.tools"], ["L1.roles", "L2.workload"], ["L1.training"]],
                "practitioner": [["L2.workload"], ["L1.structures"], ["L2.other_negative"], ["L1.tools"]]},
    "levels": {"dcs": [2], "manager": [1, 2, 1.5], "practitioner": [1, 2.5, 1, 1.5]},
}

NEGATIVE = {"L2.workload", "L2.other_negative"}


def _coded_rows(authority: str, spec: dict, *, per_member: bool) -> list[list[str]]:
    rows = []
    for role, levels in spec["levels"].items():
        for i in range(len(levels)):
            ref = f"{role}-{i + 1}"
            for kind, valence in (("positive", "positive"), ("to_develop", "to_develop"), ("impacts", None)):
                codes = spec[kind][role]
                if per_member:
                    codes = codes[i] if i < len(codes) else []
                for code in codes:
                    v = valence or ("negative" if code in NEGATIVE else "positive")
                    rows.append([authority, ref, role, code, v, ""])
    return rows


def figure_csvs(names=("Northam", "Southby")) -> tuple[str, str]:
    """Coded and levels CSV text: ``names[0]`` like Figure 2, ``names[1]`` like Figure 3."""
    coded = _coded_rows(names[0], FIGURE2, per_member=False) + _coded_rows(names[1], FIGURE3, per_member=True)
    levels = []
    for name, spec in zip(names, (FIGURE2, FIGURE3)):
        for role, values in spec["levels"].items():
            levels += [[name, f"{role}-{i + 1}", role, f"{v:g}"] for i, v in enumerate(values)]
    return (to_csv(["authority", "respondent", "role", "code", "valence", "excerpt"], coded),
            to_csv(["authority", "respondent", "role", "level"], levels))


def to_csv(header, rows) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def import_round(session, round_name: str, coded: str, levels: str | None = None):
    result = csvio.import_coded(session, io.StringIO(coded), round_name)
    if levels:
        csvio.import_levels(session, io.StringIO(levels), round_name)
    return result.round
