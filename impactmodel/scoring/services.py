"""Compute and store a round's confidence scores; read them back for pages and exports."""
from __future__ import annotations


from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel.audit import record
from impactmodel.codebook.models import CodebookVersion
from impactmodel.consortium.models import Authority, Round
from impactmodel.db import utcnow
from impactmodel.scoring import core, present, queries, report
from impactmodel.scoring.models import ConfidenceScore, RoundPublication, RoundScoring, ScoringRun

Progress = Callable[[int, str], None]


def find_round(session: Session, name: str) -> Round:
    rnd = session.scalar(sa.select(Round).where(Round.name == name))
    if rnd is None:
        raise LookupError(f"no round called {name!r}")
    return rnd


class RoundPublished(ValueError):
    """The round's results are published and frozen."""


def default_seed(session: Session, rnd: Round) -> int:
    """The seed of the round's stored results (0 when none): recomputing with it and
    unchanged data reproduces them exactly."""
    return session.scalar(sa.select(RoundScoring.seed).where(RoundScoring.round_id == rnd.id)) or 0


def publication(session: Session, rnd: Round) -> RoundPublication | None:
    return session.scalar(sa.select(RoundPublication).where(RoundPublication.round_id == rnd.id))


def _codebook_version(session: Session, cb) -> int | None:
    return session.scalar(sa.select(CodebookVersion.version).where(CodebookVersion.checksum == cb.checksum))


def compute_scores(session: Session, actor, rnd: Round, *, seed: int | None = None,
                   n_replicates: int = core.DEFAULT_REPLICATES,
                   progress: Progress | None = None) -> list[ConfidenceScore]:
    """Score every authority of ``rnd``, replace the round's stored results, and commit.

    Parameters
    ----------
    session : Session
    actor : User or str
        Who asked (for the audit log): a user, or ``"cli"``.
    rnd : Round
    seed : int, optional
        Seed of the rank-interval draws and the weight sensitivity; by default the
        seed of the stored results, so the same data give the same numbers.
    n_replicates : int
        Draws for the rank intervals.
    progress : callable, optional
        ``progress(percent, message)`` as the work advances.

    Returns
    -------
    list of ConfidenceScore
        The new rows, ordered by rank (authorities that cannot be placed last).

    Raises
    ------
    RoundPublished
        The round's results are published: they are frozen.
    """
    def say(pct: int, msg: str) -> None:
        if progress is not None:
            progress(pct, msg)

    published = publication(session, rnd)
    if published is not None:
        raise RoundPublished(f"{rnd.name} was published on {published.published_at:%d %B %Y}: its scores are "
                             "frozen. Use `impactmodel score --reproduce` to check them against the data.")
    if seed is None:
        seed = default_seed(session, rnd)
    say(5, "Reading codings and levels")
    # Read before the data: a change made while they are read leaves the results stale.
    inputs_version = queries.inputs_version(session, rnd.id)
    data = queries.load_round(session, rnd)
    say(20, "Scoring authorities")
    result = core.score_round(
        data.score_input, seed=seed, n_replicates=n_replicates,
        progress=lambda done, total: say(20 + int(60 * done / max(total, 1)),
                                         f"Scored {done} of {total} authorities"))
    say(82, "Building profiles and report tables")
    cols = data.columns
    gap_cols = report.gap_columns(cols.impact, cols.feature)
    inputs = {a.key: a for a in data.score_input.authorities}
    info = {a.id: a for a in data.authorities}
    now = utcnow()
    rows = []
    for s in result.scores:
        a = inputs[s.key]
        prof = report.profile(a, info[s.key], cols.feature, cols.impact, cols.levels,
                              data.quotes.get(s.key, []), gap_cols)
        prof["key_groups"] = report.key_group_profiles(a, data.staff_key_groups[s.key], list(data.key_groups),
                                                       cols.feature)
        prof["uncertainty"] = {"se": s.se, "df": s.df, "rank_draws": n_replicates, "seed": seed,
                               "staff_selection": info[s.key].staff_selection}
        rows.append(ConfidenceScore(
            round_id=rnd.id, authority_id=s.key, confidence=s.confidence, ci_low=s.ci_low,
            ci_high=s.ci_high, rank=s.rank, rank_low=s.rank_low, rank_high=s.rank_high,
            components=s.components, flags=s.flags, profile=prof, evidence=prof.get("evidence"),
            se=s.se, df=s.df, n=s.n,
            reason=s.reason, method_version=core.METHOD_VERSION, computed_at=now))
    summary = report.round_summary(data, result)
    summary["alternatives"] = [{k: v for k, v in alt.items() if k != "ranks"}
                               | {"ranks": {str(a): r for a, r in alt["ranks"].items()}}
                               for alt in core.alternative_rankings(data.score_input, result, data.second_coder_input)]
    summary["inputs_version"] = inputs_version
    summary["data_hash"] = core.data_hash(data.score_input)
    summary["weights"] = dict(zip(core.NAMES, core.WEIGHTS.tolist()))
    cb = codebook_mod.load()
    say(92, "Saving")
    # Another run of the same round may be saving now: wait for it, so the two
    # replacements follow each other instead of colliding on (round, authority).
    _serialise_round(session, rnd.id)
    session.execute(sa.delete(ConfidenceScore).where(ConfidenceScore.round_id == rnd.id))
    session.execute(sa.delete(RoundScoring).where(RoundScoring.round_id == rnd.id))
    session.add_all(rows)
    session.add(RoundScoring(round_id=rnd.id, seed=seed, replicates=n_replicates, summary=summary,
                             method_version=core.METHOD_VERSION, computed_at=now,
                             codebook_signature=cb.structure, codebook_version=_codebook_version(session, cb)))
    record(session, actor, "scores.compute", "round", rnd.id, authorities=len(rows),
           placed=sum(r.confidence is not None for r in rows), seed=seed, replicates=n_replicates)
    session.commit()
    say(100, "Done")
    return rows


