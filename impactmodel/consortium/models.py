"""The consortium: rounds, authorities, localities, key groups, cases, respondents."""
from __future__ import annotations

import secrets
import string
import unicodedata
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from impactmodel.db import Base, utcnow
from impactmodel.enums import EvidenceCategory, RespondentRole, enum_type


class Round(Base):
    """One round of the consortium's fieldwork (Round 1 was 2007-08)."""

    __tablename__ = "round"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Krippendorff's alpha (pooled, coding by presence) below which the round's scores
    # carry a "coding reliability below threshold" flag; None sets no threshold.
    reliability_threshold: Mapped[float | None]
    # Who respondents contact about the research (shown on every survey page); None: the
    # app's RESEARCH_CONTACT.
    research_contact: Mapped[str | None] = mapped_column(sa.String(500))
    # Respondents' data is kept until this day, then deleted (`impactmodel retention apply`).
    retain_until: Mapped[date | None]
    # When that deletion ran: the round's scores stay, its people's answers are gone.
    data_deleted_at: Mapped[datetime | None]
    # Raised by the database (migration 0032's triggers) whenever scoring's inputs change:
    # stored scores keep the version they were computed at. The application never writes it.
    scoring_inputs_version: Mapped[int] = mapped_column(server_default="0")

    participations: Mapped[list[Participation]] = relationship(back_populates="round",
                                                               cascade="all, delete-orphan")
    key_groups: Mapped[list[KeyGroup]] = relationship(back_populates="round",
                                                      cascade="all, delete-orphan",
                                                      order_by="KeyGroup.code")


def authority_key(name: str) -> str:
    """The form of a name that authorities are matched by: "northshire  County council"
    and "Northshire County Council" are one authority (Unicode-normalised, casefolded,
    whitespace collapsed)."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def new_public_id() -> str:
    """16 url-safe random characters, never all digits (those are the old numeric URLs)."""
    while True:
        public_id = secrets.token_urlsafe(12)
        if not public_id.isdigit():
            return public_id


class Authority(Base):
    """A local authority. ``label`` is its stable anonymised name ("Authority C").

    ``public_id`` is what URLs and file names carry: random, so it says nothing about
    the order in which authorities were added (ids do, and so could map labels to names).
    """

    __tablename__ = "authority"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    # authority_key(name), unique so that no two authorities differ only in case or spacing.
    # Casefolding can lengthen a name ("ß" -> "ss"), hence the room.
    name_key: Mapped[str] = mapped_column(sa.String(400), unique=True)
    label: Mapped[str] = mapped_column(sa.String(40), unique=True)
    public_id: Mapped[str] = mapped_column(sa.String(24), unique=True, default=new_public_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The steps of the authority's own safeguarding procedure, shown to researchers with
    # any answer that may disclose harm; None: the app's SAFEGUARDING_STEPS.
    safeguarding_steps: Mapped[str | None] = mapped_column(sa.Text)

    localities: Mapped[list[Locality]] = relationship(back_populates="authority",
                                                      cascade="all, delete-orphan")

    @validates("name")
    def _keep_key(self, _attribute: str, name: str) -> str:
        self.name_key = authority_key(name)
        return name

    @property
    def near_duplicate(self) -> bool:
        """Left by the upgrade that introduced keys: same key as an older authority."""
        return DUPLICATE_MARK in self.name_key


# A key holding this mark (which authority_key never produces) belongs to an authority
# that matched an older one when keys were introduced; an administrator merges or renames it.
DUPLICATE_MARK = "\t"


def anonymised_label(index: int) -> str:
    """0 -> "Authority A", 25 -> "Authority Z", 26 -> "Authority AA", ..."""
    letters = ""
    n = index
    while True:
        letters = string.ascii_uppercase[n % 26] + letters
        n = n // 26 - 1
        if n < 0:
            return f"Authority {letters}"


class Locality(Base):
    """The sub-area of an authority in which the front-line teams studied work."""

    __tablename__ = "locality"
    __table_args__ = (sa.UniqueConstraint("authority_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(120))

    authority: Mapped[Authority] = relationship(back_populates="localities")


class Participation(Base):
    """An authority taking part in a round, with its locality and Box 6 evidence."""

    __tablename__ = "participation"
    __table_args__ = (sa.UniqueConstraint("round_id", "authority_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"))
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"))
    locality_id: Mapped[int | None] = mapped_column(sa.ForeignKey("locality.id", ondelete="SET NULL"))
    evidence: Mapped[EvidenceCategory | None] = mapped_column(enum_type(EvidenceCategory, "evidence"))
    # How the staff interviewed were chosen (sampled, nominated, census), and, when
    # known, how many managers and practitioners are in post: the intervals assume a
    # random sample and use the numbers in post for the finite-population correction.
    staff_selection: Mapped[str | None] = mapped_column(sa.String(20))
    managers_in_post: Mapped[int | None]
    practitioners_in_post: Mapped[int | None]
    # The authority's context in this round (consortium/context.py): its type (county,
    # unitary...), how many children and young people aged 0-19 live there, and the year
    # its integrated arrangements began.
    authority_type: Mapped[str | None] = mapped_column(sa.String(30))
    children: Mapped[int | None]
    integrated_since: Mapped[int | None]

    round: Mapped[Round] = relationship(back_populates="participations")
    authority: Mapped[Authority] = relationship()
    locality: Mapped[Locality | None] = relationship()


class KeyGroup(Base):
    """A group of children a round studies (``lac``, ``asd``, ``ks3_absence``...)."""

    __tablename__ = "key_group"
    __table_args__ = (sa.UniqueConstraint("round_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(200))

    round: Mapped[Round] = relationship(back_populates="key_groups")


class Case(Base):
    """A child in a key group whose support shows integration. Pseudonymous only."""

    __tablename__ = "case"
    __table_args__ = (sa.UniqueConstraint("round_id", "authority_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"))
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"))
    key_group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("key_group.id", ondelete="SET NULL"))
    # A researcher's pseudonym such as "LAC-03"; never a child's name.
    reference: Mapped[str] = mapped_column(sa.String(40))

    authority: Mapped[Authority] = relationship()
    key_group: Mapped[KeyGroup | None] = relationship()


class Respondent(Base):
    """Someone who answered: a member of staff interviewed, or a parent or child surveyed.

    Holds no name or contact details: ``reference`` is an identifier unique within
    the authority and round (the ``respondent`` column of the CSV imports).
    """

    __tablename__ = "respondent"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "authority_id", "reference"),
        # A round's respondents of one role (and key group): the excerpts-by-code filters.
        sa.Index("ix_respondent_round_role", "round_id", "role", "key_group_id"),
        sa.CheckConstraint("impact_level IS NULL OR (impact_level >= 1 AND impact_level <= 4)",
                           name="impact_level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"),
                                              index=True)
    reference: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[RespondentRole] = mapped_column(enum_type(RespondentRole, "respondent_role"))
    key_group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("key_group.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id", ondelete="SET NULL"), index=True)
    # Staff only: the self-reported level of impact, 1 to 4 in half steps.
    impact_level: Mapped[float | None] = mapped_column(sa.Numeric(2, 1, asdecimal=False))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    round: Mapped[Round] = relationship()
    authority: Mapped[Authority] = relationship()
    key_group: Mapped[KeyGroup | None] = relationship()
    case: Mapped[Case | None] = relationship()
