"""Pages, JSON and downloads: anonymisation, small-number suppression, stored results only."""
from __future__ import annotations

import csv
import io
import json
import threading
import time

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from impactmodel import jobs
from impactmodel.auth.models import Role
from impactmodel.consortium.models import Authority
from impactmodel.jobs import Job
from impactmodel.scoring import core, services
from impactmodel.scoring.models import ConfidenceScore, ScoringRun
from tests.scoring.helpers import FIGURE2, _coded_rows, figure_csvs, import_round, to_csv

NAMES = ("Northam", "Southby", "Eastwick")
QUOTE = "In Northam locality working is how we do things now; ring 01234 567890 to see."


@pytest.fixture
def scored(session):
    coded, levels = figure_csvs(NAMES[:2])
    # A third authority without practitioners, and a quote naming its own authority.
    extra = [r for r in _coded_rows("Eastwick", FIGURE2, per_member=False) if r[2] != "practitioner"]
    extra.append(["Northam", "manager-1", "manager", "F.locality_working", "positive", QUOTE])
    coded += to_csv(["authority", "respondent", "role", "code", "valence", "excerpt"], extra).split("\n", 1)[1]
    levels += "Eastwick,dcs-1,dcs,2\nEastwick,manager-1,manager,2.5\n"
    rnd = import_round(session, "Round 1", coded, levels)
    services.compute_scores(session, "test", rnd, seed=1, n_replicates=100)
    authorities = {a.name: a for a in session.scalars(sa.select(Authority))}
    return rnd, authorities


def _urls(rnd, authorities):
    rid = rnd.id
    pages = [f"/scores", f"/rounds/{rid}/scores", f"/rounds/{rid}/report", f"/rounds/{rid}/scores.json"]
    pages += [f"/rounds/{rid}/scores/authorities/{a.public_id}" for a in authorities.values()]
    return pages


def _downloads(rnd, authorities):
    rid = rnd.id
    out = [f"/rounds/{rid}/scores/tables/{t}.{fmt}" for t in ("continuum", "impacts", "table1", "table2",
                                                              "gaps", "change") for fmt in ("csv", "xlsx")]
    out += [f"/rounds/{rid}/scores/authorities/{a.public_id}/tables/{t}.{fmt}" for a in authorities.values()
            for t in ("positive", "to_develop", "levels", "gaps", "components") for fmt in ("csv", "xlsx")]
    return out


def _text(response) -> str:
    if response.mimetype.endswith("spreadsheetml.sheet"):
        wb = load_workbook(io.BytesIO(response.data))
        return "\n".join(" ".join("" if v is None else str(v) for v in row)
                         for ws in wb for row in ws.iter_rows(values_only=True))
    return response.get_data(as_text=True)


def test_analyst_sees_no_names_and_no_small_counts(client, auth, scored):
    rnd, authorities = scored
    auth.login(Role.ANALYST)
    for url in _urls(rnd, authorities) + _downloads(rnd, authorities):
        response = client.get(url)
        assert response.status_code == 200, url
        text = _text(response)
        for name in NAMES:
            assert name not in text, (url, name)
        assert "01234" not in text and "how we do things now" not in text, url
    profile = client.get(f"/rounds/{rnd.id}/scores/authorities/{authorities['Northam'].public_id}").get_data(as_text=True)
    assert authorities["Northam"].label in profile
    assert "counts under 5 are hidden" in profile
    assert "&lt;5" in profile                               # 3 managers: suppressed
    assert "fewer than 5 people: not shown" in profile      # a group's levels
    levels_csv = client.get(f"/rounds/{rnd.id}/scores/authorities/{authorities['Northam'].public_id}"
                            "/tables/levels.csv").get_data(as_text=True)
    assert "Service manager,<5,,," in levels_csv
    table2 = client.get(f"/rounds/{rnd.id}/scores/tables/table2.csv").get_data(as_text=True)
    # Authorities are not people: their count is shown; the three directors are not.
    assert "Locality working*,3,<5" in table2.replace('"', "")
    data = client.get(f"/rounds/{rnd.id}/scores.json").get_json()
    assert {d["authority"] for d in data} == {a.label for a in authorities.values()}


