"""Method 2.0 by simulation: interviewing fewer staff neither raises nor lowers the index,
and the 95% intervals cover the value a census of the staff gives.

A smaller run of ``bench/method_sim.py`` (which carries the full table in
docs/METHODOLOGY.md): known staff populations, sampled at Round 1's design
(1 DCS + 3 managers + 5 practitioners) and at 1 + 9 + 20, scored through the core.
"""
from __future__ import annotations

import numpy as np
import pytest

from impactmodel.scoring import core
from impactmodel.scoring.queries import code_columns
from impactmodel.scoring.synthetic import population, sample_rows, subset

DESIGNS = {"1+3+5": (1, 3, 5), "1+9+20": (1, 9, 20)}


@pytest.fixture(scope="module")
def simulated():
    cols = code_columns()
    rng = np.random.default_rng(20261203)
    n_pop, n_samples = 80, 4
    auths = []
    for i in range(n_pop):
        pop = population(rng, cols, float(rng.uniform()), (1, int(rng.integers(12, 41)), int(rng.integers(30, 121))))
        auths.append(subset(pop, np.arange(pop["role"].size), ("full", i, 0)))
        for name, design in DESIGNS.items():
            for s in range(n_samples):
                auths.append(subset(pop, sample_rows(rng, pop, design), (name, i, s)))
    by = core.score_round(core.RoundInput(cols.impact, cols.feature, auths), n_replicates=20,
                          n_weight_draws=10).by_key()
    full = np.array([by[("full", i, 0)].confidence for i in range(n_pop)])
    out = {"full": full}
    for name in DESIGNS:
        out[name] = {k: np.array([[getattr(by[(name, i, s)], attr) for s in range(n_samples)]
                                  for i in range(n_pop)])
                     for k, attr in (("est", "confidence"), ("lo", "ci_low"), ("hi", "ci_high"))}
    return out


@pytest.mark.parametrize("design", DESIGNS)
def test_no_bias_from_how_many_were_interviewed(simulated, design):
    err = simulated[design]["est"] - simulated["full"][:, None]
    assert abs(err.mean()) <= 0.01


def test_designs_agree_on_the_same_staff(simulated):
    a, b = simulated["1+3+5"], simulated["1+9+20"]
    assert abs((a["est"] - b["est"]).mean()) <= 0.01
    separate = (a["lo"] > b["hi"]) | (b["lo"] > a["hi"])
    assert separate.mean() <= 0.05


@pytest.mark.parametrize(("design", "coverage", "width"), [("1+3+5", 0.85, 0.25), ("1+9+20", 0.90, 0.12)])
def test_intervals_cover_the_census_value_and_stay_narrow(simulated, design, coverage, width):
    d, full = simulated[design], simulated["full"][:, None]
    assert ((d["lo"] <= full) & (full <= d["hi"])).mean() >= coverage
    assert np.median(d["hi"] - d["lo"]) <= width


def test_the_index_still_tells_authorities_apart(simulated):
    full = simulated["full"]
    assert full.std() > 0.05
    for design in DESIGNS:
        est = simulated[design]["est"]
        assert np.corrcoef(est.ravel(), np.repeat(full, est.shape[1]))[0, 1] > 0.9
