"""Agreement between coders who may apply several codes to each segment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import sparse

from ._validate import as_float_array, check_finite
from .agreement import cohen_kappa, percent_agreement
from .consensus import _labels, _sorted_codes
from .krippendorff import krippendorff_alpha


@dataclass(frozen=True)
class CodeAgreement:
    """Presence/absence agreement on one code (or pooled over all codes).

    Attributes
    ----------
    code : object
        The code, or ``None`` for the pooled figure.
    n_units : int
        Decisions (units, or unit x code pairs when pooled) made by at
        least two coders.
    prevalence : float
        Share of the coders' decisions that say "present".
    percent_agreement : float
        Raw share of agreeing coder pairs.
    cohen_kappa : float
        Cohen's kappa; ``nan`` unless there are exactly two coders.
    krippendorff_alpha : float
        Krippendorff's nominal alpha, for any number of coders.
    """

    code: object
    n_units: int
    prevalence: float
    percent_agreement: float
    cohen_kappa: float
    krippendorff_alpha: float


@dataclass(frozen=True)
class MultiCodeAgreement:
    """Result of :func:`multicode_agreement`.

    Attributes
    ----------
    units, codes, coders : tuple
        Labels of the three axes of ``presence``.
    presence : numpy.ndarray, shape (n_units, n_codes, n_coders)
        1 present, 0 absent, ``nan`` where the coder did not code the unit.
    per_code : tuple of CodeAgreement
        One entry per code, in ``codes`` order.
    overall : CodeAgreement
        Pooled over every unit x code decision.
    """

    units: tuple
    codes: tuple
    coders: tuple
    presence: np.ndarray = field(repr=False)
    per_code: tuple
    overall: CodeAgreement

    def to_dict(self) -> dict:
        """Plain, JSON-ready form for templates and exports."""
        return {
            "units": list(self.units),
            "codes": list(self.codes),
            "coders": list(self.coders),
            "per_code": [asdict(c) for c in self.per_code],
            "overall": asdict(self.overall),
        }


def multicode_agreement(presence, *, units=None, codes=None, coders=None) -> MultiCodeAgreement:
    """Per-code and pooled agreement for multi-code (check-all-that-apply) coding.

    Each code is treated as a separate yes/no decision per unit: did the
    coder apply this code to this segment?

    Parameters
    ----------
    presence : array_like or mapping
        Either an array of shape (n_units, n_codes, n_coders) holding 1
        (code applied), 0 (not applied) or ``nan`` (this coder did not
        code this unit), or a mapping ``{coder: {unit: codes applied}}``
        where a unit missing from a coder's mapping counts as not coded
        by that coder.
    units, codes, coders : sequence, optional
        Labels for the three axes. With a mapping, ``codes`` should be
        the full codebook: codes no coder applied are still decisions
        (everyone agreed they were absent) and change the pooled figures.
        Defaults: the units and codes seen (sorted) and the mapping's
        coders; with an array, 0, 1, ....

    Returns
    -------
    MultiCodeAgreement
        ``per_code`` and ``overall`` :class:`CodeAgreement` entries, each
        with raw percent agreement, Cohen's kappa (two coders only) and
        Krippendorff's nominal alpha.

    Notes
    -----
    For code :math:`c`, the units x coders matrix of 0/1 decisions is
    scored with :func:`percent_agreement`, :func:`cohen_kappa` (labels
    0 and 1, units coded by both) and :func:`krippendorff_alpha`. The
    pooled figure treats every unit x code pair as one unit.

    Raw agreement is reported beside the chance-corrected coefficients
    because of the *kappa paradox* (Feinstein & Cicchetti 1990): a code
    that is rarely applied gets high raw agreement from the many shared
    absences, while kappa and alpha, which discount the agreement
    expected from such lopsided marginals, can be near 0 or negative.
    A code nobody applies has agreement 1 and kappa/alpha ``nan``.

    Degenerate input: kappa and alpha are ``nan`` where undefined (no
    variation, or no unit coded twice). ``ValueError`` for an array that
    is not 3-D, fewer than 2 coders, values other than 0, 1 and ``nan``,
    labels of the wrong length or repeated, and applied codes missing from
    ``codes``.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Feinstein, A. R., & Cicchetti, D. V. (1990). High agreement but low
    kappa: I. The problems of two paradoxes. *Journal of Clinical
    Epidemiology*, 43(6), 543-549.

    Examples
    --------
    >>> from impactmodel.stats import multicode_agreement
    >>> result = multicode_agreement({
    ...     "ann": {"s1": {"trust"}, "s2": {"trust", "data"}, "s3": set()},
    ...     "ben": {"s1": {"trust"}, "s2": {"trust"}, "s3": set()},
    ... }, codes=["trust", "data"])
    >>> [(c.code, c.percent_agreement) for c in result.per_code]
    [('trust', 1.0), ('data', 0.6666666666666666)]
    >>> round(result.overall.cohen_kappa, 3)
    0.667
    """
    if isinstance(presence, Mapping):
        arr, units, codes, coders = _from_mapping(presence, units, codes, coders)
    else:
        arr = as_float_array(presence, "presence")
        if arr.ndim != 3:
            raise ValueError(
                "presence must be 3-dimensional (units x codes x coders), "
                f"got {arr.ndim} dimension(s)"
            )
        check_finite(arr, "presence", allow_nan=True)
        units = _labels(units, arr.shape[0], "units")
        codes = _labels(codes, arr.shape[1], "codes")
        coders = _labels(coders, arr.shape[2], "coders")
    if arr.shape[2] < 2:
        raise ValueError(f"presence needs at least 2 coders, got {arr.shape[2]}")
    values = arr[~np.isnan(arr)]
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValueError("presence must hold 1 (applied), 0 (not applied) or nan (not coded)")

    per_code = tuple(_score(arr[:, j, :], code) for j, code in enumerate(codes))
    pooled = arr.reshape(-1, arr.shape[2])
    return MultiCodeAgreement(
        units=units,
        codes=codes,
        coders=coders,
        presence=arr,
        per_code=per_code,
        overall=_score(pooled, None),
    )


def _score(matrix: np.ndarray, code) -> CodeAgreement:
    """Agreement figures for a decisions x coders 0/1 matrix."""
    present = ~np.isnan(matrix)
    n_decisions = int(present.sum())
    prevalence = float(np.nansum(matrix) / n_decisions) if n_decisions else float("nan")
    n_units = int((present.sum(axis=1) >= 2).sum())
    if matrix.shape[0] == 0:
        raw = alpha = kappa = float("nan")
    else:
        raw = percent_agreement(matrix)
        alpha = krippendorff_alpha(matrix, level="nominal")
        kappa = float("nan")
        if matrix.shape[1] == 2:
            kappa = cohen_kappa(matrix[:, 0], matrix[:, 1], labels=[0, 1])
    return CodeAgreement(
        code=code,
        n_units=n_units,
        prevalence=prevalence,
        percent_agreement=raw,
        cohen_kappa=kappa,
        krippendorff_alpha=alpha,
    )


def _from_mapping(assignments, units, codes, coders):
    coder_names = tuple(assignments) if coders is None else _labels(coders, None, "coders")
    missing = [c for c in coder_names if c not in assignments]
    if missing:
        raise ValueError(f"coders not in presence: {missing[:5]}")
    per_coder = {c: {u: set(applied) for u, applied in assignments[c].items()} for c in coder_names}
    seen_units = set().union(*(set(m) for m in per_coder.values())) if per_coder else set()
    seen_codes = set()
    for m in per_coder.values():
        for applied in m.values():
            seen_codes |= applied
    unit_names = _sorted_codes(seen_units) if units is None else _labels(units, None, "units")
    code_names = _sorted_codes(seen_codes) if codes is None else _labels(codes, None, "codes")
    unknown = seen_codes - set(code_names)
    if unknown:
        raise ValueError(f"applied codes missing from codes: {_sorted_codes(unknown)[:5]}")
    unit_pos = {u: i for i, u in enumerate(unit_names)}
    code_pos = {c: i for i, c in enumerate(code_names)}
    arr = np.full((len(unit_names), len(code_names), len(coder_names)), np.nan)
    for k, coder in enumerate(coder_names):
        for unit, applied in per_coder[coder].items():
            if unit not in unit_pos:
                continue  # the caller restricted the units
            i = unit_pos[unit]
            arr[i, :, k] = 0.0
            for code in applied:
                arr[i, code_pos[code], k] = 1.0
    return arr, unit_names, code_names, coder_names


# --- Agreement from per-cluster counts, for vectorised bootstrap resamples ----------

@dataclass(frozen=True)
class PresenceCounts:
    """Sums over the units of each cluster, per code, from which the agreement
    statistics of a units x codes x coders 0/1 array follow.

    Every array has shape (n_clusters, n_codes). Each statistic is a ratio of
    sums over units, so it is the same function of these counts summed over the
    clusters of the data (``total()``) or weighted by how often a bootstrap
    resample drew each cluster (``weights @ counts``): every resample of every
    code is then a few matrix products instead of a statistic call per resample.

    Attributes
    ----------
    pairs, agreeing
        Ordered coder pairs, and those agreeing (percent agreement).
    values, ones, alpha_agree
        Pairable values, pairable 1s, and the coincidence-matrix diagonal
        :math:`\\sum_u \\sum_c C_{uc}(C_{uc}-1)/(m_u-1)` (Krippendorff's alpha).
    both, first_ones, second_ones, differ
        Units coded by the first two coders, how many each applied the code to,
        and how many they differ on (Cohen's kappa).
    multi, share_agreeing, rated, share_ones
        Units with two or more codings and their summed share of agreeing pairs;
        units coded at all and their summed share of 1s (Gwet's AC1).
    """

    pairs: np.ndarray
    agreeing: np.ndarray
    values: np.ndarray
    ones: np.ndarray
    alpha_agree: np.ndarray
    both: np.ndarray
    first_ones: np.ndarray
    second_ones: np.ndarray
    differ: np.ndarray
    multi: np.ndarray
    share_agreeing: np.ndarray
    rated: np.ndarray
    share_ones: np.ndarray

    def fields(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def presence_counts(presence, cluster_index, n_clusters: int, weights=None) -> PresenceCounts:
    """Per-cluster, per-code counts of a units x codes x coders 0/1 array.

    ``cluster_index[u]`` (0 to ``n_clusters - 1``) is the cluster of unit ``u``.
    ``weights[u]``, if given, counts unit ``u`` that many times: a segment of text
    whose characters all got the same decisions stands for each of its characters.

    Examples
    --------
    >>> import numpy as np
    >>> from impactmodel.stats import presence_counts
    >>> presence = np.array([[[1, 1]], [[1, 0]], [[0, 0]]], dtype=float)  # 3 units, 1 code, 2 coders
    >>> counts = presence_counts(presence, [0, 0, 1], 2)
    >>> counts.agreeing.ravel().tolist(), counts.pairs.ravel().tolist()
    ([2.0, 2.0], [4.0, 2.0])
    """
    arr = np.asarray(presence, dtype=float)
    index = np.asarray(cluster_index, dtype=np.intp)
    times = np.ones(index.size) if weights is None else np.asarray(weights, dtype=float)
    totals: dict[str, np.ndarray] = {}
    # A few thousand units at a time: the per-unit arrays stay a few megabytes and are
    # reused, rather than a dozen arrays the size of the whole input (slow to allocate
    # and touch for the first time when a round has tens of thousands of segments).
    for lo in range(0, max(index.size, 1), _CHUNK):
        hi = min(lo + _CHUNK, index.size)
        # Summing units into clusters is a product with a sparse clusters x units indicator.
        members = sparse.csr_matrix((times[lo:hi], (index[lo:hi], np.arange(hi - lo))),
                                    shape=(n_clusters, hi - lo))
        for name, values in _per_unit(arr[lo:hi]).items():
            summed = np.asarray(members @ values)
            totals[name] = summed if name not in totals else totals[name] + summed
    return PresenceCounts(**totals)


_CHUNK = 4096


def _per_unit(arr: np.ndarray) -> dict[str, np.ndarray]:
    """Each unit's counts for each code, from a units x codes x coders 0/1/nan array."""
    present = ~np.isnan(arr)
    m = present.sum(axis=2).astype(float)
    k = np.nansum(arr, axis=2)
    agreeing = k * (k - 1) + (m - k) * (m - k - 1)
    pairable = m >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha_agree = np.where(pairable, agreeing / np.where(pairable, m - 1, 1), 0.0)
        share_agreeing = np.where(pairable, agreeing / np.where(pairable, m * (m - 1), 1), 0.0)
        share_ones = np.where(m >= 1, k / np.where(m >= 1, m, 1), 0.0)
    both = present[:, :, 0] & present[:, :, 1]
    first, second = np.nan_to_num(arr[:, :, 0]), np.nan_to_num(arr[:, :, 1])
    return {
        "pairs": m * (m - 1), "agreeing": agreeing,
        "values": np.where(pairable, m, 0.0), "ones": np.where(pairable, k, 0.0), "alpha_agree": alpha_agree,
        "both": both.astype(float), "first_ones": both * first, "second_ones": both * second,
        "differ": both * (first != second),
        "multi": pairable.astype(float), "share_agreeing": share_agreeing,
        "rated": (m >= 1).astype(float), "share_ones": share_ones,
    }


def agreement_from_counts(counts: dict) -> dict:
    """Percent agreement, Cohen's kappa (first two coders), Krippendorff's nominal
    alpha and Gwet's AC1 (categories 0 and 1) from summed :class:`PresenceCounts`
    fields of any shape; ``nan`` where a statistic is undefined, as the
    single-matrix functions give.

    Examples
    --------
    >>> import numpy as np
    >>> from impactmodel.stats import agreement_from_counts, percent_agreement, presence_counts
    >>> presence = np.array([[[1, 1]], [[1, 0]], [[0, 0]], [[0, 0]]], dtype=float)
    >>> counts = presence_counts(presence, [0, 1, 2, 3], 4)
    >>> stats = agreement_from_counts({k: v.sum(axis=0) for k, v in counts.fields().items()})
    >>> float(stats["percent_agreement"][0]) == percent_agreement(presence[:, 0, :])
    True
    """
    c = {name: np.asarray(v, dtype=float) for name, v in counts.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.where(c["pairs"] > 0, c["agreeing"] / c["pairs"], np.nan)

        n = c["values"]
        expected = 2.0 * c["ones"] * (n - c["ones"])
        alpha = np.where((n >= 2) & (expected > 0),
                         1.0 - (n - 1) * (n - c["alpha_agree"]) / np.where(expected > 0, expected, 1), np.nan)

        total = c["both"]
        p_first = c["first_ones"] / total
        p_second = c["second_ones"] / total
        chance = p_first * (1 - p_second) + (1 - p_first) * p_second
        kappa = np.where((total > 0) & (chance > 0),
                         1.0 - (c["differ"] / total) / np.where(chance > 0, chance, 1), np.nan)

        p_a = c["share_agreeing"] / c["multi"]
        pi = c["share_ones"] / c["rated"]
        p_e = 2 * pi * (1 - pi)
        ac1 = np.where(c["multi"] > 0, (p_a - p_e) / (1 - p_e), np.nan)
    return {"percent_agreement": percent, "cohen_kappa": kappa, "krippendorff_alpha": alpha, "gwet_ac1": ac1}
