"""Published or hand-derived values for every statistic, with their source.

Where a paper's number is quoted, the test names table or page; where no
printed number is at hand the expected value is worked out by hand in the
comment, so the test never depends on this package's own output.
"""

import numpy as np
import pytest

from impactmodel.stats import (
    ad_index,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    icc,
    kendall_w,
    krippendorff_alpha,
    percent_agreement,
    rwg,
    rwg_j,
    tastle_wierman,
)

nan = np.nan

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section
# C: 4 observers x 12 units with missing values. Stored units x observers.
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]).T


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_2011_reliability_data(level, published):
    assert round(krippendorff_alpha(KRIPPENDORFF_2011, level=level), 3) == published


def test_krippendorff_2011_nominal_exact_fraction():
    # By hand from the data above. Unit 12 has one value and drops out.
    # Pairable values per unit (m_u): u1 1 1 1 (3), u2 2 2 3 2, u3 3 3 3 3,
    # u4 3 3 3 3, u5 2 2 2 2, u6 1 2 3 4, u7 4 4 4 4, u8 1 1 2 1, u9 2 2 2 2,
    # u10 5 5 5 (3), u11 1 1 (2); n = 40 with n_c = 9, 13, 10, 5, 3.
    # Diagonal coincidences sum_u C_uc (C_uc - 1) / (m_u - 1):
    # u1 3, u2 2, u3 4, u4 4, u5 4, u6 0, u7 4, u8 2, u9 4, u10 3, u11 2 = 32.
    # alpha = 1 - (n - 1)(n - 32) / (n^2 - sum n_c^2)
    #       = 1 - 39 * 8 / (1600 - 384) = 1 - 312/1216 = 0.743421...
    expected = 1 - 312 / 1216
    assert krippendorff_alpha(KRIPPENDORFF_2011) == pytest.approx(expected, abs=1e-12)


def test_krippendorff_ordinal_value_domain_order():
    # The same data with the categories relabelled in reverse and the
    # order given by value_domain: ordinal alpha is unchanged (0.815).
    relabelled = 10 - KRIPPENDORFF_2011
    alpha = krippendorff_alpha(relabelled, level="ordinal", value_domain=[9, 8, 7, 6, 5])
    assert round(alpha, 3) == 0.815


# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses
# (1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis,
# 5 other), as distributed in the R package irr (`diagnoses`).
FLEISS_1971_RATINGS = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
])


def fleiss_1971_counts():
    return np.stack([(FLEISS_1971_RATINGS == c).sum(axis=1) for c in range(1, 6)], axis=1)


def test_fleiss_1971_table_1():
    # Fleiss (1971), p. 380: kappa = .430 (irr::kappam.fleiss: 0.4302445).
    assert round(fleiss_kappa(fleiss_1971_counts()), 3) == 0.430


def test_fleiss_equals_mean_pair_agreement_and_matches_percent_agreement():
    # With equal raters per unit, P-bar (the mean share of agreeing pairs)
    # is percent_agreement on the raw ratings.
    counts = fleiss_1971_counts()
    p_i = ((counts**2).sum(axis=1) - 6) / (6 * 5)
    assert percent_agreement(FLEISS_1971_RATINGS) == pytest.approx(p_i.mean(), abs=1e-12)


# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.
SHROUT_FLEISS_1979 = np.array([
    [9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7],
])


def test_shrout_fleiss_1979_table_4():
    # Shrout & Fleiss (1979), Table 4 (estimates for the Table 2 data).
    published = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
    result = icc(SHROUT_FLEISS_1979)
    assert set(result) == set(published)
    for form, value in published.items():
        assert round(result[form], 2) == value, form


def test_shrout_fleiss_1979_table_3_mean_squares():
    # Shrout & Fleiss (1979), Table 3: BMS = 11.24, JMS = 32.49, EMS = 1.02,
    # WMS = 6.26 (n = 6, k = 4). ICC(3,1) = (BMS - EMS) / (BMS + 3 EMS).
    bms, ems = 11.2417, 1.0194
    assert icc(SHROUT_FLEISS_1979)["ICC3"] == pytest.approx((bms - ems) / (bms + 3 * ems), abs=1e-4)


# Radiologists' assessments of 85 xeromammograms (Boyd et al. 1982), the
# example of Stata's `kap` manual entry; rows rater A, columns rater B,
# categories normal, benign, suspect, cancer.
BOYD_1982 = np.array([[21, 12, 0, 0], [4, 17, 1, 0], [3, 9, 15, 2], [0, 0, 0, 1]])
TABLE10_SAS = np.array([[0, 4, 1], [0, 8, 0], [0, 1, 5]])


def table_to_pairs(table):
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i + 1] * count
            b += [j + 1] * count
    return np.array(a), np.array(b)


