"""Degenerate input: nan where a statistic is undefined, ValueError where input is malformed."""

import numpy as np
import pytest

from impactmodel.stats import (
    ad_index,
    bootstrap_ci,
    cohen_kappa,
    fleiss_kappa,
    group_consensus,
    gwet_ac1,
    icc,
    kendall_w,
    krippendorff_alpha,
    multicode_agreement,
    percent_agreement,
    rwg,
    rwg_j,
    tastle_wierman,
)

nan = np.nan
LEVELS = ["nominal", "ordinal", "interval", "ratio"]


# --- undefined results are nan ------------------------------------------------

@pytest.mark.parametrize("level", LEVELS)
def test_alpha_nan_when_all_values_identical(level):
    assert np.isnan(krippendorff_alpha([[2, 2], [2, 2], [2, nan]], level=level))


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_nan_without_pairable_values(level):
    assert np.isnan(krippendorff_alpha([[1, nan], [nan, 2], [nan, nan]], level=level))


def test_percent_agreement_nan_without_pairs():
    assert np.isnan(percent_agreement([[1, nan], [nan, 2]]))


def test_cohen_kappa_nan_when_both_raters_use_one_category():
    assert np.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))
    assert np.isnan(cohen_kappa([1, 1, 1], [1, 1, 1], weights="quadratic", labels=[1, 2, 3]))


def test_cohen_kappa_nan_without_complete_pairs():
    assert np.isnan(cohen_kappa([1, nan], [nan, 2]))


def test_cohen_kappa_defined_when_one_rater_varies():
    # Rater b constant, rater a not: chance disagreement > 0, kappa = 0.
    assert cohen_kappa([1, 2, 1, 2], [1, 1, 1, 1]) == pytest.approx(0.0)


def test_fleiss_nan_when_one_category():
    assert np.isnan(fleiss_kappa([[3, 0], [3, 0]]))


def test_gwet_nan_when_single_category_or_no_pairs():
    assert np.isnan(gwet_ac1([[1, 1], [1, 1]]))
    assert np.isnan(gwet_ac1([[1, nan], [nan, 2]]))
    # With the category list declared, q = 2 and AC1 is defined (= 1).
    assert gwet_ac1([[1, 1], [1, 1]], labels=[0, 1]) == pytest.approx(1.0)


def test_icc_nan_when_all_ratings_equal():
    result = icc(np.full((4, 3), 5.0))
    assert all(np.isnan(v) for v in result.values())


def test_icc_partly_defined():
    # Rows differ, raters agree exactly: EMS = WMS = 0, so every form is 1.
    result = icc([[1, 1], [2, 2], [3, 3]])
    assert all(v == pytest.approx(1.0) for v in result.values())
    # Equal row means: BMS = 0 and the k-rater forms divide by 0.
    result = icc([[1, 2], [2, 1]])
    assert np.isnan(result["ICC1k"]) and np.isnan(result["ICC3k"])


def test_kendall_w_nan_when_every_rater_ties_everything():
    assert np.isnan(kendall_w([[1, 2], [1, 2], [1, 2]]))


def test_tastle_wierman_nan_without_answers():
    assert np.isnan(tastle_wierman([0, 0, 0]))


def test_rwg_j_nan_at_singular_denominator():
    # Two items each rated 1 3 5: s^2 = 4, null variance (25 - 1)/12 = 2,
    # so r = 2 = J / (J - 1) and J(1 - r) + r = 2(-1) + 2 = 0 untruncated.
    data = [[1, 1], [3, 3], [5, 5]]
    assert np.isnan(rwg_j(data, options=5, truncate=False))
    assert rwg_j(data, options=5) == 0.0


def test_multicode_unused_code_has_raw_agreement_but_no_kappa():
    presence = np.zeros((4, 1, 2))
    result = multicode_agreement(presence)
    code = result.per_code[0]
    assert code.percent_agreement == 1.0
    assert np.isnan(code.cohen_kappa) and np.isnan(code.krippendorff_alpha)


def test_group_consensus_nan_jaccard_for_silent_groups():
    result = group_consensus({"a": set(), "b": set(), "c": {"x"}})
    assert np.isnan(result.pairwise_jaccard[("a", "b")])
    assert result.mean_jaccard == 0.0  # the two defined pairs overlap 0


def test_bootstrap_nan_estimate_gives_nan_interval():
    result = bootstrap_ci(np.ones((5, 2)), krippendorff_alpha, rng=1, n_resamples=50)
    assert np.isnan(result.estimate) and np.isnan(result.low) and np.isnan(result.high)


# --- malformed input raises ValueError ----------------------------------------

