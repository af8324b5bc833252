"""The integration confidence index: pure computation on plain arrays.

No Flask and no database here: :mod:`impactmodel.scoring.queries` turns ORM rows
into a :class:`RoundInput`, and the benchmark and tests build one directly.
docs/METHODOLOGY.md gives the method, formulas and reasons; ``COMPONENTS`` and
``WEIGHTS`` below are the names and weights it documents (a test keeps the two
in step).

Shape of the computation. Each authority's staff are three groups (DCS,
managers, practitioners). Every component is a function of per-group
*sufficient statistics*: the share of the group's members who mention each
code, and sums of the members' self-reported levels. A bootstrap replicate
resamples members with replacement within each group, which is a matrix of
multinomial counts ``W`` (replicates x members); the replicate's statistics are
``W @ X / n``. All replicates of an authority are therefore a few small matrix
products, and the point estimate is the same function with ``W`` all ones.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Callable, Hashable, Iterable, Sequence

import numpy as np
from scipy import stats as sps

METHOD_VERSION = "1.0"

GROUPS = ("dcs", "manager", "practitioner")
GROUP_SHORT = {"dcs": "DCS", "manager": "SM", "practitioner": "PR"}

# (name, weight, what it measures) -- docs/METHODOLOGY.md "Components and weights".
COMPONENTS: tuple[tuple[str, float, str], ...] = (
    ("level_centre", 0.20, "self-reported level of impact, mean of the group means, scaled 1-4 to 0-1"),
    ("level_agreement", 0.10, "within-authority agreement on the level: rwg on the 7-point half-step scale"),
    ("impact_agreement", 0.25, "agreement of DCS, managers and practitioners on types of impact"),
    ("feature_agreement", 0.15, "agreement of the three groups on positive contributing features"),
    ("shared_features", 0.15, "positive features named by all three groups: 1 - 2^-S"),
    ("feature_balance", 0.15, "positive features against features still to develop"),
)
NAMES = tuple(c[0] for c in COMPONENTS)
WEIGHTS = np.array([c[1] for c in COMPONENTS])

DEFAULT_REPLICATES = 1000
CONFIDENCE_LEVEL = 0.95
LEVEL_OPTIONS = 7            # 1, 1.5, ..., 4


# --------------------------------------------------------------------------- inputs

@dataclass
class AuthorityInput:
    """One authority's staff, as arrays with one row per member of staff.

    Attributes
    ----------
    key : hashable
        The caller's identifier; carried through, never used in the computation.
    role : ndarray of int, shape (n,)
        0 = DCS, 1 = manager, 2 = practitioner (index into ``GROUPS``).
    level : ndarray of float, shape (n,)
        Self-reported level of impact (1 to 4 in half steps), ``nan`` if not given.
    impacts : ndarray of bool, shape (n, n_impact_codes)
        Whether the member mentioned each impact code (levels 1-4, any valence).
    positive, develop : ndarray of bool, shape (n, n_feature_codes)
        Whether the member named each contributing feature as positive / to develop.
    """

    key: Hashable
    role: np.ndarray
    level: np.ndarray
    impacts: np.ndarray
    positive: np.ndarray
    develop: np.ndarray

    def __post_init__(self):
        self.role = np.asarray(self.role, dtype=np.int8).reshape(-1)
        self.level = np.asarray(self.level, dtype=float).reshape(-1)
        n = self.role.size
        for name in ("impacts", "positive", "develop"):
            arr = np.asarray(getattr(self, name), dtype=bool)
            if arr.ndim != 2 or arr.shape[0] != n:
                raise ValueError(f"{name} needs one row per member of staff ({n}), got shape {arr.shape}")
            setattr(self, name, arr)
        if self.level.size != n:
            raise ValueError(f"level needs one value per member of staff ({n}), got {self.level.size}")
        if n and (self.role.min() < 0 or self.role.max() > 2):
            raise ValueError("role must be 0 (DCS), 1 (manager) or 2 (practitioner)")
        lv = self.level[~np.isnan(self.level)]
        if ((lv < 1) | (lv > 4)).any() or (np.round(lv * 2) != lv * 2).any():
            raise ValueError("levels must be 1 to 4 in steps of 0.5")


@dataclass
class RoundInput:
    """A round: its authorities and the code columns their arrays use."""

    impact_codes: tuple[str, ...]
    feature_codes: tuple[str, ...]
    authorities: list[AuthorityInput]


@dataclass(frozen=True)
class StaffRecord:
    authority: Hashable
    respondent: Hashable
    role: str           # "dcs", "manager" or "practitioner"
    level: float | None


@dataclass(frozen=True)
class CodingRecord:
    authority: Hashable
    respondent: Hashable
    code: str
    valence: str        # "positive", "to_develop" or "negative"


def build_round_input(staff: Iterable[StaffRecord], codings: Iterable[CodingRecord],
                      impact_codes: Sequence[str], feature_codes: Sequence[str],
                      authorities: Iterable[Hashable] = ()) -> RoundInput:
    """Turn long-form records into a :class:`RoundInput`.

    Codings of respondents not in ``staff`` (parents, children) and of codes
    outside both lists are ignored. ``authorities`` adds authorities that have
    no staff (they get no score, but appear in the result).
    """
    impact_ix = {c: i for i, c in enumerate(impact_codes)}
    feature_ix = {c: i for i, c in enumerate(feature_codes)}
    group_ix = {g: i for i, g in enumerate(GROUPS)}
    rows: dict[Hashable, dict[Hashable, int]] = {}
    per_auth: dict[Hashable, list[StaffRecord]] = {a: [] for a in authorities}
    for s in staff:
        if s.role not in group_ix:
            raise ValueError(f"staff role must be one of {GROUPS}, got {s.role!r}")
        per_auth.setdefault(s.authority, []).append(s)
    out: dict[Hashable, AuthorityInput] = {}
    for a, members in per_auth.items():
        n = len(members)
        rows[a] = {m.respondent: i for i, m in enumerate(members)}
        out[a] = AuthorityInput(
            key=a, role=np.array([group_ix[m.role] for m in members], dtype=np.int8),
            level=np.array([np.nan if m.level is None else float(m.level) for m in members]),
            impacts=np.zeros((n, len(impact_codes)), bool),
            positive=np.zeros((n, len(feature_codes)), bool),
            develop=np.zeros((n, len(feature_codes)), bool))
    for c in codings:
        row = rows.get(c.authority, {}).get(c.respondent)
        if row is None:
            continue
        a = out[c.authority]
        if c.code in impact_ix:
            a.impacts[row, impact_ix[c.code]] = True
        elif c.code in feature_ix:
            target = a.develop if c.valence == "to_develop" else a.positive
            target[row, feature_ix[c.code]] = True
    return RoundInput(tuple(impact_codes), tuple(feature_codes), list(out.values()))


# --------------------------------------------------------------------------- canonical order

@dataclass
class _Group:
    """One staff group of one authority, rows in a canonical (content) order."""

    X: np.ndarray        # (n, C) float: impacts | positive | develop
    level: np.ndarray    # (n,) float, 0 where missing
    has_level: np.ndarray  # (n,) float 0/1

    def __post_init__(self):
        # For the replicates: one (C + 3) x n float32 block, so a batch of replicates is a
        # single small matrix product. Counts, 0/1 and squared half-steps are exact in float32.
        self.XT = np.ascontiguousarray(np.vstack([self.X.T, self.level, self.level ** 2,
                                                  self.has_level]).astype(np.float32))

    @property
    def n(self) -> int:
        return self.X.shape[0]


@dataclass
class _Prepared:
    key: Hashable
    groups: list[_Group | None]
    fingerprint: int
    n_staff: int


def _prepare(a: AuthorityInput) -> _Prepared:
    """Sort each group's rows by content and fingerprint the authority.

    The bootstrap draws from a generator seeded with the fingerprint, so the
    same data give the same interval whatever the authorities are called and
    in whatever order the rows arrived.
    """
    X = np.hstack([a.impacts, a.positive, a.develop]).astype(np.uint8)
    digest = hashlib.sha256()
    groups: list[_Group | None] = []
    for g in range(len(GROUPS)):
        idx = np.flatnonzero(a.role == g)
        if idx.size == 0:
            groups.append(None)
            digest.update(b"|none")
            continue
        keys = [(np.nan_to_num(a.level[i], nan=-1.0), np.packbits(X[i]).tobytes()) for i in idx]
        order = sorted(range(idx.size), key=lambda j: keys[j])
        idx = idx[order]
        lv = a.level[idx]
        has = ~np.isnan(lv)
        groups.append(_Group(X=X[idx].astype(float), level=np.where(has, lv, 0.0),
                             has_level=has.astype(float)))
        digest.update(b"|" + np.nan_to_num(lv, nan=-1.0).tobytes() + X[idx].tobytes())
    return _Prepared(a.key, groups, int.from_bytes(digest.digest()[:8], "big"), int(a.role.size))


# --------------------------------------------------------------------------- components

@dataclass
class _Stats:
    """Per-group sufficient statistics for a batch of replicates (first axis)."""

    share: np.ndarray   # (B, C)
    lsum: np.ndarray    # (B,)
    lsq: np.ndarray     # (B,)
    lcnt: np.ndarray    # (B,)


def _stats(group: _Group, W: np.ndarray) -> _Stats:
    """Statistics of ``group`` under member weights ``W`` (B x n, each row sums to n).

    Float64 for the point estimate (``W`` all ones); float32 products for replicates.
    """
    n = group.n
    if W.shape[0] == 1:
        return _Stats(share=(W @ group.X) / n, lsum=W @ group.level,
                      lsq=W @ (group.level ** 2), lcnt=W @ group.has_level)
    # einsum's own loop, not BLAS: for these small products BLAS threads cost more than they
    # save, and contend badly with anything else running on the machine.
    S = np.einsum("cn,nb->cb", group.XT, np.ascontiguousarray(W.T, dtype=np.float32))  # (C + 3, B)
    return _Stats(share=S[:-3].T / np.float32(n), lsum=S[-3].astype(float),
                  lsq=S[-2].astype(float), lcnt=S[-1].astype(float))


def weighted_jaccard(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Ruzicka similarity sum(min)/sum(max) along the last axis; nan where both are empty.

    For 0/1 vectors this is the Jaccard overlap that
    :func:`impactmodel.stats.group_consensus` reports.
    """
    top = np.maximum(p, q).sum(axis=-1)
    bottom = np.minimum(p, q).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(top > 0, bottom / np.where(top > 0, top, 1), np.nan)


