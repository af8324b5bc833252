"""Background jobs of coding (see impactmodel/jobs.py)."""
from __future__ import annotations

from flask import current_app

from impactmodel import jobs
from impactmodel.auth.models import User
from impactmodel.coding import disagreements, stored_reliability
from impactmodel.consortium.models import Round
from impactmodel.db import db


@jobs.handler("reliability.compute")
def compute_reliability(arguments: dict) -> None:
    """Compute and store a round's reliability report, with its progress on the job."""
    session = db.session
    rnd = session.get(Round, arguments["round_id"])
    if rnd is None:
        return       # the round was removed while the job waited
    actor = session.get(User, arguments["user_id"]) if arguments.get("user_id") else "worker"
    cfg = current_app.config
    stored_reliability.compute(
        session, actor, rnd, n_resamples=cfg["CODING_BOOTSTRAP_RESAMPLES"],
        per_code_resamples=cfg["CODING_BOOTSTRAP_RESAMPLES_PER_CODE"],
        progress=lambda pct, msg: jobs.report_progress(session, arguments["job_id"], pct, msg))
    # The same change to the double coding moves the answers' verdicts on: compare them
    # here too, in the background, so the disagreements page finds them ready.
    disagreements.refresh_verdicts(session, rnd.id)
