"""The vectorised reliability bootstrap against the one-resample-at-a-time report it replaced."""
from __future__ import annotations

import math

import numpy as np
import pytest

from impactmodel.coding import queries, reliability
from impactmodel.stats import bootstrap_ci, cluster_weights, gwet_ac1, krippendorff_mv_alpha
from tests.coding import reference_reliability

CODES = [f"C{i}" for i in range(12)]


def synthetic(n_respondents: int, *, seed: int, third_coder: bool = False) -> queries.DoubleCoded:
    """Double-coded answers of ``n_respondents`` people, 1-4 answers each, codes of
    uneven prevalence, a second coder who agrees most of the time."""
    rng = np.random.default_rng(seed)
    prevalence = np.linspace(0.02, 0.4, len(CODES))
    slots = ["first", "second"] + (["second 2"] if third_coder else [])
    data = queries.DoubleCoded(slots=slots, pairs={s: {} for s in slots}, coders={s: {} for s in slots})
    unit = 0
    for person in range(n_respondents):
        for _ in range(rng.integers(1, 5)):
            unit += 1
            data.units.append(unit)
            data.respondents[unit] = 1000 + person
            truth = rng.random(len(CODES)) < prevalence
            for slot in slots:
                if slot == "second 2" and rng.random() < 0.5:
                    continue      # the third coding covers half the answers
                flips = rng.random(len(CODES)) < 0.08
                chosen = truth ^ flips
                data.pairs[slot][unit] = {(c, "positive") for c, on in zip(CODES, chosen) if on}
                data.coders[slot][unit] = f"{slot}-{rng.integers(2)}"
    return data


def _pairs_of(report):
    yield "overall", report.overall
    yield from ((r.code, r) for r in report.per_code)


@pytest.mark.parametrize("third_coder", [False, True])
def test_same_estimates_and_intervals_as_one_resample_at_a_time(third_coder):
    data = synthetic(60, seed=4, third_coder=third_coder)
    new = reliability.reliability_report(data, CODES, n_resamples=300, per_code_resamples=150, seed=11)
    old = reference_reliability.reliability_report(data, CODES, n_resamples=300, per_code_resamples=150, seed=11)
    assert [r.code for r in new.per_code] == [r.code for r in old.per_code]
    assert new.n_clusters == old.n_clusters == 60 and new.unused_codes == old.unused_codes
    worst = 0.0
    for (label, n), (_, o) in zip(_pairs_of(new), _pairs_of(old)):
        for name in ("percent_agreement", "cohen_kappa", "krippendorff_alpha"):
            a, b = getattr(n, name), getattr(o, name)
            # Point estimates: the same functions on the same matrix, so exactly equal.
            assert a.estimate == b.estimate or (math.isnan(a.estimate) and math.isnan(b.estimate)), (label, name)
            for x, y in ((a.low, b.low), (a.high, b.high)):
                assert math.isnan(x) == math.isnan(y), (label, name)
                if not math.isnan(x):
                    worst = max(worst, abs(x - y))
        assert n.valence_agreement == o.valence_agreement or math.isnan(o.valence_agreement)
    # The brief is 0.01; the same draws counted rather than gathered agree to rounding.
    assert worst < 1e-9


def test_ac1_interval_is_that_of_the_generic_bootstrap():
    data = synthetic(40, seed=9)
    report = reliability.reliability_report(data, CODES, n_resamples=200, seed=3)
    arr = np.array([[[1.0 if any(c == code for c, _ in data.pairs[s][u]) else 0.0 for s in data.slots]
                     for code in CODES] for u in data.units])
    clusters = [data.respondents[u] for u in data.units]
    want = bootstrap_ci(arr, lambda d: gwet_ac1(d.reshape(-1, 2), labels=[0, 1]), n_resamples=200, rng=3,
                        clusters=clusters)
    got = report.overall.gwet_ac1
    assert got.estimate == want.estimate
    assert (got.low, got.high) == pytest.approx((want.low, want.high), abs=1e-12)


def test_each_seed_reproducible_and_seeds_differ():
    data = synthetic(30, seed=2)
    a = reliability.reliability_report(data, CODES, n_resamples=200, seed=5).to_json()
    b = reliability.reliability_report(data, CODES, n_resamples=200, seed=5).to_json()
    c = reliability.reliability_report(data, CODES, n_resamples=200, seed=6).to_json()
    assert a == b
    assert a["overall"]["krippendorff_alpha"] != c["overall"]["krippendorff_alpha"]
    assert a["overall"]["krippendorff_alpha"]["estimate"] == c["overall"]["krippendorff_alpha"]["estimate"]


def test_stored_form_reads_back_as_the_same_report():
    data = synthetic(25, seed=1)
    report = reliability.reliability_report(data, CODES, n_resamples=100, seed=5)
    again = reliability.ReliabilityReport.from_json(report.to_json())
    assert again.to_json() == report.to_json()
    assert again.overall.krippendorff_alpha == report.overall.krippendorff_alpha
    assert [p.n_units for p in again.pairs] == [p.n_units for p in report.pairs]
    assert sum(p.n_units for p in report.pairs) == report.n_units


