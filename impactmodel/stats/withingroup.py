"""Within-group agreement on rating scales: rwg, rwg(J) and the AD index."""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_float_array, check_finite, choice, positive_int

CENTERS = ("mean", "median")
NULLS = ("uniform",)


def _null_variance(null, options: int) -> float:
    """Variance of the ratings expected if raters answered at random."""
    if isinstance(null, numbers.Real) and not isinstance(null, bool):
        if not np.isfinite(null) or null <= 0:
            raise ValueError(f"a numeric null variance must be positive and finite, got {null!r}")
        return float(null)
    choice(null, NULLS, "null")
    # Discrete uniform on 1..A: (A^2 - 1) / 12.
    return (options * options - 1) / 12.0


def _check_scale(x: np.ndarray, options: int, name: str) -> None:
    values = x[~np.isnan(x)]
    if ((values < 1) | (values > options)).any():
        bad = np.unique(values[(values < 1) | (values > options)])[:5]
        raise ValueError(f"{name} must lie between 1 and options={options}; found {bad.tolist()}")


def rwg(ratings, *, options, null="uniform", truncate=True) -> float:
    """James, Demaree & Wolf's single-item within-group agreement rwg.

    Parameters
    ----------
    ratings : array_like, shape (n_raters,)
        One group's ratings of one item on a 1..``options`` scale;
        ``nan`` entries (no answer) are dropped.
    options : int
        Number of scale points :math:`A` (e.g. 5 for a five-point scale).
    null : "uniform" or float
        Null (no-agreement) distribution. ``"uniform"`` gives
        :math:`\\sigma^2_{EU} = (A^2 - 1)/12`; a positive number is used
        as the null variance directly (e.g. a skewed null from
        LeBreton & Senter 2008).
    truncate : bool
        Return 0 when the observed variance exceeds the null variance, as
        James et al. (1984) recommend; ``False`` returns the raw value,
        which is then negative.

    Returns
    -------
    rwg : float
        1 is perfect agreement, 0 agreement no better than the null.

    Notes
    -----
    .. math::

        r_{wg} = 1 - \\frac{s_x^2}{\\sigma_E^2}

    with :math:`s_x^2` the sample variance (denominator :math:`N - 1`) of
    the group's ratings.

    Degenerate input: ``ValueError`` for input that is not 1-D, fewer than
    2 non-missing ratings, ratings outside 1..``options``, infinite values,
    ``options`` below 2 and an unknown or non-positive ``null``. A group
    that agrees perfectly gets 1.

    References
    ----------
    James, L. R., Demaree, R. G., & Wolf, G. (1984). Estimating within-group
    interrater reliability with and without response bias. *Journal of
    Applied Psychology*, 69(1), 85-98.

    Examples
    --------
    >>> from impactmodel.stats import rwg
    >>> rwg([4, 4, 5, 4, 3], options=5)  # s^2 = 0.5, null variance = 2
    0.75
    """
    options = positive_int(options, "options", minimum=2)
    x = as_float_array(ratings, "ratings")
    if x.ndim != 1:
        raise ValueError(
            f"rwg takes one item's ratings as a 1-D vector, got {x.ndim} dimension(s); "
            "use rwg_j for several items"
        )
    check_finite(x, "ratings", allow_nan=True)
    _check_scale(x, options, "ratings")
    x = x[~np.isnan(x)]
    if x.size < 2:
        raise ValueError(f"rwg needs at least 2 ratings, got {x.size}")
    sigma2 = _null_variance(null, options)
    value = 1.0 - float(np.var(x, ddof=1)) / sigma2
    if truncate and value < 0:
        return 0.0
    return float(value)


