"""Instruments (versioned), survey invitations, responses and answers."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from impactmodel.db import Base, utcnow
from impactmodel.enums import RespondentRole, enum_type


class Instrument(Base):
    """An interview schedule or survey, identified by its key (``dcs_interview``...)."""

    __tablename__ = "instrument"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(60), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[RespondentRole] = mapped_column(enum_type(RespondentRole, "instrument_role"))

    versions: Mapped[list[InstrumentVersion]] = relationship(
        back_populates="instrument", order_by="InstrumentVersion.version")


class InstrumentVersion(Base):
    """A frozen copy of an instrument's questions. Responses keep the version they used."""

    __tablename__ = "instrument_version"
    __table_args__ = (sa.UniqueConstraint("instrument_id", "version"),
                      sa.UniqueConstraint("instrument_id", "checksum"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument.id", ondelete="CASCADE"))
    version: Mapped[int]
    # sha256 of the canonical definition: an unchanged file makes no new version.
    checksum: Mapped[str] = mapped_column(sa.String(64))
    # Deferred: most reads need the checksum or the version, not the whole definition.
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    instrument: Mapped[Instrument] = relationship(back_populates="versions")


class ResponseStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"


class ResponseMode(enum.StrEnum):
    INTERVIEW = "interview"      # researcher-administered
    SELF = "self"                # respondent on their own device
    ASSISTED = "assisted"        # respondent helped by a researcher or carer


class Invitation(Base):
    """A single-respondent survey link. The token is the only credential."""

    __tablename__ = "invitation"
    # A round's links of some authorities (a page of the response rates), and which
    # authorities have links at all, without reading every link of the round.
    __table_args__ = (sa.Index("ix_invitation_round_authority", "round_id", "authority_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # A short code for typing by hand (printed on the card beside the QR code): 8 characters
    # from an alphabet without look-alikes. Also a credential, so as random as the token allows.
    code: Mapped[str | None] = mapped_column(sa.String(8), unique=True, index=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"), index=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"))
    role: Mapped[RespondentRole] = mapped_column(enum_type(RespondentRole, "invitation_role"))
    key_group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("key_group.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case.id", ondelete="SET NULL"))
    respondent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("respondent.id", ondelete="SET NULL"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Invitations made together share a batch, so they can be printed as one sheet.
    batch: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    expires_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    # The respondent withdrew: their answers are gone and the link stays closed.
    withdrawn_at: Mapped[datetime | None]

    round = relationship("Round")
    authority = relationship("Authority")
    key_group = relationship("KeyGroup")
    case = relationship("Case")
    respondent = relationship("Respondent")


class Response(Base):
    """One respondent's answers to one instrument version. At most one per pair."""

    __tablename__ = "response"
    __table_args__ = (sa.UniqueConstraint("respondent_id", "instrument_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_id: Mapped[int] = mapped_column(sa.ForeignKey("respondent.id", ondelete="CASCADE"),
                                               index=True)
    instrument_version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("instrument_version.id", ondelete="RESTRICT"))
    mode: Mapped[ResponseMode] = mapped_column(enum_type(ResponseMode, "response_mode"))
    status: Mapped[ResponseStatus] = mapped_column(enum_type(ResponseStatus, "response_status"),
                                                   default=ResponseStatus.IN_PROGRESS)
    interviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # Who consented: "self", "parent" (for a child), or "researcher" (recorded at interview).
    consent_by: Mapped[str | None] = mapped_column(sa.String(20))
    consented_at: Mapped[datetime | None]
    # A child's own assent, given after a parent or carer consented for them.
    assented_at: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]
    # The instance id of a submission collected offline (KoboToolbox, ODK Collect): an
    # import of the same submission again finds it and stores nothing.
    external_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    # The language the respondent last answered in (impactmodel.languages.LANGUAGES).
    language: Mapped[str] = mapped_column(sa.String(10), default="en", server_default="en")

    respondent = relationship("Respondent")
    instrument_version: Mapped[InstrumentVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="response",
                                                 cascade="all, delete-orphan")


def open_text():
    """The answer has words: text that is more than blanks (what coders can code).

    Written with a literal 0 so that PostgreSQL matches it to the partial index
    ``ix_answer_open`` whatever the statement's parameters.
    """
    return sa.and_(Answer.text.is_not(None), sa.func.length(sa.func.trim(Answer.text)) > sa.literal_column("0"))


def response_counts():
    """Which responses' answers may be coded, exported and scored: every interview (a
    researcher's notes are theirs to code as they go) and surveys once sent. A survey
    the respondent stopped without sending stays theirs: they were told so."""
    return sa.or_(Response.mode == ResponseMode.INTERVIEW, Response.status == ResponseStatus.COMPLETE)


class Answer(Base):
    """The answer to one question: free text, chosen option(s), or both, plus a note."""

    __tablename__ = "answer"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "question_key"),
        # The open answers (``open_text()``), by response: the coding queue counts them and
        # lists their questions from this index alone.
        sa.Index("ix_answer_open", "response_id", "question_key", "id",
                 postgresql_where=sa.text("text IS NOT NULL AND length(trim(text)) > 0"),
                 sqlite_where=sa.text("text IS NOT NULL AND length(trim(text)) > 0")),
        # The answers to a few questions across a round (the rated answers counted).
        sa.Index("ix_answer_question_key", "question_key", "response_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("response.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(sa.String(80))
    text: Mapped[str | None] = mapped_column(sa.Text)
    # Closed answers: option ids, a scale point, a level; as JSON so every type fits.
    value: Mapped[Any | None] = mapped_column(sa.JSON)
    # The researcher's interview notes for this question.
    note: Mapped[str | None] = mapped_column(sa.Text)
    # The autosave sequence of the last write (client milliseconds): an older write
    # arriving late (a retry after a dropped connection) must not overwrite a newer one.
    client_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The language the answer was last saved in: a coder reads the words as they were written.
    language: Mapped[str] = mapped_column(sa.String(10), default="en", server_default="en")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    response: Mapped[Response] = relationship(back_populates="answers")


class SafeguardingFlag(Base):
    """An answer from a parent or child that may disclose harm, for the authority's
    researchers to act on. The answer itself is stored as given; the flag names the
    rules of ``surveys/safeguarding.yaml`` it matched, never the words."""

    __tablename__ = "safeguarding_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(sa.ForeignKey("answer.id", ondelete="CASCADE"), unique=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"))
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id", ondelete="CASCADE"), index=True)
    rules: Mapped[list[str]] = mapped_column(sa.JSON)
    flagged_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who said they have acted on it, following the procedure, and when.
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None]

    answer: Mapped[Answer] = relationship()
    authority = relationship("Authority")
    handled_by = relationship("User")
