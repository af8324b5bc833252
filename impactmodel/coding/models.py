"""The codebook in the database, codings of answers, memos and double coding."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from impactmodel.db import Base, utcnow
from impactmodel.enums import Valence, enum_type


class CodebookVersion(Base):
    """A frozen copy of ``surveys/codebook.yaml``; a changed file makes a new version."""

    __tablename__ = "codebook_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    checksum: Mapped[str] = mapped_column(sa.String(64), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Code(Base):
    """A codebook code, keyed by its dotted id from DOMAIN.md (``L1.tools``)."""

    __tablename__ = "code"

    id: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    level: Mapped[int | None]             # 1-4 for impact codes; None for F and S codes
    group: Mapped[str] = mapped_column(sa.String(20))  # parent id: L1..L4, L3.cyp, F, S
    steering_group: Mapped[bool] = mapped_column(default=False)
    valences: Mapped[list[str]] = mapped_column(sa.JSON)
    retired: Mapped[bool] = mapped_column(default=False)


class Coding(Base):
    """One code applied to (part of) what a respondent said.

    ``start``/``end`` are character offsets into ``answer.text`` when the coding
    was made on an answer; imported codings may carry only an ``excerpt``.
    ``agreed`` marks the codings that scores use: single coding, closed answers
    and imports are agreed at once; a second coder's blind codings are not, until
    reconciliation.
    """

    __tablename__ = "coding"
    __table_args__ = (
        sa.CheckConstraint("start IS NULL OR (start >= 0 AND \"end\" > start)", name="span"),
        # Covers what scoring reads of a round (and its staleness check) without the table.
        sa.Index("ix_coding_round_agreed", "round_id", "agreed", "respondent_id", "code_id", "valence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"))
    respondent_id: Mapped[int] = mapped_column(sa.ForeignKey("respondent.id", ondelete="CASCADE"),
                                               index=True)
    answer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("answer.id", ondelete="CASCADE"),
                                                  index=True)
    code_id: Mapped[str] = mapped_column(sa.ForeignKey("code.id", ondelete="RESTRICT"), index=True)
    valence: Mapped[Valence] = mapped_column(enum_type(Valence, "valence"), default=Valence.POSITIVE)
    start: Mapped[int | None]
    end: Mapped[int | None]
    excerpt: Mapped[str | None] = mapped_column(sa.Text)
    coder: Mapped[str] = mapped_column(sa.String(254), default="")
    coder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    agreed: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    code: Mapped[Code] = relationship()
    respondent = relationship("Respondent")
    answer = relationship("Answer")


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
