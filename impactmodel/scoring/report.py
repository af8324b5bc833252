"""Profiles (report Figures 2-3) and round summaries, as JSON-ready dicts.

Pure: takes the plain data of :mod:`impactmodel.scoring.queries` and the results
of :mod:`impactmodel.scoring.core`, returns what is stored in
``ConfidenceScore.profile`` and ``RoundScoring.summary`` so pages read, never
recompute. Counts here are true counts; presenters suppress small ones.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np

from impactmodel.scoring import gaps as gaps_mod
from impactmodel.scoring import tables
from impactmodel.scoring.core import GROUPS, AuthorityInput, RoundScores

LEVEL_STEPS = [1 + i / 2 for i in range(7)]
QUOTES_PER_PROFILE = 3
QUOTE_LENGTH = 220

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b")
_PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")


def gap_columns(impact_codes, feature_codes) -> list[tuple[str, str]]:
    """(code, valence) for each column of an authority's staff matrix."""
    return ([(c, "any") for c in impact_codes] + [(c, "positive") for c in feature_codes]
            + [(c, "to_develop") for c in feature_codes])


def _staff_matrix(a: AuthorityInput) -> np.ndarray:
    return np.hstack([a.impacts, a.positive, a.develop])


def authority_gaps(a: AuthorityInput, columns: list[tuple[str, str]]) -> dict:
    """Manager-practitioner gaps in one authority (Fisher exact, BH over the codes tested).

    Only gaps with q < ALPHA are kept. When the groups are so small that no single
    code could reach that after correction, ``too_few`` says so instead.
    """
    X = _staff_matrix(a)
    m, p = a.role == 1, a.role == 2
    n_m, n_p = int(m.sum()), int(p.sum())
    found = gaps_mod.perspective_gaps(X[m].sum(0), n_m, X[p].sum(0), n_p)
    return {"tested": len(found), "managers": n_m, "practitioners": n_p,
            "smallest_possible_p": gaps_mod.smallest_possible_p(n_m, n_p),
            "too_few": gaps_mod.too_few_to_detect(n_m, n_p, len(found)),
            "rows": [_gap_row(g, columns) for g in found if g.q < gaps_mod.ALPHA]}


def _gap_row(g, columns) -> dict:
    code, valence = columns[g.column]
    return {"code": code, "valence": valence, "manager_mentions": g.manager_mentions,
            "manager_n": g.manager_n, "practitioner_mentions": g.practitioner_mentions,
            "practitioner_n": g.practitioner_n, "difference": g.difference, "p": g.p, "q": g.q}


def consortium_gaps(inputs: list[AuthorityInput], columns) -> dict:
    """Managers and practitioners of the whole round, stratified by authority (CMH per code)."""
    A = len(inputs)
    m_cnt = np.zeros((len(columns), A), dtype=np.int64)
    p_cnt = np.zeros((len(columns), A), dtype=np.int64)
    n_m = np.zeros(A, dtype=np.int64)
    n_p = np.zeros(A, dtype=np.int64)
    for i, a in enumerate(inputs):
        X = _staff_matrix(a)
        m, p = a.role == 1, a.role == 2
        m_cnt[:, i] = X[m].sum(0)
        p_cnt[:, i] = X[p].sum(0)
        n_m[i], n_p[i] = m.sum(), p.sum()
    found = gaps_mod.stratified_gaps(m_cnt, n_m, p_cnt, n_p)
    both = (n_m > 0) & (n_p > 0)
    return {"tested": len(found), "managers": int(n_m[both].sum()), "practitioners": int(n_p[both].sum()),
            "authorities": int(both.sum()), "test": "cmh",
            "rows": [_gap_row(g, columns) for g in found]}


