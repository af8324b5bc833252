"""Memos on an authority, or on one of its cases, in a round."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from impactmodel.db import Base, utcnow


class AuthorityMemo(Base):
    """A researcher's memo on an authority in a round, or (with ``case_id``) on one of its
    cases: the analytic notes that sit beside the framework matrix. Notes on one answer
    or coding are ``coding.models.Memo``."""

    __tablename__ = "authority_memo"
    __table_args__ = (sa.Index("ix_authority_memo_round_authority", "round_id", "authority_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"))
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]
