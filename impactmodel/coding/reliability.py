"""The reliability report of a round's double coding, computed with ``impactmodel.stats``.

The unit is an answer; each code is a yes/no decision per answer and coder
(did this coder apply the code anywhere in the answer?), as in
:func:`impactmodel.stats.multicode_agreement`. Raters are the first coding and
the blind second coding(s) of each answer. Bootstrap intervals resample
respondents, each with all of their double-coded answers: answers of one
respondent are not independent, so resampling them one by one would make the
intervals too narrow.

The bootstrap is vectorised: each statistic is a ratio of sums over answers, so
the sums are taken once per respondent and code, every resample is a vector of
how often it drew each respondent, and all codes and resamples together are a
few matrix products (``impactmodel.stats.presence_counts``). The draws are those
of :func:`impactmodel.stats.bootstrap_ci` with the same seed, so the intervals
are those of resampling the answers one resample at a time.
"""
from __future__ import annotations

from bisect import bisect_left

from dataclasses import asdict, dataclass, field

import numpy as np

from impactmodel.coding.queries import DoubleCoded
from impactmodel.stats import (MultiValuedCounts, agreement_from_counts, cluster_weights, cohen_kappa, gwet_ac1,
                               krippendorff_alpha, multi_valued_counts, multicode_agreement,
                               mv_alpha_from_counts, percent_agreement, percentile_ci, presence_counts)

# The statistics of every row, in the order the page shows them.
STATISTICS = ("percent_agreement", "cohen_kappa", "gwet_ac1", "krippendorff_alpha")
NAN = float("nan")


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


NO_INTERVAL = Interval(NAN, NAN, NAN)


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
    gwet_ac1: Interval = NO_INTERVAL


@dataclass
class PairRow:
    """The pooled figures on the answers one first coder and one second coder both coded."""

    first: str
    second: str
    n_units: int
    percent_agreement: Interval
    cohen_kappa: Interval
    gwet_ac1: Interval
    krippendorff_alpha: Interval


@dataclass
class SpanRow:
    """Agreement by span overlap: the unit is a character of an answer, and a coder's
    decision whether their codings of the code cover it."""

    code: str | None             # None: pooled over every code
    characters: int              # characters of the double-coded answers
    covered: int                 # characters some coder covered with the code
    percent_agreement: Interval
    cohen_kappa: Interval
    gwet_ac1: Interval
    krippendorff_alpha: Interval


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
    pairs: list[PairRow] = field(default_factory=list)
    span_overall: SpanRow | None = None
    span_per_code: list[SpanRow] = field(default_factory=list)
    n_resamples: int = 0
    per_code_resamples: int = 0
    seed: int = 0
    # The pooled figure: Krippendorff's multi-valued alpha over the set of codes each
    # coding gave each answer (an empty set where the coder decided no code applies).
    mv_alpha: Interval = NO_INTERVAL
    no_code_decisions: int = 0   # codings of an answer that recorded "no code applies"

    def to_json(self) -> dict:
        """Plain JSON (``nan`` as ``None``), as the round's stored results keep it."""
        return _plain(asdict(self))

    @classmethod
    def from_json(cls, data: dict) -> ReliabilityReport:
        def interval(d):
            return Interval(*(NAN if d[k] is None else d[k] for k in ("estimate", "low", "high")))

        def row(d, kind):
            d = dict(d)
            for key in STATISTICS:
                if key in d:
                    d[key] = interval(d[key])
            for key in ("prevalence", "valence_agreement"):
                if key in d and d[key] is None:
                    d[key] = NAN
            return kind(**d)

        d = dict(data)
        d["mv_alpha"] = interval(d["mv_alpha"]) if d.get("mv_alpha") else NO_INTERVAL
        d["overall"] = row(d["overall"], CodeRow) if d.get("overall") else None
        d["per_code"] = [row(r, CodeRow) for r in d.get("per_code", [])]
        d["pairs"] = [row(r, PairRow) for r in d.get("pairs", [])]
        d["span_overall"] = row(d["span_overall"], SpanRow) if d.get("span_overall") else None
        d["span_per_code"] = [row(r, SpanRow) for r in d.get("span_per_code", [])]
        return cls(**d)


def _plain(value):
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _kappa(matrix: np.ndarray) -> float:
    return cohen_kappa(matrix[:, 0], matrix[:, 1], labels=[0, 1])


def _ac1(matrix: np.ndarray) -> float:
    return gwet_ac1(matrix, labels=[0, 1])


def _estimates(matrix: np.ndarray, two: bool) -> dict[str, float]:
    """Point estimates from the single-matrix functions, as the report always gave them."""
    if matrix.shape[0] == 0:
        return dict.fromkeys(STATISTICS, NAN)
    return {"percent_agreement": percent_agreement(matrix),
            "cohen_kappa": _kappa(matrix) if two else NAN,
            "gwet_ac1": _ac1(matrix),
            "krippendorff_alpha": krippendorff_alpha(matrix)}