def test_cohen_kappa_stata_kap_example():
    # Stata manual, [R] kap: agreement 63.53%, expected 30.82%, kappa 0.4728.
    # By hand: p_o = 54/85; p_e = (33*28 + 22*38 + 29*16 + 1*3)/85^2 = 2227/7225;
    # kappa = (4590 - 2227) / (7225 - 2227) = 2363/4998 = 0.47279.
    a, b = table_to_pairs(BOYD_1982)
    assert round(cohen_kappa(a, b), 4) == 0.4728
    assert cohen_kappa(a, b) == pytest.approx(2363 / 4998, abs=1e-12)


def test_cohen_kappa_stata_linear_weights():
    # Stata manual, [R] kap, wgt(w): kappa 0.5684. By hand with disagreement
    # |i-j|: observed sum |i-j| n_ij = 12+4+1+2*3+9+2 = 34; chance
    # sum |i-j| r_i c_j = 6696 (r = 33,22,29,1; c = 28,38,16,3);
    # kappa = 1 - 34*85/6696 = 3806/6696 = 0.56840.
    a, b = table_to_pairs(BOYD_1982)
    value = cohen_kappa(a, b, weights="linear", labels=[1, 2, 3, 4])
    assert round(value, 4) == 0.5684
    assert value == pytest.approx(3806 / 6696, abs=1e-12)


def test_cohen_kappa_quadratic_weights_by_hand():
    # Quadratic disagreement (i-j)^2: observed 12+4+1+4*3+9+2 = 40; chance
    # sum (i-j)^2 r_i c_j = 10346; kappa = 1 - 40*85/10346 = 6946/10346.
    a, b = table_to_pairs(BOYD_1982)
    value = cohen_kappa(a, b, weights="quadratic", labels=[1, 2, 3, 4])
    assert value == pytest.approx(6946 / 10346, abs=1e-12)


def test_cohen_kappa_sas_example():
    # SAS PROC FREQ AGREE output (as reproduced in statsmodels' tests):
    # simple kappa 0.4842, weighted kappa (Cicchetti-Allison = linear) 0.4701.
    # By hand: kappa = (13/19 - 140/361)/(1 - 140/361) = 107/221;
    # weighted = 1 - (3.5/19)/(125.5/361) = 59/125.5.
    a, b = table_to_pairs(TABLE10_SAS)
    assert round(cohen_kappa(a, b), 4) == 0.4842
    assert cohen_kappa(a, b) == pytest.approx(107 / 221, abs=1e-12)
    linear = cohen_kappa(a, b, weights="linear", labels=[1, 2, 3])
    assert round(linear, 4) == 0.4701
    assert linear == pytest.approx(59 / 125.5, abs=1e-12)


def test_gwet_ac1_high_agreement_paradox_by_hand():
    # Two raters, 100 units: 90 yes/yes, 2 no/no, 4 yes/no, 4 no/yes
    # (Gwet 2008's setting: high agreement, one dominant category).
    # p_a = 0.92; pi_yes = (94 + 94)/200 = 0.94;
    # p_e = 2 * 0.94 * 0.06 / (2 - 1) = 0.1128;
    # AC1 = (0.92 - 0.1128)/(1 - 0.1128) = 0.8072/0.8872.
    # Cohen's p_e = 0.94^2 + 0.06^2 = 0.8872, kappa = 0.0328/0.1128.
    a = np.array([1] * 90 + [0] * 2 + [1] * 4 + [0] * 4)
    b = np.array([1] * 90 + [0] * 2 + [0] * 4 + [1] * 4)
    ratings = np.column_stack([a, b])
    assert gwet_ac1(ratings) == pytest.approx(0.8072 / 0.8872, abs=1e-12)
    assert cohen_kappa(a, b) == pytest.approx(0.0328 / 0.1128, abs=1e-12)


def test_gwet_ac1_krippendorff_reliability_data_published():
    # Gwet (2014), Handbook of Inter-Rater Reliability, 4th ed., and the irrCAC
    # package's vignette, dataset cac.raw4raters (the same 12 units x 4 raters
    # as Krippendorff 2011, categories 1-5, missing values): AC1 = 0.7754
    # (gwet.ac1.raw(cac.raw4raters)). Gwet's p_a (0.8182) averages agreement
    # per unit; percent_agreement pools rater pairs instead, so it differs.
    assert round(gwet_ac1(KRIPPENDORFF_2011), 4) == 0.7754


