"""Category codes and per-unit category counts shared by the agreement statistics."""

from __future__ import annotations

import numpy as np

from ._validate import codes_for


def category_codes(arr: np.ndarray, present: np.ndarray, domain=None):
    """Integer category codes for the present values, and the code count.

    With ``domain`` the code is the position in ``domain``; otherwise the
    rank among the distinct values (so codes follow numeric order).
    Missing cells get code ``n_codes`` so callers can drop them with a
    single extra bin.
    """
    vals = arr[present]
    if domain is not None:
        order = np.argsort(domain, kind="stable")
        codes = order[codes_for(vals, domain[order], "ratings")]
        n_codes = domain.size
    else:
        lo, hi = vals.min(), vals.max()
        if np.all(vals == np.round(vals)) and hi - lo < max(4 * vals.size, 1024):
            # Small integer codes (the usual case) need no sort.
            codes = (vals - lo).astype(np.intp)
            n_codes = int(hi - lo) + 1
        else:
            _, codes = np.unique(vals, return_inverse=True)
            n_codes = int(codes.max()) + 1
    full = np.full(arr.shape, n_codes, dtype=np.intp)
    full[present] = codes
    return full, n_codes


# Above this many cells the dense units x categories table is replaced by a
# sort-based count, so memory stays proportional to the number of ratings.
_DENSE_LIMIT = 20_000_000


def agreeing_pairs(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Per unit, the ordered pairs of raters that gave the same category.

    Returns :math:`\\sum_c C_{uc}(C_{uc} - 1)` for every unit, where
    :math:`C_{uc}` is the number of raters giving category ``c`` to unit
    ``u``; ``codes`` comes from :func:`category_codes`.
    """
    n_units = codes.shape[0]
    width = n_codes + 1  # last bin collects the missing cells
    if n_units * width <= _DENSE_LIMIT:
        offsets = (np.arange(n_units, dtype=np.intp) * width)[:, None]
        counts = np.bincount((codes + offsets).ravel(), minlength=n_units * width)
        counts = counts.reshape(n_units, width)[:, :n_codes].astype(float)
        return (counts * (counts - 1)).sum(axis=1)
    # Sparse route: count each (unit, category) pair that occurs.
    unit = np.broadcast_to(np.arange(n_units)[:, None], codes.shape)
    keep = codes < n_codes
    key = unit[keep].astype(np.int64) * width + codes[keep]
    uniq, counts = np.unique(key, return_counts=True)
    counts = counts.astype(float)
    return np.bincount(uniq // width, weights=counts * (counts - 1), minlength=n_units)