def _nanmean_rows(arrays: list[np.ndarray]) -> np.ndarray:
    if not arrays:
        return None
    stack = np.vstack(arrays)
    ok = ~np.isnan(stack)
    cnt = ok.sum(axis=0)
    total = np.where(ok, stack, 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, total / np.where(cnt > 0, cnt, 1), np.nan)


def _components(stats: list[_Stats | None], n_impact: int, n_feature: int, B: int) -> np.ndarray:
    """The six components for B replicates: array (B, 6), nan where undefined."""
    nan = np.full(B, np.nan)
    present = [s for s in stats if s is not None]
    imp = slice(0, n_impact)
    pos = slice(n_impact, n_impact + n_feature)
    dev = slice(n_impact + n_feature, n_impact + 2 * n_feature)

    # Level: mean of the group means (each group counts once), scaled to 0-1.
    means = []
    for s in present:
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append(np.where(s.lcnt > 0, s.lsum / np.where(s.lcnt > 0, s.lcnt, 1), np.nan))
    centre = _nanmean_rows(means)
    level_centre = nan if centre is None else (centre - 1.0) / 3.0

    # rwg on the 7-point scale x7 = 2*level - 1: s7^2 = 4 s^2, null variance (49-1)/12 = 4,
    # so rwg = 1 - s^2 of the levels themselves (truncated at 0, as James et al. advise).
    N = sum((s.lcnt for s in present), np.zeros(B))
    S = sum((s.lsum for s in present), np.zeros(B))
    Q = sum((s.lsq for s in present), np.zeros(B))
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (Q - S * S / np.where(N > 0, N, 1)) / np.where(N > 1, N - 1, 1)
    var = np.maximum(var, 0.0)
    level_agreement = np.where(N >= 2, np.maximum(0.0, 1.0 - var), np.nan)

    def agreement(cols: slice) -> np.ndarray:
        pairs = [weighted_jaccard(a.share[:, cols], b.share[:, cols]) for a, b in combinations(present, 2)]
        return nan if not pairs else _nanmean_rows(pairs)

    impact_agreement = agreement(imp)
    feature_agreement = agreement(pos)

    # Features named by all groups: sum over features of the smallest group share.
    # With one member per group this counts the features every group named.
    if len(present) >= 2:
        shared = np.min(np.stack([s.share[:, pos] for s in present]), axis=0).sum(axis=1)
        shared_features = 1.0 - np.power(2.0, -shared)
    else:
        shared_features = nan

    a = sum((s.share[:, pos].sum(axis=1) for s in present), np.zeros(B))
    b = sum((s.share[:, dev].sum(axis=1) for s in present), np.zeros(B))
    with np.errstate(invalid="ignore", divide="ignore"):
        feature_balance = np.where(a + b > 0, a / np.where(a + b > 0, a + b, 1), np.nan)

    return np.column_stack([level_centre, level_agreement, impact_agreement,
                            feature_agreement, shared_features, feature_balance])