def test_gwet_ac1_missing_values_by_hand():
    # Gwet (2014), Handbook, ch. 4 formulas with missing ratings.
    # Units (3 raters, q = 3 categories a=1, b=2, c=3):
    #   u1: 1 1 1   u2: 1 2 nan   u3: 2 2 3   u4: 3 nan nan
    # p_a over units with r_i >= 2 (u1..u3):
    #   u1: 3*2/(3*2) = 1; u2: 0; u3: 2*1/(3*2) = 1/3  -> p_a = (4/3)/3 = 4/9
    # pi over units with r_i >= 1 (all four):
    #   pi_1 = (1 + 1/2 + 0 + 0)/4 = 3/8
    #   pi_2 = (0 + 1/2 + 2/3 + 0)/4 = 7/24
    #   pi_3 = (0 + 0 + 1/3 + 1)/4 = 1/3
    # p_e = sum pi (1 - pi) / (q - 1)
    #     = (15/64 + 119/576 + 2/9) / 2 = (135 + 119 + 128)/576 / 2 = 191/576
    # AC1 = (4/9 - 191/576) / (1 - 191/576) = (256 - 191)/(576 - 191) = 65/385.
    from fractions import Fraction as F
    pi = [F(3, 8), F(7, 24), F(1, 3)]
    p_e = sum(p * (1 - p) for p in pi) / 2
    p_a = F(4, 9)
    assert p_e == F(191, 576)
    expected = float((p_a - p_e) / (1 - p_e))
    assert expected == pytest.approx(65 / 385)
    ratings = [[1, 1, 1], [1, 2, nan], [2, 2, 3], [3, nan, nan]]
    assert gwet_ac1(ratings) == pytest.approx(expected, abs=1e-12)


def test_kendall_w_siegel_1956_no_ties():
    # Siegel (1956), Nonparametric Statistics, ch. 9: three raters rank six
    # objects; rank sums R = 8, 14, 11, 11, 11, 8; S = 25.5;
    # W = 12 * 25.5 / (3^2 * (6^3 - 6)) = 306 / 1890 = 0.162.
    ranks = np.array([[1, 1, 6], [6, 5, 3], [3, 6, 2], [2, 4, 5], [5, 2, 4], [4, 3, 1]])
    assert round(kendall_w(ranks), 3) == 0.162
    assert kendall_w(ranks) == pytest.approx(306 / 1890, abs=1e-12)


def test_kendall_w_tie_correction_by_hand():
    # Siegel & Castellan (1988), eq. 9.16: W = 12 S / (m^2 (n^3 - n) - m sum T).
    # Raters' scores (columns) of 4 objects:
    #   r1: 1 2 3 4 -> ranks 1 2 3 4
    #   r2: 1 1 3 4 -> ranks 1.5 1.5 3 4, one tie of 2: T = 2^3 - 2 = 6
    #   r3: 2 1 3 3 -> ranks 2 1 3.5 3.5,  one tie of 2: T = 6
    # R = 4.5, 4.5, 9.5, 11.5; mean 7.5; S = 9 + 9 + 4 + 16 = 38
    # W = 12 * 38 / (9 * 60 - 3 * 12) = 456 / 504.
    scores = np.array([[1, 1, 2], [2, 1, 1], [3, 3, 3], [4, 4, 3]])
    assert kendall_w(scores) == pytest.approx(456 / 504, abs=1e-12)


def test_kendall_w_matches_friedman():
    # chi2_r = m (n - 1) W (Siegel & Castellan 1988, eq. 9.17), with ties.
    from scipy.stats import friedmanchisquare

    scores = np.array([[1, 1, 2], [2, 1, 1], [3, 3, 3], [4, 4, 3]])
    chi2 = friedmanchisquare(*scores).statistic  # one sample per object
    assert kendall_w(scores) == pytest.approx(chi2 / (3 * (4 - 1)), abs=1e-12)


def test_rwg_uniform_null_variance():
    # James, Demaree & Wolf (1984): sigma^2_EU = (A^2 - 1)/12, which is 2.0
    # for A = 5 and 4.0 for A = 7. Ratings 4 4 5 4 3: mean 4,
    # s^2 = (0 + 0 + 1 + 0 + 1)/4 = 0.5, rwg = 1 - 0.5/2 = 0.75.
    assert rwg([4, 4, 5, 4, 3], options=5) == pytest.approx(0.75)
    # On a 7-point scale: 1 - 0.5/4 = 0.875.
    assert rwg([4, 4, 5, 4, 3], options=7) == pytest.approx(0.875)
    # Perfect agreement.
    assert rwg([3, 3, 3], options=5) == 1.0


def test_rwg_truncation():
    # Ratings 1 5 1 5: s^2 = 4 * 4 / 3 = 16/3 > 2; raw rwg = 1 - 8/3 = -5/3,
    # which James et al. (1984) set to 0.
    assert rwg([1, 5, 1, 5], options=5) == 0.0
    assert rwg([1, 5, 1, 5], options=5, truncate=False) == pytest.approx(-5 / 3)


