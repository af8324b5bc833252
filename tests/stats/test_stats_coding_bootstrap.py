"""Multi-code coding agreement, group consensus, bootstrap intervals and doctests."""

import doctest
import importlib
import json
import pkgutil

import numpy as np
import pytest

import impactmodel.stats
from impactmodel.stats import (
    BootstrapCI,
    bootstrap_ci,
    cohen_kappa,
    group_consensus,
    krippendorff_alpha,
    multicode_agreement,
    percent_agreement,
)

nan = np.nan


# --- multi-code agreement -----------------------------------------------------

def test_multicode_per_code_matches_single_code_functions():
    rng = np.random.default_rng(11)
    presence = (rng.random((30, 4, 3)) < 0.3).astype(float)
    skipped = rng.random((30, 3)) < 0.1  # coder skipped the unit
    presence.transpose(0, 2, 1)[skipped] = nan
    result = multicode_agreement(presence, codes=["a", "b", "c", "d"])
    for j, entry in enumerate(result.per_code):
        m = presence[:, j, :]
        assert entry.code == "abcd"[j]
        assert entry.percent_agreement == pytest.approx(percent_agreement(m))
        assert entry.krippendorff_alpha == pytest.approx(krippendorff_alpha(m))
        assert np.isnan(entry.cohen_kappa)  # three coders
    pooled = presence.reshape(-1, 3)
    assert result.overall.krippendorff_alpha == pytest.approx(krippendorff_alpha(pooled))
    assert result.overall.n_units == int(((~np.isnan(pooled)).sum(axis=1) >= 2).sum())


def test_multicode_two_coders_kappa_and_the_kappa_paradox():
    # Code "rare": 20 segments, both coders say absent on 18, and each
    # applies it once where the other does not. Raw agreement 18/20 = 0.9;
    # p_e = 0.95^2 + 0.05^2 = 0.905, kappa = (0.9 - 0.905)/0.095 < 0.
    ann = {f"s{i}": set() for i in range(20)}
    ben = {f"s{i}": set() for i in range(20)}
    ann["s0"] = {"rare"}
    ben["s1"] = {"rare"}
    result = multicode_agreement({"ann": ann, "ben": ben}, codes=["rare", "never"])
    rare, never = result.per_code
    assert rare.percent_agreement == pytest.approx(0.9)
    assert rare.cohen_kappa == pytest.approx((0.9 - 0.905) / 0.095)
    assert rare.cohen_kappa < 0 < rare.percent_agreement
    assert rare.prevalence == pytest.approx(2 / 40)
    assert never.percent_agreement == 1.0 and np.isnan(never.cohen_kappa)
    # Pooled: 40 decisions, 38 agree.
    assert result.overall.percent_agreement == pytest.approx(38 / 40)
    a = result.presence.reshape(-1, 2)
    assert result.overall.cohen_kappa == pytest.approx(cohen_kappa(a[:, 0], a[:, 1]))


def test_multicode_mapping_marks_uncoded_units_missing():
    result = multicode_agreement(
        {"ann": {"u1": {"x"}, "u2": set()}, "ben": {"u1": {"x", "y"}}},
    )
    assert result.units == ("u1", "u2") and result.codes == ("x", "y")
    assert np.isnan(result.presence[1, :, 1]).all()  # ben never coded u2
    assert result.presence[1, :, 0].tolist() == [0.0, 0.0]
    assert result.per_code[0].n_units == 1


def test_multicode_to_dict_is_json_ready():
    result = multicode_agreement(np.ones((3, 2, 2)))
    text = json.dumps(result.to_dict(), allow_nan=True)
    assert '"per_code"' in text and '"overall"' in text


# --- group consensus ---------------------------------------------------------

def test_group_consensus_by_hand():
    # Codebook of 5 codes, three groups.
    mentions = {
        "directors": {"a", "b", "c"},
        "managers": {"a", "b"},
        "practitioners": {"a", "d"},
    }
    result = group_consensus(mentions, codes=["a", "b", "c", "d", "e"])
    # Jaccard: D-M 2/3, D-P 1/4, M-P 1/3.
    assert result.pairwise_jaccard[("directors", "managers")] == pytest.approx(2 / 3)
    assert result.pairwise_jaccard[("directors", "practitioners")] == pytest.approx(1 / 4)
    assert result.pairwise_jaccard[("managers", "practitioners")] == pytest.approx(1 / 3)
    assert result.mean_jaccard == pytest.approx((2 / 3 + 1 / 4 + 1 / 3) / 3)
    assert result.common_codes == ("a",)
    # Alpha by hand: codes are units, groups raters, values 0/1.
    # Rows: a 111, b 110, c 100, d 001, e 000 -> n = 15, n_1 = 7, n_0 = 8.
    # Agreeing ordered pairs per unit / (m - 1): a 6/2, b 2/2, c 2/2, d 2/2, e 6/2
    # = 3 + 1 + 1 + 1 + 3 = 9; disagreement = 15 - 9 = 6.
    # alpha = 1 - 14 * 6 / (225 - 49 - 64) = 1 - 84/112 = 0.25.
    assert result.alpha == pytest.approx(0.25)
    assert result.table.shape == (5, 3)
    json.dumps(result.to_dict())


