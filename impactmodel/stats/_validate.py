"""Input checks shared by the statistics functions.

Every check raises ``ValueError`` with a message naming the argument and
what is wrong with it; nothing here uses ``assert``, which disappears
under ``python -O``.
"""

from __future__ import annotations

import numpy as np


def as_float_array(values, name: str) -> np.ndarray:
    """Convert ``values`` to a float array, refusing non-numeric input."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric (use nan for missing): {exc}") from None
    return arr


def rating_matrix(
    ratings,
    name: str = "ratings",
    *,
    allow_missing: bool = True,
    min_raters: int = 2,
    min_units: int = 1,
) -> np.ndarray:
    """Return ``ratings`` as a 2-D float array (units x raters).

    Infinite values are always refused; ``nan`` marks a missing rating
    and is refused when ``allow_missing`` is False.
    """
    arr = as_float_array(ratings, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-dimensional (units x raters), got {arr.ndim} dimension(s)"
        )
    n_units, n_raters = arr.shape
    if n_raters < min_raters:
        raise ValueError(f"{name} needs at least {min_raters} raters (columns), got {n_raters}")
    if n_units < min_units:
        raise ValueError(f"{name} needs at least {min_units} unit(s) (rows), got {n_units}")
    check_finite(arr, name, allow_nan=allow_missing)
    return arr


def check_finite(arr: np.ndarray, name: str, *, allow_nan: bool) -> None:
    """Refuse infinities always, and nan unless ``allow_nan``."""
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains infinite values")
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(f"{name} contains missing (nan) values, which are not allowed here")


def vector(values, name: str, *, allow_missing: bool = True) -> np.ndarray:
    """Return ``values`` as a 1-D float array."""
    arr = as_float_array(values, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got {arr.ndim} dimension(s)")
    check_finite(arr, name, allow_nan=allow_missing)
    return arr


def choice(value, allowed, name: str):
    """Check a string option against its allowed values."""
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"unknown {name} {value!r}; expected one of {options}")
    return value


def positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Check an integer option such as the number of scale points."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def codes_for(values: np.ndarray, domain: np.ndarray, name: str) -> np.ndarray:
    """Map non-missing ``values`` to their index in the sorted-unique ``domain``.

    ``domain`` must be sorted; values absent from it raise ValueError.
    """
    idx = np.searchsorted(domain, values)
    idx_clipped = np.minimum(idx, len(domain) - 1)
    bad = domain[idx_clipped] != values
    if bad.any():
        missing = np.unique(values[bad])[:5]
        raise ValueError(f"{name} contains values not in the declared categories: {missing.tolist()}")
    return idx_clipped
