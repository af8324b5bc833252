"""The framework matrix: authorities, cases or key groups down the side, codes across.

Sheet "Excerpts": the row label in column A, one column per code (its id in header
row 1), each cell the agreed excerpts of that row and code, each with its respondent's
reference and role; a cell that would pass a spreadsheet's 32,767 characters ends with
"+N more". Sheet "Counts": the same shape, the number of excerpts. Rows of authorities
and of cases end with their memos (a "Memos" column).

Rows are read a few at a time with plain column selects and written to a write-only
workbook, so neither the codings nor the sheet are held in memory at once.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import IO, Callable

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel import sheets
from impactmodel.analysis.models import AuthorityMemo
from impactmodel.analysis.scope import authorities_seen, not_blind
from impactmodel.auth.models import User
from impactmodel.coding.models import Code, Coding
from impactmodel.consortium.models import Authority, Case, KeyGroup, Participation, Respondent, Round
from impactmodel.enums import RespondentRole

ROWS = ("authority", "case", "key_group")
CELL_LIMIT = 32_767            # characters a spreadsheet cell holds
SEPARATOR = "\n\n"
# Room kept in a full cell for its "+N more" line.
MORE_ROOM = len(SEPARATOR + f"+{10 ** 12} more")
ROWS_AT_ONCE = 20              # rows read per query: a bounded list of row ids
NO_KEY_GROUP = "(no key group)"


class _Cell:
    """One cell's text, cut before it would pass CELL_LIMIT, and its full count."""

    __slots__ = ("parts", "length", "count", "left_out")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.count = 0
        self.left_out = 0

    def add(self, text: str) -> None:
        self.count += 1
        if not self.left_out:
            # Measured as written (characters XML cannot carry take an escape each).
            size = len(sheets.xlsx_text(text)) + (len(SEPARATOR) if self.parts else 0)
            if self.length + size + MORE_ROOM <= CELL_LIMIT:
                self.parts.append(text)
                self.length += size
                return
        self.left_out += 1

    def text(self) -> str:
        more = [f"+{self.left_out} more"] if self.left_out else []
        return SEPARATOR.join(self.parts + more)


def excerpt_entry(excerpt: str, reference: str, role: RespondentRole) -> str:
    return f"{excerpt} [{reference}, {role.value}]"


@dataclass(frozen=True)
class MatrixRow:
    key: int | None        # authority, case or key group id; None: respondents without a key group
    label: str
    authority_id: int | None = None


def _rows(session: Session, rnd: Round, rows: str, viewer: User | None,
          name_of: Callable[[Authority], str]) -> list[MatrixRow]:
    """The matrix's rows in the order it shows them: every authority taking part (that the
    viewer may see), every case of those, or every key group of the round."""
    if rows == "key_group":
        return ([MatrixRow(kg.id, f"{kg.code}: {kg.label}" if kg.label and kg.label != kg.code else kg.code)
                 for kg in rnd.key_groups] + [MatrixRow(None, NO_KEY_GROUP)])
    if rows == "authority":
        taking_part = session.scalars(
            sa.select(Authority).join(Participation, Participation.authority_id == Authority.id)
            .where(Participation.round_id == rnd.id, authorities_seen(viewer, Authority.id)))
        return sorted((MatrixRow(a.id, name_of(a), a.id) for a in taking_part),
                      key=lambda r: (r.label.casefold(), r.key))
    cases = session.execute(sa.select(Case.id, Case.reference, Authority).join(
        Authority, Case.authority_id == Authority.id).where(
        Case.round_id == rnd.id, authorities_seen(viewer, Case.authority_id)))
    return sorted((MatrixRow(cid, f"{name_of(a)} · {ref}", a.id) for cid, ref, a in cases),
                  key=lambda r: (r.label.casefold(), r.key))


def _codes(session: Session, rnd: Round) -> list[str]:
    """Every code of the codebook in its order, then retired codes the round still uses."""
    current = [c for c in codebook_mod.load().codes]
    used = set(session.scalars(sa.select(Coding.code_id).where(Coding.round_id == rnd.id).distinct()))
    known = set(session.scalars(sa.select(Code.id)))
    return current + sorted((used & known) - set(current))


