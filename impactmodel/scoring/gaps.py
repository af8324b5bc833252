"""Perspective gaps: codes that managers and practitioners mention at different rates.

Pure numpy/scipy. Each code is a 2 x 2 table (managers / practitioners x
mentioning / not) tested with Fisher's exact test, two-sided; p-values are
corrected for the number of codes tested with Benjamini-Hochberg.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

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
