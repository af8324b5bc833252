"""Downloads that keep a worker's memory flat, however large the round.

CSV is written to the response row by row as the rows are read; binary files (XLSX,
``.qdpx``) are written to an anonymous temporary file and sent from it, so neither is
ever assembled in memory. Every cell still goes through ``sheets``.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import tempfile
from typing import IO, Any, Callable, Generator, Iterable

from flask import Response, stream_with_context
from sqlalchemy.orm import Session

from impactmodel import sheets
from impactmodel.db import db

# Rows written per chunk sent: large enough that the response is not a stream of tiny
# writes, small enough that a chunk stays a few hundred kilobytes.
CHUNK_ROWS = 1000
FILE_CHUNK = 256 * 1024


def _attachment(name: str) -> str:
    return f'attachment; filename="{name}"'


def csv_chunks(rows: Iterable[Iterable[Any]]):
    """The spreadsheet-safe CSV text of ``rows``, a chunk of ``CHUNK_ROWS`` rows at a time."""
    buf = io.StringIO()
    writer = sheets.csv_writer(buf)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % CHUNK_ROWS == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def csv_response(rows: Iterable[Iterable[Any]], name: str) -> Response:
    """A CSV download of ``rows`` (header first), streamed while the rows are read from
    the request's database session."""
    return _csv_stream(csv_chunks(rows), name)


def csv_lines_response(lines: Generator[bytes, None, None], name: str) -> Response:
    """A CSV download of ``lines`` already written spreadsheet-safe, one row each (such as
    ``sheets.csv_lines`` or ``sheets.copy_csv`` write), sent ``CHUNK_ROWS`` at a time while
    they are read."""
    return _csv_stream(_line_chunks(lines), name)


def _line_chunks(lines: Generator[bytes, None, None]):
    # A download abandoned part way closes the lines before the session: a COPY that
    # writes them holds the session's connection until it is closed.
    with contextlib.closing(lines):
        # Every line ends in CRLF, so only the end of the lines joins to b"".
        while chunk := b"".join(itertools.islice(lines, CHUNK_ROWS)):
            yield chunk


def _csv_stream(chunks: Iterable[str | bytes], name: str) -> Response:
    return Response(stream_with_context(_closing(chunks, db.session)), mimetype="text/csv",
                    headers={"Content-Disposition": _attachment(name)})


def _closing(chunks, session: Session):
    # The app context's teardown closes the session when the view returns, before the
    # rows are read: reading them opens a transaction again, which is closed here.
    try:
        yield from chunks
    finally:
        session.close()


def file_response(write: Callable[[IO[bytes]], Any], mimetype: str, name: str) -> Response:
    """A download of what ``write`` writes to a binary file, sent from a temporary file
    that is removed when the response closes it."""
    fh = tempfile.TemporaryFile()
    try:
        write(fh)
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    response = Response(_read_and_close(fh), mimetype=mimetype,
                        headers={"Content-Disposition": _attachment(name)})
    response.call_on_close(fh.close)     # also when the download is abandoned part way
    return response


def _read_and_close(fh: IO[bytes]):
    try:
        while chunk := fh.read(FILE_CHUNK):
            yield chunk
    finally:
        fh.close()
