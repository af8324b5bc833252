"""Quantitative indicators: one figure per round, authority, indicator, period and key group."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from impactmodel.consortium.models import Authority, KeyGroup
from impactmodel.db import Base, utcnow

_SAME_FIGURE = ("round_id", "authority_id", "indicator", "period")


class IndicatorValue(Base):
    """One figure of an indicator of ``surveys/indicators.yaml``.

    ``value`` is in the indicator's own unit; ``numerator`` and ``denominator`` are kept
    when the figure was imported as counts. ``rate_per_10000`` is set for indicators
    counted per child. One figure per round, authority, indicator, period and key group
    (none: the whole population): two partial unique indexes, since NULLs never clash
    in a plain unique constraint.
    """

    __tablename__ = "indicator_value"
    __table_args__ = (
        sa.Index("uq_indicator_value_key_group", *_SAME_FIGURE, "key_group_id", unique=True,
                 sqlite_where=sa.text("key_group_id IS NOT NULL"),
                 postgresql_where=sa.text("key_group_id IS NOT NULL")),
        sa.Index("uq_indicator_value_whole", *_SAME_FIGURE, unique=True,
                 sqlite_where=sa.text("key_group_id IS NULL"),
                 postgresql_where=sa.text("key_group_id IS NULL")),
        sa.CheckConstraint("denominator IS NULL OR denominator > 0", name="denominator_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"), index=True)
    indicator: Mapped[str] = mapped_column(sa.String(40))
    # As the source gives it: "2007-08", "2008", "2008 Q3".
    period: Mapped[str] = mapped_column(sa.String(20))
    key_group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("key_group.id", ondelete="CASCADE"))
    value: Mapped[float] = mapped_column(sa.Float)
    numerator: Mapped[float | None] = mapped_column(sa.Float)
    denominator: Mapped[float | None] = mapped_column(sa.Float)
    rate_per_10000: Mapped[float | None] = mapped_column(sa.Float)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    authority: Mapped[Authority] = relationship()
    key_group: Mapped[KeyGroup | None] = relationship()
