"""Category codes and per-unit category counts shared by the agreement statistics."""

from __future__ import annotations

import numpy as np

from ._validate import codes_for

# Above this many cells the dense units x categories table is replaced by a
# sort-based count, so memory stays proportional to the number of ratings.
_DENSE_LIMIT = 20_000_000


def category_codes(arr: np.ndarray, present: np.ndarray, domain=None):
    """Integer category codes for a units x raters matrix, and the code count.

    With ``domain`` the code is the position in ``domain``; otherwise codes
    follow the numeric order of the values. Missing cells get code
    ``n_codes`` so that callers can drop them with one extra bin.
    """
    if not present.any():
        return np.zeros(arr.shape, dtype=np.intp), 0
    if domain is None:
        lo, hi = np.nanmin(arr), np.nanmax(arr)
        if hi - lo < max(4 * arr.size, 1024):
            # Small integer codes, the usual case, need no sort: shift and
            # cast, then check that the cast lost nothing.
            n_codes = int(hi - lo) + 1
            shifted = arr - lo
            # fmin ignores nan, so this maps missing cells to n_codes in one
            # pass and leaves the (smaller) real codes alone.
            np.fmin(shifted, n_codes, out=shifted)
            codes = shifted.astype(np.intp)
            if not (codes != shifted).any():
                return codes, n_codes
        values, inverse = np.unique(arr[present], return_inverse=True)
        n_codes = values.size
    else:
        order = np.argsort(domain, kind="stable")
        inverse = order[codes_for(arr[present], domain[order], "ratings")]
        n_codes = domain.size
    codes = np.full(arr.shape, n_codes, dtype=np.intp)
    codes[present] = inverse
    return codes, n_codes


def unit_counts(codes: np.ndarray, n_codes: int):
    """Units x categories table of how many raters gave each category.

    Returns ``None`` when the table would exceed ``_DENSE_LIMIT`` cells.
    """
    n_units = codes.shape[0]
    width = n_codes + 1  # last bin collects the missing cells
    if n_units * width > _DENSE_LIMIT:
        return None
    offsets = (np.arange(n_units, dtype=np.intp) * width)[:, None]
    counts = np.bincount((codes + offsets).ravel(), minlength=n_units * width)
    return counts.reshape(n_units, width)[:, :n_codes]


def agreeing_pairs(codes: np.ndarray, n_codes: int, counts=None) -> np.ndarray:
    """Per unit, the ordered pairs of raters that gave the same category.

    Returns :math:`\\sum_c C_{uc}(C_{uc} - 1)` for every unit, where
    :math:`C_{uc}` is the number of raters giving category ``c`` to unit
    ``u``; ``codes`` comes from :func:`category_codes` and ``counts``, if
    already at hand, from :func:`unit_counts`.
    """
    if counts is None:
        counts = unit_counts(codes, n_codes)
    if counts is not None:
        c = counts.astype(float)
        return (c * (c - 1)).sum(axis=1)
    # Sparse route: count each (unit, category) pair that occurs.
    n_units = codes.shape[0]
    width = n_codes + 1
    unit = np.broadcast_to(np.arange(n_units)[:, None], codes.shape)
    keep = codes < n_codes
    key = unit[keep].astype(np.int64) * width + codes[keep]
    uniq, pair_counts = np.unique(key, return_counts=True)
    pair_counts = pair_counts.astype(float)
    return np.bincount(uniq // width, weights=pair_counts * (pair_counts - 1), minlength=n_units)
