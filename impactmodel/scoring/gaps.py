"""Perspective gaps: codes that managers and practitioners mention at different rates.

Pure numpy/scipy. Within an authority, each code is a 2 x 2 table (managers /
practitioners x mentioning / not) tested with Fisher's exact test, two-sided.
Across the consortium, staff are clustered in authorities, so each code is a
stack of 2 x 2 tables, one per authority, tested with the Cochran-Mantel-Haenszel
test. p-values are corrected for the number of codes tested with
Benjamini-Hochberg.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps
from scipy.special import gammaln

ALPHA = 0.05      # the false discovery rate at which a gap is reported

# Tables whose probability is within this relative distance of the observed one
# count as "as extreme" (floating-point ties; R's fisher.test uses the same 1e-7).
RELATIVE_TOLERANCE = 1e-7


def fisher_exact_2x2(a, b, c, d) -> np.ndarray:
    """Two-sided Fisher's exact p-values for many 2 x 2 tables at once.

    Parameters
    ----------
    a, b, c, d : array_like of int, same shape
        The tables ``[[a, b], [c, d]]``.

    Returns
    -------
    ndarray of float
        p-values, the same as ``scipy.stats.fisher_exact(table).pvalue`` for
        each table: the sum of the hypergeometric probabilities of all tables
        with the same margins that are no more probable than the observed one.

    Examples
    --------
    >>> float(fisher_exact_2x2([8], [2], [1], [5])[0].round(6))
    0.034965
    """
    a, b, c, d = (np.atleast_1d(np.asarray(x, dtype=np.int64)) for x in (a, b, c, d))
    if not (a.shape == b.shape == c.shape == d.shape):
        raise ValueError("a, b, c and d must have the same shape")
    if (np.minimum(np.minimum(a, b), np.minimum(c, d)) < 0).any():
        raise ValueError("table counts must not be negative")
    shape = a.shape
    a, b, c, d = (x.ravel() for x in (a, b, c, d))
    r1, r2, k = a + b, c + d, a + c          # row sums and first column sum
    N = r1 + r2
    lo = np.maximum(0, k - r2)
    hi = np.minimum(k, r1)
    width = int((hi - lo).max(initial=0)) + 1
    x = lo[:, None] + np.arange(width)[None, :]
    valid = x <= hi[:, None]
    xs = np.where(valid, x, lo[:, None])

    def logpmf(v):
        return (_lchoose(r1[:, None], v) + _lchoose(r2[:, None], k[:, None] - v)
                - _lchoose(N, k)[:, None])

    lp = logpmf(xs)
    lp_obs = logpmf(a[:, None])[:, 0]
    keep = valid & (lp <= lp_obs[:, None] + np.log1p(RELATIVE_TOLERANCE))
    p = np.where(keep, np.exp(lp), 0.0).sum(axis=1)
    return np.minimum(p, 1.0).reshape(shape)


def _lchoose(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def benjamini_hochberg(pvalues) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); nan stays nan.

    ``q_(i) = min_{j >= i} p_(j) * m / j`` over the m defined p-values sorted
    ascending, capped at 1 (Benjamini & Hochberg 1995).
    """
    p = np.asarray(pvalues, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return q


@dataclass(frozen=True)
class Gap:
    column: int
    manager_mentions: int
    manager_n: int
    practitioner_mentions: int
    practitioner_n: int
    p: float
    q: float

    @property
    def difference(self) -> float:
        """Manager share minus practitioner share (positive: managers mention it more)."""
        return self.manager_mentions / self.manager_n - self.practitioner_mentions / self.practitioner_n


def perspective_gaps(manager_mentions, manager_n: int, practitioner_mentions, practitioner_n: int
                     ) -> list[Gap]:
    """Test each column where anyone mentioned the code; BH over those tested.

    Parameters
    ----------
    manager_mentions, practitioner_mentions : array_like of int, shape (n_columns,)
        How many managers / practitioners mentioned each code.
    manager_n, practitioner_n : int
        How many managers / practitioners there are.

    Returns
    -------
    list of Gap
        One per tested column, smallest p first; empty when a group is empty.
    """
    m = np.asarray(manager_mentions, dtype=np.int64)
    pr = np.asarray(practitioner_mentions, dtype=np.int64)
    if m.shape != pr.shape or m.ndim != 1:
        raise ValueError("manager_mentions and practitioner_mentions must be 1-D and the same length")
    if manager_n <= 0 or practitioner_n <= 0:
        return []
    if (m > manager_n).any() or (pr > practitioner_n).any():
        raise ValueError("mentions cannot exceed the number of respondents")
    cols = np.flatnonzero(m + pr > 0)
    if cols.size == 0:
        return []
    p = fisher_exact_2x2(m[cols], manager_n - m[cols], pr[cols], practitioner_n - pr[cols])
    q = benjamini_hochberg(p)
    gaps = [Gap(int(c), int(m[c]), int(manager_n), int(pr[c]), int(practitioner_n), float(pv), float(qv))
            for c, pv, qv in zip(cols, p, q)]
    gaps.sort(key=lambda g: (g.p, g.column))
    return gaps


def smallest_possible_p(manager_n: int, practitioner_n: int) -> float:
    """The smallest two-sided Fisher p any code could reach with these group sizes:
    every manager names it and no practitioner does (or the reverse)."""
    if manager_n <= 0 or practitioner_n <= 0:
        return 1.0
    return float(min(fisher_exact_2x2([manager_n], [0], [0], [practitioner_n])[0],
                     fisher_exact_2x2([0], [manager_n], [practitioner_n], [0])[0]))


def too_few_to_detect(manager_n: int, practitioner_n: int, tested: int, alpha: float = ALPHA) -> bool:
    """Whether no single code could reach q < ``alpha`` after correction over ``tested`` codes.

    A code alone among ``tested`` has q = p * tested, so when even the smallest
    possible p times the number tested is above ``alpha``, listing p-values only
    invites reading noise.
    """
    return tested > 0 and smallest_possible_p(manager_n, practitioner_n) * tested > alpha


def cmh(a, n1, m1, N) -> tuple[np.ndarray, np.ndarray]:
    """Cochran-Mantel-Haenszel test of many stacks of 2 x 2 tables at once.

    Parameters
    ----------
    a, n1, m1, N : array_like of int, shape (codes, strata)
        Per stratum (authority): managers mentioning the code ``a``, managers
        ``n1``, everyone mentioning it ``m1``, managers and practitioners ``N``.

    Returns
    -------
    (statistic, p) : ndarrays of shape (codes,)
        The chi-square statistic without continuity correction (1 degree of
        freedom) and its p-value, as ``statsmodels``'
        ``StratifiedTable(tables).test_null_odds(correction=False)``; nan where
        no stratum carries information (every table has a zero margin).

    Examples
    --------
    >>> stat, p = cmh([[3, 2]], [[4, 3]], [[4, 3]], [[8, 6]])
    >>> round(float(p[0]), 4)
    0.0446
    """
    a, n1, m1, N = (np.atleast_2d(np.asarray(x, dtype=float)) for x in (a, n1, m1, N))
    if not (a.shape == n1.shape == m1.shape == N.shape):
        raise ValueError("a, n1, m1 and N must have the same shape")
    n2, m2 = N - n1, N - m1
    ok = N > 1
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(ok, n1 * m1 / np.where(ok, N, 1), 0.0)
        var = np.where(ok, n1 * n2 * m1 * m2 / np.where(ok, N * N * (N - 1), 1), 0.0)
    dev = np.where(ok, a - expected, 0.0).sum(axis=1)
    v = var.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(v > 0, dev * dev / np.where(v > 0, v, 1), np.nan)
    p = np.where(np.isnan(stat), np.nan, sps.chi2.sf(np.nan_to_num(stat), 1))
    return stat, p


@dataclass(frozen=True)
class PooledGap:
    column: int
    manager_mentions: int
    manager_n: int
    practitioner_mentions: int
    practitioner_n: int
    difference: float      # Mantel-Haenszel weighted difference of shares, managers minus practitioners
    p: float
    q: float


def stratified_gaps(manager_mentions, manager_n, practitioner_mentions, practitioner_n) -> list[PooledGap]:
    """Consortium gaps, stratified by authority: one CMH test per code, BH over those tested.

    Parameters
    ----------
    manager_mentions, practitioner_mentions : array_like of int, shape (codes, authorities)
    manager_n, practitioner_n : array_like of int, shape (authorities,)

    Only authorities with both managers and practitioners carry information.
    """
    m = np.asarray(manager_mentions, dtype=np.int64)
    pr = np.asarray(practitioner_mentions, dtype=np.int64)
    n1 = np.asarray(manager_n, dtype=np.int64)
    n2 = np.asarray(practitioner_n, dtype=np.int64)
    if m.ndim != 2 or m.shape != pr.shape or m.shape[1] != n1.size or n1.shape != n2.shape:
        raise ValueError("mentions must be codes x authorities, counts one per authority")
    both = (n1 > 0) & (n2 > 0)
    m, pr, n1, n2 = m[:, both], pr[:, both], n1[both], n2[both]
    cols = np.flatnonzero((m + pr).sum(axis=1) > 0)
    if cols.size == 0:
        return []
    N = n1 + n2
    _, p = cmh(m[cols], np.broadcast_to(n1, m[cols].shape), m[cols] + pr[cols], np.broadcast_to(N, m[cols].shape))
    tested = ~np.isnan(p)
    q = np.full(p.shape, np.nan)
    q[tested] = benjamini_hochberg(p[tested])
    w = n1 * n2 / N
    diff = ((m[cols] / n1 - pr[cols] / n2) * w).sum(axis=1) / w.sum()
    gaps = [PooledGap(int(c), int(m[c].sum()), int(n1.sum()), int(pr[c].sum()), int(n2.sum()),
                      float(d), float(pv), float(qv))
            for c, d, pv, qv, t in zip(cols, diff, p, q, tested) if t]
    gaps.sort(key=lambda g: (g.p, g.column))
    return gaps
