"""The report's tables: Table 1 (five or more people), Table 2 (half the authorities), levels."""
from __future__ import annotations

import numpy as np

from impactmodel.scoring import tables
from impactmodel.scoring.tables import ROLES, VALENCES, Mentions


def _mentions(respondents, codings, codes, n_authorities):
    """respondents: [(authority, role)], codings: [(respondent index, code, valence)]."""
    return Mentions(respondent_authority=np.array([a for a, _ in respondents]),
                    respondent_role=np.array([ROLES.index(r) for _, r in respondents]),
                    n_authorities=n_authorities, codes=codes,
                    respondent=np.array([r for r, _, _ in codings], dtype=np.int64),
                    code=np.array([codes.index(c) for _, c, _ in codings], dtype=np.int64),
                    valence=np.array([VALENCES.index(v) for _, _, v in codings], dtype=np.int64))


def test_table1_keeps_views_given_by_five_or_more_ranked():
    codes = ["L3.cyp.confidence", "L3.cyp.safer", "L3.cyp.happier"]
    respondents = [(0, "parent")] * 7 + [(1, "child")] * 6
    codings = [(i, "L3.cyp.confidence", "positive") for i in range(7)]           # 7 parents
    codings += [(i, "L3.cyp.safer", "positive") for i in range(4)]              # 4 parents: left out
    codings += [(0, "L3.cyp.confidence", "positive")]                           # duplicate: counts once
    codings += [(7 + i, "L3.cyp.happier", "positive") for i in range(6)]       # 6 children
    codings += [(7 + i, "L3.cyp.safer", "positive") for i in range(5)]         # 5 children
    t1 = tables.table1(_mentions(respondents, codings, codes, 2), codes)
    assert t1["parent"] == [{"code": "L3.cyp.confidence", "respondents": 7}]
    assert t1["child"] == [{"code": "L3.cyp.happier", "respondents": 6},
                           {"code": "L3.cyp.safer", "respondents": 5}]


def test_table2_needs_half_the_authorities_and_ranks_by_authorities_then_people():
    codes = ["F.locality_working", "F.vision", "F.ict", "F.time"]
    # Four authorities, two managers each.
    respondents = [(a, "manager") for a in range(4) for _ in range(2)]
    codings = []
    for a in range(4):                            # locality working: all 4 authorities, one manager each
        codings.append((2 * a, "F.locality_working", "positive"))
    for a in range(2):                            # vision: 2 authorities (half), both managers
        codings += [(2 * a, "F.vision", "positive"), (2 * a + 1, "F.vision", "positive")]
    codings.append((0, "F.ict", "positive"))       # ict: 1 authority: below half
    for a in range(4):                            # time: to develop only, not a positive feature
        codings.append((2 * a, "F.time", "to_develop"))
    codings.append((6, "F.ict", "positive"))       # ict now 2 authorities, 2 people: ties vision on
    t2 = tables.table2(_mentions(respondents, codings, codes, 4), codes)  # authorities, loses on people
    assert t2["minimum_authorities"] == 2
    assert [(r["code"], r["authorities"], r["respondents"]) for r in t2["groups"]["manager"]] == [
        ("F.locality_working", 4, 4), ("F.vision", 2, 4), ("F.ict", 2, 2)]
    assert t2["groups"]["dcs"] == []


def test_level_reach_counts_people_naming_any_impact_at_a_level():
    codes = ["L1.tools", "L1.structures", "L2.dialogue"]
    respondents = [(0, "manager"), (0, "manager"), (0, "practitioner")]
    codings = [(0, "L1.tools", "positive"), (0, "L1.structures", "positive"), (1, "L1.tools", "positive"),
               (2, "L2.dialogue", "positive")]
    m = _mentions(respondents, codings, codes, 1)
    reach = tables.level_reach(m, {"L1.tools": 1, "L1.structures": 1, "L2.dialogue": 2})
    assert reach["1"]["manager"] == 2 and reach["1"]["practitioner"] == 0
    assert reach["2"] == {"dcs": 0, "manager": 0, "practitioner": 1, "parent": 0, "child": 0}
    rows = tables.impacts_by_level(m, {"L1.tools": 1, "L1.structures": 1, "L2.dialogue": 2})
    assert rows[0] == {"code": "L1.tools", "level": 1, "authorities": 1,
                       "respondents": {"dcs": 0, "manager": 2, "practitioner": 0, "parent": 0, "child": 0}}


