"""The pure core: agreement with the statistics engine, invariance, intervals, missing groups."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impactmodel import stats
from impactmodel.scoring import core, synthetic
from impactmodel.scoring.core import CodingRecord, StaffRecord, build_round_input, score_round
from impactmodel.scoring.queries import code_columns

COLS = code_columns()


def _round(n_authorities=6, staff=(1, 3, 5), seed=0, prefix="Authority"):
    return synthetic.make_round(COLS.impact, COLS.feature, COLS.cyp, n_authorities=n_authorities,
                                staff=staff, seed=seed, prefix=prefix, negative=COLS.negative)


def _input(rnd, staff=None, codings=None):
    return build_round_input(staff if staff is not None else rnd.staff,
                             codings if codings is not None else rnd.codings, COLS.impact, COLS.feature)


def _single(role, level, impacts=(), positive=(), develop=()):
    n_imp, n_feat = len(COLS.impact), len(COLS.feature)
    imp = np.zeros((1, n_imp), bool)
    pos = np.zeros((1, n_feat), bool)
    dev = np.zeros((1, n_feat), bool)
    for c in impacts:
        imp[0, COLS.impact.index(c)] = True
    for c in positive:
        pos[0, COLS.feature.index(c)] = True
    for c in develop:
        dev[0, COLS.feature.index(c)] = True
    return role, level, imp, pos, dev


def _authority(key, members):
    role, level, imp, pos, dev = zip(*members)
    return core.AuthorityInput(key=key, role=np.array(role), level=np.array(level, float),
                               impacts=np.vstack(imp), positive=np.vstack(pos), develop=np.vstack(dev))


def test_level_agreement_is_the_engines_rwg_on_the_seven_point_scale():
    rnd = _round(n_authorities=3)
    data = _input(rnd)
    result = score_round(data, n_replicates=20, n_weight_draws=10)
    for a in data.authorities:
        got = result.by_key()[a.key].components["level_agreement"]
        levels = a.level[~np.isnan(a.level)]
        # Source: James, Demaree & Wolf (1984) via impactmodel.stats.rwg, half steps mapped to 1..7.
        assert got == pytest.approx(stats.rwg(2 * levels - 1, options=7), abs=1e-12)


def test_feature_agreement_with_one_person_per_group_is_the_engines_mean_jaccard():
    sets = {"dcs": {"F.vision", "F.ict", "F.locality_working"},
            "manager": {"F.vision", "F.locality_working", "F.time"},
            "practitioner": {"F.locality_working", "F.holistic_view"}}
    members = [_single(g, 2.0, positive=sets[name]) for g, name in enumerate(core.GROUPS)]
    data = core.RoundInput(COLS.impact, COLS.feature, [_authority("A", members)])
    comps = score_round(data, n_replicates=20).scores[0].components
    expected = stats.group_consensus(sets).mean_jaccard
    assert comps["feature_agreement"] == pytest.approx(expected, abs=1e-12)
    # One feature (locality working) named by all three groups: 1 - 2**-1.
    assert comps["shared_features"] == pytest.approx(0.5)
    assert comps["level_centre"] == pytest.approx(1 / 3)
    assert comps["feature_balance"] == 1.0


def test_weights_sum_to_one_and_missing_components_are_renormalised():
    assert core.WEIGHTS.sum() == pytest.approx(1.0)
    comps = np.array([[0.5, np.nan, 1.0, 0.0, 0.5, 1.0]])
    w = core.WEIGHTS.copy()
    w[1] = 0
    expected = (np.nan_to_num(comps[0]) * w).sum() / w.sum()
    assert core.combine(comps)[0] == pytest.approx(expected)
    assert np.isnan(core.combine(np.full((1, 6), np.nan))[0])


def test_same_seed_same_numbers_other_seed_other_intervals():
    data = _input(_round(n_authorities=4))
    a = score_round(data, seed=11, n_replicates=200)
    b = score_round(data, seed=11, n_replicates=200)
    c = score_round(data, seed=12, n_replicates=200)
    assert [(s.key, s.confidence, s.ci_low, s.ci_high) for s in a.scores] == \
        [(s.key, s.confidence, s.ci_low, s.ci_high) for s in b.scores]
    assert [s.confidence for s in a.scores] == [s.confidence for s in c.scores]
    assert [s.ci_low for s in a.scores] != [s.ci_low for s in c.scores]


def test_intervals_contain_the_estimate_and_track_maturity():
    rnd = _round(n_authorities=12, staff=(1, 6, 10), seed=5)
    result = score_round(_input(rnd), seed=1, n_replicates=300)
    for s in result.scores:
        assert 0 <= s.ci_low <= s.confidence <= s.ci_high <= 1
        assert s.rank_low <= s.rank <= s.rank_high
    conf = [s.confidence for s in result.scores]
    maturity = [rnd.maturity[s.key] for s in result.scores]
    assert np.corrcoef(conf, maturity)[0, 1] > 0.8
    assert [s.rank for s in result.scores] == list(range(1, 13))
    sens = result.sensitivity
    assert -1 <= sens["kendall_tau"]["p05"] <= sens["kendall_tau"]["median"] <= 1
    assert sens["spearman_rho"]["median"] > 0.8


def test_missing_group_is_flagged_scored_and_less_certain():
    rnd = _round(n_authorities=8, staff=(1, 4, 6), seed=9)
    target = "Authority 003"
    full = score_round(_input(rnd), seed=2, n_replicates=400).by_key()[target]
    staff = [s for s in rnd.staff if not (s.authority == target and s.role == "practitioner")]
    gone = score_round(_input(rnd, staff=staff), seed=2, n_replicates=400).by_key()[target]
    assert gone.confidence is not None and gone.rank is not None
    assert gone.flags["missing_groups"] == ["practitioner"]
    assert (gone.ci_high - gone.ci_low) > (full.ci_high - full.ci_low)
    assert "missing_groups" not in full.flags


def test_authority_without_staff_gets_no_score_but_is_listed():
    rnd = _round(n_authorities=3)
    data = build_round_input(rnd.staff, rnd.codings, COLS.impact, COLS.feature, authorities=["Empty"])
    result = score_round(data, n_replicates=20)
    empty = result.by_key()["Empty"]
    assert empty.confidence is None and empty.rank is None and empty.flags == {"no_staff": True}
    assert result.scores[-1].key == "Empty"


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="levels must be 1 to 4"):
        _authority("A", [_single(0, 4.5)])
    with pytest.raises(ValueError, match="staff role"):
        build_round_input([StaffRecord("A", "r", "parent", None)], [], COLS.impact, COLS.feature)
    with pytest.raises(ValueError, match="n_replicates"):
        score_round(core.RoundInput(COLS.impact, COLS.feature, []), n_replicates=1)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), shuffle_seed=st.integers(0, 10_000))
def test_renaming_authorities_and_reordering_rows_changes_nothing(seed, shuffle_seed):
    rnd = _round(n_authorities=5, staff=(1, 2, 3), seed=seed)
    base = score_round(_input(rnd), seed=4, n_replicates=60, n_weight_draws=20)
    rng = np.random.default_rng(shuffle_seed)
    rename = {a: f"Renamed {rng.integers(1_000_000)}-{i}" for i, a in enumerate(rnd.maturity)}
    respondent = {(s.authority, s.respondent): f"x{rng.integers(1_000_000)}-{i}" for i, s in enumerate(rnd.staff)}
    staff = [StaffRecord(rename[s.authority], respondent[(s.authority, s.respondent)], s.role, s.level)
             for s in rnd.staff]
    codings = [CodingRecord(rename[c.authority], respondent.get((c.authority, c.respondent), c.respondent),
                            c.code, c.valence) for c in rnd.codings]
    staff = [staff[i] for i in rng.permutation(len(staff))]
    codings = [codings[i] for i in rng.permutation(len(codings))]
    moved = score_round(_input(rnd, staff, codings), seed=4, n_replicates=60, n_weight_draws=20).by_key()
    for s in base.scores:
        t = moved[rename[s.key]]
        assert (t.confidence, t.ci_low, t.ci_high, t.rank, t.rank_low, t.rank_high) == \
            (s.confidence, s.ci_low, s.ci_high, s.rank, s.rank_low, s.rank_high)
        assert t.components == s.components
