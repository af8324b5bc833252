"""The codebook in the database (its versions and codes) and the codings that apply its codes."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
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
    """A codebook code, keyed by its dotted id from surveys/codebook.yaml (``L1.tools``)."""

    __tablename__ = "code"

    id: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    level: Mapped[int | None]             # 1-4 for impact codes; None for F and S codes
    group: Mapped[str] = mapped_column(sa.String(20))  # parent id: L1..L4, L3.cyp, F, S
    steering_group: Mapped[bool] = mapped_column(default=False)
    valences: Mapped[list[str]] = mapped_column(sa.JSON)
    retired: Mapped[bool] = mapped_column(default=False)
    # Coding rules (impactmodel.codebook.RULE_PARTS), mirrored for tools reading the database.
    definition: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    include: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    exclude: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    example: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    example_constructed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


def coding_identity(*, answer_id: int | None, respondent_id: int | None, code_id: str,
                    valence: Any, start: int | None, end: int | None, excerpt: str | None,
                    coder: str | None, coder_id: int | None, occurrence: int = 0) -> str:
    """The key two identical codings share (sha256 hex), stored in ``Coding.identity``.

    Identical means: the same answer and span (a coding without a span: the same
    excerpt), or, for a coding without an answer, the same respondent and excerpt;
    the same code and valence; the same coder (the user, or the name recorded for
    imports and the instrument). Another coder repeating a coding makes a different
    key, so a blind second coding stands beside the first. ``occurrence`` numbers
    identical rows of one import (an export can hold two: two closed answers of one
    respondent carrying the same code), so they stay two codings.

    A key column rather than a unique index over the columns themselves: NULL never
    equals NULL in a unique index, and an excerpt can be longer than an index entry.
    """
    who = f"user:{coder_id}" if coder_id is not None else f"name:{coder or ''}"
    if answer_id is not None:
        where: list = (["answer", answer_id, start, end] if start is not None
                       else ["answer", answer_id, "excerpt", excerpt or ""])
    else:
        where = ["respondent", respondent_id, "excerpt", excerpt or "", occurrence]
    parts = where + [code_id, getattr(valence, "value", valence), who]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def _identity_of_inserted_row(context) -> str:
    """The key of a row inserted without the ORM (bulk inserts): from its own values."""
    row = context.get_current_parameters()
    return coding_identity(answer_id=row.get("answer_id"), respondent_id=row.get("respondent_id"),
                           code_id=row.get("code_id"), valence=row.get("valence") or "positive",
                           start=row.get("start"), end=row.get("end"), excerpt=row.get("excerpt"),
                           coder=row.get("coder"), coder_id=row.get("coder_id"))


class Coding(Base):
    """One code applied to (part of) what a respondent said.

    ``start``/``end`` are character offsets into ``answer.text`` when the coding
    was made on an answer, and ``excerpt`` the text they covered when it was made
    (kept, so an edited answer can be re-anchored and nothing coded is lost);
    imported codings may carry only an ``excerpt``. ``needs_review`` marks a coding
    whose excerpt could not be found exactly once after its answer changed: it keeps
    its excerpt, has no span, and waits for its coder. ``agreed`` marks the codings
    that scores use: single coding, closed answers and imports are agreed at once; a
    second coder's blind codings are not, until reconciliation.
    """

    __tablename__ = "coding"
    __table_args__ = (
        sa.CheckConstraint("start IS NULL OR (start >= 0 AND \"end\" > start)", name="span"),
        # Covers what scoring reads of a round (and its staleness check) without the table.
        sa.Index("ix_coding_round_agreed", "round_id", "agreed", "respondent_id", "code_id", "valence"),
        # One code's agreed codings of a round in id order: the excerpts-by-code pages.
        sa.Index("ix_coding_code_round_agreed", "code_id", "round_id", "agreed", "id"),
        # The same with one valence: a valence chosen there is walked in id order too.
        sa.Index("ix_coding_code_round_agreed_valence", "code_id", "round_id", "agreed", "valence", "id"),
        # An answer's codings, with what comparing coders reads: the disagreements and the
        # reliability page's check for changes read the drawn answers' codings from it.
        sa.Index("ix_coding_answer_marks", "answer_id",
                 postgresql_include=["id", "coder_id", "coder", "code_id", "valence"]),
        # A round's agreed codings counted per authority (the round page) without a join.
        sa.Index("ix_coding_round_agreed_authority", "round_id", "agreed", "authority_id"),
        # A round's codings in the order the .qdpx export reads them, without a sort.
        sa.Index("ix_coding_round_authority_answer", "round_id", "authority_id", "answer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id", ondelete="CASCADE"))
    respondent_id: Mapped[int] = mapped_column(sa.ForeignKey("respondent.id", ondelete="CASCADE"),
                                               index=True)
    # The respondent's authority, copied by the database (triggers of migration 0025) when a
    # coding is stored and whenever its respondent moves to another authority (a merge).
    # Whatever is written here is replaced: read it in queries, not from a new object.
    authority_id: Mapped[int | None]
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
    needs_review: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # coding_identity(...): unique, so the same coding cannot be stored twice (a double
    # click, two tabs). NULL while the coding needs review: it has no span to compare.
    identity: Mapped[str | None] = mapped_column(sa.String(64), unique=True,
                                                 default=_identity_of_inserted_row)
    # Accepted by its coder from a suggested code (impactmodel.coding.suggest), with the
    # confidence shown; such codings never train or test the suggestions.
    suggested: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    suggestion_confidence: Mapped[float | None]

    code: Mapped[Code] = relationship()
    respondent = relationship("Respondent")
    answer = relationship("Answer")

    def current_identity(self) -> str | None:
        if self.needs_review:
            return None
        return coding_identity(answer_id=self.answer_id, respondent_id=self.respondent_id,
                               code_id=self.code_id, valence=self.valence, start=self.start,
                               end=self.end, excerpt=self.excerpt, coder=self.coder,
                               coder_id=self.coder_id)


@event.listens_for(Coding, "before_insert")
@event.listens_for(Coding, "before_update")
def _keep_identity(_mapper, _connection, coding: Coding) -> None:
    # Code, valence, span and review flag of a coding on an answer change through the
    # ORM; the key follows them. A coding without an answer (imported) keeps the key it
    # was given, which may number it among identical rows of its import.
    if coding.answer_id is not None or coding.identity is None:
        coding.identity = coding.current_identity()
