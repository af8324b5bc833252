"""Bootstrap confidence intervals that resample units, respondents or clusters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from ._validate import choice

METHODS = ("percentile", "bca")


@dataclass(frozen=True)
class BootstrapCI:
    """A point estimate with its bootstrap confidence interval.

    Unpacks as ``estimate, low, high = bootstrap_ci(...)``.

    Attributes
    ----------
    estimate : float
        The statistic on the original data.
    low, high : float
        Confidence limits; ``nan`` when they cannot be computed.
    confidence_level : float
    method : str
        ``"percentile"`` or ``"bca"``.
    n_resamples : int
        Resamples drawn.
    n_degenerate : int
        Resamples on which the statistic was ``nan`` (left out).
    """

    estimate: float
    low: float
    high: float
    confidence_level: float
    method: str
    n_resamples: int
    n_degenerate: int

    def __iter__(self):
        return iter((self.estimate, self.low, self.high))


def bootstrap_ci(
    data,
    statistic,
    *,
    n_resamples=2000,
    confidence_level=0.95,
    method="percentile",
    clusters=None,
    rng=None,
    max_degenerate=0.1,
) -> BootstrapCI:
    """Bootstrap confidence interval for any statistic of a rating matrix.

    Parameters
    ----------
    data : array_like
        Resampled along its first axis: units (rows of a units x raters
        matrix), respondents (rows of a respondents x items matrix), or
        the first axis of a units x codes x coders array. For a statistic
        of two vectors, stack them as columns.
    statistic : callable
        ``statistic(resampled_data) -> float``, for example
        :func:`krippendorff_alpha` or
        ``lambda d: cohen_kappa(d[:, 0], d[:, 1])``.
    n_resamples : int
        Number of bootstrap resamples.
    confidence_level : float
        Two-sided coverage, between 0 and 1.
    method : {"percentile", "bca"}
        Percentile interval, or bias-corrected and accelerated (BCa), whose
        acceleration comes from a leave-one-out jackknife over the
        sampling units (one statistic call per unit or cluster).
    clusters : array_like, optional
        One label per row of ``data``. When given, whole clusters (e.g.
        local authorities, or respondents who answered several rows) are
        resampled with replacement, keeping their rows together.
    rng : None, int or numpy.random.Generator
        Seed or generator; the same seed gives the same interval.
    max_degenerate : float
        Largest share of resamples on which the statistic may be ``nan``
        before the limits are reported as ``nan``.

    Returns
    -------
    BootstrapCI
        ``estimate``, ``low``, ``high`` plus the bookkeeping above.

    Notes
    -----
    Each resample draws :math:`n` row (or cluster) indices with
    replacement, ``rng.integers(0, n, size=(n_resamples, n))``, the draw
    :func:`scipy.stats.bootstrap` makes, so for a statistic that is never
    ``nan`` the result equals ``scipy.stats.bootstrap(..., paired)`` with
    the same generator. The percentile interval takes the
    :math:`\\alpha/2` and :math:`1-\\alpha/2` quantiles (linear
    interpolation) of the resampled statistics. BCa shifts them to
    :math:`\\Phi(z_0 + (z_0 + z_q)/(1 - a(z_0 + z_q)))` with bias
    :math:`z_0 = \\Phi^{-1}(\\#\\{\\theta^* < \\hat\\theta\\}/B)` (ties
    counted half) and acceleration
    :math:`a = \\sum_i (\\bar\\theta - \\theta_{(i)})^3 / (6 [\\sum_i
    (\\bar\\theta - \\theta_{(i)})^2]^{3/2})`.

    Degenerate resamples: agreement statistics are undefined (``nan``) on
    resamples without variation, e.g. when every drawn unit got the same
    rating. Such resamples are counted in ``n_degenerate`` and left out,
    so the interval is conditional on a defined statistic; if they exceed
    ``max_degenerate`` of the resamples the limits are ``nan``, since the
    interval would then misdescribe the sampling distribution. BCa limits
    are ``nan`` when every resample falls on one side of the estimate
    (infinite bias correction); ``nan`` jackknife values are left out of
    the acceleration. A ``nan`` estimate gives ``nan`` limits without
    resampling.

    ``ValueError`` for an unknown ``method``, ``confidence_level`` outside
    (0, 1), ``n_resamples`` below 1, fewer than 2 rows or clusters, and
    ``clusters`` of the wrong length.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the
    Bootstrap*, ch. 13-14. Chapman & Hall.

    Field, C. A., & Welsh, A. H. (2007). Bootstrapping clustered data.
    *Journal of the Royal Statistical Society B*, 69(3), 369-390.

    Examples
    --------
    >>> import numpy as np
    >>> from impactmodel.stats import bootstrap_ci, krippendorff_alpha
    >>> ratings = np.array([[1, 1, 1], [2, 2, 2], [3, 3, 2], [1, 1, 1],
    ...                     [2, 2, 2], [3, 3, 3], [1, 2, 1], [3, 3, 3]])
    >>> est, low, high = bootstrap_ci(ratings, krippendorff_alpha, rng=7)
    >>> round(est, 3)
    0.76
    >>> bool(low < est < high)
    True
    """
    choice(method, METHODS, "method")
    if not callable(statistic):
        raise ValueError("statistic must be callable")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level!r}")
    if not 0 <= max_degenerate <= 1:
        raise ValueError(f"max_degenerate must lie between 0 and 1, got {max_degenerate!r}")
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError("data must have at least one dimension to resample along")
    n_rows = data.shape[0]

    if clusters is None:
        groups = None
        n_draw = n_rows
    else:
        labels = np.asarray(clusters)
        if labels.shape != (n_rows,):
            raise ValueError(f"clusters needs one label per row of data ({n_rows}), got shape {labels.shape}")
        _, inverse = np.unique(labels, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.cumsum(np.bincount(inverse))
        groups = np.split(order, bounds[:-1])
        n_draw = len(groups)
    if n_draw < 2:
        raise ValueError(f"bootstrap_ci needs at least 2 {'clusters' if groups else 'rows'}, got {n_draw}")

    gen = np.random.default_rng(rng)
    estimate = float(statistic(data))
    nan = float("nan")
    if np.isnan(estimate):
        return BootstrapCI(estimate, nan, nan, confidence_level, method, int(n_resamples), 0)

    def rows_for(draw):
        return draw if groups is None else np.concatenate([groups[g] for g in draw])

    draws = gen.integers(0, n_draw, size=(n_resamples, n_draw))
    thetas = np.array([float(statistic(data[rows_for(d)])) for d in draws])
    if method == "percentile":
        return percentile_ci(estimate, thetas, confidence_level=confidence_level,
                             max_degenerate=max_degenerate)
    finite = thetas[~np.isnan(thetas)]
    n_degenerate = int(thetas.size - finite.size)
    result = dict(confidence_level=confidence_level, method=method,
                  n_resamples=int(n_resamples), n_degenerate=n_degenerate)
    if finite.size == 0 or n_degenerate > max_degenerate * n_resamples:
        return BootstrapCI(estimate, nan, nan, **result)
    probs = _bca_levels(data, statistic, estimate, finite, (1 - confidence_level) / 2, groups, n_draw)
    if np.isnan(probs).any():
        return BootstrapCI(estimate, nan, nan, **result)
    low, high = np.quantile(finite, probs)
    return BootstrapCI(estimate, float(low), float(high), **result)


def percentile_ci(estimate: float, thetas, *, confidence_level=0.95, max_degenerate=0.1) -> BootstrapCI:
    """The percentile interval of resampled statistics already computed.

    ``thetas`` holds one statistic per resample, ``nan`` where it was undefined; the
    rules for degenerate resamples and a ``nan`` estimate are those of
    :func:`bootstrap_ci`, which gives the same interval for the same resamples.

    Examples
    --------
    >>> from impactmodel.stats import percentile_ci
    >>> r = percentile_ci(0.5, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], confidence_level=0.5)
    >>> (r.low, r.high)
    (0.3, 0.7)
    """
    thetas = np.asarray(thetas, dtype=float)
    nan = float("nan")
    n_resamples = int(thetas.size)
    if np.isnan(estimate):
        return BootstrapCI(float(estimate), nan, nan, confidence_level, "percentile", n_resamples, 0)
    finite = thetas[~np.isnan(thetas)]
    n_degenerate = int(thetas.size - finite.size)
    result = dict(confidence_level=confidence_level, method="percentile",
                  n_resamples=n_resamples, n_degenerate=n_degenerate)
    if finite.size == 0 or n_degenerate > max_degenerate * n_resamples:
        return BootstrapCI(float(estimate), nan, nan, **result)
    tail = (1 - confidence_level) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return BootstrapCI(float(estimate), float(low), float(high), **result)


def cluster_weights(clusters, n_resamples: int, rng=None, *, chunk: int = 256):
    """Bootstrap resamples of clusters as weights: how often each cluster is drawn.

    Parameters
    ----------
    clusters : array_like
        One label per row; rows with one label are drawn together.
    n_resamples : int
    rng : None, int or numpy.random.Generator
        The same seed gives the same resamples as :func:`bootstrap_ci` with
        ``clusters`` (the same draws, counted instead of gathered).
    chunk : int
        Resamples per block yielded, to bound memory.

    Yields
    ------
    numpy.ndarray, shape (block, n_clusters)
        Multinomial weights (each row sums to ``n_clusters``), clusters in the
        order of ``numpy.unique(clusters)``. A statistic that is a ratio of sums
        over rows is then ``weights @ per_cluster_sums`` for every resample at once.

    Examples
    --------
    >>> from impactmodel.stats import cluster_weights
    >>> [w.sum(axis=1).tolist() for w in cluster_weights(["a", "a", "b", "c"], 2, rng=1)]
    [[3.0, 3.0]]
    """
    labels = np.asarray(clusters)
    n = np.unique(labels).size
    if n < 2:
        raise ValueError(f"cluster_weights needs at least 2 clusters, got {n}")
    gen = np.random.default_rng(rng)
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        # Drawn block by block from one generator: the same stream as one
        # (n_resamples, n) draw, so the resamples do not depend on ``chunk``.
        draws = gen.integers(0, n, size=(size, n))
        offsets = (np.arange(size) * n)[:, None]
        yield np.bincount((draws + offsets).ravel(), minlength=size * n).reshape(size, n).astype(float)
        done += size


def _bca_levels(data, statistic, estimate, thetas, tail, groups, n_draw):
    """Quantile levels of the BCa interval (Efron & Tibshirani 1993, 14.3)."""
    share_below = ((thetas < estimate).sum() + (thetas <= estimate).sum()) / (2 * thetas.size)
    z0 = ndtri(share_below)
    if not np.isfinite(z0):
        return np.array([np.nan, np.nan])
    keep_all = np.ones(n_draw, dtype=bool)
    jack = []
    for i in range(n_draw):
        keep_all[i] = False
        rows = np.flatnonzero(keep_all) if groups is None else np.concatenate(
            [g for g, k in zip(groups, keep_all) if k])
        jack.append(float(statistic(data[rows])))
        keep_all[i] = True
    jack = np.array(jack)
    jack = jack[~np.isnan(jack)]
    accel = 0.0
    if jack.size:
        dev = jack.mean() - jack
        den = (dev * dev).sum()
        if den > 0:
            accel = (dev**3).sum() / (6.0 * den**1.5)
    z = ndtri(np.array([tail, 1 - tail]))
    return ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