def _resampled(counts, columns, clusters, n_resamples: int, seed: int, pooled: bool) -> dict[str, np.ndarray]:
    """Every statistic on every resample: arrays (n_resamples,) pooled over ``columns``
    (codes), or (n_resamples, len(columns)) one column per code."""
    parts = {name: [] for name in STATISTICS}
    fields = {name: v[:, columns] for name, v in counts.fields().items()}
    if pooled:
        fields = {name: v.sum(axis=1) for name, v in fields.items()}
    for weights in cluster_weights(clusters, n_resamples, seed):
        stats = agreement_from_counts({name: weights @ v for name, v in fields.items()})
        for name in STATISTICS:
            parts[name].append(stats[name])
    return {name: np.concatenate(v) for name, v in parts.items()}


def _intervals(estimates: dict[str, float], thetas: dict[str, np.ndarray] | None, two: bool) -> dict[str, Interval]:
    out = {}
    for name in STATISTICS:
        if name == "cohen_kappa" and not two:
            out[name] = NO_INTERVAL
        elif thetas is None:             # fewer than two respondents: nothing to resample
            out[name] = Interval(estimates[name], NAN, NAN)
        else:
            r = percentile_ci(estimates[name], thetas[name])
            out[name] = Interval(r.estimate, r.low, r.high)
    return out


def _pooled_figures(arr: np.ndarray, clusters: np.ndarray, n_resamples: int, seed: int,
                    two: bool) -> dict[str, Interval]:
    """Pooled figures over every answer x code decision of ``arr``, with intervals."""
    labels, index = np.unique(clusters, return_inverse=True)
    estimates = _estimates(arr.reshape(-1, arr.shape[2]), two)
    thetas = None
    if labels.size >= 2:
        counts = presence_counts(arr, index, labels.size)
        thetas = _resampled(counts, slice(None), clusters, n_resamples, seed, pooled=True)
    return _intervals(estimates, thetas, two)


def _valence_agreement(data: DoubleCoded) -> tuple[float, dict[str, float]]:
    """Share of (answer, code, coder pair) where both coders applied the code and gave
    it the same valences: pooled, and per code. One pass over the answers."""
    same: dict[str, int] = {}
    both: dict[str, int] = {}
    for u in data.units:
        per_slot = []
        for s in data.slots:
            if u in data.pairs[s]:
                valences: dict[str, set] = {}
                for c, v in data.pairs[s][u]:
                    valences.setdefault(c, set()).add(v)
                per_slot.append(valences)
        for i in range(len(per_slot)):
            for j in range(i + 1, len(per_slot)):
                a, b = per_slot[i], per_slot[j]
                for c in a.keys() & b.keys():
                    both[c] = both.get(c, 0) + 1
                    same[c] = same.get(c, 0) + (a[c] == b[c])
    n_both, n_same = sum(both.values()), sum(same.values())
    return (n_same / n_both if n_both else NAN), {c: same[c] / n for c, n in both.items()}


def code_sets(data: DoubleCoded) -> list[list[frozenset | None]]:
    """Answers x slots: the codes (valence aside) each coding gave the answer, an empty
    set for "no code applies", None where the slot did not code the answer."""
    return [[frozenset(c for c, _v in data.pairs[s][u]) if u in data.pairs[s] else None
             for s in data.slots] for u in data.units]


def _mv_alpha_figure(data: DoubleCoded, clusters: np.ndarray, n_resamples: int, seed: int) -> Interval:
    """Multi-valued alpha with a bootstrap interval over respondents (the same draws as
    the other pooled figures): a resample weights each answer by how often it drew the
    answer's respondent."""
    counts = multi_valued_counts(code_sets(data))
    estimate = float(mv_alpha_from_counts(counts)[0])
    labels, index = np.unique(clusters, return_inverse=True)
    if labels.size < 2:
        return Interval(estimate, NAN, NAN)
    # The sums are additive: summed per respondent, a resample's weights apply to them.
    kept = index[counts.units]

    def per_cluster(values: np.ndarray) -> np.ndarray:
        out = np.zeros((labels.size,) + values.shape[1:])
        np.add.at(out, kept, values)
        return out
    by_respondent = MultiValuedCounts(counts.labels_seen, per_cluster(counts.pairable),
                                      per_cluster(counts.disagreement), per_cluster(counts.labels),
                                      per_cluster(counts.cardinality), np.arange(labels.size))
    thetas = np.concatenate([mv_alpha_from_counts(by_respondent, weights)
                             for weights in cluster_weights(clusters, n_resamples, seed)])
    r = percentile_ci(estimate, thetas)
    return Interval(r.estimate, r.low, r.high)


