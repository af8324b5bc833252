"""The reliability report as it was computed before the bootstrap was vectorised:
one statistic call per resample (``impactmodel.stats.bootstrap_ci``). Kept as the
reference the vectorised report is checked against."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from impactmodel.coding.queries import DoubleCoded
from impactmodel.stats import (bootstrap_ci, cohen_kappa, krippendorff_alpha, multicode_agreement,
                               percent_agreement)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


@dataclass
class CodeRow:
    code: str | None             # None: pooled over every code
    n_units: int
    applied: int                 # answers where at least one coder applied the code
    prevalence: float
    percent_agreement: Interval
    cohen_kappa: Interval
    krippendorff_alpha: Interval
    valence_agreement: float     # share of answers coded by both where the valences match


@dataclass
class ReliabilityReport:
    n_units: int
    slots: list[str]
    overall: CodeRow | None
    per_code: list[CodeRow] = field(default_factory=list)
    unused_codes: int = 0        # codebook codes nobody applied in the sample
    kappa_defined: bool = True   # Cohen's kappa needs exactly two raters
    raters_vary: bool = False    # different people are "first" or "second" on different answers
    n_clusters: int = 0          # respondents resampled by the bootstrap


def _ci(data: np.ndarray, statistic, *, n_resamples: int, seed: int,
        clusters: np.ndarray | None = None) -> Interval:
    n = data.shape[0] if clusters is None else len(np.unique(clusters))
    if n < 2:
        est = float(statistic(data)) if data.shape[0] else float("nan")
        return Interval(est, float("nan"), float("nan"))
    r = bootstrap_ci(data, statistic, n_resamples=n_resamples, rng=seed, clusters=clusters)
    return Interval(r.estimate, r.low, r.high)


def _kappa(matrix: np.ndarray) -> float:
    return cohen_kappa(matrix[:, 0], matrix[:, 1], labels=[0, 1])


def _pooled(stat):
    # Resample answers, keep each answer's codes together, then pool unit x code decisions.
    return lambda d: stat(d.reshape(-1, d.shape[2]))


def _valence_agreement(data: DoubleCoded, code: str | None) -> float:
    same = both = 0
    for u in data.units:
        per_slot = [{(c, v) for c, v in data.pairs[s].get(u, set()) if code is None or c == code}
                    for s in data.slots if u in data.pairs[s]]
        for i in range(len(per_slot)):
            for j in range(i + 1, len(per_slot)):
                a, b = per_slot[i], per_slot[j]
                for c in {c for c, _v in a} & {c for c, _v in b}:
                    both += 1
                    same += {v for cc, v in a if cc == c} == {v for cc, v in b if cc == c}
    return same / both if both else float("nan")


def reliability_report(data: DoubleCoded, codes: list[str], *, n_resamples: int = 1000,
                       per_code_resamples: int | None = None, seed: int = 20081) -> ReliabilityReport:
    """Per-code and pooled agreement on the double-coded answers.

    Parameters
    ----------
    data
        From :func:`impactmodel.coding.queries.double_coded`.
    codes
        The full codebook (ids): codes nobody applied are decisions too and count
        in the pooled figures (see ``multicode_agreement``).
    n_resamples, per_code_resamples, seed
        Bootstrap resamples of answers for the pooled figures and for each code
        (default: the same), and the generator seed (same seed, same interval).

    Returns
    -------
    ReliabilityReport
        Percent agreement, Cohen's kappa (two raters only) and Krippendorff's nominal
        alpha, each with a 95% percentile bootstrap interval over respondents (all of a
        respondent's answers drawn together); per code only for codes applied at least
        once in the sample. Alpha is the main figure: it allows the people in the
        "first" and "second" slots to differ between answers, which kappa does not.
    """
    if not data.units:
        return ReliabilityReport(0, data.slots, None)
    slots = data.slots
    result = multicode_agreement(data.presence_mapping(), units=data.units, codes=codes, coders=slots)
    arr = result.presence
    two = arr.shape[2] == 2
    # Answers of one respondent resample together (an answer unknown to the mapping
    # is its own cluster).
    clusters = np.array([data.respondents.get(u, -u) for u in data.units])
    kw = {"seed": seed, "clusters": clusters}
    nan = Interval(float("nan"), float("nan"), float("nan"))
    o = result.overall
    overall = CodeRow(
        code=None, n_units=len(data.units),
        applied=int((np.nansum(arr, axis=2) > 0).any(axis=1).sum()),
        prevalence=o.prevalence,
        percent_agreement=_ci(arr, _pooled(percent_agreement), n_resamples=n_resamples, **kw),
        cohen_kappa=_ci(arr, _pooled(_kappa), n_resamples=n_resamples, **kw) if two else nan,
        krippendorff_alpha=_ci(arr, _pooled(krippendorff_alpha), n_resamples=n_resamples, **kw),
        valence_agreement=_valence_agreement(data, None))
    per_n = per_code_resamples or n_resamples
    rows = []
    unused = 0
    for j, ca in enumerate(result.per_code):
        m = arr[:, j, :]
        applied = int((np.nansum(m, axis=1) > 0).sum())
        if applied == 0:
            unused += 1
            continue
        rows.append(CodeRow(
            code=ca.code, n_units=ca.n_units, applied=applied, prevalence=ca.prevalence,
            percent_agreement=_ci(m, percent_agreement, n_resamples=per_n, **kw),
            cohen_kappa=_ci(m, _kappa, n_resamples=per_n, **kw) if two else nan,
            krippendorff_alpha=_ci(m, krippendorff_alpha, n_resamples=per_n, **kw),
            valence_agreement=_valence_agreement(data, ca.code)))
    rows.sort(key=lambda r: (-r.applied, r.code))
    return ReliabilityReport(len(data.units), slots, overall, rows, unused, two,
                             raters_vary=data.raters_vary(), n_clusters=len(np.unique(clusters)))
