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
GAPS_KEPT = 12

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b")
_PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")


def gap_columns(impact_codes, feature_codes) -> list[tuple[str, str]]:
    """(code, valence) for each column of an authority's staff matrix."""
    return ([(c, "any") for c in impact_codes] + [(c, "positive") for c in feature_codes]
            + [(c, "to_develop") for c in feature_codes])


def _staff_matrix(a: AuthorityInput) -> np.ndarray:
    return np.hstack([a.impacts, a.positive, a.develop])


def authority_gaps(a: AuthorityInput, columns: list[tuple[str, str]]) -> dict:
    """Manager-practitioner gaps in one authority (Fisher exact, BH over the codes tested)."""
    X = _staff_matrix(a)
    m, p = a.role == 1, a.role == 2
    found = gaps_mod.perspective_gaps(X[m].sum(0), int(m.sum()), X[p].sum(0), int(p.sum()))
    return {"tested": len(found), "managers": int(m.sum()), "practitioners": int(p.sum()),
            "rows": [_gap_row(g, columns) for g in found[:GAPS_KEPT]]}


def _gap_row(g: gaps_mod.Gap, columns) -> dict:
    code, valence = columns[g.column]
    return {"code": code, "valence": valence, "manager_mentions": g.manager_mentions,
            "manager_n": g.manager_n, "practitioner_mentions": g.practitioner_mentions,
            "practitioner_n": g.practitioner_n, "difference": g.difference, "p": g.p, "q": g.q}


def consortium_gaps(inputs: list[AuthorityInput], columns) -> dict:
    """Managers and practitioners of the whole round pooled, one test per code."""
    m_sum = np.zeros(len(columns), dtype=np.int64)
    p_sum = np.zeros(len(columns), dtype=np.int64)
    n_m = n_p = 0
    for a in inputs:
        X = _staff_matrix(a)
        m, p = a.role == 1, a.role == 2
        m_sum += X[m].sum(0)
        p_sum += X[p].sum(0)
        n_m += int(m.sum())
        n_p += int(p.sum())
    found = gaps_mod.perspective_gaps(m_sum, n_m, p_sum, n_p)
    return {"tested": len(found), "managers": n_m, "practitioners": n_p,
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


def profile(a: AuthorityInput, info, feature_codes, impact_codes, code_levels: dict[str, int],
            quotes: list[dict], gap_cols) -> dict:
    """What an authority's profile page shows (report Figures 2-3)."""
    def features(M: np.ndarray) -> list[dict]:
        rows = []
        for j, code in enumerate(feature_codes):
            groups = [GROUPS[g] for g in range(3) if M[a.role == g, j].any()]
            if groups:
                rows.append({"code": code, "groups": groups, "respondents": int(M[:, j].sum())})
        # Named by more groups first, then by more people (the figures' order).
        rows.sort(key=lambda r: (-len(r["groups"]), -r["respondents"], r["code"]))
        return rows

    positive, develop = features(a.positive), features(a.develop)
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
    shared = {r["code"] for r in positive if len(r["groups"]) == 3}
    return {
        "positive": positive, "to_develop": develop, "groups": groups,
        "respondents": info.respondents, "evidence": info.evidence,
        "quotes": pick_quotes(quotes, shared, [info.name, info.locality or ""]),
        "gaps": authority_gaps(a, gap_cols),
    }


def round_summary(data, result: RoundScores) -> dict:
    """Round-level tables stored with the scores (report Tables 1 and 2 and more)."""
    cols = data.columns
    gap_cols = gap_columns(cols.impact, cols.feature)
    return {
        "labels": cols.labels,
        "levels": cols.levels,
        "steering": sorted(cols.steering),
        "impacts_by_level": tables.impacts_by_level(data.mentions, cols.levels),
        "level_reach": tables.level_reach(data.mentions, cols.levels),
        "respondents_by_role": {r: int(n) for r, n in zip(tables.ROLES, data.mentions.respondents_by_role())},
        "table1": tables.table1(data.mentions, cols.cyp),
        "table2": tables.table2(data.mentions, cols.feature),
        "gaps": consortium_gaps(data.score_input.authorities, gap_cols),
        "sensitivity": result.sensitivity,
        "n_authorities": len(data.authorities),
    }