def _coder_pairs(data: DoubleCoded, arr: np.ndarray, clusters: np.ndarray, n_resamples: int,
                 seed: int) -> list[PairRow]:
    """Pooled figures per (first coder, second coder) pair, for two-slot double coding."""
    if len(data.slots) != 2:
        return []
    groups: dict[tuple[str, str], list[int]] = {}
    for i, u in enumerate(data.units):
        key = (data.coders.get("first", {}).get(u, "?"), data.coders.get("second", {}).get(u, "?"))
        groups.setdefault(key, []).append(i)
    rows = []
    for (first, second), idx in sorted(groups.items()):
        figures = _pooled_figures(arr[idx], clusters[idx], n_resamples, seed, two=True)
        rows.append(PairRow(first=first, second=second, n_units=len(idx), **figures))
    return rows


def span_segments(data: DoubleCoded, codes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The double-coded answers cut into segments of characters that every coder
    treated alike: between any two consecutive span boundaries each coder either
    covered all the characters with a code or none of them.

    Returns the segments x codes x slots 0/1 array (``nan`` where a slot did not code
    the answer), each segment's length (its weight) and its answer's respondent.
    """
    position = {c: j for j, c in enumerate(codes)}
    answers = []          # (answer, its slots' spans, its segments' edges)
    for u in data.units:
        length = data.lengths.get(u, 0)
        spans = {s: data.spans.get(s, {}).get(u) for s in data.slots}
        cuts = {0, length}
        for by_code in spans.values():
            for ranges in (by_code or {}).values():
                for start, end in ranges:
                    cuts.update((min(max(start, 0), length), min(max(end, 0), length)))
        if len(cuts) >= 2:
            answers.append((u, spans, sorted(cuts)))
    # One array for every segment of the round, filled answer by answer.
    arr = np.full((sum(len(edges) - 1 for _u, _s, edges in answers), len(codes), len(data.slots)), np.nan)
    weights = np.zeros(arr.shape[0])
    clusters = np.zeros(arr.shape[0], dtype=int)
    row = 0
    for u, spans, edges in answers:
        n = len(edges) - 1
        block = arr[row:row + n]
        for k, s in enumerate(data.slots):
            if spans[s] is None:
                continue      # this slot did not code the answer
            block[:, :, k] = 0.0
            for code, ranges in spans[s].items():
                j = position.get(code)
                if j is None:
                    continue
                for start, end in ranges:
                    # Segment i runs from edges[i] to edges[i + 1]; a span covers the
                    # segments from the first edge at or after its start to the first
                    # edge at or after its end (both of its ends are edges, clamped).
                    block[bisect_left(edges, start):bisect_left(edges, end), j, k] = 1.0
        weights[row:row + n] = np.diff(edges)
        clusters[row:row + n] = data.respondents.get(u, -u)
        row += n
    return arr, weights, clusters


def _span_figures(data: DoubleCoded, codes: list[str], n_resamples: int, per_n: int, seed: int,
                  two: bool) -> tuple[SpanRow | None, list[SpanRow]]:
    """Figures by span overlap, pooled and per code applied, with intervals; point
    estimates and resamples both from character-weighted counts."""
    arr, weights, clusters = span_segments(data, codes)
    if weights.sum() == 0:
        return None, []
    labels, index = np.unique(clusters, return_inverse=True)
    counts = presence_counts(arr, index, labels.size, weights)
    covered = ((np.nansum(arr, axis=2) > 0) * weights[:, None]).sum(axis=0)
    characters = int(weights.sum())
    total = {name: v.sum(axis=0) for name, v in counts.fields().items()}
    pooled = agreement_from_counts({name: v.sum() for name, v in total.items()})
    thetas = None
    if labels.size >= 2:
        thetas = _resampled(counts, slice(None), clusters, n_resamples, seed, pooled=True)
    overall = SpanRow(code=None, characters=characters, covered=int((np.nansum(arr, axis=2) > 0).any(axis=1) @ weights),
                      **_intervals({k: float(v) for k, v in pooled.items()}, thetas, two))
    used = np.flatnonzero(covered > 0)
    per_code = agreement_from_counts({name: v[used] for name, v in total.items()})
    thetas = None
    if labels.size >= 2 and used.size:
        thetas = _resampled(counts, used, clusters, per_n, seed, pooled=False)
    rows = []
    for k, j in enumerate(used):
        column = None if thetas is None else {name: v[:, k] for name, v in thetas.items()}
        rows.append(SpanRow(code=codes[j], characters=characters, covered=int(covered[j]),
                            **_intervals({name: float(v[k]) for name, v in per_code.items()}, column, two)))
    rows.sort(key=lambda r: (-r.covered, r.code))
    return overall, rows


def reliability_report(data: DoubleCoded, codes: list[str], *, n_resamples: int = 1000,
                       per_code_resamples: int | None = None, seed: int = 20081,
                       progress=None) -> ReliabilityReport:
    """Per-code, per coder pair and pooled agreement on the double-coded answers.

    Parameters
    ----------
    data
        From :func:`impactmodel.coding.queries.double_coded`.
    codes
        The full codebook (ids): codes nobody applied are decisions too and count
        in the pooled figures (see ``multicode_agreement``).
    n_resamples, per_code_resamples, seed
        Bootstrap resamples of respondents for the pooled figures and for each code
        (default: the same), and the generator seed (same seed, same interval).
    progress
        ``progress(percent, message)`` as the work advances, or None.

    Returns
    -------
    ReliabilityReport
        Percent agreement, Cohen's kappa (two raters only), Gwet's AC1 and
        Krippendorff's nominal alpha, each with a 95% percentile bootstrap interval
        over respondents (all of a respondent's answers drawn together); per code
        only for codes applied at least once in the sample. Alpha is the main
        figure: it allows the people in the "first" and "second" slots to differ
        between answers, which kappa does not.
    """
    def say(pct: int, msg: str) -> None:
        if progress is not None:
            progress(pct, msg)

    per_n = per_code_resamples or n_resamples
    if not data.units:
        return ReliabilityReport(0, data.slots, None, n_resamples=n_resamples, per_code_resamples=per_n,
                                 seed=seed)
    slots = data.slots
    result = multicode_agreement(data.presence_mapping(), units=data.units, codes=codes, coders=slots)
    arr = result.presence
    two = arr.shape[2] == 2
    # Answers of one respondent resample together (an answer unknown to the mapping
    # is its own cluster).
    clusters = np.array([data.respondents.get(u, -u) for u in data.units])
    labels, index = np.unique(clusters, return_inverse=True)
    pooled_valence, valence_by_code = _valence_agreement(data)
    say(10, "Pooled figures")
    o = result.overall
    overall = CodeRow(
        code=None, n_units=len(data.units),
        applied=int((np.nansum(arr, axis=2) > 0).any(axis=1).sum()),
        prevalence=o.prevalence, valence_agreement=pooled_valence,
        **_pooled_figures(arr, clusters, n_resamples, seed, two))

    say(35, "Figures per code")
    applied = (np.nansum(arr, axis=2) > 0).sum(axis=0)
    used = np.flatnonzero(applied > 0)
    thetas = None
    if labels.size >= 2 and used.size:
        counts = presence_counts(arr[:, used, :], index, labels.size)
        thetas = _resampled(counts, slice(None), clusters, per_n, seed, pooled=False)
    rows = []
    for k, j in enumerate(used):
        ca = result.per_code[j]
        m = arr[:, j, :]
        estimates = {"percent_agreement": ca.percent_agreement, "cohen_kappa": ca.cohen_kappa,
                     "gwet_ac1": _ac1(m), "krippendorff_alpha": ca.krippendorff_alpha}
        column = None if thetas is None else {name: v[:, k] for name, v in thetas.items()}
        rows.append(CodeRow(
            code=ca.code, n_units=ca.n_units, applied=int(applied[j]), prevalence=ca.prevalence,
            valence_agreement=valence_by_code.get(ca.code, NAN), **_intervals(estimates, column, two)))
    rows.sort(key=lambda r: (-r.applied, r.code))
    say(50, "Multi-valued alpha")
    mv_alpha = _mv_alpha_figure(data, clusters, n_resamples, seed)
    no_code = sum(1 for row in code_sets(data) for value in row if value is not None and not value)
    say(60, "Figures per pair of coders")
    pairs = _coder_pairs(data, arr, clusters, n_resamples, seed)
    say(75, "Figures by span overlap")
    span_overall, span_per_code = _span_figures(data, codes, n_resamples, per_n, seed, two)
    return ReliabilityReport(len(data.units), slots, overall, rows, len(codes) - used.size, two,
                             raters_vary=data.raters_vary(), n_clusters=int(labels.size), pairs=pairs,
                             span_overall=span_overall, span_per_code=span_per_code,
                             n_resamples=n_resamples, per_code_resamples=per_n, seed=seed,
                             mv_alpha=mv_alpha, no_code_decisions=no_code)


def disagreements(data: DoubleCoded) -> list[int]:
    """Answers on which the raters' sets of (code, valence) differ."""
    out = []
    for u in data.units:
        sets = [frozenset(data.pairs[s][u]) for s in data.slots if u in data.pairs[s]]
        if len(set(sets)) > 1:
            out.append(u)
    return out
