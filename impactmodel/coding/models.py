"""Memos, double coding, suggested-code models and stored reliability reports."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from impactmodel.db import Base, utcnow


class Memo(Base):
    """A coder's note on an answer (or on one coding of it)."""

    __tablename__ = "memo"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(sa.ForeignKey("answer.id", ondelete="CASCADE"), index=True)
    coding_id: Mapped[int | None] = mapped_column(sa.ForeignKey("coding.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DoubleCoding(Base):
    """An answer drawn for a second, blind coder, and whether it has been reconciled."""

    __tablename__ = "double_coding"
    __table_args__ = (sa.UniqueConstraint("answer_id", "second_coder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    answer_id: Mapped[int] = mapped_column(sa.ForeignKey("answer.id", ondelete="CASCADE"))
    second_coder_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    second_done_at: Mapped[datetime | None]
    reconciled_at: Mapped[datetime | None]
    # The blind coder finished the answer with no code, after confirming that none
    # applies: an explicit empty coding, which reliability counts as a value of its own.
    no_code_applies: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Raised by the database (migration 0031's triggers) whenever what comparing the
    # coders reads changes: the answer's codings, this draw's state, its answer's other
    # draws. The application never writes it.
    codings_version: Mapped[int] = mapped_column(server_default="0")


class DrawVerdict(Base):
    """Whether the coders of a draw's answer differ, as compared when the draw was at
    ``codings_version``; out of date once the draw's own version has moved on."""

    __tablename__ = "draw_verdict"

    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("double_coding.id", ondelete="CASCADE"), primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    codings_version: Mapped[int]
    # None: no second coder of the answer counts yet (nothing coded, nothing decided).
    differs: Mapped[bool | None]


class RemovedCoding(Base):
    """A coding as it was when its coder removed it, so the removal can be undone exactly.

    ``row`` holds every column of the coding (its id too), ``memos`` the memos written on
    it, which went with it. ``restored_at`` is set when it is put back.
    """

    __tablename__ = "removed_coding"

    id: Mapped[int] = mapped_column(primary_key=True)
    coding_id: Mapped[int] = mapped_column(index=True)      # the removed row's id (no longer stored)
    answer_id: Mapped[int] = mapped_column(sa.ForeignKey("answer.id", ondelete="CASCADE"), index=True)
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    removed_at: Mapped[datetime] = mapped_column(default=utcnow)
    row: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    memos: Mapped[list[Any]] = mapped_column(sa.JSON)
    restored_at: Mapped[datetime | None]


class SuggestionModel(Base):
    """A round's suggested-codes model (``impactmodel.coding.suggest``): one row per round,
    replaced when it is trained again.

    ``model`` is the fitted model serialised with joblib, loaded only by the module that
    wrote it and only with the library version in ``library``. ``metrics`` holds how well
    it did on answers held out from training, beside the baseline; ``too_few`` the codes
    left without suggestions, with their number of coded answers.
    """

    __tablename__ = "suggestion_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), unique=True)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    trained_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    n_answers: Mapped[int]
    n_respondents: Mapped[int]
    labels: Mapped[list[Any]] = mapped_column(sa.JSON)       # [[code, valence], ...] suggested
    too_few: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # code -> answers coded with it
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    training_seconds: Mapped[float]
    library: Mapped[str] = mapped_column(sa.String(80))
    model: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)


class RoundReliability(Base):
    """A round's stored reliability report, so the page reads rather than recomputes."""

    __tablename__ = "round_reliability"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), unique=True)
    # ReliabilityReport.to_json(): figures by presence and by span overlap.
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # Hash of the double coding and codebook it was computed from (stale when it differs).
    input_signature: Mapped[str] = mapped_column(sa.String(64))
    seed: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