def _memos(session: Session, rnd: Round, rows: str, viewer: User | None) -> dict[int, list[str]]:
    if rows == "key_group":
        return {}
    key = AuthorityMemo.authority_id if rows == "authority" else AuthorityMemo.case_id
    where = AuthorityMemo.case_id.is_(None) if rows == "authority" else AuthorityMemo.case_id.is_not(None)
    out: dict[int, list[str]] = defaultdict(list)
    for k, created, text in session.execute(
            sa.select(key, AuthorityMemo.created_at, AuthorityMemo.text)
            .where(AuthorityMemo.round_id == rnd.id, where, authorities_seen(viewer, AuthorityMemo.authority_id))
            .order_by(AuthorityMemo.created_at, AuthorityMemo.id)):
        out[k].append(f"{created:%Y-%m-%d} {text}")
    return out


def write_matrix(session: Session, round_name: str, rows: str, out: IO[bytes] | str, *,
                 viewer: User | None = None, name_of: Callable[[Authority], str] | None = None) -> dict:
    """Write the round's framework matrix as XLSX to ``out`` (a path or a binary file).

    ``viewer`` None is the command line: every authority, by name. Otherwise only the
    authorities ``viewer`` may see, named by ``name_of``, and none of the answers they
    still have to code blind. Returns counts: ``rows``, ``codes``, ``excerpts``, ``cut``
    (cells that end with "+N more").
    """
    if rows not in ROWS:
        raise ValueError(f"rows must be one of {', '.join(ROWS)}, not {rows!r}")
    rnd = session.scalar(sa.select(Round).where(Round.name == round_name))
    if rnd is None:
        raise LookupError(f"no round called {round_name!r}")
    name_of = name_of or (lambda a: a.name)
    matrix_rows = _rows(session, rnd, rows, viewer, name_of)
    codes = _codes(session, rnd)
    column = {code: i for i, code in enumerate(codes)}
    memos = _memos(session, rnd, rows, viewer)
    with_memos = rows != "key_group"

    wb = Workbook(write_only=True)
    excerpts_ws, counts_ws = wb.create_sheet("Excerpts"), wb.create_sheet("Counts")
    header = [rows] + codes + (["Memos"] if with_memos else [])
    sheets.append_streamed_row(excerpts_ws, header)
    sheets.append_streamed_row(counts_ws, header)

    key = {"authority": Respondent.authority_id, "case": Respondent.case_id,
           "key_group": Respondent.key_group_id}[rows]
    base = (sa.select(key, Coding.code_id, Coding.excerpt, Respondent.reference, Respondent.role)
            .join(Respondent, Coding.respondent_id == Respondent.id)
            .where(Coding.round_id == rnd.id, Coding.agreed.is_(True), Coding.excerpt.is_not(None),
                   Coding.excerpt != "", authorities_seen(viewer, Respondent.authority_id),
                   not_blind(viewer, Coding.answer_id)))
    n_excerpts = n_cut = 0
    for start in range(0, len(matrix_rows), ROWS_AT_ONCE):
        chunk = matrix_rows[start:start + ROWS_AT_ONCE]
        ids = [r.key for r in chunk if r.key is not None]
        in_chunk = key.in_(ids)
        if any(r.key is None for r in chunk):
            in_chunk = sa.or_(in_chunk, key.is_(None))
        cells: dict[int | None, list[_Cell | None]] = {r.key: [None] * len(codes) for r in chunk}
        for k, code_id, excerpt, reference, role in session.execute(
                base.where(in_chunk).order_by(key, Coding.code_id, Coding.id)).yield_per(2000):
            row_cells = cells[k]
            i = column.get(code_id)
            if i is None:
                continue
            if row_cells[i] is None:
                row_cells[i] = _Cell()
            row_cells[i].add(excerpt_entry(excerpt, reference, role))
            n_excerpts += 1
        for r in chunk:
            row_cells = cells[r.key]
            memo_cell = _Cell()
            for memo in memos.get(r.key, []) if r.key is not None else []:
                memo_cell.add(memo)
            n_cut += sum(1 for c in row_cells if c is not None and c.left_out) + (memo_cell.left_out > 0)
            tail_text = [memo_cell.text()] if with_memos else []
            tail_count = [memo_cell.count] if with_memos else []
            sheets.append_streamed_row(excerpts_ws, [r.label] + [c.text() if c else "" for c in row_cells]
                                       + tail_text)
            sheets.append_streamed_row(counts_ws, [r.label] + [c.count if c else 0 for c in row_cells]
                                       + tail_count)
    wb.save(out)
    return {"rows": len(matrix_rows), "codes": len(codes), "excerpts": n_excerpts, "cut": n_cut}
