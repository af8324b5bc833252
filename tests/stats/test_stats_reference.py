"""Property tests: agreement with reference packages on random data, and invariances."""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impactmodel.stats import (
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    icc,
    kendall_w,
    krippendorff_alpha,
    percent_agreement,
)

# STATS_EXAMPLES raises the example count for a longer, occasional run.
SETTINGS = settings(
    max_examples=int(os.environ.get("STATS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
LEVELS = ["nominal", "ordinal", "interval", "ratio"]


@st.composite
def rating_matrices(draw, *, missing=True, max_units=12, max_raters=5, max_value=5):
    """Units x raters matrices of small integer ratings, optionally with gaps."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_units = draw(st.integers(2, max_units))
    n_raters = draw(st.integers(2, max_raters))
    n_values = draw(st.integers(2, max_value))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, n_values, size=(n_units, n_raters)).astype(float)
    # Make agreement likely so that alphas span their range.
    consensus = rng.integers(0, n_values, size=(n_units, 1))
    x = np.where(rng.random(x.shape) < draw(st.floats(0, 0.9)), consensus, x)
    if missing:
        x[rng.random(x.shape) < draw(st.floats(0, 0.4))] = np.nan
    return x


def pairable_distinct(x):
    """Number of distinct pairable values (alpha is undefined below 2)."""
    keep = (~np.isnan(x)).sum(axis=1) >= 2
    vals = x[keep][~np.isnan(x[keep])]
    return np.unique(vals).size


def reference_alpha(x, level):
    import krippendorff

    # The package takes raters x units: the transpose of our layout.
    return krippendorff.alpha(reliability_data=x.T, level_of_measurement=level)


@SETTINGS
@given(rating_matrices(), st.sampled_from(LEVELS))
def test_alpha_matches_krippendorff_package(x, level):
    if pairable_distinct(x) < 2:
        assert np.isnan(krippendorff_alpha(x, level=level))
        return
    ours = krippendorff_alpha(x, level=level)
    assert ours == pytest.approx(reference_alpha(x, level), abs=1e-9)


@SETTINGS
@given(rating_matrices(), st.sampled_from(LEVELS), st.data())
def test_alpha_invariant_to_rater_and_unit_order(x, level, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    shuffled = x[rng.permutation(x.shape[0])][:, rng.permutation(x.shape[1])]
    a, b = krippendorff_alpha(x, level=level), krippendorff_alpha(shuffled, level=level)
    assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-12)


@SETTINGS
@given(rating_matrices(), st.data())
def test_nominal_statistics_invariant_to_relabelling(x, data):
    # Any one-to-one relabelling of nominal categories leaves them unchanged.
    labels = np.arange(5)
    new = np.array(data.draw(st.permutations([3.0, 17.0, -2.0, 40.5, 8.0])))
    y = np.full_like(x, np.nan)
    for old, value in zip(labels, new):
        y[x == old] = value
    for fn in (krippendorff_alpha, gwet_ac1, percent_agreement):
        a, b = fn(x), fn(y)
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-12), fn.__name__


@SETTINGS
@given(rating_matrices(missing=False, max_raters=2))
def test_interval_alpha_invariant_to_linear_rescaling(x):
    a, b = krippendorff_alpha(x, level="interval"), krippendorff_alpha(3 * x - 7, level="interval")
    assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-12)


def test_alpha_value_domain_matches_package_for_unused_categories():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 4, size=(15, 3)).astype(float)
    domain = [0, 1, 2, 3, 4, 5]
    import krippendorff

    for level in LEVELS:
        ref = krippendorff.alpha(x.T, value_domain=domain, level_of_measurement=level)
        assert krippendorff_alpha(x, level=level, value_domain=domain) == pytest.approx(ref, abs=1e-12)


@SETTINGS
@given(rating_matrices(missing=False, max_units=15, max_raters=6, max_value=8))
def test_icc_matches_pingouin(x):
    import pandas as pd
    import pingouin

    n, k = x.shape
    ours = icc(x)
    if n * k < 5 or np.isnan(list(ours.values())).any():
        return  # pingouin needs 5 values; undefined forms are tested elsewhere
    long = pd.DataFrame({
        "target": np.repeat(np.arange(n), k),
        "rater": np.tile(np.arange(k), n),
        "score": x.ravel(),
    })
    with warnings.catch_warnings():
        # pingouin's F-test p-values can divide by a zero residual; only
        # the point estimates are compared here.
        warnings.simplefilter("ignore", RuntimeWarning)
        # pandas 3 deprecates an argument pingouin still passes.
        warnings.filterwarnings("ignore", message="The inplace keyword")
        ref = pingouin.intraclass_corr(long, targets="target", raters="rater", ratings="score")
    # Older pingouin labels the rows ICC1..ICC3k, newer ICC(1,1), ICC(A,1),
    # ICC(C,1), ICC(1,k), ICC(A,k), ICC(C,k); the order is the same.
    forms = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
    assert len(ref) == 6
    ref = dict(zip(forms, ref["ICC"]))
    for form in forms:
        assert ours[form] == pytest.approx(ref[form], abs=1e-9), form


@SETTINGS
@given(rating_matrices(missing=False, max_units=15, max_raters=6), st.data())
def test_icc_invariant_to_order_and_shift(x, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    y = x[rng.permutation(x.shape[0])][:, rng.permutation(x.shape[1])] + 100.0
    a, b = icc(x), icc(y)
    for form in a:
        assert (np.isnan(a[form]) and np.isnan(b[form])) or a[form] == pytest.approx(b[form], abs=1e-9)


@st.composite
def count_tables(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n_units = draw(st.integers(1, 20))
    n_cats = draw(st.integers(2, 6))
    n_raters = draw(st.integers(2, 8))
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n_cats) * draw(st.floats(0.2, 3)), size=n_units)
    return np.array([rng.multinomial(n_raters, row) for row in p])


@SETTINGS
@given(count_tables())
def test_fleiss_matches_statsmodels(table):
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    ours = fleiss_kappa(table)
    p = table.sum(axis=0) / table.sum()
    if np.isclose((p * p).sum(), 1):
        assert np.isnan(ours)
        return
    assert ours == pytest.approx(sm_fleiss(table), abs=1e-9)


@SETTINGS
@given(count_tables(), st.data())
def test_fleiss_invariant_to_unit_and_category_order(table, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    shuffled = table[rng.permutation(table.shape[0])][:, rng.permutation(table.shape[1])]
    a, b = fleiss_kappa(table), fleiss_kappa(shuffled)
    assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-12)


@st.composite
def rater_pairs(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(2, 40))
    k = draw(st.integers(2, 6))
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < draw(st.floats(0, 0.9)), a, rng.integers(0, k, n))
    return a, b, k


@SETTINGS
@given(rater_pairs(), st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_kappa_matches_sklearn(pair, weights):
    from sklearn.metrics import cohen_kappa_score

    a, b, k = pair
    labels = list(range(k))
    ours = cohen_kappa(a, b, weights=weights, labels=labels)
    if np.isnan(ours):
        # Undefined only when both raters used one and the same category.
        assert np.unique(np.concatenate([a, b])).size == 1
        return
    ref = cohen_kappa_score(a, b, weights=weights, labels=labels)
    assert ours == pytest.approx(ref, abs=1e-9)


@SETTINGS
@given(rater_pairs(), st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_kappa_matches_statsmodels(pair, weights):
    from statsmodels.stats.inter_rater import cohens_kappa

    a, b, k = pair
    ours = cohen_kappa(a, b, weights=weights, labels=list(range(k)))
    if np.isnan(ours):
        return
    table = np.zeros((k, k))
    np.add.at(table, (a, b), 1)
    if weights is None:
        ref = cohens_kappa(table, return_results=False)
    else:
        ref = cohens_kappa(table, wt=weights, return_results=False)
    assert ours == pytest.approx(ref, abs=1e-9)


@SETTINGS
@given(rater_pairs())
def test_cohen_kappa_symmetric_and_two_rater_alpha_link(pair):
    a, b, k = pair
    assert (np.isnan(cohen_kappa(a, b)) and np.isnan(cohen_kappa(b, a))) or cohen_kappa(
        a, b
    ) == pytest.approx(cohen_kappa(b, a), abs=1e-12)
    # Two raters, no gaps: percent agreement is the share of matching units.
    assert percent_agreement(np.column_stack([a, b])) == pytest.approx(np.mean(a == b))


def gwet_ac1_by_definition(x):
    """Gwet (2014) AC1 written out unit by unit, as an independent check."""
    cats = np.unique(x[~np.isnan(x)])
    q = cats.size
    pa_terms, pi = [], np.zeros(q)
    n_rated = 0
    for row in x:
        vals = row[~np.isnan(row)]
        r = vals.size
        if r >= 1:
            n_rated += 1
            pi += np.array([(vals == c).sum() / r for c in cats])
        if r >= 2:
            pa_terms.append(sum((vals == c).sum() * ((vals == c).sum() - 1) for c in cats) / (r * (r - 1)))
    pi /= n_rated
    p_e = (pi * (1 - pi)).sum() / (q - 1)
    p_a = np.mean(pa_terms)
    return (p_a - p_e) / (1 - p_e)


@SETTINGS
@given(rating_matrices())
def test_gwet_ac1_matches_definition(x):
    present = ~np.isnan(x)
    if not ((present.sum(axis=1) >= 2).any()) or np.unique(x[present]).size < 2:
        assert np.isnan(gwet_ac1(x))
        return
    assert gwet_ac1(x) == pytest.approx(gwet_ac1_by_definition(x), abs=1e-12)


@SETTINGS
@given(rating_matrices(missing=False, max_units=10, max_raters=6, max_value=4))
def test_kendall_w_matches_friedman(x):
    from scipy.stats import friedmanchisquare

    n, m = x.shape
    w = kendall_w(x)
    if n < 3 or np.isnan(w):
        return  # friedmanchisquare needs 3 objects; all-tied raters are nan
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = friedmanchisquare(*x).statistic
    assert w == pytest.approx(chi2 / (m * (n - 1)), abs=1e-9)