def test_contact_sees_own_authority_named_others_anonymised(client, auth, scored):
    rnd, authorities = scored
    own, other = authorities["Northam"], authorities["Southby"]
    auth.login(Role.AUTHORITY_CONTACT, authority=own)
    continuum = client.get(f"/rounds/{rnd.id}/scores").get_data(as_text=True)
    assert "Northam" in continuum and "Southby" not in continuum and other.label in continuum
    mine = client.get(f"/rounds/{rnd.id}/scores/authorities/{own.public_id}").get_data(as_text=True)
    assert "Northam" in mine.split("<h1>")[1].split("</h1>")[0]
    # Quotes: own authority only, with the authority's name and a phone number taken out.
    assert "In [the authority] locality working is how we do things now; ring [number] to see." in mine
    theirs = client.get(f"/rounds/{rnd.id}/scores/authorities/{other.public_id}").get_data(as_text=True)
    assert "Southby" not in theirs and other.label in theirs and "In their words" not in theirs
    assert "&lt;5" in theirs
    data = client.get(f"/rounds/{rnd.id}/scores.json").get_json()
    assert sorted(d["authority"] for d in data) == sorted(["Northam", other.label, authorities["Eastwick"].label])
    # Consortium downloads are for analysts, researchers and admins.
    assert client.get(f"/rounds/{rnd.id}/scores/tables/table2.csv").status_code == 403


def test_researcher_sees_assigned_authorities_named(client, auth, scored):
    rnd, authorities = scored
    auth.login(Role.RESEARCHER, assigned=[authorities["Southby"]])
    data = client.get(f"/rounds/{rnd.id}/scores.json").get_json()
    assert sorted(d["authority"] for d in data) == sorted(
        ["Southby", authorities["Northam"].label, authorities["Eastwick"].label])
    page = client.get(f"/rounds/{rnd.id}/scores").get_data(as_text=True)
    assert "Southby" in page and "Northam" not in page


def test_admin_sees_names_and_json_matches_cli_numbers(client, auth, scored, session):
    rnd, authorities = scored
    auth.login(Role.ADMIN)
    data = client.get(f"/rounds/{rnd.id}/scores.json").get_json()
    stored = session.scalars(sa.select(ConfidenceScore).where(ConfidenceScore.round_id == rnd.id)
                             .order_by(ConfidenceScore.rank.is_(None), ConfidenceScore.rank)).all()
    assert [(d["authority"], d["confidence"], d["ci_low"], d["ci_high"], d["rank"], d["n"]) for d in data] == \
        [(s.authority.name, s.confidence, s.ci_low, s.ci_high, s.rank, s.n) for s in stored]
    # No practitioners interviewed: not placed, never filled in from other authorities.
    eastwick = next(d for d in data if d["authority"] == "Eastwick")
    assert eastwick["flags"]["missing_groups"] == ["practitioner"]
    assert eastwick["confidence"] is None and eastwick["rank"] is None
    assert eastwick["n"] == {"dcs": 1, "manager": 3, "practitioner": 0}
    assert eastwick["reason"].startswith("too few interviewed to place")
    page = client.get(f"/rounds/{rnd.id}/scores").get_data(as_text=True)
    assert "Too few interviewed to place" in page and "1 DCS · 3 SM · 0 PR" in page


def test_pages_answer_from_stored_results_without_recomputing(client, auth, scored, monkeypatch):
    rnd, authorities = scored

    def refuse(*args, **kwargs):
        raise AssertionError("pages must not recompute")
    monkeypatch.setattr(core, "score_round", refuse)
    monkeypatch.setattr(services.queries, "load_round", refuse)
    auth.login(Role.ADMIN)
    for url in _urls(rnd, authorities) + _downloads(rnd, authorities):
        assert client.get(url).status_code == 200, url


def test_pages_have_no_inline_styles_or_scripts(client, auth, scored):
    rnd, authorities = scored
    auth.login(Role.ADMIN)
    for url in _urls(rnd, authorities):
        if url.endswith(".json"):
            continue
        html = client.get(url).get_data(as_text=True)
        assert "style=" not in html and "<script>" not in html and "onclick" not in html, url
        assert "<svg" in html or url == "/scores", url


def test_empty_states_before_any_score(client, auth, make_round, make_authority):
    rnd = make_round("Unscored")
    a = make_authority("Westfold", round=rnd)
    auth.login(Role.ANALYST)
    assert "No scores have been computed" in client.get(f"/rounds/{rnd.id}/scores").get_data(as_text=True)
    assert "appears once scores have been computed" in client.get(f"/rounds/{rnd.id}/report").get_data(as_text=True)
    assert "No stored score" in client.get(f"/rounds/{rnd.id}/scores/authorities/{a.public_id}").get_data(as_text=True)
    assert client.get(f"/rounds/{rnd.id}/scores.json").get_json() == []
    # Every table downloads for any round: before scoring, its header and no rows (the XLSX says why).
    empty = client.get(f"/rounds/{rnd.id}/scores/tables/table1.csv")
    assert empty.status_code == 200 and len(empty.get_data(as_text=True).splitlines()) == 1
    about = load_workbook(io.BytesIO(client.get(f"/rounds/{rnd.id}/scores/tables/table1.xlsx").data))["About"]
    assert "has not been scored yet" in " ".join(str(c.value) for row in about.iter_rows() for c in row)


