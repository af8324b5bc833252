"""Krippendorff's multi-valued alpha (mvα): agreement when a coder may give a unit
any number of values, none included.

The sums both disagreements are made of are taken once per unit
(:func:`multi_valued_counts`); alpha is then a function of weighted sums of them
(:func:`mv_alpha_from_counts`), so a cluster bootstrap resample is one matrix
product, as in :mod:`impactmodel.stats.coding`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MultiValuedCounts:
    """Per-unit sums behind mvα (rows: units, only those with two or more values).

    ``pairable`` is m_u, the values of unit u; ``disagreement`` is
    Σ_{i≠j} δ(C_ui, C_uj) / (m_u − 1) over ordered pairs of its values;
    ``labels[u, k]`` counts the values of unit u holding label k;
    ``cardinality[u, a]`` counts the values of unit u with a labels.
    """

    labels_seen: tuple
    pairable: np.ndarray       # (units,)
    disagreement: np.ndarray   # (units,)
    labels: np.ndarray         # (units, labels)
    cardinality: np.ndarray    # (units, largest cardinality + 1)
    units: np.ndarray          # index of each row among the units given


def set_distance(c: frozenset, k: frozenset) -> float:
    """Nominal distance between two sets of values: 1 − 2|C ∩ K| / (|C| + |K|).

    0 for two empty sets (both said "no value applies"), 1 when only one is empty.
    """
    if not c and not k:
        return 0.0
    return 1.0 - 2.0 * len(c & k) / (len(c) + len(k))


def _as_value(cell) -> frozenset | None:
    if cell is None:
        return None
    if isinstance(cell, float) and cell != cell:
        return None
    if isinstance(cell, (str, bytes)) or not isinstance(cell, Iterable):
        raise ValueError(f"each rating must be a set of values or None (missing), got {cell!r}")
    values = list(cell)
    for v in values:
        if not isinstance(v, Hashable) or (isinstance(v, float) and v != v):
            raise ValueError(f"values must be hashable and not nan, got {v!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"a rating repeats a value: {values!r}")
    return frozenset(values)


def multi_valued_counts(ratings: Sequence[Sequence]) -> MultiValuedCounts:
    """The per-unit sums of mvα for ``ratings`` (see :func:`krippendorff_mv_alpha`).

    Units with fewer than two ratings are left out; ``units`` says which rows remain.

    Examples
    --------
    >>> from impactmodel.stats import multi_valued_counts
    >>> c = multi_valued_counts([[{"a"}, {"a", "b"}], [set(), None]])
    >>> c.units.tolist(), c.labels_seen, c.disagreement.round(3).tolist()
    ([0], ('a', 'b'), [0.667])
    """
    rows = [list(row) for row in ratings]
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise ValueError(f"every unit needs one entry per rater; rows have {sorted(widths)} entries")
    if rows and next(iter(widths)) < 2:
        raise ValueError("mvα needs at least 2 raters")
    units = [[_as_value(cell) for cell in row] for row in rows]
    kept = [(i, [v for v in row if v is not None]) for i, row in enumerate(units)]
    kept = [(i, values) for i, values in kept if len(values) >= 2]
    labels_seen = tuple(sorted({x for _i, values in kept for v in values for x in v}, key=repr))
    position = {x: j for j, x in enumerate(labels_seen)}
    largest = max((len(v) for _i, values in kept for v in values), default=0)
    pairable = np.zeros(len(kept))
    disagreement = np.zeros(len(kept))
    label_counts = np.zeros((len(kept), len(labels_seen)))
    cardinality = np.zeros((len(kept), largest + 1))
    for r, (_i, values) in enumerate(kept):
        m = len(values)
        pairable[r] = m
        total = sum(set_distance(a, b) for x, a in enumerate(values) for y, b in enumerate(values) if x != y)
        disagreement[r] = total / (m - 1)
        for v in values:
            cardinality[r, len(v)] += 1
            for x in v:
                label_counts[r, position[x]] += 1
    return MultiValuedCounts(labels_seen, pairable, disagreement, label_counts, cardinality,
                             np.array([i for i, _v in kept], dtype=int))


def _expected(label_totals: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """mvDe for each row of ``label_totals`` (resamples × labels) and ``shares``
    (resamples × cardinalities, the P(|C|)).

    For sets C and K drawn as the paper draws them (C's values, then K's from what
    is left), the weight of a pair is Π_{c∈C} n_c · Π_{k∈K} (n_k − [k ∈ C]). The sums of
    these weights, and of the weights times |C ∩ K|, over every C of a values and K of
    b values, are the coefficients of s^a t^b in Π_k (1 + n_k s + n_k t + n_k(n_k − 1) s t u)
    and of its derivative in u at u = 1, built label by label. Scaling every n_k by
    the same number scales both sums alike, so counts are taken as shares of n..
    """
    size = shares.shape[1]
    rows = label_totals.shape[0]
    total = label_totals.sum(axis=1, keepdims=True)
    scaled = np.divide(label_totals, total, out=np.zeros_like(label_totals), where=total > 0)
    scale = np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)[:, 0]
    weight = np.zeros((rows, size, size))
    weight[:, 0, 0] = 1.0
    shared = np.zeros((rows, size, size))
    for k in range(scaled.shape[1]):
        n = scaled[:, k][:, None, None]
        both = (n * (n - scale[:, None, None]))          # n_k (n_k - 1), in shares
        w_new = weight.copy()
        s_new = shared.copy()
        w_new[:, 1:, :] += n * weight[:, :-1, :]
        w_new[:, :, 1:] += n * weight[:, :, :-1]
        w_new[:, 1:, 1:] += both * weight[:, :-1, :-1]
        s_new[:, 1:, :] += n * shared[:, :-1, :]
        s_new[:, :, 1:] += n * shared[:, :, :-1]
        s_new[:, 1:, 1:] += both * (shared[:, :-1, :-1] + weight[:, :-1, :-1])
        weight, shared = w_new, s_new
    a = np.arange(size)
    sizes = a[:, None] + a[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = 1.0 - 2.0 * shared / (weight * np.where(sizes > 0, sizes, 1))
    distance = np.where(weight > 0, distance, 0.0)
    distance[:, 0, 0] = 0.0
    return np.einsum("ra,rb,rab->r", shares, shares, distance)


def mv_alpha_from_counts(counts: MultiValuedCounts, weights: np.ndarray | None = None) -> np.ndarray:
    """mvα for each row of ``weights`` (resamples × units of ``counts``: how often each
    unit is taken); without weights, each unit once. Returns an array, ``nan`` where
    alpha is undefined.

    Examples
    --------
    Each unit once, each twice (expected disagreement draws without replacement,
    so it moves a little), and the disagreeing unit left out:

    >>> from impactmodel.stats import multi_valued_counts, mv_alpha_from_counts
    >>> c = multi_valued_counts([[{"a"}, {"a"}], [{"b"}, {"b"}], [{"a"}, {"a", "b"}]])
    >>> mv_alpha_from_counts(c, [[1, 1, 1], [2, 2, 2], [1, 1, 0]]).round(3).tolist()
    [0.773, 0.758, 1.0]
    """
    w = np.ones((1, counts.pairable.size)) if weights is None else np.atleast_2d(np.asarray(weights, float))
    n_total = w @ counts.pairable
    observed = np.divide(w @ counts.disagreement, n_total, out=np.full(n_total.shape, np.nan),
                         where=n_total > 0)
    shares = np.divide(w @ counts.cardinality, n_total[:, None],
                       out=np.zeros((w.shape[0], counts.cardinality.shape[1])), where=n_total[:, None] > 0)
    expected = _expected(w @ counts.labels, shares)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - observed / expected
    return np.where((n_total > 0) & (expected > 0), alpha, np.nan)


def krippendorff_mv_alpha(ratings: Sequence[Sequence]) -> float:
    """Krippendorff's multi-valued alpha (mvα), nominal values.

    Parameters
    ----------
    ratings : sequence of sequences, shape (n_units, n_raters)
        One row per unit, one entry per rater: the set (any iterable) of values
        the rater gave the unit, possibly empty ("no value applies", itself a
        value), or ``None`` when the rater did not code the unit (missing).

    Returns
    -------
    float
        :math:`mv\\alpha = 1 - mvD_o / mvD_e`; ``nan`` when no unit has two
        ratings or the expected disagreement is 0.

    Notes
    -----
    Only units with at least two ratings count; :math:`m_u` is their number in
    unit :math:`u` and :math:`n_{..} = \\sum_u m_u`. The distance between two
    sets is :math:`\\delta(C, K) = 1 - 2|C \\cap K| / (|C| + |K|)`, 0 for two
    empty sets. Observed disagreement is alpha's, with sets as values:

    .. math::

        mvD_o = \\frac{1}{n_{..}} \\sum_u \\frac{1}{m_u - 1}
        \\sum_{i \\neq j} \\delta(C_{ui}, C_{uj})

    Expected disagreement pairs sets as chance would: with :math:`P(a)` the
    share of ratings holding :math:`a` values and :math:`n_c` the number of
    ratings holding value :math:`c`,

    .. math::

        mvD_e = \\sum_{a, b} P(a) P(b)
        \\frac{\\sum_{|C|=a, |K|=b} \\delta(C, K) \\prod_{c \\in C} n_c
        \\prod_{k \\in K} (n_k - [k \\in C])}
        {\\sum_{|C|=a, |K|=b} \\prod_{c \\in C} n_c
        \\prod_{k \\in K} (n_k - [k \\in C])}

    over all sets :math:`C`, :math:`K` of the values seen. The inner sums are
    not enumerated: they are coefficients of a polynomial built value by value
    (see ``_expected``), so the cost grows with values × largest set², not with
    the number of possible sets. With one value per rating mvα is nominal
    alpha.

    Raises ``ValueError`` for rows of different lengths, fewer than 2 raters,
    a rating that is not a collection (a bare string), or one that repeats a
    value.

    References
    ----------
    Krippendorff, K., & Craggs, R. (2016). The reliability of multi-valued
    coding of data. *Communication Methods and Measures*, 10(4), 181-198.

    Examples
    --------
    The paper's Table 3: four units, observers F, G and H, values a, b, d;
    F gave unit 3 no value, and some units lack an observer.

    >>> from impactmodel.stats import krippendorff_mv_alpha
    >>> table3 = [[{"b", "d"}, {"d"}, None],
    ...           [{"a", "b", "d"}, {"b"}, {"b", "d"}],
    ...           [set(), {"a"}, {"a"}],
    ...           [{"a"}, None, None]]
    >>> round(krippendorff_mv_alpha(table3), 3)
    0.287
    """
    return float(mv_alpha_from_counts(multi_valued_counts(ratings))[0])
