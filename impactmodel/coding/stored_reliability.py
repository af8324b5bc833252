"""A round's reliability report, stored like its scores and recomputed as a background job.

The report covers every double-coded answer of the round; pages read the stored copy
(``RoundReliability``) and queue a recomputation when there is none or the double
coding has changed since.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

import hashlib
import json

from impactmodel import codebook as codebook_mod
from impactmodel import jobs
from impactmodel.audit import record
from impactmodel.coding import queries, reliability
from impactmodel.coding.models import RoundReliability
from impactmodel.consortium.models import Round
from impactmodel.db import utcnow

SEED = 20081
JOB = "reliability.compute"


def _key(rnd: Round) -> str:
    return f"reliability:{rnd.id}"


# Raised when the report gains figures, so reports stored before are computed again.
REPORT_VERSION = 2


def signature(session: Session, rnd: Round, options: dict) -> str:
    """What the stored report depends on: the double coding, the codebook, the options."""
    parts = [queries.double_coding_fingerprint(session, rnd.id), codebook_mod.load().checksum,
             sorted(options.items()), REPORT_VERSION]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def compute(session: Session, actor, rnd: Round, *, n_resamples: int, per_code_resamples: int,
            seed: int = SEED, progress=None) -> reliability.ReliabilityReport:
    """Compute the round's report over all its double-coded answers, replace the stored one, commit."""
    options = {"n_resamples": n_resamples, "per_code_resamples": per_code_resamples, "seed": seed}
    if progress is not None:
        progress(5, "Reading the double coding")
    # The signature first: a change while the report is computed makes it stale at once.
    current = signature(session, rnd, options)
    data = queries.double_coded(session, rnd.id)
    report = reliability.reliability_report(data, list(codebook_mod.load().codes), progress=progress, **options)
    if progress is not None:
        progress(95, "Saving")
    stored = session.scalar(sa.select(RoundReliability).where(RoundReliability.round_id == rnd.id))
    if stored is None:
        stored = RoundReliability(round_id=rnd.id)
        session.add(stored)
    stored.report = report.to_json()
    stored.input_signature = current
    stored.seed = seed
    stored.computed_at = utcnow()
    record(session, actor, "reliability.compute", "round", rnd.id, answers=report.n_units, seed=seed)
    session.commit()
    return report


def request(session: Session, actor, rnd: Round) -> tuple[jobs.Job, bool]:
    """Queue a recomputation of the round's report unless one is queued or running; commit.

    Returns the job and whether it is new.
    """
    job, new = jobs.enqueue(session, JOB, {"round_id": rnd.id, "user_id": getattr(actor, "id", None)},
                            key=_key(rnd))
    if new:
        record(session, actor, "reliability.request", "job", job.id, round_id=rnd.id)
    session.commit()
    return job, new


def active_job(session: Session, rnd: Round) -> jobs.Job | None:
    return session.scalar(sa.select(jobs.Job).where(jobs.Job.key == _key(rnd), jobs.Job.status.in_(jobs.ACTIVE))
                          .order_by(jobs.Job.id).limit(1))


@dataclass
class Stored:
    report: reliability.ReliabilityReport
    computed_at: object
    signature: str


def stored(session: Session, rnd: Round) -> Stored | None:
    row = session.scalar(sa.select(RoundReliability).where(RoundReliability.round_id == rnd.id))
    if row is None:
        return None
    return Stored(reliability.ReliabilityReport.from_json(row.report), row.computed_at, row.input_signature)


def is_stale(session: Session, rnd: Round, found: Stored) -> bool:
    """Whether the round's double coding (or the codebook) changed since the report was computed."""
    options = {"n_resamples": found.report.n_resamples, "per_code_resamples": found.report.per_code_resamples,
               "seed": found.report.seed}
    return signature(session, rnd, options) != found.signature


def pooled_alpha(session: Session, rnd: Round) -> float | None:
    """The stored pooled figure of the round, Krippendorff's multi-valued alpha (a report
    stored before it existed: the pooled nominal alpha), None when none is stored or defined."""
    report = session.scalar(sa.select(RoundReliability.report).where(RoundReliability.round_id == rnd.id)) or {}
    if report.get("mv_alpha"):
        return report["mv_alpha"].get("estimate")
    overall = report.get("overall") or {}
    return (overall.get("krippendorff_alpha") or {}).get("estimate")


def below_threshold(session: Session, rnd: Round) -> dict | None:
    """``{"alpha", "threshold"}`` when the round's stored pooled figure (multi-valued alpha) is below its
    threshold (the flag its scores carry), else None."""
    if rnd.reliability_threshold is None:
        return None
    alpha = pooled_alpha(session, rnd)
    if alpha is None or alpha >= rnd.reliability_threshold:
        return None
    return {"alpha": alpha, "threshold": rnd.reliability_threshold}


def set_threshold(session: Session, actor, rnd: Round, threshold: float | None) -> None:
    """Set (or, with None, clear) the round's reliability threshold; commit."""
    if threshold is not None and not 0 <= threshold <= 1:
        raise ValueError("The threshold is a Krippendorff's alpha between 0 and 1.")
    rnd.reliability_threshold = threshold
    record(session, actor, "reliability.threshold", "round", rnd.id, threshold=threshold)
    session.commit()
