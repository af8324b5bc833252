"""Krippendorff's multi-valued alpha against the published examples, a brute-force
reading of its formula, nominal alpha, and a simulation with a known truth."""

import itertools

import numpy as np
import pytest

from impactmodel.stats import (krippendorff_alpha, krippendorff_mv_alpha, multi_valued_counts,
                               mv_alpha_from_counts)
from impactmodel.stats.multivalued import set_distance


def by_observer(*observers):
    """Units x observers from one list per observer (as the paper prints its tables)."""
    return [list(unit) for unit in zip(*observers)]


# Krippendorff & Craggs (2016), Table 3: units U1-U4, observers F, G, H; F gave U3 no
# value (the empty set), G did not code U4, H did not code U1 and U4.
TABLE_3 = [[{"b", "d"}, {"d"}, None],
           [{"a", "b", "d"}, {"b"}, {"b", "d"}],
           [set(), {"a"}, {"a"}],
           [{"a"}, None, None]]

# Tables 8a-c and 9a-c: three observers F, G, H, three units each; the paper's mvα.
PUBLISHED = {
    "8a": (by_observer([{"a"}, {"a", "b", "d"}, {"d"}], [{"a"}, {"a", "b", "d"}, {"d"}],
                       [{"a"}, {"a", "b", "d", "e"}, {"d"}]), 0.947),
    "8b": (by_observer([{"a"}, {"a", "b"}, {"d"}], [{"a"}, {"a", "b"}, {"d"}],
                       [{"a"}, {"a", "b", "d"}, {"d"}]), 0.923),
    "8c": (by_observer([{"a"}, {"b"}, {"d"}], [{"a"}, {"b"}, {"d"}], [{"a"}, {"b", "d"}, {"d"}]), 0.895),
    "9a": (by_observer([{"a"}, {"a", "b"}, {"d"}], [{"a"}, {"a", "d"}, {"d"}],
                       [{"a"}, {"d", "b"}, {"d"}]), 0.716),
    "9b": (by_observer([{"a"}, {"a", "b"}, {"d"}], [{"a"}, {"e", "d"}, {"d"}], [{"a"}, {"f"}, {"d"}]), 0.554),
    "9c": (by_observer([{"a"}, {"a", "b"}, {"b", "d"}], [{"b"}, {"e", "d"}, {"d"}],
                       [{"a", "b"}, {"f"}, {"b", "e"}]), -0.002),
}


def test_table_3():
    # The paper's worked example gives mvα = 0.287 (Table 3 and the computation after
    # it); the mvalpha R package's own test of the same table expects 0.2865907.
    assert krippendorff_mv_alpha(TABLE_3) == pytest.approx(0.2865907, abs=5e-8)
    assert krippendorff_mv_alpha(TABLE_3) == pytest.approx(brute_force(TABLE_3), abs=1e-12)


@pytest.mark.parametrize("table", sorted(PUBLISHED))
def test_tables_8_and_9(table):
    data, published = PUBLISHED[table]
    assert round(krippendorff_mv_alpha(data), 3) == published


def brute_force(ratings):
    """mvα by its formula, enumerating every pair of sets C, K (small data only)."""
    units = [[frozenset(v) for v in row if v is not None] for row in ratings]
    units = [u for u in units if len(u) >= 2]
    n_total = sum(len(u) for u in units)
    observed = sum(sum(set_distance(a, b) for i, a in enumerate(u) for j, b in enumerate(u) if i != j)
                   / (len(u) - 1) for u in units) / n_total
    n = {}
    sizes = {}
    for u in units:
        for v in u:
            sizes[len(v)] = sizes.get(len(v), 0) + 1
            for x in v:
                n[x] = n.get(x, 0) + 1
    values = sorted(n)
    expected = 0.0
    for a, pa in sizes.items():
        for b, pb in sizes.items():
            weights = total = 0.0
            for c in itertools.combinations(values, a):
                for k in itertools.combinations(values, b):
                    w = np.prod([n[x] for x in c]) * np.prod([n[x] - (x in c) for x in k])
                    weights += w
                    total += w * set_distance(frozenset(c), frozenset(k))
            if weights:
                expected += pa / n_total * pb / n_total * total / weights
    return 1 - observed / expected


