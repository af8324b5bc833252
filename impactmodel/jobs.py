"""The background job queue: work that outlasts a request, kept as rows in the database.

A job is a row (``job``) naming a registered handler and its JSON arguments. Any
process of the application may run jobs: the web process runs a worker loop in a
thread unless ``JOBS_IN_WEB`` is off, and ``impactmodel worker`` runs one on its own
(the production option, so long computations never share a web worker's CPU).
Because a queued job is a row, it survives a restart of every process and is picked
up by whichever worker polls next.

A worker claims the oldest queued job in one transaction: on PostgreSQL with
``SELECT ... FOR UPDATE SKIP LOCKED``, so several workers never take one job and
never wait for each other; on SQLite, which has one writer at a time, with an
update that only succeeds while the job is still queued. A running job writes a
heartbeat; a job whose worker stopped (no heartbeat for ``JOBS_STALE_SECONDS``) is
queued again, up to ``MAX_ATTEMPTS`` attempts in all.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import Any, Callable

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Mapped, Session, mapped_column

from impactmodel.db import Base, db, utcnow

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
MAX_ATTEMPTS = 3

Handler = Callable[[dict], None]
_handlers: dict[str, Handler] = {}


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (sa.Index("ix_job_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(60))
    # At most one queued or running job per key (e.g. one reliability run per round).
    key: Mapped[str | None] = mapped_column(sa.String(120), index=True)
    arguments: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")   # queued, running, done, failed
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.String(200), default="Waiting to start")
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register ``fn(arguments)`` as the handler of jobs of ``kind``; it runs in an app context."""
    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn
    return register


def enqueue(session: Session, kind: str, arguments: dict, *, key: str | None = None) -> tuple[Job, bool]:
    """Queue a job (the caller commits), unless one with ``key`` is queued or running.

    Returns the job and whether it is new.
    """
    if kind not in _handlers:
        raise LookupError(f"no job handler called {kind!r}")
    if key is not None:
        active = session.scalar(sa.select(Job).where(Job.key == key, Job.status.in_(ACTIVE))
                                .order_by(Job.id).limit(1))
        if active is not None:
            return active, False
    job = Job(kind=kind, key=key, arguments=arguments, status="queued", progress=0, message="Waiting to start")
    session.add(job)
    session.flush()
    return job, True


def report_progress(session: Session, job_id: int, pct: int, message: str) -> None:
    """Store a running job's progress and heartbeat, committed at once for pages to read."""
    session.execute(sa.update(Job).where(Job.id == job_id)
                    .values(progress=pct, message=message[:200], heartbeat_at=utcnow()))
    session.commit()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:120]


def requeue_abandoned(session: Session, stale_after: timedelta) -> int:
    """Queue again the running jobs whose worker has stopped; fail those out of attempts."""
    cutoff = utcnow() - stale_after
    abandoned = (Job.status == "running") & (sa.func.coalesce(Job.heartbeat_at, Job.created_at) < cutoff)
    failed = session.execute(sa.update(Job).where(abandoned, Job.attempts >= MAX_ATTEMPTS).values(
        status="failed", message="Stopped: the work did not finish. Please start again.",
        finished_at=utcnow())).rowcount
    again = session.execute(sa.update(Job).where(abandoned).values(
        status="queued", message="Waiting to start again", worker=None)).rowcount
    session.commit()
    return failed + again


def claim(session: Session, worker: str) -> Job | None:
    """Take the oldest queued job for ``worker``, or None when nothing is queued."""
    candidate = sa.select(Job.id).where(Job.status == "queued").order_by(Job.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    job_id = session.scalar(candidate)
    if job_id is None:
        session.rollback()
        return None
    taken = session.execute(sa.update(Job).where(Job.id == job_id, Job.status == "queued").values(
        status="running", worker=worker, attempts=Job.attempts + 1, heartbeat_at=utcnow(),
        message="Starting", progress=1)).rowcount
    session.commit()
    if not taken:           # another SQLite worker took it between the two statements
        return None
    return session.get(Job, job_id, populate_existing=True)


def run_job(session: Session, job: Job) -> None:
    """Run a claimed job and record how it ended."""
    fn = _handlers.get(job.kind)
    try:
        if fn is None:
            raise LookupError(f"no job handler called {job.kind!r}")
        fn(dict(job.arguments, job_id=job.id))
    except Exception as exc:  # the job must end in a state a page can show
        session.rollback()
        log.exception("job %s (%s) failed", job.id, job.kind)
        session.execute(sa.update(Job).where(Job.id == job.id).values(
            status="failed", message=f"Failed: {type(exc).__name__}", finished_at=utcnow()))
        session.commit()
        return
    session.execute(sa.update(Job).where(Job.id == job.id).values(
        status="done", progress=100, message="Done", finished_at=utcnow()))
    session.commit()


def work_once(app: Flask, worker: str | None = None) -> bool:
    """Claim and run one job in a fresh app context; whether there was one."""
    with app.app_context():
        session = db.session
        requeue_abandoned(session, timedelta(seconds=app.config["JOBS_STALE_SECONDS"]))
        job = claim(session, worker or worker_name())
        if job is None:
            return False
        run_job(session, job)
        return True


def work(app: Flask, *, stop: threading.Event, poll_seconds: float, burst: bool = False) -> None:
    """Run jobs until ``stop`` is set (or, with ``burst``, until none is queued)."""
    name = worker_name()
    while not stop.is_set():
        try:
            ran = work_once(app, name)
        except Exception:   # a database hiccup must not end the loop
            log.exception("job worker %s could not poll", name)
            ran = False
        if not ran:
            if burst:
                return
            stop.wait(poll_seconds)


def dispatch() -> None:
    """After a view queued work and committed: with ``JOBS_INLINE`` (tests) run it
    now, in the request; otherwise a worker's next poll picks it up."""
    app = current_app._get_current_object()
    if app.config["JOBS_INLINE"]:
        while work_once(app):
            pass


_web_worker_lock = threading.Lock()


def _start_web_worker(app: Flask) -> None:
    """The web process's own worker thread, started on its first request (so CLI
    commands and ``db upgrade`` start none, and each gunicorn worker starts its own
    after forking)."""
    if "impactmodel.jobs.stop" in app.extensions or not app.config["JOBS_IN_WEB"] or app.config["JOBS_INLINE"]:
        return
    with _web_worker_lock:
        if "impactmodel.jobs.stop" in app.extensions:
            return
        stop = app.extensions["impactmodel.jobs.stop"] = threading.Event()
        threading.Thread(target=work, args=(app,), kwargs={"stop": stop, "poll_seconds": app.config["JOBS_POLL_SECONDS"]},
                         daemon=True, name="impactmodel-jobs").start()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
@with_appcontext
def worker_command(burst):
    """Run background jobs (scores, reliability) until stopped."""
    app = current_app._get_current_object()
    click.echo(f"Worker {worker_name()} waiting for jobs (Ctrl+C to stop).")
    try:
        work(app, stop=threading.Event(), poll_seconds=app.config["JOBS_POLL_SECONDS"], burst=burst)
    except KeyboardInterrupt:
        click.echo("Stopped.")


def init_app(app: Flask) -> None:
    # Tests run jobs in the request, or start a worker themselves.
    app.config.setdefault("JOBS_INLINE", app.testing)
    app.config.setdefault("JOBS_IN_WEB", not app.testing)
    app.config.setdefault("JOBS_POLL_SECONDS", 1.0)
    app.config.setdefault("JOBS_STALE_SECONDS", 300)
    app.cli.add_command(worker_command)
    app.before_request(lambda: _start_web_worker(app))