def test_subset_keeps_chosen_respondents_and_counts_only_their_authorities():
    codes = ["F.vision", "L3.cyp.safer"]
    respondents = [(0, "manager"), (1, "manager"), (2, "manager"), (2, "parent")]
    codings = [(0, "F.vision", "positive"), (1, "F.vision", "positive"), (2, "F.vision", "positive"),
               (3, "L3.cyp.safer", "positive")]
    m = _mentions(respondents, codings, codes, 3)
    sub = m.subset(np.array([True, False, True, True]))
    assert sub.n_authorities == 2                                   # authority 1 has no one kept
    assert sub.respondents_by_role().tolist() == [0, 2, 0, 1, 0]
    resp, auths = sub.counts("positive")
    assert resp[ROLES.index("manager"), 0] == 2 and auths[ROLES.index("manager"), 0] == 2
    # Table 2's "half the authorities" is half of those two, not of the round's three.
    assert tables.table2(sub, ["F.vision"])["minimum_authorities"] == 1
    empty = m.subset(np.zeros(4, dtype=bool))
    assert empty.n_authorities == 0 and tables.table1(empty, codes)["parent"] == []


def test_to_develop_lists_every_feature_a_group_named_ranked():
    codes = ["F.time", "F.resources", "F.vision"]
    respondents = [(0, "practitioner"), (0, "practitioner"), (1, "practitioner"), (1, "dcs")]
    codings = [(0, "F.time", "to_develop"), (1, "F.time", "to_develop"), (2, "F.resources", "to_develop"),
               (3, "F.resources", "to_develop"), (0, "F.vision", "positive")]
    out = tables.to_develop(_mentions(respondents, codings, codes, 2), codes)
    assert out["groups"]["practitioner"] == [{"code": "F.time", "authorities": 1, "respondents": 2},
                                             {"code": "F.resources", "authorities": 1, "respondents": 1}]
    assert out["groups"]["dcs"] == [{"code": "F.resources", "authorities": 1, "respondents": 1}]
    assert out["groups"]["manager"] == []


def test_suggestions_are_parents_given_by_five_or_more():
    codes = ["S.earlier_help", "S.communication", "S.key_worker"]
    respondents = [(i % 2, "parent") for i in range(6)] + [(0, "child")] * 5
    codings = [(i, "S.earlier_help", "positive") for i in range(5)]
    codings += [(i, "S.communication", "positive") for i in range(4)]
    codings += [(6 + i, "S.key_worker", "positive") for i in range(5)]     # children: not parents' suggestions
    out = tables.suggestions(_mentions(respondents, codings, codes, 2), codes)
    assert out["rows"] == [{"code": "S.earlier_help", "respondents": 5, "authorities": 2}]
    assert out["fewer"] == 1 and out["parents"] == 6


def test_thirds_compare_staff_of_the_upper_and_lower_authorities():
    codes = ["L1.tools", "L4.embedded", "F.vision"]
    levels = {"L1.tools": 1, "L4.embedded": 4}
    # Authorities 0 (upper), 1 (middle), 2 (lower): two staff each, and a parent in 0.
    respondents = [(a, "manager") for a in range(3) for _ in range(2)] + [(0, "parent")]
    codings = [(0, "L1.tools", "positive"), (1, "L1.tools", "positive"), (4, "L1.tools", "positive"),
               (2, "L1.tools", "positive"),                                     # middle third: not counted
               (0, "F.vision", "positive"), (5, "F.vision", "to_develop"),
               (4, "L4.embedded", "to_develop"),                               # an aspiration: not an impact
               (6, "F.vision", "positive")]                                    # a parent: not staff
    out = tables.thirds(_mentions(respondents, codings, codes, 3), ["L1.tools", "L4.embedded"], ["F.vision"],
                        levels, upper=[0], lower=[2])
    assert out["upper"] == {"authorities": 1, "staff": 2} and out["lower"] == {"authorities": 1, "staff": 2}
    rows = {(r["kind"], r["code"]): r for r in out["rows"]}
    assert rows[("impact", "L1.tools")] == {"code": "L1.tools", "kind": "impact", "upper_staff": 2,
                                            "upper_authorities": 1, "lower_staff": 1, "lower_authorities": 1}
    assert ("impact", "L4.embedded") not in rows
    assert rows[("positive", "F.vision")]["upper_staff"] == 1 and rows[("positive", "F.vision")]["lower_staff"] == 0
    assert rows[("to_develop", "F.vision")]["lower_staff"] == 1