def anonymise_quote(text: str, names: list[str]) -> str:
    """Shorten an excerpt and take out what could identify a place or a person's contact."""
    out = " ".join(text.split())
    for name in sorted((n for n in names if n), key=len, reverse=True):
        out = re.sub(re.escape(name), "[the authority]" if name == names[0] else "[the locality]",
                     out, flags=re.IGNORECASE)
    out = _EMAIL.sub("[e-mail]", out)
    out = _PHONE.sub("[number]", out)
    if len(out) > QUOTE_LENGTH:
        cut = out[:QUOTE_LENGTH].rsplit(" ", 1)[0]
        out = cut.rstrip(",;:") + " …"
    return out


def pick_quotes(candidates: list[dict], preferred: set[str], names: list[str]) -> list[dict]:
    """A few short quotes: features every group named first, one per role where possible."""
    def key(c):
        return (c["code"] not in preferred, hashlib.sha1(c["text"].encode()).hexdigest())
    chosen, roles = [], set()
    ordered = sorted(candidates, key=key)
    for c in ordered:
        if c["role"] not in roles:
            chosen.append(c)
            roles.add(c["role"])
        if len(chosen) == QUOTES_PER_PROFILE:
            break
    for c in ordered:
        if len(chosen) >= QUOTES_PER_PROFILE:
            break
        if c not in chosen:
            chosen.append(c)
    return [{"role": c["role"], "code": c["code"], "text": anonymise_quote(c["text"], names)}
            for c in chosen]


SHARED_MOST = 0.5     # a feature "named by all three groups" in at least half the trios


def feature_rows(a: AuthorityInput, M: np.ndarray, feature_codes, with_trios: bool) -> list[dict]:
    """The features the staff of ``a`` named in ``M`` (positive or to develop), with the
    groups naming each, the people, each group's share and (``with_trios``) the trios' share."""
    # Each group's count and share of the features at once (a national round has 150
    # authorities, each read again for every key group).
    counts = np.vstack([M[a.role == g].sum(axis=0) for g in range(3)]).reshape(3, len(feature_codes))
    sizes = np.array([(a.role == g).sum() for g in range(3)], dtype=float)[:, None]
    shares = np.divide(counts, sizes, out=np.zeros(counts.shape), where=sizes > 0)
    rows = []
    for j in np.flatnonzero(counts.sum(axis=0) > 0):
        share = [float(x) for x in shares[:, j]]
        row = {"code": feature_codes[j], "groups": [GROUPS[g] for g in range(3) if share[g] > 0],
               "respondents": int(counts[:, j].sum()), "shares": dict(zip(GROUPS, share))}
        if with_trios:
            row["trios"] = float(np.prod(share))
        rows.append(row)
    # Shared by more trios first, then named by more groups and more people (the figures' order).
    rows.sort(key=lambda r: (-r.get("trios", 0), -len(r["groups"]), -r["respondents"], r["code"]))
    return rows


def key_group_profiles(a: AuthorityInput, staff_key_group: np.ndarray, key_groups: list[str],
                       feature_codes) -> dict:
    """An authority's features as named by the staff working with each key group.

    ``staff_key_group`` gives each staff row's index into ``key_groups`` (-1: none).
    Key groups none of its staff work with are left out.
    """
    out = {}
    for i, code in enumerate(key_groups):
        keep = staff_key_group == i
        if not keep.any():
            continue
        sub = AuthorityInput(key=a.key, role=a.role[keep], level=a.level[keep], impacts=a.impacts[keep],
                             positive=a.positive[keep], develop=a.develop[keep])
        out[code] = {"staff": {g: int((sub.role == n).sum()) for n, g in enumerate(GROUPS)},
                     "positive": feature_rows(sub, sub.positive, feature_codes, True),
                     "to_develop": feature_rows(sub, sub.develop, feature_codes, False)}
    return out


