"""Krippendorff's alpha for nominal, ordinal, interval and ratio data."""

from __future__ import annotations

import numpy as np

from ._counts import agreeing_pairs, category_codes, unit_counts
from ._validate import as_float_array, choice, codes_for, rating_matrix

LEVELS = ("nominal", "ordinal", "interval", "ratio")

# Work on blocks of units for the ratio metric so that the
# units x raters x raters difference array stays around 8 MB.
_BLOCK_CELLS = 1_000_000


def krippendorff_alpha(ratings, *, level="nominal", value_domain=None) -> float:
    """Krippendorff's alpha reliability coefficient.

    Parameters
    ----------
    ratings : array_like, shape (n_units, n_raters)
        One row per unit (coded segment, subject), one column per rater;
        ``nan`` marks a missing value. Values are numbers; for nominal data
        any numeric code works.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement, which selects the difference function.
    value_domain : array_like, optional
        The possible values. Values outside it raise ``ValueError``. For
        ``"ordinal"`` data its order (as given) is the rank order of the
        categories; otherwise the numeric order is used.

    Returns
    -------
    alpha : float
        :math:`\\alpha = 1 - D_o / D_e`; ``nan`` when it is undefined.

    Notes
    -----
    Only *pairable* values count: those in units rated by at least two
    raters. With :math:`m_u` pairable values in unit :math:`u`,
    :math:`n = \\sum_u m_u` and :math:`n_c` the number of pairable values
    equal to :math:`c`,

    .. math::

        \\alpha = 1 - (n - 1) \\frac{\\sum_u \\frac{1}{m_u - 1}
        \\sum_{i \\neq j} \\delta^2(x_{ui}, x_{uj})}
        {\\sum_{c, k} n_c n_k \\delta^2(c, k)}

    with :math:`\\delta^2` = 1 for unequal nominal values,
    :math:`(c - k)^2` for interval, :math:`((c - k)/(c + k))^2` for ratio
    and, for ordinal data, :math:`(\\sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2`.

    The ordinal difference equals :math:`(M_k - M_c)^2` with the mid-rank
    :math:`M_c = \\sum_{g < c} n_g + n_c / 2`, so ordinal alpha is interval
    alpha on mid-ranks. Interval alpha needs only per-unit sums of squared
    deviations, so nominal, ordinal and interval alpha run in
    :math:`O(n)` memory without a values x values coincidence matrix. Ratio
    alpha sums the differences pair by pair.

    Degenerate input: ``nan`` when fewer than two pairable values exist or
    when every pairable value is identical (expected disagreement 0).
    ``ValueError`` for a matrix that is not 2-D, fewer than 2 raters,
    infinite values, an unknown ``level``, values outside ``value_domain``,
    a ``value_domain`` with repeats, and negative values at ratio level.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    Annenberg School for Communication, University of Pennsylvania.

    Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a
    standard reliability measure for coding data. *Communication Methods
    and Measures*, 1(1), 77-89.

    Examples
    --------
    Krippendorff (2011): 12 units coded by 4 observers, with gaps.

    >>> import numpy as np
    >>> from impactmodel.stats import krippendorff_alpha
    >>> nan = np.nan
    >>> data = np.array([
    ...     [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...     [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...     [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...     [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]).T  # units x observers
    >>> round(krippendorff_alpha(data), 3)
    0.743
    >>> round(krippendorff_alpha(data, level="interval"), 3)
    0.849
    """
    choice(level, LEVELS, "level")
    arr = rating_matrix(ratings)

    # Keep only units with at least two values: the others pair with nothing.
    present = ~np.isnan(arr)
    m_u = present.sum(axis=1)
    keep = m_u >= 2
    domain = _domain(value_domain)
    if domain is not None:
        # Check every value, pairable or not, against the declared domain.
        codes_for(arr[present], np.sort(domain), "ratings")
    if not keep.all():
        arr, present, m_u = arr[keep], present[keep], m_u[keep]
    n = int(m_u.sum())
    if n < 2:
        return float("nan")

    if level == "nominal":
        return _nominal(arr, present, m_u, n)
    if level == "ordinal":
        arr = _midranks(arr, present, domain)
        return _interval(arr, present, m_u, n)
    if level == "interval":
        return _interval(arr, present, m_u, n)
    return _ratio(arr, present, m_u, n)


