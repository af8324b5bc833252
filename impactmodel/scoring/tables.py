"""The round report's tables, computed from plain arrays (no ORM, no Flask).

Counts are of *respondents* (a respondent who was coded twice with the same code
counts once) and of *authorities* (where at least one respondent of the group
mentioned the code). Suppression of small numbers is the presenter's job: these
functions return the true counts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

ROLES = ("dcs", "manager", "practitioner", "parent", "child")
STAFF = ROLES[:3]
VALENCES = ("positive", "to_develop", "negative")
# The report shows a parent or child view only where five or more people gave it (l.438).
TABLE1_MINIMUM = 5


@dataclass
class Mentions:
    """Distinct (respondent, code, valence) mentions of a round.

    Attributes
    ----------
    respondent_authority, respondent_role : ndarray of int, shape (R,)
        Authority index (0..A-1) and role index into ``ROLES`` of each respondent.
    n_authorities : int
    codes : sequence of str
        The code ids the ``code`` column indexes.
    respondent, code, valence : ndarray of int, shape (M,)
        One row per coding (duplicates allowed; they count once).
    """

    respondent_authority: np.ndarray
    respondent_role: np.ndarray
    n_authorities: int
    codes: Sequence[str]
    respondent: np.ndarray
    code: np.ndarray
    valence: np.ndarray

    def __post_init__(self):
        R = self.respondent_authority.size
        C, V = len(self.codes), len(VALENCES)
        key = np.unique((self.respondent.astype(np.int64) * C + self.code) * V + self.valence)
        self._r = key // (C * V)
        self._c = (key // V) % C
        self._v = key % V
        self._R = R

    def counts(self, valence: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Respondents (roles x codes) and authorities (roles x codes) mentioning each code.

        ``valence`` None counts a respondent once whatever the valence.
        """
        C = len(self.codes)
        if valence is None:
            key = np.unique(self._r * C + self._c)
            r, c = key // C, key % C
        else:
            keep = self._v == VALENCES.index(valence)
            r, c = self._r[keep], self._c[keep]
        role = self.respondent_role[r]
        resp = np.zeros((len(ROLES), C), dtype=np.int64)
        np.add.at(resp, (role, c), 1)
        A = self.n_authorities
        auth_key = np.unique((role * A + self.respondent_authority[r]) * C + c)
        auth_role = auth_key // (A * C)
        auths = np.zeros((len(ROLES), C), dtype=np.int64)
        np.add.at(auths, (auth_role, auth_key % C), 1)
        return resp, auths

    def subset(self, keep: np.ndarray) -> Mentions:
        """The mentions of the respondents where ``keep`` (bool, shape (R,)) is true, such as
        one key group's. Authorities are renumbered over those that keep a respondent, so
        ``n_authorities`` (and with it Table 2's "half the authorities") counts only them."""
        kept = np.flatnonzero(keep)
        new_index = np.full(self._R, -1, dtype=np.int64)
        new_index[kept] = np.arange(kept.size)
        present, authority = np.unique(self.respondent_authority[kept], return_inverse=True)
        rows = keep[self._r]
        return Mentions(respondent_authority=authority.reshape(-1).astype(np.int64),
                        respondent_role=self.respondent_role[kept], n_authorities=int(present.size),
                        codes=self.codes, respondent=new_index[self._r[rows]], code=self._c[rows],
                        valence=self._v[rows])

    def respondents_by_role(self) -> np.ndarray:
        return np.bincount(self.respondent_role, minlength=len(ROLES))

    def authority_group_mentions(self, authority: int, valence: str | None = None) -> np.ndarray:
        """Respondents of each role (rows) in one authority mentioning each code (columns)."""
        C = len(self.codes)
        keep = self.respondent_authority[self._r] == authority
        if valence is not None:
            keep &= self._v == VALENCES.index(valence)
        key = np.unique(self._r[keep] * C + self._c[keep])
        r, c = key // C, key % C
        out = np.zeros((len(ROLES), C), dtype=np.int64)
        np.add.at(out, (self.respondent_role[r], c), 1)
        return out


def _achieved(m: Mentions, code_levels: dict[str, int]) -> np.ndarray:
    """Which distinct mentions are impacts achieved: not a level-4 code named "to develop"
    (embedding hoped for, an aspiration)."""
    level_of = np.array([code_levels.get(c, 0) for c in m.codes])
    return ~((level_of[m._c] == 4) & (m._v == VALENCES.index("to_develop")))


