"""Background jobs of scoring (see impactmodel/jobs.py)."""
from __future__ import annotations

from flask import current_app

from impactmodel import jobs
from impactmodel.auth.models import User
from impactmodel.db import db
from impactmodel.scoring import services


@jobs.handler("scoring.run")
def run_scoring(arguments: dict) -> None:
    """Do a recomputation requested from the web (a ScoringRun), with its progress."""
    session = db.session
    job_id = arguments["job_id"]
    services.resume_run(session, arguments["run_id"])
    services.execute_run(session, arguments["run_id"], session.get(User, arguments["user_id"]),
                         n_replicates=current_app.config.get("SCORING_REPLICATES", 1000),
                         heartbeat=lambda pct, msg: jobs.report_progress(session, job_id, pct, msg))
