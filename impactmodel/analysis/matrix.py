"""The framework matrix: authorities, cases or key groups down the side, codes across.

Sheet "Excerpts": the row label in column A, one column per code (its id in header
row 1), each cell the agreed excerpts of that row and code, each with its respondent's
reference and role; a cell that would pass a spreadsheet's 32,767 characters ends with
"+N more". Sheet "Counts": the same shape, the number of excerpts. Rows of authorities
and of cases end with their memos (a "Memos" column). A cell with none is empty.

The excerpts are read in one pass, ordered as the rows are, as plain column rows from
the database cursor, and each matrix row is written to a write-only workbook as soon as
it is complete: neither the codings nor the sheet are held in memory.
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
from impactmodel.codebook.models import Code, Coding
from impactmodel.consortium.models import Authority, Case, KeyGroup, Participation, Respondent, Round

ROWS = ("authority", "case", "key_group")
CELL_LIMIT = 32_767            # characters a spreadsheet cell holds
SEPARATOR = "\n\n"
# Room kept in a full cell for its "+N more" line.
MORE_ROOM = len(SEPARATOR + f"+{10 ** 12} more")
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


def excerpt_entry(excerpt: str, reference: str, role: str) -> str:
    return f"{excerpt} [{reference}, {role}]"


@dataclass(frozen=True)
class MatrixRow:
    key: int | None        # authority, case or key group id; None: respondents without a key group
    label: str


def _rows(session: Session, rnd: Round, rows: str, viewer: User | None,
          name_of: Callable[[Authority], str]) -> tuple[list[MatrixRow], sa.Select]:
    """The matrix's rows: every authority taking part (that the viewer may see), every case
    of those, or every key group of the round; and the query of their excerpts, in the
    same order (so the two are read side by side, one row at a time)."""
    excerpts = (sa.select(Coding.code_id, Coding.excerpt, Respondent.reference,
                          sa.type_coerce(Respondent.role, sa.String))
                .join(Respondent, Coding.respondent_id == Respondent.id)
                .where(Coding.round_id == rnd.id, Coding.agreed.is_(True), Coding.excerpt.is_not(None),
                       Coding.excerpt != "", not_blind(viewer, Coding.answer_id)))
    if rows == "key_group":
        order = (KeyGroup.id.is_(None), KeyGroup.code, KeyGroup.id)
        groups = session.scalars(sa.select(KeyGroup).where(KeyGroup.round_id == rnd.id).order_by(*order[1:]))
        listed = [MatrixRow(kg.id, f"{kg.code}: {kg.label}" if kg.label and kg.label != kg.code else kg.code)
                  for kg in groups] + [MatrixRow(None, NO_KEY_GROUP)]
        return listed, (excerpts.add_columns(Respondent.key_group_id)
                        .outerjoin(KeyGroup, Respondent.key_group_id == KeyGroup.id)
                        .where(authorities_seen(viewer, Respondent.authority_id))
                        .order_by(*order, Coding.code_id, Coding.id))
    taking_part = sa.select(Participation.authority_id).where(Participation.round_id == rnd.id)
    if rows == "authority":
        order = (Authority.name, Authority.id)
        found = session.scalars(sa.select(Authority).where(
            Authority.id.in_(taking_part), authorities_seen(viewer, Authority.id)).order_by(*order))
        return [MatrixRow(a.id, name_of(a)) for a in found], (
            excerpts.add_columns(Respondent.authority_id).join(Authority, Respondent.authority_id == Authority.id)
            .where(Authority.id.in_(taking_part), authorities_seen(viewer, Authority.id))
            .order_by(*order, Coding.code_id, Coding.id))
    order = (Authority.name, Authority.id, Case.reference, Case.id)
    found = session.execute(sa.select(Case.id, Case.reference, Authority).join(
        Authority, Case.authority_id == Authority.id).where(
        Case.round_id == rnd.id, authorities_seen(viewer, Authority.id)).order_by(*order))
    return [MatrixRow(cid, f"{name_of(a)} · {ref}") for cid, ref, a in found], (
        excerpts.add_columns(Respondent.case_id).join(Case, Respondent.case_id == Case.id)
        .join(Authority, Case.authority_id == Authority.id)
        .where(Case.round_id == rnd.id, authorities_seen(viewer, Authority.id))
        .order_by(*order, Coding.code_id, Coding.id))


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
    matrix_rows, excerpts = _rows(session, rnd, rows, viewer, name_of)
    codes = _codes(session, rnd)
    column = {code: i for i, code in enumerate(codes)}
    memos = _memos(session, rnd, rows, viewer)
    with_memos = rows != "key_group"

    wb = Workbook(write_only=True)
    excerpts_ws, counts_ws = wb.create_sheet("Excerpts"), wb.create_sheet("Counts")
    header = [rows] + codes + (["Memos"] if with_memos else [])
    sheets.append_cells(excerpts_ws, header)
    sheets.append_cells(counts_ws, header)

    # Plain rows from the database cursor, a batch at a time; excerpts arrive grouped by
    # matrix row in the order of matrix_rows.
    stream = iter(session.connection().execute(excerpts.execution_options(yield_per=2000)))
    listed = {r.key for r in matrix_rows}
    pending = next(stream, None)
    n_excerpts = n_cut = 0
    for r in matrix_rows:
        cells: list[_Cell | None] = [None] * len(codes)
        while pending is not None and (pending[4] == r.key or pending[4] not in listed):
            code_id, excerpt, reference, role, key = pending
            i = column.get(code_id)
            if key == r.key and i is not None:
                if cells[i] is None:
                    cells[i] = _Cell()
                cells[i].add(excerpt_entry(excerpt, reference, role))
                n_excerpts += 1
            pending = next(stream, None)
        memo_cell = _Cell()
        for memo in memos.get(r.key, []) if r.key is not None else []:
            memo_cell.add(memo)
        n_cut += sum(1 for c in cells if c is not None and c.left_out) + (memo_cell.left_out > 0)
        if with_memos:
            cells.append(memo_cell if memo_cell.count else None)
        # A cell with nothing in it stays empty in both sheets: a file of cases by codes
        # is mostly empty, and empty cells cost nothing to write.
        sheets.append_cells(excerpts_ws, [r.label] + [c.text() if c else None for c in cells])
        sheets.append_cells(counts_ws, [r.label] + [c.count if c else None for c in cells])
    wb.save(out)
    return {"rows": len(matrix_rows), "codes": len(codes), "excerpts": n_excerpts, "cut": n_cut}