def publish(session: Session, actor, rnd: Round) -> RoundPublication:
    """Freeze the round's stored results with what it takes to reproduce them; commit.

    Refused while there are no stored results, when they are stale or of an older
    method, or when the round is already published.
    """
    if publication(session, rnd) is not None:
        raise RoundPublished(f"{rnd.name} is already published.")
    stored = stored_results(session, rnd)
    if stored.empty:
        raise ValueError(f"{rnd.name} has no stored scores to publish: compute them first.")
    if stored.scoring.method_version != core.METHOD_VERSION:
        raise ValueError(f"{rnd.name} was scored with method {stored.scoring.method_version}: "
                         f"recompute with method {core.METHOD_VERSION} before publishing.")
    if is_stale(session, stored):
        raise ValueError(f"The data of {rnd.name} changed after its scores were computed: "
                         "recompute them before publishing.")
    summary = stored.scoring.summary
    pub = RoundPublication(
        round_id=rnd.id, published_by_id=getattr(actor, "id", None), data_hash=summary["data_hash"],
        method_version=stored.scoring.method_version, codebook_version=stored.scoring.codebook_version,
        codebook_signature=stored.scoring.codebook_signature, seed=stored.scoring.seed,
        replicates=stored.scoring.replicates, weights=summary.get("weights", {}),
        results=[{**present.score_json(s, None), "authority_id": s.authority_id} for s in stored.scores])
    session.add(pub)
    session.flush()
    record(session, actor, "scores.publish", "round", rnd.id, authorities=len(stored.scores),
           data_hash=pub.data_hash)
    session.commit()
    return pub


@dataclass
class Reproduction:
    same_data: bool
    same_codebook: bool
    same_method: bool
    differences: list[str]

    @property
    def reproduced(self) -> bool:
        return self.same_data and self.same_method and not self.differences


def reproduce(session: Session, rnd: Round) -> Reproduction:
    """Recompute a published round from today's data, in memory, and compare.

    Nothing is stored. ``differences`` lists every authority whose published
    number is not what the recomputation gives.
    """
    pub = publication(session, rnd)
    if pub is None:
        raise LookupError(f"{rnd.name} is not published.")
    data = queries.load_round(session, rnd)
    result = core.score_round(data.score_input, seed=pub.seed, n_replicates=pub.replicates)
    fresh = {s.key: s for s in result.scores}
    differences = []
    for row in pub.results:
        s = fresh.get(row["authority_id"])
        if s is None:
            differences.append(f"{row['authority']}: no longer in the round")
            continue
        for field_ in ("confidence", "ci_low", "ci_high", "rank", "rank_low", "rank_high"):
            if row.get(field_) != getattr(s, field_):
                differences.append(f"{row['authority']}: {field_} published {row.get(field_)}, "
                                   f"recomputed {getattr(s, field_)}")
    return Reproduction(same_data=core.data_hash(data.score_input) == pub.data_hash,
                        same_codebook=codebook_mod.load().structure == pub.codebook_signature,
                        same_method=pub.method_version == core.METHOD_VERSION, differences=differences)


