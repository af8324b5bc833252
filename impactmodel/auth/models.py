"""Accounts, roles and log-in attempts."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from impactmodel.db import Base, utcnow
from impactmodel.enums import enum_type


class Role(enum.StrEnum):
    """What a user account may do. Permissions are asked of the role, never of a name."""

    ADMIN = "admin"
    RESEARCHER = "researcher"
    AUTHORITY_CONTACT = "authority_contact"
    ANALYST = "analyst"

    @property
    def label(self) -> str:
        return {"admin": "Administrator", "researcher": "Researcher",
                "authority_contact": "Authority contact",
                "analyst": "Consortium analyst"}[self.value]

    # Each can_* answers for the role as a whole; which authorities a user may
    # see is a separate question (User.may_see_authority).
    @property
    def can_manage_users(self) -> bool:
        return self is Role.ADMIN

    @property
    def can_manage_rounds(self) -> bool:
        return self is Role.ADMIN

    @property
    def can_run_fieldwork(self) -> bool:
        return self in (Role.ADMIN, Role.RESEARCHER)

    @property
    def can_code(self) -> bool:
        return self in (Role.ADMIN, Role.RESEARCHER)

    @property
    def can_manage_codebook(self) -> bool:
        """Change the codebook (import a new version); ids never change."""
        return self is Role.ADMIN

    @property
    def can_import(self) -> bool:
        return self in (Role.ADMIN, Role.RESEARCHER)

    @property
    def can_view_cases(self) -> bool:
        """See cases' answers and codings: only roles that may see an authority's own
        data (which authorities is User.may_see_authority's answer)."""
        return self in (Role.ADMIN, Role.RESEARCHER, Role.AUTHORITY_CONTACT)

    @property
    def can_view_scores(self) -> bool:
        return True

    @property
    def can_compute_scores(self) -> bool:
        return self in (Role.ADMIN, Role.RESEARCHER)

    @property
    def can_export_consortium(self) -> bool:
        return self in (Role.ADMIN, Role.ANALYST, Role.RESEARCHER)

    @property
    def sees_all_names(self) -> bool:
        """Only administrators see every authority by name; researchers see their
        assigned authorities, contacts their own, and everyone else labels."""
        return self is Role.ADMIN


researcher_assignment = sa.Table(
    "researcher_assignment",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("authority_id", sa.ForeignKey("authority.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role"))
    # Only for authority contacts: the one authority they see by name.
    authority_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authority.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Part of every session's identity: raising it ends every session signed in before
    # (sign-out, a new password, deactivation, a change of role or authorities).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    authority = relationship("Authority", foreign_keys=[authority_id])
    assigned_authorities = relationship("Authority", secondary=researcher_assignment,
                                        order_by="Authority.label")

    # Flask-Login's protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session cookie holds: the account and its session version, so a
        cookie issued before the version was raised no longer signs anyone in."""
        return f"{self.id}.{self.session_version}"

    def may_see_authority(self, authority_id: int) -> bool:
        """Whether this user may see an authority's own (non-anonymised) data."""
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.RESEARCHER:
            return any(a.id == authority_id for a in self.assigned_authorities)
        if self.role is Role.AUTHORITY_CONTACT:
            return self.authority_id == authority_id
        return False

    def visible_authority_ids(self) -> set[int] | None:
        """Ids of the authorities this user may see by name; None means all of them."""
        if self.role.sees_all_names:
            return None
        if self.role is Role.RESEARCHER:
            return {a.id for a in self.assigned_authorities}
        if self.role is Role.AUTHORITY_CONTACT and self.authority_id is not None:
            return {self.authority_id}
        return set()

    def authority_display_name(self, authority) -> str:
        """The authority's name if this user may know it, its anonymised label otherwise."""
        if self.may_see_authority(authority.id):
            return authority.name
        return authority.label


class LoginAttempt(Base):
    """Failed and successful log-ins, so that guessing can be slowed across workers."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A hash of the e-mail address tried, so the table holds no address in clear.
    key: Mapped[str] = mapped_column(sa.String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
