"""Spreadsheet-safe CSV and XLSX: the one place every file the app writes goes through.

A spreadsheet runs a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (CSV injection). Text written here never does:

* CSV: such text gets one leading ``'`` (and so does text that already starts with
  ``'``, so that reading can tell the two apart); :func:`restore` takes exactly that
  one ``'`` off again, so the app's own files come back exactly as they were written.
  Text that is a plain number (``-0.25``) is written as it is: a spreadsheet reads it
  as a number. Rows end in CRLF (RFC 4180), and a value holding a CR or an LF is
  quoted, so a lone CR survives the trip. On PostgreSQL a large export can have the
  database write its CSV (:func:`copy_csv`), its cells neutralised in SQL by the same
  rule (:func:`neutralised_sql`): the text is byte for byte what ``csv_writer`` writes.
* XLSX: text cells are string cells, never formulas; numbers and dates stay numbers.
  Characters XML cannot carry (control characters other than tab, LF and CR) are
  written as the ``_xHHHH_`` escapes spreadsheet programs decode.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import IO, Any, Iterable, Iterator

import sqlalchemy as sa
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_MARKED_STARTS = FORMULA_STARTS + (QUOTE,)
PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
# An underscore escape that is already in the text is itself escaped (as _x005F_),
# so that reading the cell back cannot turn it into another character.
_UNDERSCORE_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def neutralise(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet runs: text a spreadsheet would take
    as a formula (or that starts with ``'``) gets a leading ``'``; anything else is
    returned as it is."""
    if isinstance(value, str) and value.startswith(_MARKED_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return QUOTE + value
    return value


def restore(text: str) -> str:
    """A cell of the app's own CSV as it was before :func:`neutralise`: exactly one
    leading ``'`` is taken off text that neutralising would have marked."""
    if text.startswith(QUOTE) and text[1:].startswith(FORMULA_STARTS + (QUOTE,)):
        return text[1:]
    return text


def csv_writer(out: IO[str]):
    """A ``csv.writer`` whose rows are neutralised. ``out`` is opened with ``newline=""``
    (or is a StringIO): the writer ends rows in CRLF itself."""
    return _SafeWriter(csv.writer(out, lineterminator="\r\n"))


class _SafeWriter:
    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow(_neutralised(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._writer.writerows(map(_neutralised, rows))


def _neutralised(row: Iterable[Any]) -> list[Any]:
    # neutralise() of every cell, written out: exports run this for every row they write.
    return [QUOTE + v if isinstance(v, str) and v.startswith(_MARKED_STARTS) and not PLAIN_NUMBER.fullmatch(v)
            else v for v in row]


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[bytes]:
    """Each of ``rows`` as one line of spreadsheet-safe CSV in UTF-8, ending in CRLF."""
    buf = io.StringIO()
    writer = csv_writer(buf)
    for row in rows:
        writer.writerow(row)
        yield buf.getvalue().encode()
        buf.seek(0)
        buf.truncate()


# neutralise() as PostgreSQL sees it: the first character's code point, and the same
# number pattern, anchored as fullmatch() anchors it (without the newline flag, PostgreSQL's
# $ matches only at the very end, as fullmatch does).
_MARKED_CODE_POINTS = [ord(c) for c in _MARKED_STARTS]
_PLAIN_NUMBER_SQL = f"^(?:{PLAIN_NUMBER.pattern})$"


def neutralised_sql(text: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """:func:`neutralise` of the text column ``text``, in PostgreSQL's SQL, for the CSV
    :func:`copy_csv` has the database write. Empty text becomes NULL: COPY writes NULL as
    nothing, as Python's csv writer writes an empty string, where it would write ``""``."""
    return sa.func.nullif(sa.case(
        # ascii() is the first character's code point (0 for empty text): no copy of the text.
        (sa.func.ascii(text).not_in(_MARKED_CODE_POINTS), text),
        (text.regexp_match(_PLAIN_NUMBER_SQL), text),
        else_=sa.literal(QUOTE, sa.Text) + text), "")


def copy_csv(connection: sa.Connection, query: sa.Select) -> Iterator[bytes]:
    """The rows of ``query`` as CSV lines in UTF-8 written by PostgreSQL (``COPY ... TO
    STDOUT``), one line at a time, each ending in CRLF: the bytes :func:`csv_lines` writes
    for the same rows, provided each of ``query``'s columns (two or more: PostgreSQL quotes
    a lone ``\\.`` in a file of one column) is text passed through :func:`neutralised_sql`.

    Runs in ``connection``'s transaction. Its parameters are bound by the driver, which
    quotes each one as a literal (COPY takes no parameters of its own).
    """
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    with connection.connection.driver_connection.cursor() as cursor:
        # The work is formatting text: compiling it to machine code (PostgreSQL's JIT, which
        # a large export's estimated cost would start) takes longer than it saves.
        cursor.execute("SET LOCAL jit = off")
        with cursor.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')",
                         compiled.params) as copy:
            # PostgreSQL sends each row as one message, ending in LF; an LF or CR inside
            # a cell is quoted, as Python's csv writer quotes it, and stays as it is.
            for row in copy:
                yield row[:-1].tobytes() + b"\r\n"


def csv_rows(text: str):
    """The rows of CSV ``text`` (a strict reader), each cell restored."""
    for values in csv.reader(io.StringIO(text, newline=""), strict=True):
        yield [restore(v) for v in values]


def xlsx_text(text: str) -> str:
    """Text as an XLSX cell can hold it: characters XML cannot carry become ``_xHHHH_``."""
    if text.isprintable() and "_x" not in text:
        # Nothing to escape, as in most text: a framework matrix measures every excerpt.
        return text
    text = _UNDERSCORE_ESCAPE.sub(r"_x005F_\1", text)
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def append_row(ws: Worksheet, values: Iterable[Any]) -> None:
    """Append a row to ``ws``: text as string cells (never formulas), numbers as numbers,
    datetimes as dates."""
    values = [xlsx_text(v) if isinstance(v, str) else v for v in values]
    ws.append(values)
    for cell, value in zip(ws[ws.max_row], values):
        if isinstance(value, str):
            cell.data_type = "s"
        elif isinstance(value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm:ss"


def append_cells(ws: WriteOnlyWorksheet, values: Iterable[Any], font: Font | None = None) -> None:
    """:func:`append_row` for a write-only sheet (rows streamed to disk), optionally in ``font``."""
    ws.append([_write_only_value(ws, value, font) for value in values])


# Values openpyxl stores as they are given: a cell object costs far more to write, so one
# is made only where a value needs a type or style set by hand.
_PLAIN_TYPES = (int, float, bool)


def _write_only_value(ws: WriteOnlyWorksheet, value: Any, font: Font | None) -> Any:
    if isinstance(value, str):
        value = xlsx_text(value)
        # openpyxl would take these as a formula or an error value rather than as text.
        if font is None and not value.startswith("=") and value not in ERROR_CODES:
            return value
    elif font is None and (value is None or type(value) in _PLAIN_TYPES):
        return value
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    if font is not None:
        cell.font = font
    return cell