@dataclass
class StoredRound:
    round: Round
    scoring: RoundScoring | None
    scores: list[ConfidenceScore]        # ordered by rank, unscored last

    @property
    def empty(self) -> bool:
        return self.scoring is None


def stored_results(session: Session, rnd: Round, *, scores: bool = True) -> StoredRound:
    """The round's stored scores (with their authorities), without recomputing.

    ``scores`` False reads only the round-level row (``StoredRound.scores`` empty).
    Each score's profile stays unread: lists of authorities, the report and the JSON
    show none of it (only results of method 1.0, which stored no staff counts, read
    their profile for them, one at a time).
    """
    scoring = session.scalar(sa.select(RoundScoring).where(RoundScoring.round_id == rnd.id))
    if not scores:
        return StoredRound(rnd, scoring, [])
    rows = session.scalars(
        sa.select(ConfidenceScore).where(ConfidenceScore.round_id == rnd.id)
        .options(sa.orm.joinedload(ConfidenceScore.authority))
        .order_by(ConfidenceScore.rank.is_(None), ConfidenceScore.rank, ConfidenceScore.authority_id)).all()
    return StoredRound(rnd, scoring, list(rows))


def is_stale(session: Session, stored: StoredRound) -> bool:
    """Whether the round's codings, levels or evidence changed since its scores were computed.

    One read of the round: the database raises its ``scoring_inputs_version`` with every
    such change (migration 0032), and the results keep the version they were computed
    at. Results stored before versions were kept are judged by their signature, and
    those stored before signatures were kept are not judged (False).
    """
    if stored.scoring is None:
        return False
    if stored.round.data_deleted_at is not None:
        # The respondents' data was deleted when its retention ended: the stored results
        # are the round's record now, and computing again would find nothing.
        return False
    summary = stored.scoring.summary
    if "inputs_version" in summary:
        return queries.inputs_version(session, stored.round.id) != summary["inputs_version"]
    if "input_signature" in summary:
        return queries.input_signature(session, stored.round.id) != summary["input_signature"]
    return False


def stored_score(session: Session, rnd: Round, authority_id: int) -> ConfidenceScore | None:
    return session.scalar(sa.select(ConfidenceScore).where(
        ConfidenceScore.round_id == rnd.id, ConfidenceScore.authority_id == authority_id)
        .options(sa.orm.joinedload(ConfidenceScore.authority)))


def earlier_scores(session: Session, rnd: Round) -> dict[int, tuple[Round, ConfidenceScore, RoundScoring]]:
    """Each authority's most recent placed score from a round before ``rnd``, with that round's results."""
    earlier = session.scalars(sa.select(Round).where(
        sa.or_(Round.created_at < rnd.created_at,
               sa.and_(Round.created_at == rnd.created_at, Round.id < rnd.id)))
        .order_by(Round.created_at.desc(), Round.id.desc())).all()
    out: dict[int, tuple[Round, ConfidenceScore, RoundScoring]] = {}
    for r in earlier:
        scoring = session.scalar(sa.select(RoundScoring).where(RoundScoring.round_id == r.id))
        for s in session.scalars(sa.select(ConfidenceScore).where(ConfidenceScore.round_id == r.id,
                                                                  ConfidenceScore.confidence.is_not(None))):
            out.setdefault(s.authority_id, (r, s, scoring))
    return out


