"""Method 2.0 through the database: seeds, publication, change between rounds, level 4,
consortium gaps stratified by authority, researchers' placements, sensitivity."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import sqlalchemy as sa
from statsmodels.stats.contingency_tables import StratifiedTable

from impactmodel import codebook as codebook_mod
from impactmodel.auth.models import Role
from impactmodel.consortium.models import Authority, Participation
from impactmodel.interchange import csvio
from impactmodel.scoring import gaps, placements, present, report, services
from impactmodel.scoring.core import GROUPS
from impactmodel.scoring.models import ConfidenceScore, RoundPublication, RoundScoring
from tests.conftest import ENGINES
from tests.scoring.helpers import figure_csvs, import_round, to_csv


@pytest.fixture
def figures(session):
    coded, levels = figure_csvs()
    return import_round(session, "Round 1", coded, levels)


def _json(runner, *args):
    result = runner.invoke(args=["score", "--round", "Round 1", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_recompute_without_a_seed_reuses_the_stored_seed_and_reproduces(runner, figures):
    first = _json(runner, "--seed", "17", "--replicates", "200")
    again = _json(runner, "--replicates", "200")
    assert again == first


def test_an_authority_that_cannot_be_placed_is_in_the_json_with_a_reason(runner, session, figures):
    csvio.import_levels(session, io.StringIO(to_csv(
        ["authority", "respondent", "role", "level"],
        [["Tiny", "d", "dcs", "2"], ["Tiny", "m", "manager", "2"], ["Tiny", "p", "practitioner", "3"]])), "Round 1")
    data = _json(runner)
    tiny = data[-1]
    assert tiny["authority"] == "Tiny" and tiny["confidence"] is None and tiny["rank"] is None
    assert tiny["n"] == {"dcs": 1, "manager": 1, "practitioner": 1}
    assert tiny["reason"].startswith("too few interviewed to place")
    assert [d["rank"] for d in data[:-1]] == [1, 2]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_publishing_freezes_the_numbers_and_they_can_be_reproduced(runner, session, figures):
    data = _json(runner, "--seed", "4", "--replicates", "100")
    published = runner.invoke(args=["score", "--round", "Round 1", "--publish"])
    assert published.exit_code == 0, published.output
    pub = session.scalar(sa.select(RoundPublication))
    assert pub.seed == 4 and pub.method_version == "2.0" and len(pub.data_hash) == 64
    assert pub.codebook_signature == codebook_mod.load().structure
    assert [r["confidence"] for r in pub.results] == [d["confidence"] for d in data]
    # A published round is not recomputed: the frozen numbers are printed.
    frozen = runner.invoke(args=["score", "--round", "Round 1", "--json", "--seed", "9"])
    assert json.loads(frozen.stdout) == data and "published" in frozen.stderr
    with pytest.raises(services.RoundPublished):
        services.compute_scores(session, "test", figures)
    ok = runner.invoke(args=["score", "--round", "Round 1", "--reproduce"])
    assert ok.exit_code == 0 and "reproduced exactly" in ok.output
    # Change the data: the reproduction says so and fails.
    csvio.import_levels(session, io.StringIO("authority,respondent,role,level\nNortham,manager-1,manager,1\n"),
                        "Round 1")
    bad = runner.invoke(args=["score", "--round", "Round 1", "--reproduce"])
    assert bad.exit_code != 0 and "Data CHANGED" in bad.output and "Northam: confidence" in bad.output
    again = runner.invoke(args=["score", "--round", "Round 1", "--publish"])
    assert again.exit_code != 0 and "already published" in again.output


def test_publishing_from_the_web_is_for_administrators(client, auth, session, figures):
    services.compute_scores(session, "test", figures, seed=2, n_replicates=50)
    auth.login(Role.RESEARCHER)
    assert client.post(f"/rounds/{figures.id}/scores/publish").status_code == 403
    auth.logout()
    auth.login(Role.ADMIN)
    r = client.post(f"/rounds/{figures.id}/scores/publish", follow_redirects=True)
    assert "published" in r.get_data(as_text=True)
    page = client.get(f"/rounds/{figures.id}/scores").get_data(as_text=True)
    assert "Published" in page and "Recompute scores" not in page
    r = client.post(f"/rounds/{figures.id}/scores/compute", data={"seed": "1"}, follow_redirects=True)
    assert "cannot be recomputed" in r.get_data(as_text=True)


def _two_rounds(session, second_name="Round 2"):
    coded, levels = figure_csvs()
    r1 = import_round(session, "Round 1", coded, levels)
    r2 = import_round(session, second_name, coded, levels)
    services.compute_scores(session, "test", r1, seed=1, n_replicates=50)
    services.compute_scores(session, "test", r2, seed=1, n_replicates=50)
    return r1, r2


def test_change_between_rounds_has_its_own_interval(session):
    r1, r2 = _two_rounds(session)
    viewer = present.Viewer(type("U", (), {"role": Role.ADMIN, "may_see_authority": staticmethod(lambda _i: True),
                                           "authority_display_name": staticmethod(lambda a: a.name)})(), 5)
    rows = present.change_rows(services.stored_results(session, r2), services.earlier_scores(session, r2), viewer)
    assert {r["name"] for r in rows} == {"Northam", "Southby"}
    for r in rows:
        # The same data twice: no change, an interval around zero, nothing "clear".
        assert r["change"] == pytest.approx(0.0, abs=1e-12)
        assert r["low"] < 0 < r["high"] and r["clear"] is False and r["why_not"] is None
        assert r["n_before"] == "1 DCS · 3 SM · 4 PR"


def test_rounds_scored_with_another_method_or_codebook_are_not_compared(session):
    r1, r2 = _two_rounds(session)
    viewer = present.Viewer(type("U", (), {"role": Role.ADMIN, "may_see_authority": staticmethod(lambda _i: True),
                                           "authority_display_name": staticmethod(lambda a: a.name)})(), 5)
    old = session.scalar(sa.select(RoundScoring).where(RoundScoring.round_id == r1.id))
    old.method_version = "1.0"
    session.commit()
    rows = present.change_rows(services.stored_results(session, r2), services.earlier_scores(session, r2), viewer)
    assert all(r["change"] is None and "method 1.0" in r["why_not"] for r in rows)
    old.method_version = "2.0"
    old.codebook_signature = "0" * 64
    session.commit()
    rows = present.change_rows(services.stored_results(session, r2), services.earlier_scores(session, r2), viewer)
    assert all(r["change"] is None and "codebook" in r["why_not"] for r in rows)
    table = present.change_table(rows)
    assert "Not compared because" in table.columns


def test_rewording_a_label_keeps_the_codebook_structure(tmp_path):
    cb = codebook_mod.load()
    text = codebook_mod.active_path().read_text(encoding="utf-8")
    reworded = codebook_mod.parse(text.replace('label: "Tools and frameworks"', 'label: "Tools, frameworks"'))
    assert reworded.checksum != cb.checksum and reworded.structure == cb.structure
    # The same wording with one code's valences changed (L4.spread loses to_develop).
    spread = text.index("  - id: L4.spread\n")
    moved = codebook_mod.parse(text[:spread] + text[spread:].replace("    valences: [positive, to_develop]\n", "", 1))
    assert moved.get("L4.spread").valences == ("positive",) and moved.structure != cb.structure


def test_level_4_aspirations_are_reported_and_not_counted_as_impacts(session):
    rows = [["Northam", f"{role}-1", role, "L4.information", "to_develop", ""] for role in GROUPS]
    rows += [["Northam", "dcs-1", "dcs", "L4.spread", "positive", ""],
             ["Northam", "manager-1", "manager", "P.too_early", "positive", ""],
             ["Northam", "practitioner-1", "practitioner", "P.shared_understanding", "to_develop", ""]]
    coded, levels = figure_csvs()
    coded += to_csv(["h"], rows).split("\n", 1)[1]
    rnd = import_round(session, "Round 1", coded, levels)
    services.compute_scores(session, "test", rnd, seed=1, n_replicates=50)
    summary = services.stored_results(session, rnd).scoring.summary
    emb = {r["code"]: r for r in summary["embedding"]}
    assert emb["L4.information"]["aspiration"] == {"dcs": 1, "manager": 1, "practitioner": 1}
    assert emb["L4.information"]["achieved"] == {"dcs": 0, "manager": 0, "practitioner": 0}
    assert emb["L4.spread"]["achieved"]["dcs"] == 1
    impacts = {r["code"]: r for r in summary["impacts_by_level"]}
    assert sum(impacts["L4.information"]["respondents"].values()) == 0
    assert impacts["L4.spread"]["respondents"]["dcs"] == 1
    progress = {(r["code"], r["valence"]): r for r in summary["progress"]}
    assert progress[("P.too_early", "positive")]["respondents"]["manager"] == 1
    assert progress[("P.shared_understanding", "to_develop")]["respondents"]["practitioner"] == 1


def test_consortium_gaps_are_stratified_by_authority_and_match_statsmodels():
    rng = np.random.default_rng(5)
    A, C = 6, 4
    n1, n2 = rng.integers(2, 9, A), rng.integers(3, 12, A)
    m = np.array([[rng.integers(0, n1[a] + 1) for a in range(A)] for _ in range(C)])
    p = np.array([[rng.integers(0, n2[a] + 1) for a in range(A)] for _ in range(C)])
    found = {g.column: g for g in gaps.stratified_gaps(m, n1, p, n2)}
    for c, g in found.items():
        tables = [np.array([[m[c, a], n1[a] - m[c, a]], [p[c, a], n2[a] - p[c, a]]]) for a in range(A)]
        # Reference: statsmodels' StratifiedTable, CMH without continuity correction.
        assert g.p == pytest.approx(StratifiedTable(tables).test_null_odds(correction=False).pvalue, rel=1e-9)


def test_small_groups_say_no_gap_could_reach_significance():
    assert gaps.smallest_possible_p(3, 5) == pytest.approx(1 / 56)     # 1 / C(8, 3): every manager, no practitioner
    assert gaps.too_few_to_detect(3, 5, tested=40)
    assert not gaps.too_few_to_detect(20, 20, tested=40)


def test_profile_says_when_gaps_cannot_be_detected(client, auth, session, figures):
    services.compute_scores(session, "test", figures, seed=1, n_replicates=50)
    northam = session.scalar(sa.select(Authority).where(Authority.name == "Northam"))
    score = services.stored_score(session, figures, northam.id)
    assert score.profile["gaps"]["too_few"] and score.profile["gaps"]["rows"] == []
    auth.login(Role.ADMIN)
    page = client.get(f"/rounds/{figures.id}/scores/authorities/{northam.public_id}").get_data(as_text=True)
    assert "no difference between managers and practitioners could reach significance" in page


def test_researchers_place_authorities_and_agreement_is_reported(client, auth, session, make_user, runner):
    coded, levels = figure_csvs(("A1", "A2"))
    rnd = import_round(session, "Round 1", coded, levels)
    for extra in ("A3", "A4", "A5", "A6"):
        src = figure_csvs((extra, extra + "x"))
        csvio.import_coded(session, io.StringIO(src[0]), "Round 1")
        csvio.import_levels(session, io.StringIO(src[1]), "Round 1")
    authorities = session.scalars(sa.select(Authority).order_by(Authority.name)).all()
    one = make_user(Role.RESEARCHER, assigned=authorities)
    two = make_user(Role.RESEARCHER, assigned=authorities)
    for a in authorities:
        stage = "confident" if not a.name.endswith(("2", "x")) else "early"
        placements.record_placement(session, one, rnd, a, stage)
        placements.record_placement(session, two, rnd, a, stage if a.name != "A3" else "developing")
    assert all(not p.scores_existed for ps in placements.placements_of(session, rnd).values() for p in ps)
    services.compute_scores(session, "test", rnd, seed=1, n_replicates=50)
    agreement = placements.agreement(session, rnd)
    assert agreement.authorities_twice == len(authorities) and agreement.before_scores == 2 * len(authorities)
    assert 0 < agreement.researchers_alpha < 1 and agreement.researchers_exact == pytest.approx(9 / 10)
    assert agreement.index_rho > 0.5 and agreement.index_rho_low < agreement.index_rho < agreement.index_rho_high
    late = placements.record_placement(session, one, rnd, authorities[0], "developing")
    assert late.scores_existed
    # Another researcher's authority cannot be placed; the page answers and keeps the index off it.
    outsider = make_user(Role.RESEARCHER, assigned=[authorities[0]])
    with pytest.raises(placements.PlacementError):
        placements.record_placement(session, outsider, rnd, authorities[1], "early")
    auth.login(Role.ADMIN)
    page = client.get(f"/rounds/{rnd.id}/placements").get_data(as_text=True)
    assert "A1" in page and "confidence index" not in page.lower().replace("look at the index", "")
    report_page = client.get(f"/rounds/{rnd.id}/report").get_data(as_text=True)
    assert "Spearman rank correlation" in report_page and "Krippendorff" in report_page


def test_placement_form_records_staff_selection_and_numbers_in_post(client, auth, session, figures):
    northam = session.scalar(sa.select(Authority).where(Authority.name == "Northam"))
    auth.login(Role.ADMIN)
    r = client.post(f"/rounds/{figures.id}/placements",
                    data={"authority": northam.id, "stage": "confident", "selection": "sampled",
                          "managers_in_post": "12", "practitioners_in_post": "40"}, follow_redirects=True)
    assert r.status_code == 200 and "Saved for Northam" in r.get_data(as_text=True)
    part = session.scalar(sa.select(Participation).where(Participation.authority_id == northam.id))
    session.refresh(part)
    assert (part.staff_selection, part.managers_in_post, part.practitioners_in_post) == ("sampled", 12, 40)
    rows = services.compute_scores(session, "test", figures, seed=1, n_replicates=50)
    fpc = next(s for s in rows if s.authority_id == northam.id)
    assert fpc.flags["staff_in_post"] == {"manager": 12, "practitioner": 40}
    bad = client.post(f"/rounds/{figures.id}/placements",
                      data={"authority": northam.id, "stage": "sure", "managers_in_post": "-3"},
                      follow_redirects=True)
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)


def test_sensitivity_to_the_formula_is_stored(session, figures):
    services.compute_scores(session, "test", figures, seed=1, n_replicates=50)
    alts = {a["name"]: a for a in services.stored_results(session, figures).scoring.summary["alternatives"]}
    assert {"equal_weights", "levels_only", "codes_only", "uncorrected_agreement"} <= set(alts)
    for a in alts.values():
        assert set(a["ranks"].values()) <= {1, 2}
    assert "second_coder" not in alts          # nothing was double coded
    rows = session.scalars(sa.select(ConfidenceScore)).all()
    assert all(r.method_version == "2.0" for r in rows)


def test_profile_defines_named_by_all_three_groups_as_the_score_does(session):
    coded, levels = figure_csvs()
    rnd = import_round(session, "Round 1", coded, levels)
    services.compute_scores(session, "test", rnd, seed=1, n_replicates=50)
    for s in services.stored_results(session, rnd).scores:
        pos = s.profile["positive"]
        for f in pos:
            shares = f["shares"]
            assert f["trios"] == pytest.approx(shares["dcs"] * shares["manager"] * shares["practitioner"])
        assert s.profile["shared_per_trio"] == pytest.approx(sum(f["trios"] for f in pos))
    assert report.SHARED_MOST == present.SHARED_MOST
