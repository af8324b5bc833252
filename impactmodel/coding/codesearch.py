"""Ranked search over the codebook: the workbench's code picker and the codebook page.

Each code is offered once per valence it allows. A query's words are matched against,
in order of strength: the code's id (the whole id, or a prefix of it or of one of its
parts), its label (and children's wording), its group (labels of the group and its
parents, and "level N"), then its description and rules (definition, when to use it).
A code is found when every word matches somewhere; it ranks by its weakest word, then
by the sum over its words, then in codebook order. Hyphens, underscores and spaces are
the same (``co-location`` finds ``F.co_location``); words naming a valence
(``to develop``) choose among a code's valences.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from impactmodel.codebook import Codebook, CodeDef

EXACT_ID, ID_PREFIX, LABEL, GROUP, DESCRIPTION = range(5)
WORD = re.compile(r"[^\W_]+")
QUERY_WORD = re.compile(r"[^\W_]+(?:\.[^\W_]+)*\.?")


def normalise(text: str) -> str:
    """Casefolded, with runs of hyphens, underscores and spaces as one space."""
    return re.sub(r"[\s_\-‐-―]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _words(*texts: str) -> tuple[str, ...]:
    return tuple(w for t in texts if t for w in WORD.findall(normalise(t)))


@dataclass(frozen=True)
class Hit:
    code: CodeDef
    valence: str
    tier: int        # EXACT_ID ... DESCRIPTION: the weakest match among the query's words


def _group_words(cb: Codebook, code: CodeDef) -> tuple[str, ...]:
    texts, gid = [], code.group
    while gid in cb.groups:
        group = cb.groups[gid]
        texts.append(group["label"])
        if group.get("level"):
            texts.append(f"level {group['level']}")
        gid = group.get("parent")
    return _words(*texts)


def _word_tier(word: str, id_norm: str, id_parts: tuple[str, ...], fields: list[tuple[int, tuple[str, ...]]]):
    if id_norm.startswith(word) or any(p.startswith(word) for p in id_parts):
        return ID_PREFIX
    for tier, words in fields:
        if any(w.startswith(word) for w in words):
            return tier
    return None


def search(cb: Codebook, query: str) -> list[Hit]:
    """The (code, valence) pairs matching ``query``, best first; every pair for an empty query."""
    q = normalise(query)
    words = [w.rstrip(".") for w in QUERY_WORD.findall(q)]
    ranked = []
    for position, code in enumerate(cb.codes.values()):
        id_norm = normalise(code.id)
        id_parts = tuple(re.split(r"[.\s]+", id_norm))
        fields = [(LABEL, _words(code.label, code.child_label or "")),
                  (GROUP, _group_words(cb, code)),
                  (DESCRIPTION, _words(code.description, code.definition, code.include))]
        tiers = {w: _word_tier(w, id_norm, id_parts, fields) for w in words}
        for order, valence in enumerate(code.valences):
            valence_words = _words(valence)
            word_tiers = [EXACT_ID if any(v.startswith(w) for v in valence_words) else tiers[w] for w in words]
            if None in word_tiers:
                continue
            tier = EXACT_ID if q == id_norm else max(word_tiers, default=EXACT_ID)
            ranked.append(((tier, sum(word_tiers), position, order), Hit(code, valence, tier)))
    ranked.sort(key=lambda pair: pair[0])
    return [hit for _key, hit in ranked]


def search_codes(cb: Codebook, query: str) -> list[Hit]:
    """As :func:`search`, one hit per code (its best valence)."""
    seen: set[str] = set()
    return [h for h in search(cb, query) if not (h.code.id in seen or seen.add(h.code.id))]