def test_recompute_button_stores_scores_and_reports_progress(client, auth, session):
    coded, levels = figure_csvs()
    rnd = import_round(session, "Round 1", coded, levels)
    auth.login(Role.RESEARCHER)
    response = client.post(f"/rounds/{rnd.id}/scores/compute", data={"seed": "7"})
    assert response.status_code == 302 and "/scoring/runs/" in response.headers["Location"]
    status = client.get(response.headers["Location"] + ".json").get_json()
    assert status["status"] == "done" and status["progress"] == 100
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "See the scores" in page and "progress" in page
    assert session.scalar(sa.select(sa.func.count()).select_from(ConfidenceScore)) == 2
    bad = client.post(f"/rounds/{rnd.id}/scores/compute", data={"seed": "-3"}, follow_redirects=True)
    assert "Use a whole number" in bad.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ScoringRun)) == 1


@pytest.mark.parametrize("app_config", [{"JOBS_INLINE": False, "SCORING_REPLICATES": 100}])
def test_recompute_runs_in_the_background(app, client, auth, session, app_config):
    coded, levels = figure_csvs()
    rnd = import_round(session, "Round 1", coded, levels)
    auth.login(Role.ADMIN)
    location = client.post(f"/rounds/{rnd.id}/scores/compute", data={"seed": "1"}).headers["Location"]
    # The request only queued the work: a row any worker can take.
    assert client.get(location + ".json").get_json()["status"] == "queued"
    assert session.scalar(sa.select(Job.status).where(Job.kind == "scoring.run")) == "queued"
    stop = threading.Event()
    worker = threading.Thread(target=jobs.work, args=(app,), kwargs={"stop": stop, "poll_seconds": 0.05})
    worker.start()
    seen = []
    try:
        for _ in range(400):
            status = client.get(location + ".json").get_json()
            seen.append(status["progress"])
            if status["done"]:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert status["status"] == "done", status
    assert seen == sorted(seen)
    assert client.get(f"/rounds/{rnd.id}/scores.json").get_json()[0]["authority"] == "Northam"
    session.expire_all()
    assert session.scalar(sa.select(Job.status).where(Job.kind == "scoring.run")) == "done"


def test_round_report_shows_change_since_an_earlier_round(client, auth, session):
    coded, levels = figure_csvs()
    first = import_round(session, "Round 1", coded, levels)
    services.compute_scores(session, "test", first, seed=1, n_replicates=100)
    # Round 2: the early-stage authority now looks like the confident one.
    coded2, levels2 = figure_csvs(("Northam", "Southby-old"))
    coded2 = coded2.replace("Northam", "Southby").replace("Southby-old", "Northam")
    levels2 = levels2.replace("Northam", "Southby").replace("Southby-old", "Northam")
    second = import_round(session, "Round 2", coded2, levels2)
    services.compute_scores(session, "test", second, seed=1, n_replicates=100)
    auth.login(Role.ADMIN)
    html = client.get(f"/rounds/{second.id}/report").get_data(as_text=True)
    assert "Change since the authority" in html and "Round 1" in html
    text = client.get(f"/rounds/{second.id}/scores/tables/change.csv").get_data(as_text=True)
    head, *rows = csv.reader(io.StringIO(text))
    col = {c: i for i, c in enumerate(head)}
    assert [r[col["Authority"]] for r in rows] == ["Southby", "Northam"]
    assert all(r[col["Previous round"]] == "Round 1" for r in rows)
    # The change has its own interval; both moved well clear of zero.
    assert [r[col["Change clear of zero"]] for r in rows] == ["yes", "yes"]
    up, down = (float(r[col["Change"]]) for r in rows)
    assert up > 0 > down
    assert float(rows[0][col["95% interval low"]]) > 0 > float(rows[1][col["95% interval high"]])


def test_profile_charts_leave_room_for_their_labels():
    from impactmodel.scoring import charts
    comps = [{"label": "Agreement on types of impact", "value": 0.4, "weight": 0.25}]
    assert charts.components(comps)["left"] >= len("Agreement on types of impact (25%)") * 6.6 + 10
    groups = [{"label": "Director of Children's Services", "short": "DCS", "distribution": {}, "mean": None,
               "present": True, "visible": False}]
    assert charts.levels(groups)["left"] >= len("Director of Children's Services") * 6.6 + 10