def impacts_by_level(m: Mentions, code_levels: dict[str, int]) -> list[dict]:
    """Respondents of each group naming each impact code, level by level.

    Level-4 aspirations are left out (they are in :func:`embedding`). Returns one
    dict per impact code (levels 1-4, in codebook order):
    ``{"code", "level", "respondents": {role: n}, "authorities": n}``.
    """
    keep = _achieved(m, code_levels)
    C = len(m.codes)
    key = np.unique(m._r[keep] * C + m._c[keep])
    r, c = key // C, key % C
    resp = np.zeros((len(ROLES), C), dtype=np.int64)
    np.add.at(resp, (m.respondent_role[r], c), 1)
    out = []
    for j, code in enumerate(m.codes):
        level = code_levels.get(code)
        if level is None:
            continue
        # An authority counts when any group there named the code.
        out.append({"code": code, "level": level,
                    "respondents": {role: int(resp[i, j]) for i, role in enumerate(ROLES)},
                    "authorities": int(np.unique(m.respondent_authority[r[c == j]]).size)})
    return out


def embedding(m: Mentions, code_levels: dict[str, int]) -> list[dict]:
    """Level 4, achieved against hoped for: staff of each group naming each level-4 code as
    embedded now (``positive``) and as a sign of embedding still to come (``to_develop``)."""
    pos, _ = m.counts("positive")
    asp, _ = m.counts("to_develop")
    return [{"code": code, "achieved": {role: int(pos[ROLES.index(role), j]) for role in STAFF},
             "aspiration": {role: int(asp[ROLES.index(role), j]) for role in STAFF}}
            for j, code in enumerate(m.codes) if code_levels.get(code) == 4]


def progress(m: Mentions, codes: Sequence[str] = ("P.too_early", "P.shared_understanding")) -> list[dict]:
    """Staff of each group saying it is too early to say, and whether the meaning of
    integration is shared (``positive``) or only partly or not yet (``to_develop``)."""
    out = []
    for code in codes:
        if code not in m.codes:
            continue
        j = list(m.codes).index(code)
        for valence in ("positive", "to_develop"):
            if valence == "to_develop" and code == "P.too_early":
                continue
            resp, _ = m.counts(valence)
            rows = m._r[(m._c == j) & (m._v == VALENCES.index(valence))]
            rows = rows[m.respondent_role[rows] < len(STAFF)]
            out.append({"code": code, "valence": valence,
                        "respondents": {role: int(resp[ROLES.index(role), j]) for role in STAFF},
                        "authorities": int(np.unique(m.respondent_authority[rows]).size)})
    return out


def table1(m: Mentions, cyp_codes: Sequence[str], minimum: int = TABLE1_MINIMUM) -> dict:
    """Parents' and children's views on support received (report Table 1).

    Each list holds the L3.cyp codes given by at least ``minimum`` parents (or
    children), most often given first, ties by code id.
    """
    resp, _ = m.counts()
    cols = [j for j, c in enumerate(m.codes) if c in set(cyp_codes)]
    out = {}
    for role in ("parent", "child"):
        i = ROLES.index(role)
        rows = [{"code": m.codes[j], "respondents": int(resp[i, j])} for j in cols if resp[i, j] >= minimum]
        rows.sort(key=lambda r: (-r["respondents"], r["code"]))
        out[role] = rows
    out["respondents"] = {role: int(n) for role, n in zip(ROLES, m.respondents_by_role())}
    out["minimum"] = minimum
    return out


def table2(m: Mentions, feature_codes: Sequence[str]) -> dict:
    """Key contributing features by group (report Table 2).

    For each staff group, the features it named as positive in at least half
    the authorities, ranked by the number of authorities and then of participants.
    """
    resp, auths = m.counts("positive")
    cols = [j for j, c in enumerate(m.codes) if c in set(feature_codes)]
    half = math.ceil(m.n_authorities / 2)
    out = {"authorities": m.n_authorities, "minimum_authorities": half, "groups": {}}
    for role in STAFF:
        i = ROLES.index(role)
        rows = [{"code": m.codes[j], "authorities": int(auths[i, j]), "respondents": int(resp[i, j])}
                for j in cols if auths[i, j] >= half and auths[i, j] > 0]
        rows.sort(key=lambda r: (-r["authorities"], -r["respondents"], r["code"]))
        out["groups"][role] = rows
    return out