def rwg_j(ratings, *, options, null="uniform", truncate=True) -> float:
    """Multi-item within-group agreement rwg(J).

    Parameters
    ----------
    ratings : array_like, shape (n_respondents, n_items)
        One group's ratings: one row per respondent, one column per item
        of a scale of :math:`J` parallel items, each on a 1..``options``
        scale. ``nan`` marks an item a respondent skipped.
    options : int
        Number of scale points :math:`A`.
    null : "uniform" or float
        Null variance, as in :func:`rwg`.
    truncate : bool
        Return 0 when the mean item variance exceeds the null variance
        (Lindell, Brandt & Whitney 1999); ``False`` returns the raw value.

    Returns
    -------
    rwg_j : float

    Notes
    -----
    With :math:`\\bar s^2` the mean over items of the item variances
    (denominator :math:`N - 1`, each over the respondents who answered)
    and :math:`r = \\bar s^2 / \\sigma_E^2`,

    .. math::

        r_{wg(J)} = \\frac{J (1 - r)}{J (1 - r) + r}

    Degenerate input: ``nan`` when the untruncated denominator is 0.
    ``ValueError`` for a matrix that is not 2-D, an item with fewer than 2
    ratings, ratings outside 1..``options``, infinite values, ``options``
    below 2 and an unknown ``null``.

    References
    ----------
    James, L. R., Demaree, R. G., & Wolf, G. (1984). Estimating within-group
    interrater reliability with and without response bias. *Journal of
    Applied Psychology*, 69(1), 85-98.

    Examples
    --------
    >>> from impactmodel.stats import rwg_j
    >>> data = [[4, 4, 5], [4, 5, 5], [5, 4, 4], [4, 4, 5]]
    >>> round(rwg_j(data, options=5), 4)  # each item s^2 = 0.25, r = 0.125
    0.9545
    """
    options = positive_int(options, "options", minimum=2)
    x = as_float_array(ratings, "ratings")
    if x.ndim != 2:
        raise ValueError(
            f"ratings must be 2-dimensional (respondents x items), got {x.ndim} dimension(s)"
        )
    check_finite(x, "ratings", allow_nan=True)
    _check_scale(x, options, "ratings")
    answered = (~np.isnan(x)).sum(axis=0)
    if x.shape[1] == 0 or (answered < 2).any():
        raise ValueError("rwg_j needs at least one item and 2 ratings on every item")
    sigma2 = _null_variance(null, options)
    n_items = x.shape[1]
    r = float(np.nanvar(x, axis=0, ddof=1).mean()) / sigma2
    if truncate and r > 1:
        return 0.0
    den = n_items * (1 - r) + r
    if den == 0:
        return float("nan")
    return float(n_items * (1 - r) / den)


def ad_index(ratings, *, center="mean") -> float:
    """Burke's average deviation (AD) index of within-group disagreement.

    Parameters
    ----------
    ratings : array_like, shape (n_raters,) or (n_raters, n_items)
        One group's ratings of one item, or of several items (one column
        per item); ``nan`` entries are dropped item by item.
    center : {"mean", "median"}
        Deviations from the item mean (:math:`AD_M`) or median
        (:math:`AD_{Md}`).

    Returns
    -------
    ad : float
        0 for perfect agreement, larger for more disagreement, in the
        units of the rating scale. For several items, the mean of the item
        indices, :math:`AD_{M(J)}`.

    Notes
    -----
    .. math::

        AD_{M(j)} = \\frac{1}{N} \\sum_{k=1}^{N} |x_{jk} - \\bar x_j|

    Burke & Dunlap (2002) suggest :math:`A/6` (0.83 on a 5-point scale) as
    the upper limit for practically significant agreement.

    Degenerate input: ``ValueError`` for input with more than 2
    dimensions, an item with fewer than 2 ratings, infinite values or an
    unknown ``center``.

    References
    ----------
    Burke, M. J., Finkelstein, L. M., & Dusig, M. S. (1999). On average
    deviation indices for estimating interrater agreement. *Organizational
    Research Methods*, 2(1), 49-68.

    Burke, M. J., & Dunlap, W. P. (2002). Estimating interrater agreement
    with the average deviation index: a user's guide. *Organizational
    Research Methods*, 5(2), 159-172.

    Examples
    --------
    >>> from impactmodel.stats import ad_index
    >>> ad_index([4, 4, 5, 4, 3])
    0.4
    """
    choice(center, CENTERS, "center")
    x = as_float_array(ratings, "ratings")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"ratings must be 1- or 2-dimensional, got {x.ndim} dimensions")
    check_finite(x, "ratings", allow_nan=True)
    answered = (~np.isnan(x)).sum(axis=0)
    if x.shape[1] == 0 or (answered < 2).any():
        raise ValueError("ad_index needs at least 2 ratings on every item")
    mid = np.nanmean(x, axis=0) if center == "mean" else np.nanmedian(x, axis=0)
    per_item = np.nanmean(np.abs(x - mid), axis=0)
    return float(per_item.mean())
