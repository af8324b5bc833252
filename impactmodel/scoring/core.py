"""The integration confidence index: pure computation on plain arrays.

No Flask and no database here: :mod:`impactmodel.scoring.queries` turns ORM rows
into a :class:`RoundInput`, and the benchmark and tests build one directly.
docs/METHODOLOGY.md gives the method, formulas and reasons; ``COMPONENTS`` and
``WEIGHTS`` below are the names and weights it documents (a test keeps the two
in step).

Method 2.0. Each component estimates a quantity defined for the authority's
*whole* staff, each staff group (DCS, managers, practitioners) weighted
equally, with an estimator whose expectation does not move with how many
members of each group were interviewed:

* group means, and products of *different* groups' means (independent
  samples, so the product of unbiased means is unbiased): the level centre,
  chance-corrected agreement between groups, the balance of features;
* means over all pairs (levels) and all DCS-manager-practitioner trios
  (features named by all three) of the people interviewed: U-statistics,
  unbiased for the same mean over the whole staff.

The DCS is a census of one. Managers and practitioners are samples; the
interval comes from a delete-one jackknife stratified by group, with t
quantiles (Satterthwaite's degrees of freedom). Every leave-one-out estimate is
a row of the same vectorised computation, so an authority is a few small
array operations.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterable, Sequence

import numpy as np
from scipy import stats as sps

METHOD_VERSION = "2.0"

GROUPS = ("dcs", "manager", "practitioner")
GROUP_SHORT = {"dcs": "DCS", "manager": "SM", "practitioner": "PR"}
SAMPLED = (1, 2)             # managers and practitioners; the DCS is a census of one

# (name, weight, what it measures) -- docs/METHODOLOGY.md "Components and weights".
COMPONENTS: tuple[tuple[str, float, str], ...] = (
    ("level_centre", 0.20, "self-reported level of impact, mean of the group means, scaled 1-4 to 0-1"),
    ("level_agreement", 0.10, "agreement on the level: 1 - mean half squared difference between two staff"),
    ("impact_agreement", 0.25, "agreement of DCS, managers and practitioners on types of impact, beyond chance"),
    ("feature_agreement", 0.15, "agreement of the three groups on positive contributing features, beyond chance"),
    ("shared_features", 0.15, "positive features a DCS, a manager and a practitioner all name: mean of 1 - 2^-S"),
    ("feature_balance", 0.15, "positive features against features still to develop"),
)
NAMES = tuple(c[0] for c in COMPONENTS)
WEIGHTS = np.array([c[1] for c in COMPONENTS])

# Fewest staff per group for an authority to be placed (DCS, managers,
# practitioners): below them the interval cannot be trusted (METHODOLOGY.md
# "Who can be placed", with the coverage simulation behind the choice).
MIN_GROUP = (1, 3, 3)
MIN_LEVELS = (1, 2, 2)

DEFAULT_REPLICATES = 1000    # draws for the rank intervals
CONFIDENCE_LEVEL = 0.95
KAPPA_FLOOR = 0.1           # least chance disagreement assumed per pair of groups
LEVEL_NULL_VARIANCE = 1.0    # uniform answers over the 7 half steps 1..4 have variance 1


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
        Whether the member mentioned each impact code (achieved impacts only:
        level-4 aspirations are left out by the caller).
    positive, develop : ndarray of bool, shape (n, n_feature_codes)
        Whether the member named each contributing feature as positive / to develop.
    population : dict, optional
        Staff in post per group index (1, 2), when known: applies the finite
        population correction to that group's share of the variance.
    """

    key: Hashable
    role: np.ndarray
    level: np.ndarray
    impacts: np.ndarray
    positive: np.ndarray
    develop: np.ndarray
    population: dict[int, int] = field(default_factory=dict)

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
        for g, size in self.population.items():
            if g not in SAMPLED or int(size) < int((self.role == g).sum()):
                raise ValueError(f"staff in post for {GROUPS[g] if g in (0, 1, 2) else g!r} must be at "
                                 "least the number interviewed")

    def counts(self) -> dict[str, int]:
        return {g: int((self.role == i).sum()) for i, g in enumerate(GROUPS)}


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
                      authorities: Iterable[Hashable] = (), aspiration_codes: Iterable[str] = ()
                      ) -> RoundInput:
    """Turn long-form records into a :class:`RoundInput`.

    Codings of respondents not in ``staff`` (parents, children) and of codes
    outside both lists are ignored. ``authorities`` adds authorities that have
    no staff (they get no score, but appear in the result). Codes in
    ``aspiration_codes`` (level 4) count as impacts only when ``positive``:
    ``to_develop`` marks embedding hoped for, not achieved.
    """
    impact_ix = {c: i for i, c in enumerate(impact_codes)}
    feature_ix = {c: i for i, c in enumerate(feature_codes)}
    aspiration = frozenset(aspiration_codes)
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
            if not (c.code in aspiration and c.valence == "to_develop"):
                a.impacts[row, impact_ix[c.code]] = True
        elif c.code in feature_ix:
            target = a.develop if c.valence == "to_develop" else a.positive
            target[row, feature_ix[c.code]] = True
    return RoundInput(tuple(impact_codes), tuple(feature_codes), list(out.values()))