def level_reach(m: Mentions, code_levels: dict[str, int]) -> dict:
    """For each level 1-4 and role: respondents naming at least one impact at that level."""
    level_of = np.array([code_levels.get(c, 0) for c in m.codes])
    lv = np.where(_achieved(m, code_levels), level_of[m._c], 0)
    out = {}
    for level in (1, 2, 3, 4):
        rows = np.unique(m._r[lv == level])
        counts = np.bincount(m.respondent_role[rows], minlength=len(ROLES))
        out[str(level)] = {role: int(counts[i]) for i, role in enumerate(ROLES)}
    return out


def to_develop(m: Mentions, feature_codes: Sequence[str]) -> dict:
    """Features still to develop, by staff group across the consortium.

    For each staff group, every feature it named as still to develop, with the
    authorities where someone of the group named it and the people who did, ranked
    by authorities and then people.
    """
    resp, auths = m.counts("to_develop")
    features = set(feature_codes)
    out = {"authorities": m.n_authorities, "groups": {}}
    for role in STAFF:
        i = ROLES.index(role)
        rows = [{"code": m.codes[j], "authorities": int(auths[i, j]), "respondents": int(resp[i, j])}
                for j, c in enumerate(m.codes) if c in features and resp[i, j] > 0]
        rows.sort(key=lambda r: (-r["authorities"], -r["respondents"], r["code"]))
        out["groups"][role] = rows
    return out


def suggestions(m: Mentions, suggestion_codes: Sequence[str], minimum: int = TABLE1_MINIMUM) -> dict:
    """Parents' and carers' suggestions for improvement given by at least ``minimum`` of them,
    most often given first (the report shows a view only where five or more gave it)."""
    resp, auths = m.counts()
    i = ROLES.index("parent")
    codes = set(suggestion_codes)
    rows = [{"code": m.codes[j], "respondents": int(resp[i, j]), "authorities": int(auths[i, j])}
            for j, c in enumerate(m.codes) if c in codes and resp[i, j] >= minimum]
    rows.sort(key=lambda r: (-r["respondents"], r["code"]))
    return {"rows": rows, "parents": int(m.respondents_by_role()[i]), "minimum": minimum,
            "fewer": sum(1 for j, c in enumerate(m.codes) if c in codes and 0 < resp[i, j] < minimum)}


THIRD_KINDS = ("impact", "positive", "to_develop")


def thirds(m: Mentions, impact_codes: Sequence[str], feature_codes: Sequence[str],
           code_levels: dict[str, int], upper: Sequence[int], lower: Sequence[int]) -> dict:
    """Impacts and features named by staff in the upper and the lower third of the continuum.

    ``upper`` and ``lower`` are authority indices. For each impact (achieved, as in
    :func:`impacts_by_level`), feature named as positive and feature named as still to
    develop: the staff of each third naming it and the authorities where someone did,
    beside the staff and authorities of each third.
    """
    thirds_of = {"upper": np.isin(m.respondent_authority, np.asarray(upper, dtype=np.int64)),
                 "lower": np.isin(m.respondent_authority, np.asarray(lower, dtype=np.int64))}
    staff = m.respondent_role < len(STAFF)
    C = len(m.codes)
    index = {c: j for j, c in enumerate(m.codes)}
    achieved = _achieved(m, code_levels)
    selections = {"impact": (achieved, impact_codes),
                  "positive": (m._v == VALENCES.index("positive"), feature_codes),
                  "to_develop": (m._v == VALENCES.index("to_develop"), feature_codes)}
    out = {t: {"authorities": len(a), "staff": int((thirds_of[t] & staff).sum())}
           for t, a in (("upper", upper), ("lower", lower))}
    out["rows"] = []
    for kind in THIRD_KINDS:
        chosen, codes = selections[kind]
        keep = chosen & staff[m._r]
        key = np.unique(m._r[keep] * C + m._c[keep])
        r, c = key // C, key % C
        counts = {}
        for t, member in thirds_of.items():
            inside = member[r]
            people = np.bincount(c[inside], minlength=C)
            auth_key = np.unique(m.respondent_authority[r[inside]] * C + c[inside])
            counts[t] = (people, np.bincount(auth_key % C, minlength=C))
        for code in codes:
            j = index.get(code)
            if j is None or not (counts["upper"][0][j] or counts["lower"][0][j]):
                continue
            out["rows"].append({"code": code, "kind": kind,
                                "upper_staff": int(counts["upper"][0][j]),
                                "upper_authorities": int(counts["upper"][1][j]),
                                "lower_staff": int(counts["lower"][0][j]),
                                "lower_authorities": int(counts["lower"][1][j])})
    return out