def test_cluster_weights_count_the_draws_of_the_generic_bootstrap():
    clusters = np.array([5, 5, 7, 9, 9, 9, 11])
    blocks = list(cluster_weights(clusters, 10, rng=8, chunk=3))
    assert [b.shape for b in blocks] == [(3, 4), (3, 4), (3, 4), (1, 4)]
    weights = np.vstack(blocks)
    draws = np.random.default_rng(8).integers(0, 4, size=(10, 4))
    assert (weights == np.array([np.bincount(d, minlength=4) for d in draws])).all()
    assert (weights.sum(axis=1) == 4).all()
    with pytest.raises(ValueError, match="at least 2 clusters"):
        next(cluster_weights([1, 1], 5, rng=1))


def test_span_overlap_figures_are_those_of_every_character():
    """Unit: a character of an answer; a coder's decision whether their spans of a code cover it."""
    from impactmodel.stats import cohen_kappa, krippendorff_alpha, percent_agreement

    slots = ["first", "second"]
    data = queries.DoubleCoded(units=[1, 2, 3], slots=slots, respondents={1: 10, 2: 20, 3: 30},
                               lengths={1: 10, 2: 6, 3: 4},
                               pairs={"first": {1: {("A", "positive")}, 2: {("B", "positive")}, 3: set()},
                                      "second": {1: {("A", "positive")}, 2: {("B", "positive")}, 3: set()}},
                               coders={s: {1: s, 2: s, 3: s} for s in slots},
                               spans={"first": {1: {"A": [(0, 5)]}, 2: {"B": [(0, 6)]}, 3: {}},
                                      "second": {1: {"A": [(3, 8)]}, 2: {"B": [(0, 6)]}, 3: {}}})
    report = reliability.reliability_report(data, ["A", "B", "C"], n_resamples=200, seed=2)
    # Character by character: answer 1 (10), answer 2 (6), answer 3 (4), one column per coder.
    a = np.zeros((20, 2))
    a[0:5, 0] = 1
    a[3:8, 1] = 1
    b = np.zeros((20, 2))
    b[10:16, :] = 1
    per = {r.code: r for r in report.span_per_code}
    assert set(per) == {"A", "B"} and per["A"].covered == 8 and per["B"].covered == 6
    assert per["A"].percent_agreement.estimate == pytest.approx(14 / 20)   # 6 characters differ
    for code, m in (("A", a), ("B", b)):
        row = per[code]
        assert row.krippendorff_alpha.estimate == pytest.approx(krippendorff_alpha(m))
        assert row.cohen_kappa.estimate == pytest.approx(cohen_kappa(m[:, 0], m[:, 1], labels=[0, 1]))
        assert row.gwet_ac1.estimate == pytest.approx(gwet_ac1(m, labels=[0, 1]))
    pooled = np.vstack([a, b, np.zeros((20, 2))])          # C: never applied, agreed absent
    o = report.span_overall
    assert o.characters == 20 and o.covered == 14
    assert o.krippendorff_alpha.estimate == pytest.approx(krippendorff_alpha(pooled))
    assert o.percent_agreement.estimate == pytest.approx(percent_agreement(pooled))
    # By presence the coders agree on every answer; by span overlap they do not.
    assert report.overall.percent_agreement.estimate == 1.0 and o.percent_agreement.estimate < 1.0
    # The interval resamples respondents, as by presence, and the stored form keeps it all.
    assert o.krippendorff_alpha.low <= o.krippendorff_alpha.estimate <= o.krippendorff_alpha.high
    again = reliability.ReliabilityReport.from_json(report.to_json())
    assert again.to_json() == report.to_json() and again.span_overall.covered == 14


@pytest.mark.parametrize("third_coder", [False, True])
def test_multi_valued_alpha_and_its_interval_are_those_of_the_generic_bootstrap(third_coder):
    """The pooled figure: mvα over the set of codes each coding gave each answer, its
    interval that of resampling respondents one resample at a time."""
    data = synthetic(40, seed=6, third_coder=third_coder)
    report = reliability.reliability_report(data, CODES, n_resamples=200, seed=3)
    sets = np.empty((len(data.units), len(data.slots)), dtype=object)
    for i, u in enumerate(data.units):
        for j, s in enumerate(data.slots):
            sets[i, j] = {c for c, _v in data.pairs[s][u]} if u in data.pairs[s] else None
    clusters = [data.respondents[u] for u in data.units]
    want = bootstrap_ci(sets, lambda d: krippendorff_mv_alpha(d.tolist()), n_resamples=200, rng=3,
                        clusters=clusters)
    got = report.mv_alpha
    assert got.estimate == pytest.approx(krippendorff_mv_alpha(sets.tolist()), abs=1e-12)
    assert got.estimate == pytest.approx(want.estimate, abs=1e-12)
    assert (got.low, got.high) == pytest.approx((want.low, want.high), abs=1e-9)
    assert 0 < got.low < got.estimate < got.high < 1
