"""The reliability report stored per round, computed on the job queue, and the round's threshold."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.app import create_app

from impactmodel import jobs
from impactmodel.auth.models import Role
from impactmodel.coding import reliability, services, stored_reliability
from impactmodel.coding.models import RoundReliability
from impactmodel.consortium.models import Authority
from impactmodel.db import make_engine, utcnow
from impactmodel.jobs import Job
from impactmodel.scoring import services as scoring
from tests.coding.test_double import double_coded  # noqa: F401  (fixture)
from tests.coding.test_reliability_vectorised import CODES, synthetic
from tests.conftest import ENGINES, config_for
from tests.scoring.helpers import figure_csvs, import_round

QUEUED = {"JOBS_INLINE": False, "CODING_BOOTSTRAP_RESAMPLES": 100, "CODING_BOOTSTRAP_RESAMPLES_PER_CODE": 50}


def _jobs(session):
    session.expire_all()
    return session.execute(sa.select(Job.kind, Job.status).order_by(Job.id)).all()


def _stored(session, rnd):
    return session.scalar(sa.select(RoundReliability).where(RoundReliability.round_id == rnd.id))


def _work_until_idle(app):
    jobs.work(app, stop=threading.Event(), poll_seconds=0, burst=True)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
@pytest.mark.parametrize("app_config", [QUEUED])
def test_the_page_queues_a_run_when_nothing_is_stored_then_reads_the_stored_report(
        app, client, auth, session, double_coded, make_answer, monkeypatch, app_config):  # noqa: F811
    rnd, a, b, answers = double_coded
    auth.login(Role.ANALYST)
    page = client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    assert "Computing the figures" in page and 'id="run-progress"' in page and "Krippendorff's α (main" not in page
    assert _jobs(session) == [("reliability.compute", "queued")] and _stored(session, rnd) is None
    # A second look follows the same run; its status is there to poll.
    client.get(f"/coding/reliability?round={rnd.id}")
    assert len(_jobs(session)) == 1
    job_id = session.scalar(sa.select(Job.id))
    status = client.get(f"/coding/reliability/jobs/{job_id}.json").get_json()
    assert status["status"] == "queued" and status["done"] is False

    _work_until_idle(app)
    assert _jobs(session) == [("reliability.compute", "done")]
    stored = _stored(session, rnd)
    assert stored.report["n_units"] == 4
    assert client.get(f"/coding/reliability/jobs/{job_id}.json").get_json()["done"] is True

    # From now on the page only reads: computing here would fail the request.
    def refuse(*_args, **_kwargs):
        raise AssertionError("the page computed the report")
    monkeypatch.setattr(reliability, "reliability_report", refuse)
    page = client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    assert "0.53" in page and "75.0%" in page and "Gwet's AC1" in page and "Per pair of coders" in page
    assert "Computing the figures" not in page and len(_jobs(session)) == 1
    assert "Unit: an answer × code decision, by presence" in page
    assert "By span overlap" in page and "Unit: a character of an answer × code" in page
    monkeypatch.undo()

    # New double coding: the stored figures stay on show while a recomputation is queued.
    borough = session.get(Authority, answers[0].response.respondent.authority_id)
    extra = make_answer(rnd, borough, "Answer 5: the forum meets monthly now.")
    with app.app_context():
        services.add_coding(session, a, extra.id, "L2.dialogue", None, 0, 4)
        services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=8)
        services.add_coding(session, b, extra.id, "L2.dialogue", None, 0, 4)
        services.finish_second_coding(session, b, extra.id)
    page = client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    assert "Recomputing" in page and "0.53" in page
    assert _jobs(session)[-1] == ("reliability.compute", "queued")


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
@pytest.mark.parametrize("app_config", [QUEUED])
def test_a_queued_job_survives_a_restart_and_a_new_worker_takes_it(database_url, app, session, double_coded,
                                                                  app_config):  # noqa: F811
    rnd, a, *_ = double_coded
    stored_reliability.request(session, a, rnd)
    # Every process stops: the job is a row, so a new process (another app, engine and
    # worker) finds it.
    app.extensions["impactmodel.engine"].dispose()
    fresh = create_app(config_for(database_url, **QUEUED))
    try:
        _work_until_idle(fresh)
    finally:
        fresh.extensions["impactmodel.engine"].dispose()
    assert _jobs(session) == [("reliability.compute", "done")]
    assert _stored(session, rnd).report["n_units"] == 4


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
@pytest.mark.parametrize("app_config", [QUEUED])
def test_a_job_whose_worker_stopped_is_taken_up_again(app, session, double_coded, app_config):  # noqa: F811
    rnd, a, *_ = double_coded
    job, _ = stored_reliability.request(session, a, rnd)
    # A worker claimed it, then its process died: no heartbeat since.
    with app.app_context():
        assert jobs.claim(session, "gone:1").id == job.id
    session.execute(sa.update(Job).values(heartbeat_at=utcnow() - timedelta(hours=1)))
    session.commit()
    _work_until_idle(app)
    session.expire_all()
    job = session.get(Job, job.id)
    assert (job.status, job.attempts) == ("done", 2)
    assert _stored(session, rnd) is not None
    # Out of attempts, an abandoned job fails instead of running for ever.
    again, _ = stored_reliability.request(session, a, rnd)
    session.execute(sa.update(Job).where(Job.id == again.id).values(
        status="running", attempts=jobs.MAX_ATTEMPTS, heartbeat_at=utcnow() - timedelta(hours=1)))
    session.commit()
    assert jobs.requeue_abandoned(session, timedelta(minutes=5)) == 1
    session.expire_all()
    assert session.get(Job, again.id).status == "failed"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_workers_skip_a_job_another_worker_holds(app, database_url, session, double_coded):  # noqa: F811
    rnd, a, *_ = double_coded
    first, _ = stored_reliability.request(session, a, rnd)
    other_round = scoring.find_round(session, rnd.name)
    second, _ = jobs.enqueue(session, "reliability.compute", {"round_id": other_round.id}, key="other")
    session.commit()
    engine = make_engine(database_url)
    try:
        with Session(engine) as holder, Session(engine) as worker:
            # One worker is in the middle of claiming the oldest job...
            held = holder.scalar(sa.select(Job.id).where(Job.status == "queued").order_by(Job.id)
                                 .limit(1).with_for_update(skip_locked=True))
            assert held == first.id
            # ...another does not wait for it, and takes the next one.
            assert jobs.claim(worker, "second").id == second.id
            holder.rollback()
            assert jobs.claim(worker, "second").id == first.id
            assert jobs.claim(worker, "second") is None
    finally:
        engine.dispose()


def test_scores_carry_a_flag_while_reliability_is_below_the_rounds_threshold(app, client, auth, session):
    coded, levels = figure_csvs()
    rnd = import_round(session, "Round 1", coded, levels)
    scoring.compute_scores(session, "test", rnd, seed=1, n_replicates=50)
    report = reliability.reliability_report(synthetic(20, seed=3), CODES, n_resamples=50, seed=1)
    alpha = report.mv_alpha.estimate      # the pooled figure the threshold is set against
    # Stored as if computed from this round's (unchanged) double coding, so the
    # reliability page shown after each change of threshold keeps it.
    with app.app_context():
        current = stored_reliability.signature(session, rnd, {"n_resamples": 50, "per_code_resamples": 50, "seed": 1})
    session.add(RoundReliability(round_id=rnd.id, report=report.to_json(), input_signature=current, seed=1))
    session.commit()
    northam = session.scalar(sa.select(Authority).where(Authority.name == "Northam"))
    pages = [f"/rounds/{rnd.id}/scores", f"/rounds/{rnd.id}/scores/authorities/{northam.public_id}"]
    auth.login(Role.ADMIN)
    assert all("Coding reliability below threshold" not in client.get(p).get_data(as_text=True) for p in pages)
    bad = client.post(f"/coding/rounds/{rnd.id}/reliability-threshold", data={"threshold": "1.5"},
                      follow_redirects=True).get_data(as_text=True)
    assert "Use a number from 0 to 1" in bad
    session.expire_all()
    assert scoring.find_round(session, "Round 1").reliability_threshold is None
    client.post(f"/coding/rounds/{rnd.id}/reliability-threshold", data={"threshold": f"{alpha + 0.01:.3f}"})
    for p in pages + [f"/coding/reliability?round={rnd.id}"]:
        html = client.get(p).get_data(as_text=True)
        assert "Coding reliability below threshold" in html and f"{alpha:.2f}" in html
    client.post(f"/coding/rounds/{rnd.id}/reliability-threshold", data={"threshold": f"{alpha - 0.01:.3f}"})
    assert all("Coding reliability below threshold" not in client.get(p).get_data(as_text=True) for p in pages)
    client.post(f"/coding/rounds/{rnd.id}/reliability-threshold", data={"threshold": ""})
    session.expire_all()
    assert scoring.find_round(session, "Round 1").reliability_threshold is None


@pytest.mark.parametrize("app_config", [dict(QUEUED, JOBS_IN_WEB=True, JOBS_POLL_SECONDS=0.05)])
def test_the_web_process_alone_completes_queued_work(app, client, auth, session, double_coded, app_config):  # noqa: F811
    """No separate worker: the web process's own worker thread runs what a page queued."""
    rnd, *_ = double_coded
    auth.login(Role.ADMIN)
    try:
        assert "Computing the figures" in client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
        job_id = session.scalar(sa.select(Job.id))
        for _ in range(400):
            if client.get(f"/coding/reliability/jobs/{job_id}.json").get_json()["done"]:
                break
            time.sleep(0.05)
        assert _jobs(session) == [("reliability.compute", "done")]
        assert "Krippendorff's multi-valued α (pooled figure)" in client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    finally:
        app.extensions["impactmodel.jobs.stop"].set()


@pytest.mark.parametrize("app_config", [QUEUED])
def test_the_worker_command_runs_queued_jobs(app, session, double_coded, app_config):  # noqa: F811
    rnd, a, *_ = double_coded
    stored_reliability.request(session, a, rnd)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "waiting for jobs" in result.output
    assert _jobs(session) == [("reliability.compute", "done")]