def _domain(value_domain):
    if value_domain is None:
        return None
    domain = as_float_array(value_domain, "value_domain")
    if domain.ndim != 1 or domain.size == 0:
        raise ValueError("value_domain must be a non-empty 1-D list of values")
    if not np.isfinite(domain).all():
        raise ValueError("value_domain must contain finite numbers only")
    if np.unique(domain).size != domain.size:
        raise ValueError("value_domain contains repeated values")
    return domain


def _nominal(arr, present, m_u, n) -> float:
    codes, n_codes = category_codes(arr, present)
    counts = unit_counts(codes, n_codes)
    # Diagonal of the coincidence matrix: sum_u sum_c C_uc (C_uc - 1) / (m_u - 1).
    agree = float((agreeing_pairs(codes, n_codes, counts) / (m_u - 1)).sum())
    if counts is not None:
        n_c = counts.sum(axis=0).astype(float)
    else:
        n_c = np.bincount(codes[present], minlength=n_codes).astype(float)
    observed = n - agree  # off-diagonal coincidences
    expected = float(n) ** 2 - np.dot(n_c, n_c)  # sum_{c != k} n_c n_k
    return _finish(n, observed, expected)


def _midranks(arr, present, domain):
    """Replace each value by its mid-rank M_c = sum_{g<c} n_g + n_c / 2."""
    codes, n_codes = category_codes(arr, present, domain)
    n_c = np.bincount(codes[present], minlength=n_codes).astype(float)
    mid = np.cumsum(n_c) - n_c / 2.0
    out = np.full(arr.shape, np.nan)
    out[present] = mid[codes[present]]
    return out


def _interval(arr, present, m_u, n) -> float:
    # Centre first so the sums of squares do not lose precision.
    vals = arr[present]
    grand = vals.mean()
    total_ss = float(((vals - grand) ** 2).sum())
    unit_mean = np.nansum(arr, axis=1) / m_u
    dev = np.where(present, arr - unit_mean[:, None], 0.0)
    unit_ss = (dev * dev).sum(axis=1)
    # sum_{i != j} (x_i - x_j)^2 = 2 m_u SS_u within a unit, and
    # sum_{c, k} n_c n_k (c - k)^2 = 2 n SS_total over all pairable values.
    observed = float((2.0 * m_u * unit_ss / (m_u - 1)).sum())
    expected = 2.0 * n * total_ss
    return _finish(n, observed, expected)


def _ratio(arr, present, m_u, n) -> float:
    vals = arr[present]
    if (vals < 0).any():
        raise ValueError("ratio-level alpha needs non-negative values")
    n_raters = arr.shape[1]
    block = max(1, _BLOCK_CELLS // (n_raters * n_raters))
    observed = 0.0
    for start in range(0, arr.shape[0], block):
        x = arr[start:start + block]
        d = _ratio_delta(x[:, :, None], x[:, None, :])
        d = np.where(np.isnan(d), 0.0, d)  # pairs involving a missing value
        observed += float((d.sum(axis=(1, 2)) / (m_u[start:start + block] - 1)).sum())
    values, n_c = np.unique(vals, return_counts=True)
    n_c = n_c.astype(float)
    expected = 0.0
    block = max(1, _BLOCK_CELLS // values.size)
    for start in range(0, values.size, block):
        d = _ratio_delta(values[start:start + block, None], values[None, :])
        expected += float(n_c[start:start + block] @ d @ n_c)
    return _finish(n, observed, expected)


def _ratio_delta(a, b):
    total = a + b
    diff = a - b
    # Two zeros do not differ; nan (missing) propagates to be dropped later.
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(total == 0, 0.0, diff / np.where(total == 0, 1.0, total))
    return ratio * ratio


def _finish(n, observed, expected) -> float:
    if expected <= 0:
        return float("nan")
    return float(1.0 - (n - 1) * observed / expected)
