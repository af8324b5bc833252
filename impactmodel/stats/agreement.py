"""Agreement on categorical ratings: raw agreement and chance-corrected kappas."""

from __future__ import annotations

import numpy as np

from ._counts import agreeing_pairs, category_codes
from ._validate import as_float_array, check_finite, choice, codes_for, rating_matrix, vector

WEIGHTS = (None, "linear", "quadratic")


def percent_agreement(ratings) -> float:
    """Share of agreeing rater pairs, pooled over units.

    Parameters
    ----------
    ratings : array_like, shape (n_units, n_raters)
        Category codes, one row per unit and one column per rater; ``nan``
        marks a missing rating.

    Returns
    -------
    agreement : float
        Between 0 and 1.

    Notes
    -----
    Within unit :math:`u` with :math:`m_u` ratings, :math:`C_{uc}` of them
    in category :math:`c`, there are :math:`m_u(m_u - 1)/2` rater pairs of
    which :math:`\\sum_c C_{uc}(C_{uc} - 1)/2` agree. Pairs are pooled,
    so units with more ratings weigh more:

    .. math::

        P = \\frac{\\sum_u \\sum_c C_{uc}(C_{uc} - 1)}{\\sum_u m_u(m_u - 1)}

    With two raters and no missing values this is the proportion of units
    on which they agree. Raw agreement is not corrected for chance; report
    it beside a kappa or alpha (see :func:`multicode_agreement`).

    Degenerate input: ``nan`` when no unit has two ratings. ``ValueError``
    for a matrix that is not 2-D, fewer than 2 raters or infinite values.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many
    raters. *Psychological Bulletin*, 76(5), 378-382 (the mean of the
    per-unit :math:`P_i` when every unit has the same number of raters).

    Examples
    --------
    >>> from impactmodel.stats import percent_agreement
    >>> percent_agreement([[1, 1], [1, 2], [2, 2], [3, 3]])
    0.75
    """
    arr = rating_matrix(ratings)
    present = ~np.isnan(arr)
    m_u = present.sum(axis=1).astype(float)
    pairs = float((m_u * (m_u - 1)).sum())
    if pairs == 0:
        return float("nan")
    codes, n_codes = category_codes(arr, present)
    return float(agreeing_pairs(codes, n_codes).sum() / pairs)