# --------------------------------------------------------------------------- canonical order

@dataclass
class _Group:
    """One staff group of one authority, rows in a canonical (content) order."""

    impacts: np.ndarray    # (n, I) float 0/1
    positive: np.ndarray   # (n, F)
    develop: np.ndarray    # (n, F)
    level: np.ndarray      # (n,) float, 0 where missing
    has_level: np.ndarray  # (n,) float 0/1

    @property
    def n(self) -> int:
        return self.level.shape[0]


@dataclass
class _Prepared:
    key: Hashable
    groups: list[_Group | None]
    fingerprint: int
    counts: dict[str, int]
    levels_given: tuple[int, int, int]
    population: dict[int, int]


def _prepare(a: AuthorityInput) -> _Prepared:
    """Sort each group's rows by content and fingerprint the authority.

    Rank draws are seeded with the fingerprint, so the same data give the same
    numbers whatever the authorities are called and in whatever order the rows
    arrived.
    """
    X = np.hstack([a.impacts, a.positive, a.develop]).astype(np.uint8)
    n_imp, n_feat = a.impacts.shape[1], a.positive.shape[1]
    digest = hashlib.sha256()
    groups: list[_Group | None] = []
    given = []
    for g in range(len(GROUPS)):
        idx = np.flatnonzero(a.role == g)
        if idx.size == 0:
            groups.append(None)
            given.append(0)
            digest.update(b"|none")
            continue
        keys = [(np.nan_to_num(a.level[i], nan=-1.0), np.packbits(X[i]).tobytes()) for i in idx]
        order = sorted(range(idx.size), key=lambda j: keys[j])
        idx = idx[order]
        lv = a.level[idx]
        has = ~np.isnan(lv)
        Xg = X[idx].astype(float)
        groups.append(_Group(impacts=Xg[:, :n_imp], positive=Xg[:, n_imp:n_imp + n_feat],
                             develop=Xg[:, n_imp + n_feat:], level=np.where(has, lv, 0.0),
                             has_level=has.astype(float)))
        given.append(int(has.sum()))
        digest.update(b"|" + np.nan_to_num(lv, nan=-1.0).tobytes() + X[idx].tobytes())
    return _Prepared(a.key, groups, int.from_bytes(digest.digest()[:8], "big"), a.counts(),
                     tuple(given), dict(a.population))