def combine(components: np.ndarray, weights: np.ndarray = WEIGHTS) -> np.ndarray:
    """Weighted mean of the components over those defined (weights renormalised)."""
    comp = np.asarray(components, dtype=float)
    ok = ~np.isnan(comp)
    w = np.broadcast_to(weights, comp.shape) * ok
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (np.where(ok, comp, 0) * w).sum(axis=-1) / np.where(total > 0, total, 1),
                        np.nan)


def _multinomial_weights(rng: np.random.Generator, n: int, B: int) -> np.ndarray:
    """B rows of resampling counts for n members (each row sums to n)."""
    if n == 1:
        return np.ones((B, 1))
    draws = rng.integers(0, n, size=(B, n)) + (np.arange(B) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=B * n).reshape(B, n).astype(float)


# --------------------------------------------------------------------------- results

@dataclass
class AuthorityScore:
    key: Hashable
    confidence: float | None
    ci_low: float | None
    ci_high: float | None
    rank: int | None
    rank_low: int | None
    rank_high: int | None
    components: dict[str, float | None]
    flags: dict
    replicates: np.ndarray = field(repr=False, default=None)


@dataclass
class RoundScores:
    scores: list[AuthorityScore]       # ordered by rank, unscored authorities last
    sensitivity: dict
    seed: int
    n_replicates: int
    method_version: str = METHOD_VERSION

    def by_key(self) -> dict:
        return {s.key: s for s in self.scores}