def cohen_kappa(a, b, *, weights=None, labels=None) -> float:
    """Cohen's kappa for two raters, optionally weighted.

    Parameters
    ----------
    a, b : array_like, shape (n_units,)
        The two raters' category codes for the same units. Units where
        either rating is ``nan`` are left out.
    weights : {None, "linear", "quadratic"}
        Disagreement weights. ``None`` gives Cohen's (1960) unweighted
        kappa, where every disagreement counts fully.
    labels : array_like, optional
        The full ordered list of categories. Weights are spaced over the
        positions in this list, so categories that nobody used still widen
        the scale. Defaults to the sorted distinct values seen.

    Returns
    -------
    kappa : float

    Notes
    -----
    With :math:`p_{ij}` the observed proportion of units rated :math:`i`
    by the first rater and :math:`j` by the second, :math:`e_{ij} =
    p_{i+} p_{+j}` the proportion expected by chance, and disagreement
    weights :math:`w_{ij}` (:math:`[i \\neq j]`, :math:`|i-j|/(K-1)` or
    :math:`(i-j)^2/(K-1)^2` for :math:`K` labels),

    .. math::

        \\kappa_w = 1 - \\frac{\\sum_{ij} w_{ij} p_{ij}}{\\sum_{ij} w_{ij} e_{ij}}

    Unweighted, this is :math:`(p_o - p_e)/(1 - p_e)`. Quadratic-weighted
    kappa approximates the ICC of the two raters (Fleiss & Cohen 1973).

    Degenerate input: ``nan`` when there are no complete pairs, or the
    chance disagreement is 0 (both raters used one and the same category
    throughout). ``ValueError`` for vectors that are not 1-D or differ in
    length, infinite values, an unknown ``weights``, repeated labels and
    ratings not in ``labels``.

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales.
    *Educational and Psychological Measurement*, 20(1), 37-46.

    Cohen, J. (1968). Weighted kappa. *Psychological Bulletin*, 70(4),
    213-220.

    Examples
    --------
    >>> from impactmodel.stats import cohen_kappa
    >>> a = [1, 1, 2, 2, 3, 3]
    >>> b = [1, 2, 2, 2, 3, 1]
    >>> round(cohen_kappa(a, b), 4)
    0.5
    >>> round(cohen_kappa(a, b, weights="linear", labels=[1, 2, 3]), 4)
    0.4
    """
    choice(weights, WEIGHTS, "weights")
    a = vector(a, "a")
    b = vector(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    both = ~(np.isnan(a) | np.isnan(b))
    a, b = a[both], b[both]

    if labels is None:
        domain = np.unique(np.concatenate([a, b]))
        order = np.arange(domain.size)
    else:
        domain = as_float_array(labels, "labels")
        if domain.ndim != 1 or domain.size == 0:
            raise ValueError("labels must be a non-empty 1-D list of categories")
        check_finite(domain, "labels", allow_nan=False)
        if np.unique(domain).size != domain.size:
            raise ValueError("labels contains repeated categories")
        order = np.argsort(domain, kind="stable")
        domain = domain[order]
    if a.size == 0:
        return float("nan")
    # Position of each rating in the label list as given.
    ia = order[codes_for(a, domain, "a")]
    ib = order[codes_for(b, domain, "b")]
    k = domain.size

    observed = np.bincount(ia * k + ib, minlength=k * k).reshape(k, k) / a.size
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    w = _disagreement_weights(k, weights)
    chance = float((w * expected).sum())
    if chance <= 0:
        return float("nan")
    return float(1.0 - (w * observed).sum() / chance)


def _disagreement_weights(k: int, weights) -> np.ndarray:
    i = np.arange(k)
    diff = np.abs(i[:, None] - i[None, :]).astype(float)
    if weights is None:
        return (diff > 0).astype(float)
    # The scale K - 1 cancels in the ratio; it is kept to match the textbook.
    span = max(k - 1, 1)
    if weights == "linear":
        return diff / span
    return (diff / span) ** 2


def fleiss_kappa(counts) -> float:
    """Fleiss' kappa for many raters from a table of counts.

    Parameters
    ----------
    counts : array_like, shape (n_units, n_categories)
        ``counts[i, j]`` is the number of raters who put unit ``i`` in
        category ``j``. Every unit must have the same number of raters
        (at least 2); the raters need not be the same people.

    Returns
    -------
    kappa : float

    Notes
    -----
    With :math:`N` units, :math:`n` raters per unit,

    .. math::

        P_i = \\frac{\\sum_j n_{ij}^2 - n}{n(n-1)}, \\quad
        p_j = \\frac{1}{Nn}\\sum_i n_{ij}, \\quad
        \\kappa = \\frac{\\bar P - \\sum_j p_j^2}{1 - \\sum_j p_j^2}

    Degenerate input: ``nan`` when every rating falls in one category
    (:math:`\\sum_j p_j^2 = 1`). ``ValueError`` for a table that is not
    2-D, has no units, negative, non-integer or missing counts, or rows
    with unequal or fewer than 2 raters.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many
    raters. *Psychological Bulletin*, 76(5), 378-382.

    Examples
    --------
    >>> from impactmodel.stats import fleiss_kappa
    >>> round(fleiss_kappa([[3, 0], [0, 3], [2, 1], [3, 0]]), 4)
    0.625
    """
    table = as_float_array(counts, "counts")
    if table.ndim != 2:
        raise ValueError(
            f"counts must be 2-dimensional (units x categories), got {table.ndim} dimension(s)"
        )
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise ValueError("counts needs at least one unit and one category")
    check_finite(table, "counts", allow_nan=False)
    if (table < 0).any():
        raise ValueError("counts must not be negative")
    if not np.all(table == np.round(table)):
        raise ValueError("counts must be whole numbers")
    per_unit = table.sum(axis=1)
    n = per_unit[0]
    if not np.all(per_unit == n):
        raise ValueError(
            "fleiss_kappa needs the same number of raters for every unit; "
            f"row totals range from {per_unit.min():g} to {per_unit.max():g}"
        )
    if n < 2:
        raise ValueError(f"fleiss_kappa needs at least 2 raters per unit, got {n:g}")
    p_bar = float(((table * table).sum(axis=1) - n).mean() / (n * (n - 1)))
    p_j = table.sum(axis=0) / table.sum()
    p_e = float(np.dot(p_j, p_j))
    if p_e >= 1:
        return float("nan")
    return float((p_bar - p_e) / (1 - p_e))


def gwet_ac1(ratings, *, labels=None) -> float:
    """Gwet's first-order agreement coefficient AC1 (nominal categories).

    Parameters
    ----------
    ratings : array_like, shape (n_units, n_raters)
        Category codes, one row per unit and one column per rater; ``nan``
        marks a missing rating.
    labels : array_like, optional
        The full list of categories. Their number :math:`q` enters the
        chance term, so pass it when some categories went unused; by
        default only the categories seen are counted.

    Returns
    -------
    ac1 : float

    Notes
    -----
    With :math:`r_{ik}` raters putting unit :math:`i` in category
    :math:`k` and :math:`r_i = \\sum_k r_{ik}`,

    .. math::

        p_a = \\frac{1}{n'} \\sum_{i: r_i \\ge 2} \\sum_k
              \\frac{r_{ik}(r_{ik} - 1)}{r_i (r_i - 1)}, \\quad
        \\pi_k = \\frac{1}{n} \\sum_{i: r_i \\ge 1} \\frac{r_{ik}}{r_i}, \\quad
        p_e = \\frac{1}{q - 1} \\sum_k \\pi_k (1 - \\pi_k)

    and :math:`AC_1 = (p_a - p_e)/(1 - p_e)`, with :math:`n'` the units
    rated at least twice and :math:`n` the units rated at least once
    (Gwet 2014, ch. 2-4). Unlike kappa, AC1 stays high when agreement is
    high but one category dominates.

    Degenerate input: ``nan`` when no unit is rated twice or only one
    category is possible (:math:`q < 2`). ``ValueError`` for a matrix that
    is not 2-D, fewer than 2 raters, infinite values, repeated labels or
    ratings not in ``labels``.

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance
    in the presence of high agreement. *British Journal of Mathematical
    and Statistical Psychology*, 61(1), 29-48.

    Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.).
    Advanced Analytics.

    Examples
    --------
    >>> from impactmodel.stats import gwet_ac1
    >>> round(gwet_ac1([[1, 1], [1, 1], [1, 1], [1, 2]]), 4)
    0.68
    """
    arr = rating_matrix(ratings)
    present = ~np.isnan(arr)
    domain = None
    if labels is not None:
        domain = as_float_array(labels, "labels")
        if domain.ndim != 1 or domain.size == 0:
            raise ValueError("labels must be a non-empty 1-D list of categories")
        check_finite(domain, "labels", allow_nan=False)
        if np.unique(domain).size != domain.size:
            raise ValueError("labels contains repeated categories")
    r_i = present.sum(axis=1).astype(float)
    rated = r_i >= 1
    if not (r_i >= 2).any():
        return float("nan")
    codes, n_codes = category_codes(arr, present, domain)
    if domain is None:
        q = np.unique(codes[present]).size
    else:
        q = domain.size
    if q < 2:
        return float("nan")
    multi = r_i >= 2
    p_a = float((agreeing_pairs(codes, n_codes)[multi] / (r_i[multi] * (r_i[multi] - 1))).mean())
    # pi_k: average over rated units of the share of the unit's ratings in k.
    share = np.broadcast_to((1.0 / np.where(rated, r_i, 1.0))[:, None], arr.shape)[present]
    pi = np.bincount(codes[present], weights=share, minlength=n_codes) / rated.sum()
    p_e = float((pi * (1 - pi)).sum() / (q - 1))
    return float((p_a - p_e) / (1 - p_e))
