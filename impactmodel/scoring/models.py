"""Stored integration-confidence results, so dashboards read rather than recompute."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from impactmodel.db import Base, utcnow


class ConfidenceScore(Base):
    __tablename__ = "confidence_score"
    __table_args__ = (sa.UniqueConstraint("round_id", "authority_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"))
    confidence: Mapped[float | None]
    ci_low: Mapped[float | None]
    ci_high: Mapped[float | None]
    rank: Mapped[int | None]
    rank_low: Mapped[int | None]
    rank_high: Mapped[int | None]
    components: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Warnings a reader must see, e.g. {"missing_groups": ["practitioner"]}.
    flags: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Everything the profile page shows, computed once with the score. Deferred: lists of
    # authorities read ``evidence`` (a copy of the profile's) rather than decode every profile.
    profile: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict, deferred=True)
    evidence: Mapped[str | None] = mapped_column(sa.String(20))
    method_version: Mapped[str] = mapped_column(sa.String(20))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Method 2.0: the jackknife standard error and its degrees of freedom (for the
    # interval of a change between rounds), staff interviewed per group, and why an
    # authority could not be placed. Empty for results of method 1.0.
    se: Mapped[float | None]
    df: Mapped[float | None]
    n: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    reason: Mapped[str | None] = mapped_column(sa.String(300))

    authority = relationship("Authority")


class RoundScoring(Base):
    """The round-level results stored with a round's scores: report tables, gaps, sensitivity."""

    __tablename__ = "round_scoring"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), unique=True)
    seed: Mapped[int]
    replicates: Mapped[int]
    # Table 1, Table 2, impacts by level, consortium gaps, weight sensitivity, code labels.
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    method_version: Mapped[str] = mapped_column(sa.String(20))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What a change between rounds must share: the code ids, their groups and
    # valences (a reworded label or description does not change it).
    codebook_signature: Mapped[str | None] = mapped_column(sa.String(64))
    codebook_version: Mapped[int | None]


class RoundPublication(Base):
    """A published round's frozen results, with what it takes to reproduce them."""

    __tablename__ = "round_publication"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), unique=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    data_hash: Mapped[str] = mapped_column(sa.String(64))
    method_version: Mapped[str] = mapped_column(sa.String(20))
    codebook_version: Mapped[int | None]
    codebook_signature: Mapped[str | None] = mapped_column(sa.String(64))
    seed: Mapped[int]
    replicates: Mapped[int]
    weights: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # The scores as `impactmodel score --json` printed them when published.
    results: Mapped[list[Any]] = mapped_column(sa.JSON)


class ResearcherPlacement(Base):
    """A researcher's own judgement of where an authority stands, as the report made it."""

    __tablename__ = "researcher_placement"
    __table_args__ = (sa.UniqueConstraint("round_id", "authority_id", "researcher_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"))
    researcher_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(sa.String(20))        # early, developing, confident
    # Whether the round had stored scores when the placement was recorded: a
    # placement made after the index could be seen is not an independent judgement.
    scores_existed: Mapped[bool] = mapped_column(default=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScoringRun(Base):
    """A recomputation requested from the web, so any worker can report its progress."""

    __tablename__ = "scoring_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")  # queued, running, done, failed
    progress: Mapped[int] = mapped_column(default=0)                      # 0-100
    message: Mapped[str] = mapped_column(sa.String(200), default="")
    seed: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
