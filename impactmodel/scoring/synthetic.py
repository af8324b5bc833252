"""A synthetic round with a known maturity per authority, for the benchmark and tests.

Each authority has a latent maturity m in [0, 1]. Staff report levels around
1.5 + 2m; mature authorities share a core of positive features across all three
groups and name few to develop; early-stage ones the reverse. Parents and
children give level 3 views. Pure Python and numpy; no database.

:func:`population` draws one authority's *whole* staff instead, so the method
simulation (``bench/method_sim.py``) and its test can interview samples of it
and compare with the value a census of that staff gives.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from impactmodel.scoring import core
from impactmodel.scoring.core import CodingRecord, StaffRecord


@dataclass
class SyntheticRound:
    maturity: dict[str, float]
    staff: list[StaffRecord]
    codings: list[CodingRecord]           # staff and parent/child codings
    families: list[tuple[str, str, str]]  # (authority, respondent, role) of parents and children


def make_round(impact_codes, feature_codes, cyp_codes, *, n_authorities=10, staff=(1, 9, 20),
               families=0, seed=0, prefix="Authority", negative=(), family_codes=None,
               staff_impacts=8.0, family_mentions=6.0) -> SyntheticRound:
    """Generate a round.

    Parameters
    ----------
    staff : (dcs, managers, practitioners) per authority.
    families : parents plus children per authority (half each).
    negative : impact codes coded with the ``negative`` valence (e.g. ``L2.workload``).
    family_codes : codes parents may add beyond ``cyp_codes`` (level 3 views, suggestions).
    staff_impacts, family_mentions : mean impact codes per member of staff (at maturity 0;
        twice that at 1) and mean codes per parent or child.
    """
    family_codes = list(family_codes or [])
    negative = set(negative)
    rng = np.random.default_rng(seed)
    impact_codes, feature_codes, cyp_codes = list(impact_codes), list(feature_codes), list(cyp_codes)
    maturity, staff_rows, codings, fam = {}, [], [], []
    roles = ["dcs"] * staff[0] + ["manager"] * staff[1] + ["practitioner"] * staff[2]
    for a in range(n_authorities):
        name = f"{prefix} {a:03d}"
        m = float(rng.uniform())
        maturity[name] = m
        # The authority's own view of which features matter: a core every group sees.
        core = rng.choice(len(feature_codes), size=3, replace=False)
        for i, role in enumerate(roles):
            ref = f"{role}-{i:03d}"
            level = float(np.clip(np.round((1.5 + 2 * m + rng.normal(0, 0.9 - 0.6 * m)) * 2) / 2, 1, 4))
            staff_rows.append(StaffRecord(name, ref, role, level))
            n_imp = rng.poisson(staff_impacts * (1 + m))
            for c in rng.choice(len(impact_codes), size=min(n_imp, len(impact_codes)), replace=False):
                code = impact_codes[c]
                codings.append(CodingRecord(name, ref, code, "negative" if code in negative else "positive"))
            for c in core:
                if rng.uniform() < 0.2 + 0.75 * m:
                    codings.append(CodingRecord(name, ref, feature_codes[c], "positive"))
            for c in rng.choice(len(feature_codes), size=rng.poisson(1 + m), replace=False):
                codings.append(CodingRecord(name, ref, feature_codes[c], "positive"))
            for c in rng.choice(len(feature_codes), size=rng.poisson(0.5 + 3 * (1 - m)), replace=False):
                codings.append(CodingRecord(name, ref, feature_codes[c], "to_develop"))
        for j in range(families):
            role = "parent" if j % 2 == 0 else "child"
            ref = f"{role}-{j:04d}"
            fam.append((name, ref, role))
            pool = cyp_codes + (family_codes if role == "parent" else [])
            for c in rng.choice(len(pool), size=min(rng.poisson(family_mentions) + 1, len(pool)),
                                replace=False):
                codings.append(CodingRecord(name, ref, pool[c], "positive"))
    return SyntheticRound(maturity, staff_rows, codings, fam)


def population(rng, cols, m: float, sizes: tuple[int, int, int]) -> dict:
    """One authority's whole staff: levels and codings drawn around a latent maturity ``m``.

    Mature authorities' groups share one view of what has changed and what helped,
    with differences between groups (managers see more structural change); early ones'
    groups each see something different. People differ in how much they say at all.
    """
    n_imp, n_feat = len(cols.impact), len(cols.feature)
    logit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    shared_imp = rng.normal(-2.2, 1.2, n_imp)
    shared_pos = rng.normal(-2.5, 1.4, n_feat)
    shared_dev = rng.normal(-2.8, 1.0, n_feat)
    structural = np.array([cols.levels.get(c) == 1 for c in cols.impact], float)
    groups = []
    for g in range(3):
        agree = 0.25 + 0.7 * m                       # how far the group shares the authority's view
        own_imp = agree * shared_imp + (1 - agree) * rng.normal(-2.2, 1.2, n_imp)
        own_imp = own_imp + (0.6 if g == 1 else -0.3 if g == 2 else 0.3) * structural
        own_pos = agree * shared_pos + (1 - agree) * rng.normal(-2.5, 1.4, n_feat) + 1.2 * m
        own_dev = agree * shared_dev + (1 - agree) * rng.normal(-2.8, 1.0, n_feat) + 1.0 * (1 - m)
        centre = 1.5 + 2 * m + (0.3 if g == 0 else 0.1 if g == 1 else -0.25)
        groups.append((own_imp, own_pos, own_dev, centre))
    role, level, imp, pos, dev = [], [], [], [], []
    for g, size in enumerate(sizes):
        own_imp, own_pos, own_dev, centre = groups[g]
        for _ in range(size):
            talk = rng.normal(0, 0.6)                # some people say much more than others
            role.append(g)
            level.append(float(np.clip(np.round((centre + rng.normal(0, 0.8 - 0.4 * m)) * 2) / 2, 1, 4)))
            imp.append(rng.uniform(size=n_imp) < logit(own_imp + talk))
            pos.append(rng.uniform(size=n_feat) < logit(own_pos + talk))
            dev.append(rng.uniform(size=n_feat) < logit(own_dev + talk))
    role = np.array(role)
    level = np.array(level)
    # A few staff give a level and nothing else: they mention nothing.
    silent = rng.uniform(size=role.size) < 0.05
    imp, pos, dev = (np.array(x) & ~silent[:, None] for x in (imp, pos, dev))
    return {"role": role, "level": level, "impacts": imp, "positive": pos, "develop": dev}


def subset(pop: dict, rows: np.ndarray, key) -> core.AuthorityInput:
    """The staff in ``rows`` of a population, as one authority's scoring input."""
    return core.AuthorityInput(key=key, role=pop["role"][rows], level=pop["level"][rows],
                               impacts=pop["impacts"][rows], positive=pop["positive"][rows],
                               develop=pop["develop"][rows])


def sample_rows(rng, pop: dict, design: tuple[int, int, int]) -> np.ndarray:
    """Rows of a simple random sample of each group (DCS, managers, practitioners)."""
    rows = []
    for g, k in enumerate(design):
        members = np.flatnonzero(pop["role"] == g)
        rows.append(rng.choice(members, size=min(k, members.size), replace=False))
    return np.concatenate(rows)
