"""Recomputation requested from the web: one run per round at a time, stopped runs end,
and two computations of one round at once leave one consistent set of results."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.auth.models import Role
from impactmodel.consortium.models import Round
from impactmodel.db import utcnow
from impactmodel.scoring import services
from impactmodel.scoring.models import ConfidenceScore, RoundScoring, ScoringRun
from tests.conftest import ENGINES
from tests.scoring.helpers import figure_csvs, import_round


@pytest.fixture
def rnd(session):
    coded, levels = figure_csvs()
    return import_round(session, "Round 1", coded, levels)


def _runs(session):
    return session.scalars(sa.select(ScoringRun).order_by(ScoringRun.id)).all()


def test_a_second_request_follows_the_run_under_way(client, auth, session, rnd):
    first, new = services.start_run(session, "test", rnd, seed=1)
    assert new and first.status == "queued"
    again, new = services.start_run(session, "test", rnd, seed=2)
    assert (again.id, new) == (first.id, False)
    auth.login(Role.RESEARCHER)
    response = client.post(f"/rounds/{rnd.id}/scores/compute", data={"seed": "3"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/scoring/runs/{first.id}")
    session.expire_all()
    assert [r.id for r in _runs(session)] == [first.id]
    assert _runs(session)[0].status == "queued"        # the request started no second worker
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "already being computed" in page


def test_two_clicks_give_one_run(client, auth, session, rnd):
    auth.login(Role.ADMIN)
    client.post(f"/rounds/{rnd.id}/scores/compute", data={"seed": "1"})
    client.post(f"/rounds/{rnd.id}/scores/compute", data={"seed": "1"})
    # Inline (tests): the first had finished, so the second is a new run; both done, none left running.
    assert [r.status for r in _runs(session)] == ["done", "done"]


def test_a_run_that_stopped_shows_as_failed_and_a_new_one_can_start(client, auth, session, rnd):
    run = ScoringRun(round_id=rnd.id, status="running", progress=40, message="Scored 1 of 2 authorities",
                     seed=0, created_at=utcnow() - services.RUN_TIMEOUT - timedelta(minutes=1))
    fresh = ScoringRun(round_id=rnd.id, status="queued", progress=0, message="Waiting to start", seed=0)
    session.add_all([run, fresh])
    session.commit()
    auth.login(Role.RESEARCHER)
    status = client.get(f"/scoring/runs/{run.id}.json").get_json()
    assert status["status"] == "failed" and status["done"] is True
    assert "please start again" in status["message"].lower()
    page = client.get(f"/scoring/runs/{run.id}").get_data(as_text=True)
    assert "Please start again" in page and "no-js-hint" not in page
    # A recent run is still under way.
    assert client.get(f"/scoring/runs/{fresh.id}.json").get_json()["status"] == "queued"
    session.delete(session.get(ScoringRun, fresh.id))
    session.commit()
    _, new = services.start_run(session, "test", rnd)
    assert new


def test_a_worker_never_takes_a_run_twice(session, rnd):
    run, _ = services.start_run(session, "test", rnd, seed=1)
    services.execute_run(session, run.id, "test", n_replicates=20)
    first = session.scalar(sa.select(RoundScoring.computed_at))
    services.execute_run(session, run.id, "test", n_replicates=20)
    assert session.scalar(sa.select(RoundScoring.computed_at)) == first


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_two_computations_at_once_leave_one_consistent_set(app, session, rnd, database_url):
    engine = app.extensions["impactmodel.engine"]
    # Both reach the saving step together, where they would collide.
    together = threading.Barrier(2, timeout=60)
    errors, done = [], []

    def work(seed):
        with Session(bind=engine, expire_on_commit=False) as s:
            try:
                services.compute_scores(s, "test", s.get(Round, rnd.id), seed=seed, n_replicates=30,
                                        progress=lambda pct, _m: together.wait() if pct == 92 else None)
                done.append(seed)
            except Exception as exc:     # reported below
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and sorted(done) == [1, 2]
    session.expire_all()
    scores = session.scalars(sa.select(ConfidenceScore).where(ConfidenceScore.round_id == rnd.id)).all()
    scoring = session.scalars(sa.select(RoundScoring).where(RoundScoring.round_id == rnd.id)).all()
    assert len(scores) == 2 and len(scoring) == 1
    # Every row is from the same computation: the one whose round-level row stands.
    assert {s.profile["uncertainty"]["seed"] for s in scores} == {scoring[0].seed}
    assert {s.computed_at for s in scores} == {scoring[0].computed_at}
