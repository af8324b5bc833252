"""Ranked codebook search: id, then id prefix, then label, then group, then description."""
from __future__ import annotations

import html

import pytest

from impactmodel import codebook as codebook_mod
from impactmodel.auth.models import Role
from impactmodel.coding.codesearch import (DESCRIPTION, EXACT_ID, GROUP, ID_PREFIX, LABEL, normalise,
                                           search, search_codes)

CB = codebook_mod.load(codebook_mod.CODEBOOK_PATH)


def ids(query):
    return [h.code.id for h in search_codes(CB, query)]


@pytest.mark.parametrize("query", ["co-location", "co_location", "Co Location", "CO‑LOCATION", "co location"])
def test_hyphens_underscores_and_spaces_are_the_same(query):
    assert normalise(query) == "co location"
    assert ids(query)[0] == "F.co_location"
    # L1.structures mentions co-location only in its description: found, but below.
    assert ids(query).index("L1.structures") > 0
    assert search_codes(CB, query)[-1].tier == DESCRIPTION


def test_an_exact_id_comes_first_then_codes_it_prefixes():
    hits = search(CB, "L1.tools")
    assert [(h.code.id, h.tier) for h in hits] == [("L1.tools", EXACT_ID)]
    assert ids("l1") == [c.id for c in CB.by_group("L1")]
    assert {h.tier for h in search(CB, "l1")} == {ID_PREFIX}
    # "tools" is the last part of an id: L1.tools before codes whose rules mention tools.
    assert ids("tools")[0] == "L1.tools" and search_codes(CB, "tools")[1].tier == DESCRIPTION


def test_label_matches_rank_above_description_matches():
    hits = search_codes(CB, "dialogue")
    assert hits[0].code.id == "L2.dialogue"
    found = search_codes(CB, "relaxed")
    assert found[0].code.id == "L3.cyp.calmer" and found[0].tier == LABEL    # "Calmer, more relaxed"
    assert all(h.tier == DESCRIPTION for h in found[1:])


def test_level_words_find_the_codes_of_that_level():
    found = ids("level 3")
    level3 = [c.id for c in CB.codes.values() if c.level == 3]
    assert found[:len(level3)] == level3
    assert {h.tier for h in search_codes(CB, "level 3")[:len(level3)]} == {GROUP}
    # L4.outcomes says "level 3 embedded" in its description: after every level-3 code.
    assert found[len(level3):] == ["L4.outcomes"]
    assert "L1.tools" not in found and "L4.outcomes" not in ids("level 3")[:len(level3)]


def test_valence_words_choose_the_valence():
    assert [(h.code.id, h.valence) for h in search(CB, "ict to develop")][0] == ("F.ict", "to_develop")
    assert [(h.code.id, h.valence) for h in search(CB, "F.ict")] == [("F.ict", "positive"), ("F.ict", "to_develop")]
    assert {h.code.id for h in search(CB, "negative") if h.tier == EXACT_ID} == {"L2.workload", "L2.other_negative"}


def test_every_word_must_match_and_an_empty_query_lists_everything():
    assert search(CB, "zzzz") == [] and search(CB, "co zzzz") == []
    everything = search(CB, "   ")
    assert len(everything) == sum(len(c.valences) for c in CB.codes.values())
    assert [h.code.id for h in everything][:2] == ["L1.tools", "L1.structures"]


def test_search_answers_ranked_pairs_as_json(client, auth):
    auth.login(Role.RESEARCHER)
    r = client.get("/coding/codebook/search", query_string={"q": "co-location"})
    assert r.status_code == 200
    assert r.json["results"][:2] == [{"code": "F.co_location", "valence": "positive"},
                                     {"code": "F.co_location", "valence": "to_develop"}]
    long = client.get("/coding/codebook/search", query_string={"q": "x" * 5000})
    assert long.status_code == 200 and long.json["results"] == []


def test_codebook_page_searches_and_shows_rules_in_a_tree(client, auth):
    auth.login(Role.ANALYST)
    page = client.get("/coding/codebook", query_string={"q": "co-location"}).get_data(as_text=True)
    hits = page.split('<ol class="search-hits">')[1].split("</ol>")[0]
    assert hits.index("F.co_location") < hits.index("L1.structures")
    assert html.escape(CB.get("F.co_location").definition, quote=False) in hits
    tree = page.split('<ul class="codebook-tree"')[1]
    dialogue = tree.split('id="tree-L2-dialogue"')[1].split("</details>")[0]
    for heading in ("Definition", "Use when", "Do not use when", "Example"):
        assert f"<dt>{heading}" in dialogue
    assert html.escape(CB.get("L2.dialogue").exclude, quote=False) in dialogue
    # Sub-groups sit inside their parent group.
    level3 = tree.split("<strong>L3</strong>")[1].split("<strong>L4</strong>")[0]
    assert "<strong>L3.cyp</strong>" in level3
    none = client.get("/coding/codebook", query_string={"q": "zzzz"}).get_data(as_text=True)
    assert "0 codes for “zzzz”" in none and "No code matches every word" in none