def _serialise_round(session: Session, round_id: int) -> None:
    """Hold the round until this transaction ends, so writers of its results take turns.

    PostgreSQL locks the round's row; SQLite has one writer at a time, so a write
    (one that matches nothing) takes that lock now rather than at the first real write.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(Round.id).where(Round.id == round_id).with_for_update())
    else:
        session.execute(sa.update(ScoringRun).where(sa.false()).values(progress=ScoringRun.progress)
                        .execution_options(synchronize_session=False))


# A run this long after it was requested and still not finished has lost its worker (a
# restart, a crash): the national-scale benchmark takes seconds.
RUN_TIMEOUT = timedelta(minutes=10)
ACTIVE = ("queued", "running")


def expire_stale_runs(session: Session, round_id: int | None = None) -> int:
    """Mark runs that have stopped without finishing as failed, so pages stop waiting.

    Returns the number of runs marked. Commits only when it marks some.
    """
    cutoff = utcnow() - RUN_TIMEOUT
    q = sa.update(ScoringRun).where(ScoringRun.status.in_(ACTIVE), ScoringRun.created_at < cutoff)
    if round_id is not None:
        q = q.where(ScoringRun.round_id == round_id)
    n = session.execute(q.values(status="failed", message=STOPPED_MESSAGE, finished_at=utcnow())
                        .execution_options(synchronize_session="fetch")).rowcount
    if n:
        session.commit()
    return n


STOPPED_MESSAGE = "Stopped: the computation did not finish. Please start again."


def start_run(session: Session, actor, rnd: Round, seed: int = 0) -> tuple[ScoringRun, bool]:
    """Record a web-requested recomputation, unless one of the round is already under way.

    Returns
    -------
    (ScoringRun, bool)
        The run, and whether it is new (the caller then starts the work). A queued or
        running run of the round is returned instead of starting a second one.
    """
    expire_stale_runs(session, rnd.id)
    _serialise_round(session, rnd.id)      # two requests at once: the second sees the first's run
    active = session.scalar(sa.select(ScoringRun).where(ScoringRun.round_id == rnd.id,
                                                        ScoringRun.status.in_(ACTIVE))
                            .order_by(ScoringRun.id).limit(1))
    if active is not None:
        session.commit()
        return active, False
    run = ScoringRun(round_id=rnd.id, requested_by_id=getattr(actor, "id", None), seed=seed,
                     status="queued", progress=0, message="Waiting to start")
    session.add(run)
    session.flush()
    record(session, actor, "scores.request", "scoring_run", run.id, round_id=rnd.id, seed=seed)
    session.commit()
    return run, True


def resume_run(session: Session, run_id: int) -> None:
    """Queue again a run whose worker stopped while it was running (its job is being
    retried), so that ``execute_run`` takes it up."""
    session.execute(sa.update(ScoringRun).where(ScoringRun.id == run_id, ScoringRun.status == "running")
                    .values(status="queued", message="Waiting to start again"))
    session.commit()


def execute_run(session: Session, run_id: int, actor, *,
                n_replicates: int = core.DEFAULT_REPLICATES, heartbeat: Progress | None = None) -> None:
    """Do a recorded run, writing its progress where any worker can read it
    (and to ``heartbeat``, the job's own progress)."""
    # Claim the run: only a queued run starts, so a run is never worked on twice.
    claimed = session.execute(sa.update(ScoringRun).where(ScoringRun.id == run_id, ScoringRun.status == "queued")
                              .values(status="running", progress=1, message="Starting")
                              .execution_options(synchronize_session=False)).rowcount
    session.commit()
    if not claimed:
        return
    run = session.get(ScoringRun, run_id)
    session.refresh(run)
    rnd = session.get(Round, run.round_id)

    def progress(pct: int, msg: str) -> None:
        # A separate UPDATE, committed at once, so the page sees it while the work goes on.
        session.execute(sa.update(ScoringRun).where(ScoringRun.id == run_id)
                        .values(progress=pct, message=msg[:200]))
        session.commit()
        if heartbeat is not None:
            heartbeat(pct, msg)

    try:
        compute_scores(session, actor, rnd, seed=run.seed, n_replicates=n_replicates, progress=progress)
    except Exception as exc:  # the run must end in a state the page can show
        session.rollback()
        session.execute(sa.update(ScoringRun).where(ScoringRun.id == run_id).values(
            status="failed", message=f"Failed: {type(exc).__name__}", finished_at=utcnow()))
        session.commit()
        raise
    session.execute(sa.update(ScoringRun).where(ScoringRun.id == run_id).values(
        status="done", progress=100, message="Done", finished_at=utcnow()))
    session.commit()


def authority_by_id(session: Session, authority_id: int) -> Authority | None:
    return session.get(Authority, authority_id)