def _finite_or_none(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def score_round(data: RoundInput, *, seed: int = 0, n_replicates: int = DEFAULT_REPLICATES,
                n_weight_draws: int = 500, progress: Callable[[int, int], None] | None = None
                ) -> RoundScores:
    """Confidence index, bootstrap interval and rank interval for every authority.

    Parameters
    ----------
    data : RoundInput
    seed : int
        Seeds every authority's generator (together with its content fingerprint).
    n_replicates : int
        Bootstrap replicates per authority.
    n_weight_draws : int
        Dirichlet-perturbed weight vectors for the sensitivity check.
    progress : callable, optional
        ``progress(done, total)`` after each authority.

    Returns
    -------
    RoundScores
    """
    if n_replicates < 10:
        raise ValueError(f"n_replicates must be at least 10, got {n_replicates}")
    n_imp, n_feat = len(data.impact_codes), len(data.feature_codes)
    prepared = [_prepare(a) for a in data.authorities]
    # Donor pools for a missing group: the same group of the round's other authorities,
    # in fingerprint order so the draw does not depend on input order.
    pools = [sorted((p for p in prepared if p.groups[g] is not None), key=lambda p: p.fingerprint)
             for g in range(len(GROUPS))]
    B = n_replicates
    comps_point, conf_point, reps = [], [], []
    total = len(prepared)
    for done, p in enumerate(prepared, 1):
        if p.n_staff == 0:
            comps_point.append(np.full(len(NAMES), np.nan))
            conf_point.append(np.nan)
            reps.append(np.full(B, np.nan))
        else:
            c, conf, rep = _score_one(p, pools, seed, B, n_imp, n_feat)
            comps_point.append(c)
            conf_point.append(conf)
            reps.append(rep)
        if progress is not None:
            progress(done, total)
    comps_point = np.array(comps_point).reshape(total, len(NAMES))
    conf_point = np.array(conf_point, dtype=float)
    reps = np.array(reps).reshape(total, B)
    # Agreement and "named by every group" are nonlinear in the shares, so resampling
    # members biases replicates (duplicated members agree with themselves; the smallest
    # share of three noisy shares is low). Re-centre each authority's replicates on its
    # estimate by the median bias; the spread, and so the interval width, is the bootstrap's.
    bias = np.zeros((total, 1))
    for i in range(total):
        finite = reps[i][np.isfinite(reps[i])]
        if finite.size and np.isfinite(conf_point[i]):
            bias[i, 0] = np.median(finite) - conf_point[i]
    reps = np.clip(reps - bias, 0.0, 1.0)

    scored = np.flatnonzero(np.isfinite(conf_point))
    fps = np.array([p.fingerprint for p in prepared], dtype=np.uint64)
    # Rank 1 = most confident; ties broken by content fingerprint, never by name or order.
    order = sorted(scored, key=lambda i: (-conf_point[i], int(fps[i])))
    rank = np.full(total, -1)
    rank[order] = np.arange(1, len(order) + 1)

    rank_lo = np.full(total, -1)
    rank_hi = np.full(total, -1)
    if len(scored):
        R = reps[scored]                                    # (A, B)
        R = np.where(np.isnan(R), -np.inf, R)
        rep_ranks = sps.rankdata(-R, axis=0, method="min")  # rank within each replicate
        tail = (1 - CONFIDENCE_LEVEL) / 2 * 100
        rank_lo[scored] = np.floor(np.percentile(rep_ranks, tail, axis=1)).astype(int)
        rank_hi[scored] = np.ceil(np.percentile(rep_ranks, 100 - tail, axis=1)).astype(int)

    tail = (1 - CONFIDENCE_LEVEL) / 2
    scores = []
    sensitivity = weight_sensitivity(comps_point[scored], conf_point[scored],
                                     n_draws=n_weight_draws, seed=seed)
    sens_by = dict(zip(scored.tolist(), sensitivity.pop("rank_ranges", [])))
    for i, p in enumerate(prepared):
        rep = reps[i][np.isfinite(reps[i])]
        lo = hi = None
        if rep.size:
            lo, hi = (float(v) for v in np.quantile(rep, [tail, 1 - tail]))
        flags = _flags(p)
        if i in sens_by:
            flags["weight_rank_range"] = sens_by[i]
        missing_components = [n for n, v in zip(NAMES, comps_point[i]) if not np.isfinite(v)]
        if missing_components and np.isfinite(conf_point[i]):
            flags["components_missing"] = missing_components
        scores.append(AuthorityScore(
            key=p.key, confidence=_finite_or_none(conf_point[i]), ci_low=_finite_or_none(lo),
            ci_high=_finite_or_none(hi), rank=int(rank[i]) if rank[i] > 0 else None,
            rank_low=int(rank_lo[i]) if rank_lo[i] > 0 else None,
            rank_high=int(rank_hi[i]) if rank_hi[i] > 0 else None,
            components={n: _finite_or_none(v) for n, v in zip(NAMES, comps_point[i])},
            flags=flags, replicates=reps[i]))
    scores.sort(key=lambda s: (s.rank is None, s.rank or 0))
    return RoundScores(scores=scores, sensitivity=sensitivity, seed=seed, n_replicates=B)


def _flags(p: _Prepared) -> dict:
    flags: dict = {}
    if p.n_staff == 0:
        flags["no_staff"] = True
        return flags
    missing = [GROUPS[g] for g, grp in enumerate(p.groups) if grp is None]
    if missing:
        flags["missing_groups"] = missing
    no_levels = [GROUPS[g] for g, grp in enumerate(p.groups)
                 if grp is not None and grp.has_level.sum() == 0]
    if no_levels:
        flags["no_levels"] = no_levels
    return flags


def _score_one(p: _Prepared, pools: list[list[_Prepared]], seed: int, B: int,
               n_imp: int, n_feat: int) -> tuple[np.ndarray, float, np.ndarray]:
    """Point components, point confidence and B bootstrap confidences for one authority."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, p.fingerprint & 0xFFFFFFFF, p.fingerprint >> 32])
    missing = [g for g, grp in enumerate(p.groups) if grp is None]
    donors = {g: [d for d in pools[g] if d is not p] for g in missing}
    donors = {g: d for g, d in donors.items() if d}

    # Point estimate. With every group present: the data as they are. With a group
    # missing: the mean over stand-ins for it, one per donor authority (hot-deck).
    if not donors:
        stats = [None if grp is None else _stats(grp, np.ones((1, grp.n))) for grp in p.groups]
        comps = _components(stats, n_imp, n_feat, 1)
    else:
        D = max(len(d) for d in donors.values())
        stats = []
        for g, grp in enumerate(p.groups):
            if grp is not None:
                s = _stats(grp, np.ones((1, grp.n)))
                stats.append(_Stats(np.repeat(s.share, D, 0), np.repeat(s.lsum, D), np.repeat(s.lsq, D),
                                    np.repeat(s.lcnt, D)))
            elif g in donors:
                parts = [_stats(donors[g][j % len(donors[g])].groups[g],
                                np.ones((1, donors[g][j % len(donors[g])].groups[g].n))) for j in range(D)]
                stats.append(_concat(parts))
            else:
                stats.append(None)
        comps_all = _components(stats, n_imp, n_feat, D)
        conf_all = combine(comps_all)
        comps = np.atleast_2d(_nanmean_rows(list(comps_all)))
        point_conf = float(np.nanmean(conf_all)) if np.isfinite(conf_all).any() else float("nan")

    # Bootstrap: resample members within each group; a missing group is drawn from a
    # random donor each replicate and its members resampled too.
    rep_stats = []
    for g, grp in enumerate(p.groups):
        if grp is not None:
            rep_stats.append(_stats(grp, _multinomial_weights(rng, grp.n, B)))
        elif g in donors:
            pick = rng.integers(0, len(donors[g]), size=B)
            share = np.empty((B, 2 * n_feat + n_imp))
            lsum, lsq, lcnt = np.empty(B), np.empty(B), np.empty(B)
            for j in np.unique(pick):
                rows = np.flatnonzero(pick == j)
                dg = donors[g][j].groups[g]
                s = _stats(dg, _multinomial_weights(rng, dg.n, rows.size))
                share[rows], lsum[rows], lsq[rows], lcnt[rows] = s.share, s.lsum, s.lsq, s.lcnt
            rep_stats.append(_Stats(share, lsum, lsq, lcnt))
        else:
            rep_stats.append(None)
    rep_conf = combine(_components(rep_stats, n_imp, n_feat, B))
    comps = comps[0]
    if not donors:
        point_conf = float(combine(comps))
    return comps, point_conf, rep_conf


def _concat(parts: list[_Stats]) -> _Stats:
    return _Stats(np.vstack([s.share for s in parts]), np.concatenate([s.lsum for s in parts]),
                  np.concatenate([s.lsq for s in parts]), np.concatenate([s.lcnt for s in parts]))


# --------------------------------------------------------------------------- sensitivity

def weight_sensitivity(components: np.ndarray, confidence: np.ndarray, *,
                       n_draws: int = 500, concentration: float = 20.0, seed: int = 0) -> dict:
    """How stable the ranking is when the component weights move.

    Weight vectors are drawn from a Dirichlet distribution centred on ``WEIGHTS``
    (parameters ``concentration * WEIGHTS``); each gives a ranking, compared
    with the ranking under the documented weights by Kendall's tau-b and
    Spearman's rho.

    Returns
    -------
    dict
        ``kendall_tau`` and ``spearman_rho`` (median, 5th percentile, minimum),
        ``n_draws``, ``concentration``, ``weight_sd`` (spread of each weight), and
        ``rank_ranges``: per authority, the 5th-95th percentile of its rank.
    """
    A = components.shape[0]
    out = {"n_draws": int(n_draws), "concentration": concentration, "n_authorities": int(A),
           "kendall_tau": None, "spearman_rho": None, "rank_ranges": []}
    if A == 0:
        return out
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x5E45])
    draws = rng.dirichlet(concentration * WEIGHTS, size=n_draws)       # (K, 6)
    comp = np.asarray(components, float)
    ok = ~np.isnan(comp)
    num = np.where(ok, comp, 0) @ draws.T                              # (A, K)
    den = ok.astype(float) @ draws.T
    perturbed = num / np.where(den > 0, den, 1)
    base = sps.rankdata(-np.asarray(confidence), method="average")
    ranks = sps.rankdata(-perturbed, axis=0, method="average")         # (A, K)
    out["weight_sd"] = dict(zip(NAMES, (float(v) for v in draws.std(axis=0))))
    out["rank_ranges"] = [[int(math.floor(np.percentile(r, 5))), int(math.ceil(np.percentile(r, 95)))]
                          for r in ranks]
    if A < 3:      # a rank correlation of two items says nothing
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.array([np.corrcoef(base, ranks[:, k])[0, 1] for k in range(n_draws)])
    tau = np.array([sps.kendalltau(base, ranks[:, k]).statistic for k in range(n_draws)])

    def summary(x):
        x = x[np.isfinite(x)]
        return {"median": float(np.median(x)), "p05": float(np.percentile(x, 5)), "min": float(x.min())}

    out.update(kendall_tau=summary(tau), spearman_rho=summary(rho))
    return out