def test_rwg_j_by_hand():
    # James, Demaree & Wolf (1984), eq. 4: rwg(J) = J(1 - r)/(J(1 - r) + r),
    # r = mean item variance / sigma^2_EU. Items' variances: 0.25, 0.25,
    # 1/3 (item 3: 5 5 4 4 -> mean 4.5, s^2 = 4*0.25/3); mean = 5/18;
    # r = 5/36; J = 3: 3 * 31/36 / (3 * 31/36 + 5/36) = 93/98.
    data = [[4, 4, 5], [4, 5, 5], [5, 4, 4], [4, 4, 4]]
    assert rwg_j(data, options=5) == pytest.approx(93 / 98, abs=1e-12)


def test_rwg_numeric_null():
    # LeBreton & Senter (2008) list skewed nulls by their variance; a null
    # variance of 1.0 with s^2 = 0.5 gives 0.5.
    assert rwg([4, 4, 5, 4, 3], options=5, null=1.0) == pytest.approx(0.5)


def test_ad_index_by_hand():
    # Burke, Finkelstein & Dusig (1999), eq. 1: AD_M = sum |x - mean| / N.
    # 2 3 3 4 5: mean 3.4, deviations 1.4 .4 .4 .6 1.6 -> 4.4/5 = 0.88.
    assert ad_index([2, 3, 3, 4, 5]) == pytest.approx(0.88)
    # Median 3: deviations 1 0 0 1 2 -> 4/5 = 0.8.
    assert ad_index([2, 3, 3, 4, 5], center="median") == pytest.approx(0.8)
    # AD_M(J): mean over items of the item indices, (0.88 + 0)/2.
    assert ad_index([[2, 4], [3, 4], [3, 4], [4, 4], [5, 4]]) == pytest.approx(0.44)


def test_tastle_wierman_2007_extremes_and_uniform():
    # Tastle & Wierman (2007): Cns = 0 for an even split between the two
    # extremes, 1 for complete agreement.
    assert tastle_wierman([1, 0, 0, 0, 1]) == pytest.approx(0.0, abs=1e-15)
    assert tastle_wierman([0, 0, 7, 0, 0]) == 1.0
    # Uniform on 5 points: mu = 3, d = 4, |X - mu|/d = .5 .25 0 .25 .5:
    # Cns = 1 + 0.2 (2 log2 0.5 + 2 log2 0.75 + log2 1) = 1 + 0.4 (-1 + log2 0.75)
    assert tastle_wierman([1, 1, 1, 1, 1]) == pytest.approx(1 + 0.4 * (-1 + np.log2(0.75)))
    # Half at 1 and half at 2: mu = 1.5, |X - mu|/d = 1/8 for both:
    # Cns = 1 + log2(7/8).
    assert tastle_wierman([10, 10, 0, 0, 0]) == pytest.approx(1 + np.log2(7 / 8))


def test_percent_agreement_pairs_by_hand():
    # Unit 1: 1 1 2 -> 1 agreeing pair of 3; unit 2: 3 3 -> 1 of 1;
    # unit 3: a single rating, no pairs. Pooled: 2/4.
    assert percent_agreement([[1, 1, 2], [3, 3, nan], [1, nan, nan]]) == 0.5


# A worked example with ties run through R's irr package (Gamer et al.): 12 items
# ranked by 5 raters, rater 2 giving rank 6 twice. Printed output:
# kendall(scorecard, correct = TRUE) -> Wt = 0.735, Chisq(11) = 40.5;
# icc(scorecard, model = "oneway", type = "agreement") -> ICC(1) = 0.688.
IRR_SCORECARD = np.array([
    [4, 1, 1, 2, 1], [3, 2, 2, 3, 6], [1, 6, 6, 5, 2], [5, 3, 3, 6, 5],
    [6, 5, 4, 7, 3], [9, 4, 5, 1, 8], [8, 8, 8, 4, 4], [2, 9, 7, 10, 9],
    [7, 10, 10, 8, 7], [11, 11, 9, 9, 10], [10, 6, 11, 11, 11], [12, 12, 12, 12, 12],
])


def test_kendall_w_with_ties_matches_irr_published_output():
    w = kendall_w(IRR_SCORECARD)
    assert round(w, 3) == 0.735
    assert round(5 * (12 - 1) * w, 1) == 40.5  # the chi-square statistic m(n-1)W


def test_icc1_matches_irr_published_output():
    assert round(icc(IRR_SCORECARD)["ICC1"], 3) == 0.688


def test_tastle_wierman_matches_agrmt_published_example():
    # R package agrmt, consensus() documentation (Ruedin), implementing Tastle &
    # Wierman (2007): V = (30, 40, 210, 130, 530, 50, 10) -> 0.7256876.
    assert round(tastle_wierman([30, 40, 210, 130, 530, 50, 10]), 7) == 0.7256876
