"""The append-only audit log: who did what, never what a respondent said."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from impactmodel.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Kept as text as well as an id so the log survives the account's deletion.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))  # accounts are deactivated, never deleted
    actor: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    entity: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


def record(session: Session, actor, action: str, entity: str, entity_id=None, **details: Any) -> AuditEvent:
    """Add an audit event to ``session`` (the caller's commit makes it durable).

    ``actor`` is a User, or a string such as ``"cli"`` or ``"respondent"``.
    ``details`` must hold ids and counts only: no free text a respondent wrote.
    """
    actor_id = getattr(actor, "id", None)
    actor_name = getattr(actor, "email", None) or str(actor)
    ev = AuditEvent(actor_id=actor_id, actor=actor_name, action=action, entity=entity,
                    entity_id=None if entity_id is None else str(entity_id), details=details)
    session.add(ev)
    return ev


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise ValueError("the audit log is append-only: events cannot be changed or deleted")
