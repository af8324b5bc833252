"""Generate a plausible consortium: who says what, at what level, in which authority.

Pure and seeded: the same seed gives the same consortium. Each authority has a
*maturity* between 0 (early stage) and 1 ('confident'); it drives what its staff
say, as the report describes (docs/METHODOLOGY.md, "What the report did, and what
we compute"): in mature authorities the three staff groups name the same
positive features, report higher levels and agree on them, and name few features
still to develop; practitioners report less structural change than managers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from impactmodel import codebook
from impactmodel.indicators import vocabulary

PHRASES_PATH = Path(__file__).with_name("phrases.yaml")

# Invented authorities; (name, locality, maturity in round 1).
AUTHORITIES = [
    ("Northshire County Council", "Harbour East", 0.92),
    ("Eastbrook Borough Council", "Millfield", 0.80),
    ("Westmere City Council", "Canal Quarter", 0.66),
    ("Kingsmead Metropolitan Borough", "Old Town", 0.52),
    ("Ashby Vale District Council", "Ashby North", 0.38),
    ("Riverton City Council", "Riverside", 0.26),
    ("Greyford Borough Council", "Greyford West", 0.15),
    ("Southvale County Council", "Southvale Coast", 0.05),
]
ROUNDS = ["Round 1 (2007-08)", "Round 2 (2008-09)"]
# Each authority's context (consortium/context.py): type, children aged 0-19, year integration began.
CONTEXT = {
    "Northshire County Council": ("county", 162_000, 2003),
    "Eastbrook Borough Council": ("unitary", 48_500, 2004),
    "Westmere City Council": ("unitary", 61_800, 2005),
    "Kingsmead Metropolitan Borough": ("metropolitan", 71_200, 2005),
    "Ashby Vale District Council": ("unitary", 39_400, 2006),
    "Riverton City Council": ("unitary", 55_100, 2006),
    "Greyford Borough Council": ("london_borough", 57_900, 2007),
    "Southvale County Council": ("county", 131_000, 2007),
}
KEY_GROUPS = ["lac", "asd", "ks3_absence"]
STAFF = {"dcs": 1, "manager": 3, "practitioner": 5}
PARENTS, CHILDREN = 8, 6


@lru_cache(maxsize=1)
def phrases() -> dict:
    return yaml.safe_load(PHRASES_PATH.read_text(encoding="utf-8"))


@dataclass
class Said:
    """One respondent's coded answers: (code, valence, sentence) triples."""

    reference: str
    role: str
    key_group: str | None
    level: float | None = None
    codings: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class AuthorityRound:
    name: str
    locality: str
    maturity: float
    respondents: list[Said]


def _level(rng, maturity: float) -> float:
    centre = 1.3 + 2.2 * maturity
    spread = 0.9 - 0.6 * maturity  # confident authorities agree on where they are
    return float(np.clip(np.round((centre + rng.normal(0, spread)) * 2) / 2, 1, 4))


def _sentence(rng, options) -> str:
    return options if isinstance(options, str) else options[int(rng.integers(len(options)))]


def staff_member(rng, maturity: float, role: str, reference: str, shared: list[str],
                 to_develop: list[str], key_group: str | None) -> Said:
    cb = codebook.load()
    bank = phrases()
    said = Said(reference, role, key_group, level=_level(rng, maturity))
    impact_p = {1: 0.55, 2: 0.15 + 0.5 * maturity, 3: 0.05 + 0.5 * maturity, 4: 0.03 + 0.3 * maturity}
    for code in cb.codes.values():
        if code.group == "F" or code.group == "S" or code.id not in bank["staff"]:
            continue
        p = impact_p.get(code.level or 0, 0)
        if code.id == "L1.structures":  # practitioners see less structural change than managers
            p = {"dcs": 0.7, "manager": 0.8, "practitioner": 0.25}[role]
        if code.id in ("L2.workload", "L2.other_negative"):
            p = 0.35 - 0.25 * maturity
        if rng.random() < p:
            said.codings.append((code.id, code.default_valence.value,
                                 _sentence(rng, bank["staff"][code.id])))
    for feature in shared:  # the authority's common story, told more consistently when mature
        if rng.random() < 0.35 + 0.6 * maturity:
            said.codings.append((feature, "positive", _sentence(rng, bank["staff"][feature])))
    others = [c for c in bank["staff"] if c.startswith("F.") and c not in shared]
    for feature in rng.choice(others, size=2, replace=False):
        if rng.random() < 0.3:
            said.codings.append((str(feature), "positive", _sentence(rng, bank["staff"][feature])))
    for feature in to_develop:
        if rng.random() < 0.55:
            said.codings.append((feature, "to_develop", bank["to_develop"][feature]))
    return said