@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: krippendorff_alpha([1, 2, 3]), "2-dimensional"),
        (lambda: krippendorff_alpha([[1], [2]]), "at least 2 raters"),
        (lambda: krippendorff_alpha([[1, 2]], level="cardinal"), "unknown level"),
        (lambda: krippendorff_alpha([[1, np.inf]]), "infinite"),
        (lambda: krippendorff_alpha([["a", "b"]]), "numeric"),
        (lambda: krippendorff_alpha([[1, 7]], value_domain=[1, 2, 3]), "not in the declared"),
        (lambda: krippendorff_alpha([[1, 2]], value_domain=[1, 1, 2]), "repeated"),
        (lambda: krippendorff_alpha([[-1, 2], [1, 2]], level="ratio"), "non-negative"),
        (lambda: percent_agreement(np.ones((3, 1))), "at least 2 raters"),
        (lambda: cohen_kappa([1, 2], [1, 2, 3]), "same length"),
        (lambda: cohen_kappa([1, 2], [1, 2], weights="cubic"), "unknown weights"),
        (lambda: cohen_kappa([1, 4], [1, 2], labels=[1, 2, 3]), "not in the declared"),
        (lambda: cohen_kappa([[1, 2]], [[1, 2]]), "1-dimensional"),
        (lambda: fleiss_kappa([[2, 1], [1, 1]]), "same number of raters"),
        (lambda: fleiss_kappa([[2, -1], [1, 0]]), "negative"),
        (lambda: fleiss_kappa([[1.5, 0.5], [1, 1]]), "whole numbers"),
        (lambda: fleiss_kappa([[1, 0], [0, 1]]), "at least 2 raters"),
        (lambda: fleiss_kappa([[nan, 2], [1, 1]]), "missing"),
        (lambda: fleiss_kappa([1, 2]), "2-dimensional"),
        (lambda: gwet_ac1([[1, 3]], labels=[1, 2]), "not in the declared"),
        (lambda: icc([[1, nan], [2, 3]]), "missing"),
        (lambda: icc([[1, 2]]), "at least 2 unit"),
        (lambda: icc([[1], [2]]), "at least 2 raters"),
        (lambda: kendall_w([[1, 2], [nan, 1]]), "missing"),
        (lambda: rwg([1, 6], options=5), "between 1 and options=5"),
        (lambda: rwg([0, 1], options=5), "between 1 and options=5"),
        (lambda: rwg([3], options=5), "at least 2 ratings"),
        (lambda: rwg([3, 4], options=5, null="skewed"), "unknown null"),
        (lambda: rwg([3, 4], options=5, null=-1.0), "positive"),
        (lambda: rwg([3, 4], options=1), "at least 2"),
        (lambda: rwg([3, 4], options=4.5), "integer"),
        (lambda: rwg([[3, 4], [4, 4]], options=5), "use rwg_j"),
        (lambda: rwg_j([3, 4], options=5), "2-dimensional"),
        (lambda: rwg_j([[3, 4], [nan, 4]], options=5), "2 ratings on every item"),
        (lambda: rwg_j([[3, 9], [3, 4]], options=5), "between 1 and options=5"),
        (lambda: ad_index([1, 2], center="mode"), "unknown center"),
        (lambda: ad_index([1]), "at least 2 ratings"),
        (lambda: tastle_wierman([1, -1, 2]), "negative"),
        (lambda: tastle_wierman([3]), "at least 2 categories"),
        (lambda: tastle_wierman([1, 2], values=[2, 1]), "strictly increasing"),
        (lambda: tastle_wierman([[1, 2]]), "1-dimensional"),
        (lambda: multicode_agreement(np.zeros((2, 2))), "3-dimensional"),
        (lambda: multicode_agreement(np.zeros((2, 2, 1))), "at least 2 coders"),
        (lambda: multicode_agreement(np.full((2, 2, 2), 2.0)), "1 \\(applied\\)"),
        (lambda: multicode_agreement({"a": {"u": {"x"}}, "b": {}}, codes=["y"]), "missing from codes"),
        (lambda: group_consensus({"a": {"x"}}), "at least 2 groups"),
        (lambda: group_consensus([[0, 2], [1, 1]]), "binary"),
        (lambda: group_consensus([[0, 1]], groups=["a"]), "needs 2 labels"),
        (lambda: bootstrap_ci(np.ones((4, 2)), krippendorff_alpha, method="abc"), "unknown method"),
        (lambda: bootstrap_ci(np.ones((4, 2)), krippendorff_alpha, confidence_level=95), "between 0 and 1"),
        (lambda: bootstrap_ci(np.ones((4, 2)), krippendorff_alpha, clusters=[1, 2]), "one label per row"),
        (lambda: bootstrap_ci(np.ones((1, 2)), krippendorff_alpha), "at least 2 rows"),
        (lambda: bootstrap_ci(np.ones((4, 2)), krippendorff_alpha, n_resamples=0), "positive integer"),
    ],
)
def test_malformed_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