def test_group_consensus_array_input_and_codebook_effect():
    table = [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 1]]
    result = group_consensus(table, groups=["d", "m", "p"], codes=list("abcd"))
    # Adding a code nobody mentions adds agreement on absence.
    wider = group_consensus(table + [[0, 0, 0]], groups=["d", "m", "p"])
    assert wider.alpha == pytest.approx(0.25)
    assert result.alpha < wider.alpha
    assert result.mean_jaccard == pytest.approx(wider.mean_jaccard)


# --- bootstrap -----------------------------------------------------------------

def test_bootstrap_matches_scipy_percentile_and_bca():
    from scipy.stats import bootstrap

    rng = np.random.default_rng(5)
    x = rng.normal(size=40)
    for method in ("percentile", "bca"):
        ours = bootstrap_ci(x, np.mean, n_resamples=999, method=method, rng=np.random.default_rng(42))
        ref = bootstrap(
            (x,), np.mean, n_resamples=999, method=method, vectorized=False,
            rng=np.random.default_rng(42),
        ).confidence_interval
        assert ours.low == pytest.approx(ref.low, abs=1e-12)
        assert ours.high == pytest.approx(ref.high, abs=1e-12)


def test_bootstrap_is_reproducible_and_unpacks():
    rng = np.random.default_rng(0)
    ratings = rng.integers(1, 4, size=(30, 3)).astype(float)
    ratings[:, 1] = np.where(rng.random(30) < 0.7, ratings[:, 0], ratings[:, 1])
    first = bootstrap_ci(ratings, krippendorff_alpha, rng=123, n_resamples=300)
    second = bootstrap_ci(ratings, krippendorff_alpha, rng=123, n_resamples=300)
    assert first == second
    assert isinstance(first, BootstrapCI)
    est, low, high = first
    assert low <= est <= high
    assert est == krippendorff_alpha(ratings)


def test_bootstrap_clusters_resample_whole_clusters():
    # 5 clusters of 3 rows: every resample draws 5 whole clusters, so the
    # statistic always sees 15 rows, each cluster's rows together.
    data = np.repeat(np.arange(5.0), 3)[:, None]
    clusters = np.repeat(np.arange(5), 3)
    seen = []

    def stat(d):
        seen.append(d.shape[0])
        # Rows arrive in blocks of 3 equal values (one cluster each).
        assert (d.reshape(-1, 3) == d.reshape(-1, 3)[:, :1]).all()
        return float(d.mean())

    bootstrap_ci(data, stat, clusters=clusters, n_resamples=20, rng=1)
    assert set(seen) == {15}  # always 5 clusters x 3 rows


def test_bootstrap_degenerate_resamples_counted_and_dropped():
    # In `small`, 8 of 10 units are rated 1 by both raters; a resample that
    # draws only those (probability 0.8^10, about 11%) has no variation and
    # alpha is nan. Such resamples are counted, then dropped or, past
    # max_degenerate, turn the limits into nan.
    small = np.array([[1.0, 1.0]] * 8 + [[1.0, 2.0], [2.0, 2.0]])
    ratings = np.array([[1.0, 1.0]] * 9 + [[2.0, 2.0]] * 9 + [[1.0, 2.0], [2.0, 1.0]])
    lenient = bootstrap_ci(small, krippendorff_alpha, rng=3, n_resamples=400, max_degenerate=1.0)
    assert lenient.n_degenerate > 0
    assert np.isfinite(lenient.low) and np.isfinite(lenient.high)
    strict = bootstrap_ci(small, krippendorff_alpha, rng=3, n_resamples=400, max_degenerate=0.0)
    assert strict.n_degenerate == lenient.n_degenerate
    assert np.isnan(strict.low) and np.isnan(strict.high)
    assert np.isfinite(strict.estimate)
    fine = bootstrap_ci(ratings, krippendorff_alpha, rng=3, n_resamples=400, method="bca")
    assert fine.n_degenerate == 0 and fine.low < fine.estimate <= fine.high


def test_bootstrap_two_vector_statistic():
    rng = np.random.default_rng(9)
    a = rng.integers(0, 3, 50)
    b = np.where(rng.random(50) < 0.8, a, rng.integers(0, 3, 50))
    result = bootstrap_ci(np.column_stack([a, b]), lambda d: cohen_kappa(d[:, 0], d[:, 1]),
                          rng=4, n_resamples=300, method="bca")
    assert result.low < result.estimate < result.high


# --- doctests ------------------------------------------------------------------

def _stats_modules():
    yield impactmodel.stats
    for info in pkgutil.iter_modules(impactmodel.stats.__path__):
        yield importlib.import_module(f"impactmodel.stats.{info.name}")


@pytest.mark.parametrize("module", list(_stats_modules()), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0


def test_public_functions_have_examples():
    for name in impactmodel.stats.__all__:
        obj = getattr(impactmodel.stats, name)
        if callable(obj) and not isinstance(obj, type):
            assert ">>>" in (obj.__doc__ or ""), name