def service_user(rng, role: str, reference: str, key_group: str) -> Said:
    bank = phrases()[role]
    said = Said(reference, role, key_group)
    codes = list(bank)
    outcomes = [c for c in codes if c.startswith("L3.cyp.")]
    weights = np.linspace(2.0, 0.5, len(outcomes))  # the report's Table 1 is roughly in this order
    picked = rng.choice(outcomes, size=int(rng.integers(1, 4)), replace=False, p=weights / weights.sum())
    for code in picked:
        said.codings.append((str(code), "positive", bank[str(code)]))
    if role == "parent":
        for code in ("L3.family", "L3.parent_views"):
            if rng.random() < 0.5:
                said.codings.append((code, "positive", bank[code]))
        suggestions = [c for c in codes if c.startswith("S.")]
        code = suggestions[int(rng.integers(len(suggestions)))]
        said.codings.append((code, "positive", bank[code]))
    return said


def authority_round(rng, name: str, locality: str, maturity: float) -> AuthorityRound:
    features = [c for c in phrases()["staff"] if c.startswith("F.")]
    order = rng.permutation(features)
    n_shared = int(round(1 + 4 * maturity))
    n_develop = int(round(6 - 4.5 * maturity))
    shared = [str(f) for f in order[:n_shared]]
    to_develop = [str(f) for f in order[n_shared:n_shared + n_develop]]
    people: list[Said] = []
    for role, n in STAFF.items():
        for i in range(n):
            kg = None if role == "dcs" else KEY_GROUPS[i % len(KEY_GROUPS)]
            people.append(staff_member(rng, maturity, role, f"{role}-{i + 1:02d}", shared, to_develop, kg))
    for role, n in (("parent", PARENTS), ("child", CHILDREN)):
        for i in range(n):
            people.append(service_user(rng, role, f"{role}-{i + 1:02d}", KEY_GROUPS[i % len(KEY_GROUPS)]))
    return AuthorityRound(name, locality, maturity, people)


def consortium(seed: int = 2008) -> dict[str, list[AuthorityRound]]:
    """Both rounds; every authority moves on a little between them."""
    rng = np.random.default_rng(seed)
    out = {}
    for r, round_name in enumerate(ROUNDS):
        out[round_name] = [authority_round(rng, name, locality, min(1.0, m + 0.12 * r))
                           for name, locality, m in AUTHORITIES]
    return out


# Each round's indicator figures: the year before its fieldwork and the year of it.
PERIODS = {ROUNDS[0]: ("2006-07", "2007-08"), ROUNDS[1]: ("2007-08", "2008-09")}
# Indicator -> a typical figure in its unit (national rates of the time, roughly).
TYPICAL = {"looked_after": 55.0, "cp_plans": 27.0, "referrals": 500.0, "initial_assessments": 280.0,
           "initial_assessments_on_time": 68.0, "caf_started": 35.0, "ks3_persistent_absence": 6.5,
           "ks3_fixed_exclusions": 8.0, "ks3_permanent_exclusions": 0.2}


def indicator_rows(seed: int = 2008) -> dict[str, list[list[str]]]:
    """Each round's indicator figures as import rows (authority, indicator, period, key_group,
    value, numerator, denominator): counts for the indicators counted from records, values
    for the survey score. Mature authorities improve a little each year where the
    direction is clear; the rest drift."""
    voc = vocabulary.load()
    rng = np.random.default_rng(seed + 1)   # its own stream: the consortium above stays as it was
    children = {name: int(rng.integers(25_000, 110_000)) for name, _, _ in AUTHORITIES}
    level = {(name, ind): TYPICAL[ind] * float(rng.uniform(0.7, 1.3)) for name, _, _ in AUTHORITIES
             for ind in TYPICAL}
    years = sorted({p for periods in PERIODS.values() for p in periods})
    figures: dict[tuple[str, str, str], float] = {}
    for name, _, maturity in AUTHORITIES:
        for ind, start in ((i, level[(name, i)]) for i in TYPICAL):
            rise = voc.indicators[ind].rise_is_good
            trend = 0.0 if rise is None else (0.05 if rise else -0.05) * maturity
            x = start
            for year in years:
                figures[(name, ind, year)] = x
                x *= 1 + trend + float(rng.normal(0, 0.03))
    out: dict[str, list[list[str]]] = {}
    for round_name, periods in PERIODS.items():
        rows = []
        for name, _, maturity in AUTHORITIES:
            for period in periods:
                for ind in TYPICAL:
                    unit = voc.indicators[ind].unit
                    denominator = int(children[name] * (0.17 if ind.startswith("ks3_") else 1))
                    if ind == "initial_assessments_on_time":   # out of the initial assessments made
                        denominator = round(figures[(name, "initial_assessments", period)] * children[name] / 10000)
                    numerator = round(figures[(name, ind, period)] * denominator / unit.scale)
                    rows.append([name, ind, period, "", "", str(numerator), str(denominator)])
                score = 3.0 + 0.8 * maturity + float(rng.normal(0, 0.1))
                rows.append([name, "emotional_wellbeing", period, "", f"{score:.2f}", "", ""])
                rows.append([name, "emotional_wellbeing", period, "lac", f"{score - 0.4:.2f}", "", ""])
        out[round_name] = rows
    return out
