"""Researchers' own placement of each authority, and how staff were chosen.

The report placed authorities on the continuum by the researchers' judgement.
A researcher records that judgement here (early stage, developing, confident),
ideally before seeing the index and by two researchers per authority; the app
shows how far researchers agree with each other and how far the index agrees
with them across the consortium. Each placement records whether the round had
stored scores at the time, so independent judgements can be told apart.

The same page records how each authority's staff were selected and, when known,
how many managers and practitioners are in post (for the finite-population
correction of the intervals).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from scipy import stats as sps
from sqlalchemy.orm import Session

from impactmodel import stats
from impactmodel.audit import record
from impactmodel.consortium.models import Authority, Participation, Round
from impactmodel.scoring.models import ConfidenceScore, ResearcherPlacement, RoundScoring

STAGES = ("early", "developing", "confident")
STAGE_LABELS = {"early": "Early stage", "developing": "Developing", "confident": "Confident"}
SELECTIONS = ("sampled", "nominated", "census")
MIN_FOR_CORRELATION = 5


class PlacementError(ValueError):
    pass


def _participation(session: Session, rnd: Round, authority: Authority) -> Participation:
    part = session.scalar(sa.select(Participation).where(Participation.round_id == rnd.id,
                                                         Participation.authority_id == authority.id))
    if part is None:
        raise PlacementError(f"{authority.name} does not take part in {rnd.name}.")
    return part


def record_placement(session: Session, actor, rnd: Round, authority: Authority, stage: str) -> ResearcherPlacement:
    """Record (or change) ``actor``'s placement of ``authority`` in ``rnd``; commit."""
    if stage not in STAGES:
        raise PlacementError(f"Choose one of: {', '.join(STAGE_LABELS.values())}.")
    if not actor.may_see_authority(authority.id):
        raise PlacementError("You may place only authorities you are assigned to.")
    _participation(session, rnd, authority)
    scored = session.scalar(sa.select(sa.func.count()).select_from(RoundScoring)
                            .where(RoundScoring.round_id == rnd.id)) > 0
    placement = session.scalar(sa.select(ResearcherPlacement).where(
        ResearcherPlacement.round_id == rnd.id, ResearcherPlacement.authority_id == authority.id,
        ResearcherPlacement.researcher_id == actor.id))
    if placement is None:
        placement = ResearcherPlacement(round_id=rnd.id, authority_id=authority.id, researcher_id=actor.id)
        session.add(placement)
    placement.stage = stage
    placement.scores_existed = scored
    session.flush()
    record(session, actor, "placement.record", "researcher_placement", placement.id, round_id=rnd.id,
           authority_id=authority.id, stage=stage, scores_existed=scored)
    session.commit()
    return placement


def record_design(session: Session, actor, rnd: Round, authority: Authority, *, selection: str | None,
                  managers_in_post: int | None, practitioners_in_post: int | None) -> Participation:
    """Record how the authority's staff were chosen and how many are in post; commit."""
    if not actor.may_see_authority(authority.id):
        raise PlacementError("You may change only authorities you are assigned to.")
    if selection not in (None, *SELECTIONS):
        raise PlacementError(f"Staff selection must be one of: {', '.join(SELECTIONS)}.")
    for label, n in (("managers", managers_in_post), ("practitioners", practitioners_in_post)):
        if n is not None and not 0 < n <= 100_000:
            raise PlacementError(f"The number of {label} in post must be a whole number from 1 to 100000.")
    part = _participation(session, rnd, authority)
    part.staff_selection = selection
    part.managers_in_post = managers_in_post
    part.practitioners_in_post = practitioners_in_post
    record(session, actor, "participation.design", "participation", part.id, selection=selection,
           managers_in_post=managers_in_post, practitioners_in_post=practitioners_in_post)
    session.commit()
    return part


def placements_of(session: Session, rnd: Round) -> dict[int, list[ResearcherPlacement]]:
    out: dict[int, list[ResearcherPlacement]] = {}
    for p in session.scalars(sa.select(ResearcherPlacement).where(ResearcherPlacement.round_id == rnd.id)
                             .order_by(ResearcherPlacement.recorded_at, ResearcherPlacement.id)):
        out.setdefault(p.authority_id, []).append(p)
    return out


@dataclass
class Agreement:
    authorities_placed: int
    authorities_twice: int
    placements: int
    before_scores: int
    researchers_alpha: float | None        # Krippendorff's ordinal alpha between researchers
    researchers_exact: float | None        # share of double-placed authorities placed the same
    index_rho: float | None                # Spearman's rho, index against the mean placement
    index_rho_low: float | None
    index_rho_high: float | None
    index_n: int


def agreement(session: Session, rnd: Round) -> Agreement:
    """How researchers agree with each other, and the index with them, across the consortium.

    Researchers: Krippendorff's alpha (ordinal) over authorities with two or more
    placements. Index: Spearman's rho between the index and the mean placement
    over placed authorities, with a 95% interval from Fisher's z with the
    Fieller-Hartley-Pearson standard error sqrt(1.06 / (n - 3)).
    """
    by = placements_of(session, rnd)
    rank = {s: i + 1 for i, s in enumerate(STAGES)}
    twice = {a: ps for a, ps in by.items() if len(ps) >= 2}
    alpha = exact = None
    if len(twice) >= 2:
        width = max(len(ps) for ps in twice.values())
        M = np.full((len(twice), width), np.nan)
        for i, ps in enumerate(twice.values()):
            M[i, :len(ps)] = [rank[p.stage] for p in ps]
        value = stats.krippendorff_alpha(M, level="ordinal", value_domain=[1, 2, 3])
        alpha = None if math.isnan(value) else float(value)
        exact = float(np.mean([len({p.stage for p in ps}) == 1 for ps in twice.values()]))
    conf = dict(session.execute(sa.select(ConfidenceScore.authority_id, ConfidenceScore.confidence)
                                .where(ConfidenceScore.round_id == rnd.id,
                                       ConfidenceScore.confidence.is_not(None))).all())
    pairs = [(conf[a], float(np.mean([rank[p.stage] for p in ps]))) for a, ps in by.items() if a in conf]
    rho = lo = hi = None
    if len(pairs) >= MIN_FOR_CORRELATION:
        x, y = zip(*pairs)
        value = sps.spearmanr(x, y).statistic
        if np.isfinite(value):
            rho = float(value)
            z, se = np.arctanh(np.clip(rho, -0.999999, 0.999999)), math.sqrt(1.06 / (len(pairs) - 3))
            lo, hi = float(np.tanh(z - 1.959964 * se)), float(np.tanh(z + 1.959964 * se))
    return Agreement(authorities_placed=len(by), authorities_twice=len(twice),
                     placements=sum(len(ps) for ps in by.values()),
                     before_scores=sum(not p.scores_existed for ps in by.values() for p in ps),
                     researchers_alpha=alpha, researchers_exact=exact, index_rho=rho,
                     index_rho_low=lo, index_rho_high=hi, index_n=len(pairs))