def data_hash(data: RoundInput) -> str:
    """A hash of everything the scores depend on: each authority's key, staff and codes.

    Independent of row order (rows are put in content order first).
    """
    digest = hashlib.sha256()
    digest.update(repr((data.impact_codes, data.feature_codes)).encode())
    for key, fp, pop in sorted((repr(p.key), p.fingerprint, sorted(p.population.items()))
                               for p in map(_prepare, data.authorities)):
        digest.update(f"{key}|{fp}|{pop};".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- components

@dataclass
class _GroupStats:
    """A group's statistics in every leave-one-out variant (first axis, length V).

    Row 0 is the whole group; the other rows drop one member of *some* group
    (this group's own members, or another group's, leaving this group whole).
    """

    n: np.ndarray          # (V,) members
    imp: np.ndarray        # (V, I) share naming each impact code
    pos: np.ndarray        # (V, F) share naming each feature as positive
    dev_mean: np.ndarray   # (V,) mean number of features named to develop per member
    lcnt: np.ndarray       # (V,) levels given
    lsum: np.ndarray
    lsq: np.ndarray


def _group_variants(grp: _Group, drop: np.ndarray) -> _GroupStats:
    """Statistics of ``grp`` for each variant; ``drop[v]`` is the member dropped, or -1."""
    V = drop.size
    n0 = grp.n
    tot_imp, tot_pos = grp.impacts.sum(0), grp.positive.sum(0)
    tot_dev = grp.develop.sum()
    tot = np.array([grp.has_level.sum(), grp.level.sum(), (grp.level ** 2).sum()])
    n = np.full(V, float(n0))
    imp = np.broadcast_to(tot_imp, (V, tot_imp.size)).copy()
    pos = np.broadcast_to(tot_pos, (V, tot_pos.size)).copy()
    dev = np.full(V, float(tot_dev))
    lv = np.broadcast_to(tot, (V, 3)).copy()
    rows = np.flatnonzero(drop >= 0)
    if rows.size:
        j = drop[rows]
        n[rows] -= 1
        imp[rows] -= grp.impacts[j]
        pos[rows] -= grp.positive[j]
        dev[rows] -= grp.develop[j].sum(1)
        lv[rows] -= np.column_stack([grp.has_level[j], grp.level[j], grp.level[j] ** 2])
    return _GroupStats(n=n, imp=imp / n[:, None], pos=pos / n[:, None], dev_mean=dev / n,
                       lcnt=lv[:, 0], lsum=lv[:, 1], lsq=lv[:, 2])


def _kappa_terms(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of chance-corrected agreement between two groups.

    With p, q the groups' shares over C codes and r, s their mean mention rates,
    observed agreement of a member of each, O = mean_c [p q + (1-p)(1-q)], and
    chance agreement from the rates alone, E = r s + (1-r)(1-s), give
    O - E = 2 (mean_c p q - r s) and 1 - E = r + s - 2 r s.
    """
    r, s = a.mean(1), b.mean(1)
    return 2 * ((a * b).mean(1) - r * s), r + s - 2 * r * s


def _level_parts(st: list[_GroupStats]) -> tuple[np.ndarray, np.ndarray]:
    """Level centre (0-1) and the mean half squared difference V between two staff."""
    mean = [s.lsum / np.where(s.lcnt > 0, s.lcnt, 1) for s in st]
    centre = (sum(mean) / 3 - 1) / 3
    # Within a group: the sample variance (divisor n - 1) is the mean half squared
    # difference over pairs of distinct members; the DCS, a census of one, adds 0.
    within = []
    for s, m in zip(st, mean):
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (s.lsq - s.lcnt * m * m) / np.where(s.lcnt > 1, s.lcnt - 1, 1)
        within.append(np.where(s.lcnt > 1, np.maximum(var, 0.0), 0.0))
    # Between groups: mean over pairs (i, j) of (L_i - L_j)^2 / 2, from the groups'
    # first and second moments (products of different groups' means are unbiased).
    second = [s.lsq / np.where(s.lcnt > 0, s.lcnt, 1) for s in st]
    between = [(second[g] + second[h]) / 2 - mean[g] * mean[h] for g, h in ((0, 1), (0, 2), (1, 2))]
    # Two staff drawn from groups picked at random with equal weight: same group 1/3.
    V = sum(within) / 9 + 2 * sum(between) / 9
    return centre, V


def _components(st: list[_GroupStats], trio: np.ndarray) -> np.ndarray:
    """The six components for every variant: array (V, 6); nan where undefined."""
    centre, V = _level_parts(st)
    # Not truncated at 0 (unlike the usual rwg): truncation would bias small samples
    # upwards where staff disagree about as much as answers at random would.
    level_agreement = 1 - V / LEVEL_NULL_VARIANCE

    def agreement(attr: str) -> np.ndarray:
        num = den = 0.0
        for g, h in ((0, 1), (0, 2), (1, 2)):
            nu, de = _kappa_terms(getattr(st[g], attr), getattr(st[h], attr))
            num, den = num + nu, den + de
        # Where nearly everyone names nearly every code (or nearly no one any), chance
        # leaves almost no room to disagree and the ratio would amplify noise without
        # limit: the room is taken as at least KAPPA_FLOOR per pair of groups.
        return num / np.maximum(den, 3 * KAPPA_FLOOR)

    pos = sum(s.pos.sum(1) for s in st)
    dev = sum(s.dev_mean for s in st)
    with np.errstate(invalid="ignore", divide="ignore"):
        balance = np.where(pos + dev > 0, pos / np.where(pos + dev > 0, pos + dev, 1), np.nan)
    return np.column_stack([centre, level_agreement, agreement("imp"), agreement("pos"), trio, balance])


def _trio_variants(groups: list[_Group], drops: list[np.ndarray]) -> np.ndarray:
    """Mean over DCS-manager-practitioner trios of 1 - 2^-S, S = features all three name.

    One number per variant. H[i, j, k] is the trio's value; dropping a member
    removes its slice from the mean.
    """
    d, m, p = groups
    shared = np.einsum("if,jf,kf->ijk", d.positive, m.positive, p.positive)
    H = 1.0 - np.power(2.0, -shared)
    total = H.sum()
    sums = [H.sum(axis=(1, 2)), H.sum(axis=(0, 2)), H.sum(axis=(0, 1))]
    sizes = np.array([d.n, m.n, p.n], float)
    V = drops[0].size
    num = np.full(V, total)
    den = np.full(V, sizes.prod())
    for g in range(3):
        rows = np.flatnonzero(drops[g] >= 0)
        num[rows] -= sums[g][drops[g][rows]]
        den[rows] = sizes.prod() / sizes[g] * (sizes[g] - 1)
    return num / den


def combine(components: np.ndarray, weights: np.ndarray = WEIGHTS) -> np.ndarray:
    """Weighted mean of the components over those defined (weights renormalised), in 0..1."""
    comp = np.asarray(components, dtype=float)
    ok = ~np.isnan(comp)
    w = np.broadcast_to(weights, comp.shape) * ok
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(total > 0, (np.where(ok, comp, 0) * w).sum(axis=-1) / np.where(total > 0, total, 1),
                         np.nan)
    # Chance-corrected agreement is below 0 when groups agree less than chance; the
    # index stays on the 0..1 scale the consortium reads.
    return np.clip(value, 0.0, 1.0)


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
    n: dict[str, int] = field(default_factory=dict)
    se: float | None = None
    df: float | None = None
    reason: str | None = None
    replicates: np.ndarray = field(repr=False, default=None)


@dataclass
class RoundScores:
    scores: list[AuthorityScore]       # ordered by rank, unplaced authorities last
    sensitivity: dict
    seed: int
    n_replicates: int
    method_version: str = METHOD_VERSION

    def by_key(self) -> dict:
        return {s.key: s for s in self.scores}


def _finite_or_none(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def placement_problem(counts: dict[str, int], levels_given: Sequence[int]) -> str | None:
    """Why an authority with these staff counts cannot be placed, or None."""
    short = [g for g, lo in zip(GROUPS, MIN_GROUP) if counts.get(g, 0) < lo]
    if short:
        have = ", ".join(f"{counts.get(g, 0)} {_group_words(g, counts.get(g, 0))}" for g in GROUPS)
        need = ", ".join(str(x) for x in MIN_GROUP)
        return (f"too few interviewed to place: {have} (at least {need} needed)")
    few = [g for g, lo, k in zip(GROUPS, MIN_LEVELS, levels_given) if k < lo]
    if few:
        have = ", ".join(f"{k} of {counts[g]} {_group_words(g, counts[g])}" for g, k in zip(GROUPS, levels_given))
        need = ", ".join(str(x) for x in MIN_LEVELS)
        return f"too few levels of impact given to place: {have} (at least {need} needed)"
    return None


def _group_words(group: str, n: int) -> str:
    one, many = {"dcs": ("director", "directors"), "manager": ("manager", "managers"),
                 "practitioner": ("practitioner", "practitioners")}[group]
    return one if n == 1 else many


@dataclass
class Estimate:
    """One authority's index with its jackknife standard error."""

    components: np.ndarray     # (6,)
    confidence: float
    se: float
    df: float
    component_se: np.ndarray   # (6,)


def estimate(p: _Prepared) -> Estimate:
    """Point estimate and stratified delete-one jackknife for a placeable authority.

    Variant 0 is the data as they are; then one variant per manager and per
    practitioner left out. Each sampled group contributes
    (n - 1) / n * sum (theta_(j) - mean)^2 to the variance, times the finite
    population correction when staff in post are known; the DCS, a census,
    contributes nothing.
    """
    sizes = [grp.n for grp in p.groups]
    drops = []
    V = 1 + sizes[1] + sizes[2]
    for g in range(3):
        d = np.full(V, -1)
        if g == 1:
            d[1:1 + sizes[1]] = np.arange(sizes[1])
        elif g == 2:
            d[1 + sizes[1]:] = np.arange(sizes[2])
        drops.append(d)
    st = [_group_variants(grp, d) for grp, d in zip(p.groups, drops)]
    comps = _components(st, _trio_variants(p.groups, drops))
    conf = combine(comps)
    var = 0.0
    comp_var = np.zeros(len(NAMES))
    parts = []
    for g, rows in ((1, slice(1, 1 + sizes[1])), (2, slice(1 + sizes[1], V))):
        n = sizes[g]
        fpc = 1.0 - n / p.population[g] if g in p.population else 1.0
        loo = conf[rows]
        v_g = fpc * (n - 1) / n * np.sum((loo - loo.mean()) ** 2)
        c_loo = comps[rows]
        with np.errstate(invalid="ignore"):
            comp_var = comp_var + fpc * (n - 1) / n * np.sum((c_loo - c_loo.mean(0)) ** 2, axis=0)
        parts.append((v_g, n - 1))
        var += v_g
    # Satterthwaite's degrees of freedom for a sum of group variances.
    denom = sum(v * v / k for v, k in parts if k > 0)
    df = var * var / denom if denom > 0 else float(sum(k for _, k in parts))
    return Estimate(components=comps[0], confidence=float(conf[0]), se=float(math.sqrt(var)),
                    df=float(max(df, 1.0)), component_se=np.sqrt(comp_var))


def point_components(a: AuthorityInput) -> dict[str, float | None]:
    """The six components of one authority as they are, with no interval and no
    placement rule (every group needs at least one member)."""
    p = _prepare(a)
    if any(grp is None for grp in p.groups):
        raise ValueError("every staff group needs at least one member")
    drops = [np.full(1, -1)] * 3
    st = [_group_variants(grp, d) for grp, d in zip(p.groups, drops)]
    return {k: _finite_or_none(v) for k, v in zip(NAMES, _components(st, _trio_variants(p.groups, drops))[0])}


def interval(confidence: float, se: float, df: float, level: float = CONFIDENCE_LEVEL) -> tuple[float, float]:
    t = float(sps.t.ppf(0.5 + level / 2, df))
    return max(0.0, confidence - t * se), min(1.0, confidence + t * se)


def difference(a: tuple[float, float, float], b: tuple[float, float, float],
               level: float = CONFIDENCE_LEVEL) -> dict:
    """Change from ``a`` to ``b``, each (confidence, se, df), with a t interval.

    The two rounds' samples are taken as independent (Welch-Satterthwaite degrees
    of freedom); when the same people were interviewed both times the interval is
    wider than it need be, never narrower.
    """
    (x1, s1, d1), (x2, s2, d2) = a, b
    diff = x2 - x1
    var = s1 * s1 + s2 * s2
    denom = (s1 ** 4) / d1 + (s2 ** 4) / d2
    df = var * var / denom if denom > 0 else d1 + d2
    t = float(sps.t.ppf(0.5 + level / 2, max(df, 1.0)))
    se = math.sqrt(var)
    return {"difference": diff, "low": diff - t * se, "high": diff + t * se, "se": se, "df": df,
            "separate": bool(diff - t * se > 0 or diff + t * se < 0)}


def score_round(data: RoundInput, *, seed: int = 0, n_replicates: int = DEFAULT_REPLICATES,
                n_weight_draws: int = 500, progress: Callable[[int, int], None] | None = None
                ) -> RoundScores:
    """Confidence index, interval and rank interval for every authority.

    Parameters
    ----------
    data : RoundInput
    seed : int
        Seeds the rank-interval draws and the weight sensitivity (with each
        authority's content fingerprint): the same data and seed give the same numbers.
    n_replicates : int
        Draws for the rank intervals.
    n_weight_draws : int
        Dirichlet-perturbed weight vectors for the sensitivity check.
    progress : callable, optional
        ``progress(done, total)`` after each authority.

    Returns
    -------
    RoundScores
        An authority's numbers depend on its own data only: adding or removing
        another authority changes its index and interval not at all (its rank, of
        course, can move).
    """
    if n_replicates < 10:
        raise ValueError(f"n_replicates must be at least 10, got {n_replicates}")
    prepared = [_prepare(a) for a in data.authorities]
    total = len(prepared)
    estimates: list[Estimate | None] = []
    reasons: list[str | None] = []
    for done, p in enumerate(prepared, 1):
        reason = placement_problem(p.counts, p.levels_given) if sum(p.counts.values()) else \
            "no staff interviewed"
        reasons.append(reason)
        estimates.append(None if reason else estimate(p))
        if progress is not None:
            progress(done, total)

    placed = [i for i, e in enumerate(estimates) if e is not None]
    conf = np.array([estimates[i].confidence if estimates[i] else np.nan for i in range(total)])
    # Ranks: 1 = most confident; equal values share a rank (1, 2, 2, 4), never split
    # by name, order or hash.
    rank = np.full(total, -1)
    if placed:
        key = np.round(conf[placed], 12)
        rank[placed] = sps.rankdata(-key, method="min").astype(int)

    # Rank intervals: each authority's index drawn from its t distribution
    # (independent between authorities), ranked in every draw.
    rank_lo = np.full(total, -1)
    rank_hi = np.full(total, -1)
    draws = np.full((total, n_replicates), np.nan)
    for i in placed:
        e = estimates[i]
        rng = np.random.default_rng([seed & 0xFFFFFFFF, prepared[i].fingerprint & 0xFFFFFFFF,
                                     prepared[i].fingerprint >> 32])
        draws[i] = e.confidence + e.se * rng.standard_t(e.df, size=n_replicates)
    if placed:
        ranks = sps.rankdata(-draws[placed], axis=0, method="min")
        tail = (1 - CONFIDENCE_LEVEL) / 2 * 100
        rank_lo[placed] = np.floor(np.percentile(ranks, tail, axis=1)).astype(int)
        rank_hi[placed] = np.ceil(np.percentile(ranks, 100 - tail, axis=1)).astype(int)

    comps_placed = np.array([estimates[i].components for i in placed]).reshape(len(placed), len(NAMES))
    sensitivity = weight_sensitivity(comps_placed, conf[placed], n_draws=n_weight_draws, seed=seed)
    sens_by = dict(zip(placed, sensitivity.pop("rank_ranges", [])))
    scores = []
    for i, p in enumerate(prepared):
        e = estimates[i]
        flags = _flags(p)
        n = dict(p.counts)
        if e is None:
            flags["not_placed"] = True
            scores.append(AuthorityScore(key=p.key, confidence=None, ci_low=None, ci_high=None, rank=None,
                                         rank_low=None, rank_high=None,
                                         components={k: None for k in NAMES}, flags=flags, n=n,
                                         reason=reasons[i]))
            continue
        lo, hi = interval(e.confidence, e.se, e.df)
        if i in sens_by:
            flags["weight_rank_range"] = sens_by[i]
        missing_components = [k for k, v in zip(NAMES, e.components) if not np.isfinite(v)]
        if missing_components:
            flags["components_missing"] = missing_components
        if rank[i] > 0 and (rank[placed] == rank[i]).sum() > 1:
            flags["tied"] = True
        scores.append(AuthorityScore(
            key=p.key, confidence=e.confidence, ci_low=lo, ci_high=hi, rank=int(rank[i]),
            rank_low=int(rank_lo[i]), rank_high=int(rank_hi[i]),
            components={k: _finite_or_none(v) for k, v in zip(NAMES, e.components)},
            flags=flags, n=n, se=e.se, df=e.df, replicates=draws[i]))
    scores.sort(key=lambda s: (s.rank is None, s.rank or 0, -(s.confidence or 0), str(s.key)))
    return RoundScores(scores=scores, sensitivity=sensitivity, seed=seed, n_replicates=n_replicates)


def _flags(p: _Prepared) -> dict:
    flags: dict = {}
    if sum(p.counts.values()) == 0:
        flags["no_staff"] = True
        return flags
    missing = [g for g in GROUPS if p.counts[g] == 0]
    if missing:
        flags["missing_groups"] = missing
    no_levels = [g for g, k in zip(GROUPS, p.levels_given) if p.counts[g] and k == 0]
    if no_levels:
        flags["no_levels"] = no_levels
    if p.population:
        flags["staff_in_post"] = {GROUPS[g]: int(v) for g, v in p.population.items()}
    return flags


# --------------------------------------------------------------------------- sensitivity

# Other formulas considered (docs/METHODOLOGY.md "Sensitivity"): the ranking under
# each is compared with the main one.
ALTERNATIVES = (
    ("equal_weights", "Equal weights for the six components"),
    ("levels_only", "Self-reported levels only (level of impact and agreement on it)"),
    ("codes_only", "Codings only (agreement on impacts and features, shared features, balance)"),
    ("uncorrected_agreement", "Agreement not corrected for chance (overlap of group shares, as method 1.0)"),
)


def _jaccard(p: _Prepared, attr: str) -> float:
    """Method 1.0's agreement: mean over group pairs of sum(min)/sum(max) of group shares."""
    shares = [getattr(grp, attr).mean(0) for grp in p.groups]
    vals = []
    for g, h in ((0, 1), (0, 2), (1, 2)):
        top = np.maximum(shares[g], shares[h]).sum()
        if top > 0:
            vals.append(np.minimum(shares[g], shares[h]).sum() / top)
    return float(np.mean(vals)) if vals else float("nan")


def alternative_rankings(data: RoundInput, result: RoundScores, second: RoundInput | None = None) -> list[dict]:
    """The ranking of the placed authorities under each alternative formula, and under the
    second coder's codings where answers were double coded, against the main ranking.

    Returns one dict per alternative: ``name``, ``label``, ``kendall_tau`` (tau-b with
    the main ranking), ``largest_move`` (most places any authority moves) and ``ranks``
    (authority key -> rank under the alternative).
    """
    placed = [s for s in result.scores if s.confidence is not None]
    if len(placed) < 2:
        return []
    keys = [s.key for s in placed]
    main = np.array([s.confidence for s in placed])
    comps = np.array([[np.nan if s.components[n] is None else s.components[n] for n in NAMES] for s in placed])
    prepared = {p.key: p for p in map(_prepare, data.authorities)}
    values: dict[str, np.ndarray] = {
        "equal_weights": combine(comps, np.ones(len(NAMES))),
        "levels_only": combine(comps, np.array([1, 1, 0, 0, 0, 0.0])),
        "codes_only": combine(comps, np.array([0, 0, 1, 1, 1, 1.0])),
    }
    uncorrected = comps.copy()
    uncorrected[:, NAMES.index("impact_agreement")] = [_jaccard(prepared[k], "impacts") for k in keys]
    uncorrected[:, NAMES.index("feature_agreement")] = [_jaccard(prepared[k], "positive") for k in keys]
    values["uncorrected_agreement"] = combine(uncorrected)
    labels = dict(ALTERNATIVES)
    if second is not None:
        other = score_round(second, seed=result.seed, n_replicates=10, n_weight_draws=2).by_key()
        values["second_coder"] = np.array([np.nan if other.get(k) is None or other[k].confidence is None
                                           else other[k].confidence for k in keys])
        labels["second_coder"] = "Double-coded answers as the second coder coded them"
    base = sps.rankdata(-np.round(main, 12), method="min")
    out = []
    for name, v in values.items():
        ok = np.isfinite(v)
        if ok.sum() < 2:
            continue
        ranks = sps.rankdata(-np.round(v[ok], 12), method="min")
        tau = sps.kendalltau(base[ok], ranks).statistic if ok.sum() >= 3 else float("nan")
        out.append({"name": name, "label": labels[name],
                    "kendall_tau": None if not np.isfinite(tau) else float(tau),
                    "largest_move": int(np.abs(ranks - sps.rankdata(-np.round(main[ok], 12), method="min")).max()),
                    "ranks": {k: int(r) for k, r in zip(np.array(keys, dtype=object)[ok], ranks)}})
    return out


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
    perturbed = np.column_stack([combine(components, w) for w in draws])  # (A, K)
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
        if not x.size:
            return None
        return {"median": float(np.median(x)), "p05": float(np.percentile(x, 5)), "min": float(x.min())}

    out.update(kendall_tau=summary(tau), spearman_rho=summary(rho))
    return out
