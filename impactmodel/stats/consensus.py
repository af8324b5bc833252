"""Consensus: Tastle & Wierman's measure and agreement between respondent groups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from ._validate import as_float_array, check_finite
from .krippendorff import krippendorff_alpha


def tastle_wierman(frequencies, *, values=None) -> float:
    """Tastle & Wierman's consensus measure for an ordinal distribution.

    Parameters
    ----------
    frequencies : array_like, shape (n_categories,)
        Counts (or proportions) of answers in each ordered category, from
        the lowest to the highest.
    values : array_like, optional
        The numeric value of each category, strictly increasing. Defaults
        to 1, 2, ..., ``n_categories``.

    Returns
    -------
    consensus : float
        1 when everyone chose the same category, 0 when answers are split
        evenly between the two extremes.

    Notes
    -----
    With :math:`p_i` the share of answers in category :math:`i` of value
    :math:`X_i`, mean :math:`\\mu_X = \\sum_i p_i X_i` and width
    :math:`d_X = X_{max} - X_{min}`,

    .. math::

        Cns(X) = 1 + \\sum_i p_i \\log_2 \\left(1 - \\frac{|X_i - \\mu_X|}{d_X}\\right)

    Empty categories contribute nothing (:math:`0 \\log 0 = 0`).

    Degenerate input: ``nan`` when all frequencies are 0 (no answers).
    ``ValueError`` for input that is not 1-D, fewer than 2 categories,
    negative or non-finite frequencies, and ``values`` of the wrong length
    or not strictly increasing.

    References
    ----------
    Tastle, W. J., & Wierman, M. J. (2007). Consensus and dissention: a
    measure of ordinal dispersion. *International Journal of Approximate
    Reasoning*, 45(3), 531-545.

    Examples
    --------
    >>> from impactmodel.stats import tastle_wierman
    >>> tastle_wierman([0, 0, 10, 0, 0])
    1.0
    >>> tastle_wierman([5, 0, 0, 0, 5])
    0.0
    """
    f = as_float_array(frequencies, "frequencies")
    if f.ndim != 1:
        raise ValueError(f"frequencies must be 1-dimensional, got {f.ndim} dimension(s)")
    if f.size < 2:
        raise ValueError(f"frequencies needs at least 2 categories, got {f.size}")
    check_finite(f, "frequencies", allow_nan=False)
    if (f < 0).any():
        raise ValueError("frequencies must not be negative")
    if values is None:
        x = np.arange(1.0, f.size + 1)
    else:
        x = as_float_array(values, "values")
        if x.shape != f.shape:
            raise ValueError(f"values must have one entry per category ({f.size}), got shape {x.shape}")
        check_finite(x, "values", allow_nan=False)
        if not (np.diff(x) > 0).all():
            raise ValueError("values must be strictly increasing")
    total = f.sum()
    if total == 0:
        return float("nan")
    p = f / total
    mu = float(p @ x)
    width = x[-1] - x[0]
    used = p > 0
    return float(1.0 + (p[used] * np.log2(1.0 - np.abs(x[used] - mu) / width)).sum())


@dataclass(frozen=True)
class GroupConsensus:
    """Agreement between respondent groups on which codes they mention.

    Attributes
    ----------
    groups : tuple
        Group names, in input order.
    codes : tuple
        The codes considered (the rows of ``table``).
    table : numpy.ndarray, shape (n_codes, n_groups)
        1 where the group mentioned the code, else 0.
    alpha : float
        Krippendorff's nominal alpha with codes as units and groups as
        raters.
    pairwise_jaccard : dict
        ``{(group_a, group_b): overlap}`` for every pair of groups.
    mean_jaccard : float
        Mean of the defined pairwise overlaps.
    common_codes : tuple
        Codes mentioned by every group.
    """

    groups: tuple
    codes: tuple
    table: np.ndarray = field(repr=False)
    alpha: float
    pairwise_jaccard: dict
    mean_jaccard: float
    common_codes: tuple

    def to_dict(self) -> dict:
        """Plain, JSON-ready form for templates and exports."""
        return {
            "groups": list(self.groups),
            "codes": list(self.codes),
            "alpha": self.alpha,
            "pairwise_jaccard": [
                {"groups": [a, b], "jaccard": value}
                for (a, b), value in self.pairwise_jaccard.items()
            ],
            "mean_jaccard": self.mean_jaccard,
            "common_codes": list(self.common_codes),
        }


def group_consensus(mentions, *, groups=None, codes=None) -> GroupConsensus:
    """How far respondent groups agree on which codes they mention.

    Parameters
    ----------
    mentions : mapping or array_like
        Either ``{group: iterable of codes mentioned}`` or a binary array
        of shape (n_codes, n_groups) with 1 where the group mentioned the
        code.
    groups : sequence, optional
        Names of the groups (columns) when ``mentions`` is an array;
        defaults to 0, 1, ....
    codes : sequence, optional
        The full codebook. Codes nobody mentioned are units on which all
        groups agree (absence), so alpha depends on this list: pass the
        codebook the respondents could have mentioned. With a mapping it
        defaults to the codes mentioned by any group; with an array it
        names the rows (default 0, 1, ...).

    Returns
    -------
    GroupConsensus
        ``alpha``, ``pairwise_jaccard``, ``mean_jaccard``,
        ``common_codes`` and the code x group ``table``.

    Notes
    -----
    Chance-corrected agreement is Krippendorff's nominal alpha on the
    binary code x group table (codes are units, groups are raters).
    The Jaccard overlap of groups :math:`A` and :math:`B` is
    :math:`|A \\cap B| / |A \\cup B|`. Jaccard ignores codes neither group
    mentioned; alpha counts shared absences as agreement and corrects for
    how often codes are mentioned overall.

    Degenerate input: ``alpha`` is ``nan`` when every group mentions
    every code or none (no variation); a pair's Jaccard is ``nan`` when
    neither group mentions anything, and ``mean_jaccard`` averages the
    defined pairs (``nan`` if none). ``ValueError`` for fewer than 2
    groups, an array that is not 2-D or not 0/1, labels of the wrong
    length or repeated, and mentioned codes missing from ``codes``.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Jaccard, P. (1912). The distribution of the flora in the alpine zone.
    *New Phytologist*, 11(2), 37-50.

    Examples
    --------
    >>> from impactmodel.stats import group_consensus
    >>> result = group_consensus({
    ...     "directors": {"shared plans", "joint budget"},
    ...     "managers": {"shared plans", "co-location"},
    ...     "practitioners": {"shared plans"},
    ... })
    >>> result.common_codes
    ('shared plans',)
    >>> round(result.mean_jaccard, 3)
    0.444
    """
    if isinstance(mentions, Mapping):
        group_names = tuple(mentions)
        sets = [set(mentions[g]) for g in group_names]
        named = set().union(*sets)
        if codes is None:
            code_names = _sorted_codes(named)
        else:
            code_names = _labels(codes, None, "codes")
            unknown = named - set(code_names)
            if unknown:
                raise ValueError(f"mentioned codes missing from codes: {_sorted_codes(unknown)[:5]}")
        table = np.array([[c in s for s in sets] for c in code_names], dtype=float)
        table = table.reshape(len(code_names), len(group_names))
        if groups is not None:
            raise ValueError("groups is taken from the mapping's keys; do not pass it as well")
    else:
        table = as_float_array(mentions, "mentions")
        if table.ndim != 2:
            raise ValueError(
                f"mentions must be 2-dimensional (codes x groups), got {table.ndim} dimension(s)"
            )
        check_finite(table, "mentions", allow_nan=False)
        if not np.isin(table, (0.0, 1.0)).all():
            raise ValueError("mentions must be binary (0/1 or booleans)")
        group_names = _labels(groups, table.shape[1], "groups")
        code_names = _labels(codes, table.shape[0], "codes")
    if len(group_names) < 2:
        raise ValueError(f"group_consensus needs at least 2 groups, got {len(group_names)}")

    alpha = krippendorff_alpha(table, level="nominal") if table.shape[0] else float("nan")
    mentioned = table.astype(bool)
    pairwise = {}
    for i, j in combinations(range(len(group_names)), 2):
        union = int((mentioned[:, i] | mentioned[:, j]).sum())
        inter = int((mentioned[:, i] & mentioned[:, j]).sum())
        pairwise[(group_names[i], group_names[j])] = inter / union if union else float("nan")
    defined = [v for v in pairwise.values() if not np.isnan(v)]
    mean_jaccard = float(np.mean(defined)) if defined else float("nan")
    common = tuple(c for c, row in zip(code_names, mentioned) if row.all())
    return GroupConsensus(
        groups=group_names,
        codes=code_names,
        table=table,
        alpha=alpha,
        pairwise_jaccard=pairwise,
        mean_jaccard=mean_jaccard,
        common_codes=common,
    )


def _sorted_codes(codes) -> tuple:
    try:
        return tuple(sorted(codes))
    except TypeError:  # mixed types: fall back to their text
        return tuple(sorted(codes, key=str))


def _labels(labels, expected, name: str) -> tuple:
    if labels is None:
        return tuple(range(expected))
    labels = tuple(labels)
    if expected is not None and len(labels) != expected:
        raise ValueError(f"{name} needs {expected} labels, got {len(labels)}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{name} contains repeated labels")
    return labels
