"""Perspective gaps: Fisher's exact test against scipy, Benjamini-Hochberg by hand."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import fisher_exact

from impactmodel.scoring.gaps import benjamini_hochberg, fisher_exact_2x2, perspective_gaps


def test_fisher_matches_scipy_on_textbook_tables():
    # Fisher's tea-tasting table and unbalanced ones; reference: scipy.stats.fisher_exact.
    tables = [(3, 1, 1, 3), (8, 2, 1, 5), (0, 5, 5, 0), (1, 9, 11, 3), (7, 0, 0, 7), (0, 0, 3, 4),
              (2, 28, 15, 15), (10, 10, 10, 10)]
    got = fisher_exact_2x2(*np.array(tables).T)
    expected = [fisher_exact([[a, b], [c, d]]).pvalue for a, b, c, d in tables]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
    assert got[0] == pytest.approx(0.4857142857, abs=1e-9)   # Fisher (1935), tea tasting: 34/70


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 25), min_size=4, max_size=4))
def test_fisher_matches_scipy_on_random_tables(table):
    a, b, c, d = table
    expected = fisher_exact([[a, b], [c, d]]).pvalue
    assert fisher_exact_2x2([a], [b], [c], [d])[0] == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_benjamini_hochberg_by_hand():
    p = [0.01, 0.04, 0.03, 0.20, np.nan]
    # Sorted: 0.01 (i=1), 0.03 (i=2), 0.04 (i=3), 0.20 (i=4); m = 4 defined values.
    # p*m/i: 0.04, 0.06, 0.05333, 0.20 -> running minimum from the top: 0.04, 0.05333, 0.05333, 0.20.
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q[:4], [0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert np.isnan(q[4])
    assert np.all(benjamini_hochberg([0.9, 0.95]) <= 1)


def test_managers_see_more_structural_change_than_practitioners():
    # As the report found (l.295): managers name structures, practitioners much less.
    codes = ["L1.structures", "L2.dialogue", "L1.tools"]
    managers = np.array([9, 5, 0])
    practitioners = np.array([2, 6, 0])
    gaps = perspective_gaps(managers, 10, practitioners, 12)
    assert [g.column for g in gaps] == [0, 1]        # a code nobody named is not tested
    top = gaps[0]
    assert codes[top.column] == "L1.structures" and top.difference > 0
    p = [fisher_exact([[9, 1], [2, 10]]).pvalue, fisher_exact([[5, 5], [6, 6]]).pvalue]
    assert top.p == pytest.approx(p[0], rel=1e-9)
    assert top.q == pytest.approx(min(1, p[0] * 2 / 1), rel=1e-9)
    assert gaps[1].q == pytest.approx(min(1, p[1] * 2 / 2), rel=1e-9)
    assert perspective_gaps(managers, 0, practitioners, 12) == []
    with pytest.raises(ValueError, match="cannot exceed"):
        perspective_gaps(managers, 3, practitioners, 12)