def profile(a: AuthorityInput, info, feature_codes, impact_codes, code_levels: dict[str, int],
            quotes: list[dict], gap_cols) -> dict:
    """What an authority's profile page shows (report Figures 2-3).

    "Named by all three groups" has one definition, shared with the index's
    ``shared_features``: in a trio of one DCS, one manager and one practitioner,
    a feature is named by all three groups when all three name it. Each feature
    carries ``trios``, the share of the authority's trios in which it is (the
    product of the three groups' shares); the index averages 1 - 2^-S over the
    same trios, S being the number of features the trio shares.
    """
    positive, develop = feature_rows(a, a.positive, feature_codes, True), feature_rows(a, a.develop, feature_codes, False)
    groups = {}
    for g, name in enumerate(GROUPS):
        members = a.role == g
        lv = a.level[members]
        lv = lv[~np.isnan(lv)]
        levels_named = {}
        for lvl in (1, 2, 3, 4):
            cols = [j for j, c in enumerate(impact_codes) if code_levels.get(c) == lvl]
            levels_named[str(lvl)] = int(a.impacts[members][:, cols].any(axis=1).sum()) if cols else 0
        groups[name] = {
            "n": int(members.sum()), "levels_given": int(lv.size),
            "mean": float(lv.mean()) if lv.size else None,
            "min": float(lv.min()) if lv.size else None, "max": float(lv.max()) if lv.size else None,
            "distribution": {f"{s:g}": int((lv == s).sum()) for s in LEVEL_STEPS},
            "impact_levels_named": levels_named,
        }
    shared = {r["code"] for r in positive if r["trios"] >= SHARED_MOST}
    return {
        "positive": positive, "to_develop": develop, "groups": groups,
        "shared_per_trio": float(sum(r["trios"] for r in positive)),
        "respondents": info.respondents, "evidence": info.evidence,
        "staff_selection": info.staff_selection,
        "quotes": pick_quotes(quotes, shared, [info.name, info.locality or ""]),
        "gaps": authority_gaps(a, gap_cols),
    }


def continuum_thirds(data, result: RoundScores) -> tuple[list[int], list[int]]:
    """Authority indices (as in ``data.mentions``) of the upper and the lower third of the
    placed authorities, by rank; a third is a whole number of authorities (none under three)."""
    index = {a.id: i for i, a in enumerate(data.authorities)}
    placed = [index[s.key] for s in result.scores if s.confidence is not None]     # ranked
    k = len(placed) // 3
    return (placed[:k], placed[len(placed) - k:]) if k else ([], [])


def key_group_tables(m, cols) -> dict:
    """The report's tables for the respondents of one key group."""
    return {"impacts_by_level": tables.impacts_by_level(m, cols.levels),
            "table1": tables.table1(m, cols.cyp),
            "table2": tables.table2(m, cols.feature),
            "to_develop": tables.to_develop(m, cols.feature),
            "respondents_by_role": {r: int(n) for r, n in zip(tables.ROLES, m.respondents_by_role())}}


def round_summary(data, result: RoundScores) -> dict:
    """Round-level tables stored with the scores (report Tables 1 and 2 and more)."""
    cols = data.columns
    gap_cols = gap_columns(cols.impact, cols.feature)
    upper, lower = continuum_thirds(data, result)
    return {
        "labels": cols.labels,
        "levels": cols.levels,
        "steering": sorted(cols.steering),
        "impacts_by_level": tables.impacts_by_level(data.mentions, cols.levels),
        "embedding": tables.embedding(data.mentions, cols.levels),
        "progress": tables.progress(data.mentions),
        "level_reach": tables.level_reach(data.mentions, cols.levels),
        "respondents_by_role": {r: int(n) for r, n in zip(tables.ROLES, data.mentions.respondents_by_role())},
        "table1": tables.table1(data.mentions, cols.cyp),
        "table2": tables.table2(data.mentions, cols.feature),
        "gaps": consortium_gaps(data.score_input.authorities, gap_cols),
        "sensitivity": result.sensitivity,
        "n_authorities": len(data.authorities),
        "to_develop": tables.to_develop(data.mentions, cols.feature),
        "suggestions": tables.suggestions(data.mentions, cols.suggestion),
        "thirds": tables.thirds(data.mentions, cols.impact, cols.feature, cols.levels, upper, lower),
        "key_groups": {code: {"label": label} | key_group_tables(
                           data.mentions.subset(data.respondent_key_group == i), cols)
                       for i, (code, label) in enumerate(data.key_groups.items())},
    }