def random_sets(rng, n_units, n_raters, n_values, p_missing=0.1):
    rows = []
    for _ in range(n_units):
        truth = set(rng.choice(n_values, size=rng.integers(0, 3), replace=False).tolist())
        row = []
        for _r in range(n_raters):
            if rng.random() < p_missing:
                row.append(None)
                continue
            seen = {x for x in truth if rng.random() < 0.8}
            seen |= {x for x in range(n_values) if x not in truth and rng.random() < 0.1}
            row.append(seen)
        rows.append(row)
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equals_the_formula_enumerated(seed):
    rng = np.random.default_rng(seed)
    data = random_sets(rng, 12, 3, 5)
    assert krippendorff_mv_alpha(data) == pytest.approx(brute_force(data), abs=1e-12)


def test_one_value_each_is_nominal_alpha():
    rng = np.random.default_rng(5)
    matrix = rng.integers(0, 4, size=(30, 3)).astype(float)
    matrix[rng.random(matrix.shape) < 0.15] = np.nan
    sets = [[None if np.isnan(x) else {int(x)} for x in row] for row in matrix]
    assert krippendorff_mv_alpha(sets) == pytest.approx(krippendorff_alpha(matrix), abs=1e-12)


def test_empty_sets_agree_with_each_other_and_not_with_values():
    agreeing = [[set(), set()], [{"a"}, {"a"}], [{"b"}, {"b"}]]
    assert krippendorff_mv_alpha(agreeing) == pytest.approx(1.0)
    # "No value applies" against a value is a disagreement, unlike a missing rating.
    with_empty = agreeing + [[set(), {"a"}]]
    with_missing = agreeing + [[None, {"a"}]]
    assert krippendorff_mv_alpha(with_empty) < 1.0
    assert krippendorff_mv_alpha(with_missing) == pytest.approx(1.0)


@pytest.mark.parametrize("reliable", [0.0, 0.3, 0.6, 0.9, 1.0])
def test_simulation_recovers_the_truth(reliable):
    """Each coder reports a unit's true set with probability r, and otherwise a set drawn
    at random like the true ones (0-3 of 8 values). A pair of codings then agrees beyond
    chance only when both are true, so mvα should be about r squared."""
    rng = np.random.default_rng(20081)

    def random_set():
        return set(rng.choice(8, size=rng.integers(0, 4), replace=False).tolist())

    truth = [random_set() for _ in range(1500)]
    coded = [[t if rng.random() < reliable else random_set() for _coder in range(3)] for t in truth]
    assert krippendorff_mv_alpha(coded) == pytest.approx(reliable ** 2, abs=0.03)


def test_weights_are_repeated_units():
    data = random_sets(np.random.default_rng(9), 20, 2, 4, p_missing=0.0)
    counts = multi_valued_counts(data)
    weights = np.arange(counts.pairable.size) % 3
    repeated = [row for row, w in zip((data[i] for i in counts.units), weights) for _ in range(w)]
    assert mv_alpha_from_counts(counts, weights[None, :])[0] == pytest.approx(krippendorff_mv_alpha(repeated))


def test_undefined_and_malformed():
    assert np.isnan(krippendorff_mv_alpha([[{"a"}, None], [None, {"b"}]]))   # nothing pairable
    assert np.isnan(krippendorff_mv_alpha([[{"a"}, {"a"}], [{"a"}, {"a"}]]))  # no variation
    with pytest.raises(ValueError, match="one entry per rater"):
        krippendorff_mv_alpha([[{"a"}, {"a"}], [{"a"}]])
    with pytest.raises(ValueError, match="at least 2 raters"):
        krippendorff_mv_alpha([[{"a"}]])
    with pytest.raises(ValueError, match="set of values"):
        krippendorff_mv_alpha([["ab", {"a"}]])
    with pytest.raises(ValueError, match="repeats"):
        krippendorff_mv_alpha([[["a", "a"], {"a"}]])
