"""Removed codings kept as they were, so that their coder can undo the removal exactly.

A coding is removed with its memos (they are written on it). Before the row goes, every
column of it and of its memos is copied into a ``RemovedCoding``; undoing puts the same
rows back, under their own ids while those are free.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.auth.models import User
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import Memo, RemovedCoding
from impactmodel.enums import Valence

_DATES = {"created_at"}


def _plain(obj, table) -> dict:
    out = {}
    for column in table.columns:
        value = getattr(obj, column.key)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Valence):
            value = value.value
        out[column.key] = value
    return out


def keep_removed(session: Session, actor: User, coding: Coding) -> RemovedCoding:
    """Copy ``coding`` and its memos before they are deleted (no commit)."""
    memos = session.scalars(sa.select(Memo).where(Memo.coding_id == coding.id).order_by(Memo.id))
    removed = RemovedCoding(coding_id=coding.id, answer_id=coding.answer_id, removed_by_id=actor.id,
                            row=_plain(coding, Coding.__table__),
                            memos=[_plain(m, Memo.__table__) for m in memos])
    session.add(removed)
    return removed


def latest_removal(session: Session, coding_id: int) -> RemovedCoding | None:
    """The last removal of coding ``coding_id`` that has not been undone."""
    return session.scalar(sa.select(RemovedCoding).where(
        RemovedCoding.coding_id == coding_id, RemovedCoding.restored_at.is_(None))
        .order_by(RemovedCoding.id.desc()).limit(1))


def _values(row: dict, table) -> dict:
    out = {}
    for column in table.columns:
        if column.key not in row:
            continue
        value = row[column.key]
        if column.key in _DATES and value is not None:
            value = datetime.fromisoformat(value)
        elif column.key == "valence" and value is not None:
            value = Valence(value)
        out[column.key] = value
    return out


def rebuild(session: Session, removed: RemovedCoding) -> tuple[Coding, list[Memo]]:
    """The coding and memos as they were, not yet added; each keeps its id if it is free."""
    values = _values(removed.row, Coding.__table__)
    if session.get(Coding, values["id"]) is not None:
        values.pop("id")
    values.pop("identity", None)      # recomputed from the columns when it is stored
    coding = Coding(**values)
    memos = []
    for m in removed.memos:
        memo_values = _values(m, Memo.__table__)
        if session.get(Memo, memo_values["id"]) is not None:
            memo_values.pop("id")
        memos.append(Memo(**memo_values))
    return coding, memos
