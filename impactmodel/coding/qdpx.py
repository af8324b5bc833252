"""A round's answers and codings as a REFI-QDA project (``.qdpx``) for NVivo, ATLAS.ti,
MAXQDA, QualCoder and other tools.

The zip holds ``project.qde`` (valid against Project.xsd) and ``sources/``, one
plain-text UTF-8 file per answer. A source's line breaks are all LF (an answer may
hold CR LF, and tools that count CR LF as one character would otherwise place spans
early), and each coded span is a ``PlainTextSelection`` whose offsets are character
positions (code points) in that LF text, with one ``Coding`` per coder and code;
coders are the project's ``Users``; the codebook is the project's ``CodeBook`` (a
code with valences other than positive has one child code per valence) and the
steering-group features its ``Set``; authorities, and the cases (children) of the
round, are ``Cases``; role, key group and question are ``Variables``; memos are
``Notes``: those on an answer are referred to by its source, those on an authority or
a case are joined to its ``Case`` by a ``Link`` (a case element refers to no note).
"""
from __future__ import annotations

import contextlib
import itertools
import operator
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import zlib
from collections import defaultdict
from datetime import datetime, timezone
from typing import IO, Sequence
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel.analysis.models import AuthorityMemo
from impactmodel.auth.models import User
from impactmodel.codebook.exchange import (STEERING_SET, STEERING_SET_DESCRIPTION, _code_elements, code_guid,
                                           guid, guids_of, has_valence_children)
from impactmodel.codebook.models import Code, Coding
from impactmodel.coding.models import DoubleCoding, Memo
from impactmodel.coding.qdpx_zip import QdpxZip, crc32_combine
from impactmodel.coding.queries import INSTRUMENT_CODER, question_of
from impactmodel.consortium.models import Authority, Case, KeyGroup, Respondent, Round
from impactmodel.fieldwork.models import Answer, Response, response_counts

NS = "urn:QDA-XML:project:1.0"
Q = f"{{{NS}}}"
VARIABLES = ("Role", "Key group", "Question")


def _when(value: datetime | None) -> str:
    value = value or datetime.now(timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)   # stored as UTC
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_ATTR_SPECIAL = re.compile(r"[&<>\"\n\r\t]")


def _attr(text: str) -> str:
    """``quoteattr(text)``, at once for the usual text that has nothing to escape."""
    return quoteattr(text) if _ATTR_SPECIAL.search(text) else f'"{text}"'


def _el(parent, tag, text=None, **attrs):
    el = ET.SubElement(parent, Q + tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def lf_text(text: str) -> tuple[str, Sequence[int], Sequence[int]]:
    """``text`` with every CR LF and lone CR as LF, and the index maps both ways.

    Returns ``(lf, to_lf, to_text)``: ``to_lf[i]`` is the index in ``lf`` of
    ``text[i]`` (0..len(text)); ``to_text[k]`` is where ``lf[k]`` begins in ``text``
    (for an LF made from CR LF, the CR), so ``text[to_text[a]:to_text[b]]`` is the
    original of ``lf[a:b]``.
    """
    if "\r" not in text:
        same = range(len(text) + 1)       # nothing changes: both maps are the identity
        return text, same, same
    out: list[str] = []
    to_lf = [0] * (len(text) + 1)
    to_text: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        to_lf[i] = len(out)
        to_text.append(i)
        if ch == "\r":
            out.append("\n")
            if i + 1 < len(text) and text[i + 1] == "\n":
                to_lf[i + 1] = len(out) - 1       # inside the pair: the LF it became
                i += 1
        else:
            out.append(ch)
        i += 1
    to_lf[len(text)] = len(out)
    to_text.append(len(text))
    return "".join(out), to_lf, to_text


# Rows read from the database at a time (a server-side cursor on PostgreSQL).
YIELD_PER = 2000
# Sources whose XML is written to the temporary file at once.
SOURCES_PER_WRITE = 500
# project.qde is most of the file and deflating it most of the time it takes to write:
# the fastest level makes it a quarter larger and takes a third of the time.
QDE_COMPRESSLEVEL = 1
_SPAN = operator.itemgetter(0, 1)


def _utc_text(column, dialect: str):
    """``column``, a UTC time, as ``_when`` writes it, formatted by the database: a round
    has hundreds of thousands of codings, and formatting their times in Python takes seconds."""
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return sa.func.strftime("%Y-%m-%dT%H:%M:%SZ", column)     # SQLite keeps UTC times as text


def _coding_columns(dialect: str) -> tuple:
    """A coding as the export reads it: these columns first, in this order, then what the
    query adds. Rows are read by position: a row's values by name cost ten times as much,
    and a round has hundreds of thousands of codings. The valence is the text stored (no
    enum member per row): code GUIDs are made from it."""
    return (Coding.id, Coding.code_id, sa.type_coerce(Coding.valence, sa.String), Coding.coder_id,
            Coding.coder, _utc_text(Coding.created_at, dialect), Coding.start, Coding.end, Coding.excerpt,
            Coding.answer_id, Coding.agreed)


_CODER_ID, _CODER, _CREATED_AT, _START, _END, _EXCERPT, _ANSWER, _AGREED = range(3, 11)
_AFTER_CODING = 11     # where the query's own columns begin


def _placed(c, lf: str, to_lf: Sequence[int]) -> tuple[int, int, tuple]:
    """Coding row ``c`` on an answer as ``(start, end, c)`` in the answer's LF text ``lf``:
    its span, else where its excerpt is found, else the whole text."""
    start, end, excerpt = c[_START], c[_END], c[_EXCERPT]
    if start is not None:
        return to_lf[start], to_lf[end], c
    if excerpt and (words := lf_text(excerpt)[0]) in lf:
        return lf.index(words), lf.index(words) + len(words), c
    return 0, len(lf), c


def _fragment(el: ET.Element, level: int) -> str:
    """``el`` as indented XML text to sit at depth ``level`` inside the project element,
    whose default namespace it takes (so its tags are written without one)."""
    for e in el.iter():
        e.tag = e.tag.split("}", 1)[-1]
    ET.indent(el, level=level)
    return "  " * level + ET.tostring(el, encoding="unicode").rstrip() + "\n"


def _rows(session: Session, query):
    # Through the session's connection: plain rows, without the ORM's work on each one,
    # taken a batch at a time (one call per batch rather than per row).
    result = session.connection().execute(query.execution_options(yield_per=YIELD_PER))
    try:
        for batch in result.partitions():
            yield from batch
    finally:
        result.close()


class _Deflated:
    """Text written as UTF-8, deflated (a raw stream, as a zip entry holds it) to the
    binary file ``fh``, counting its CRC-32 and size for the entry's header."""

    def __init__(self, fh: IO[bytes]):
        self._fh = fh
        self._deflate = zlib.compressobj(QDE_COMPRESSLEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        self.crc = self.size = 0

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self._fh.write(self._deflate.compress(data))

    def splice(self, aside: _DeflatedAside) -> None:
        """``aside``'s stream, next: what was written so far is flushed to a byte boundary,
        and what follows is deflated afresh (it may not refer back into the spliced part,
        whose words the compressor here has not seen)."""
        self._fh.write(self._deflate.flush(zlib.Z_SYNC_FLUSH))
        aside.fh.seek(0)
        shutil.copyfileobj(aside.fh, self._fh)
        self.crc = crc32_combine(self.crc, aside.crc, aside.size)
        self.size += aside.size
        self._deflate = zlib.compressobj(QDE_COMPRESSLEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)

    def finish(self) -> int:
        """Ends the stream; returns its deflated size."""
        self._fh.write(self._deflate.flush())
        return self._fh.tell()


class _DeflatedAside:
    """Bytes deflated to the binary file ``fh`` in a second thread while the export goes
    on (zlib lets other threads run while it works): the sources' XML, most of
    project.qde, whose deflating would otherwise take a fifth of the export's time. The
    stream ends on a byte boundary, not as a last block, for ``_Deflated.splice``."""

    def __init__(self, fh: IO[bytes]):
        self.fh = fh
        self.crc = self.size = 0
        self._batches: queue.Queue[bytes | None] = queue.Queue(maxsize=4)    # bounded: memory stays flat
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._deflate, name="qdpx-deflate", daemon=True)
        self._thread.start()

    def __enter__(self) -> _DeflatedAside:
        return self

    def __exit__(self, kind, error, tb) -> None:
        self.finish(raising=error is None)

    def write(self, data: bytes) -> None:
        if self._failed is not None:
            raise self._failed
        self._batches.put(data)

    def finish(self, raising: bool = True) -> None:
        """Waits until everything written is deflated."""
        if self._thread.is_alive():
            self._batches.put(None)
            self._thread.join()
        if raising and self._failed is not None:
            raise self._failed

    def _deflate(self) -> None:
        deflate = zlib.compressobj(QDE_COMPRESSLEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        try:
            while (data := self._batches.get()) is not None:
                self.crc = zlib.crc32(data, self.crc)
                self.size += len(data)
                self.fh.write(deflate.compress(data))
            self.fh.write(deflate.flush(zlib.Z_SYNC_FLUSH))
        except BaseException as exc:      # raised in the export's thread, by write or finish
            self._failed = exc
            while self._batches.get() is not None:     # nothing blocks on a full queue meanwhile
                pass


def export_qdpx(session: Session, round_name: str, out: IO[bytes] | str, *, viewer: User | None = None,
                authority_ids: list[int] | None = None) -> dict:
    """Write the round as a ``.qdpx`` to ``out`` (a path or a binary file, written front to back).

    Answers and codings are read a batch at a time and written as they are read (the
    sources to the zip, their XML deflated to a temporary file in a second thread and
    spliced into ``project.qde``), so memory stays flat however large the round.

    Parameters
    ----------
    viewer
        The exporting user: authorities are named if they may see names, otherwise
        (and on the command line, ``viewer=None``) shown by anonymised label.
    authority_ids
        Only these authorities (a researcher's assigned ones); None for all.

    Returns
    -------
    dict
        Counts: ``sources``, ``selections``, ``codings``, ``cases``, ``users``.
    """
    rnd = session.scalar(sa.select(Round).where(Round.name == round_name))
    if rnd is None:
        raise LookupError(f"no round called {round_name!r}")
    cb = codebook_mod.load()
    ET.register_namespace("", NS)
    in_scope = [Respondent.round_id == rnd.id]
    if authority_ids is not None:
        in_scope.append(Respondent.authority_id.in_(authority_ids))

    # Blindness lasts until reconciliation, as on the pages (``services.answer_context``):
    # a blind second coder's download shows none of the others' codings or memos on the
    # answers drawn for them, and no one else sees that coder's blind codings meanwhile.
    pending: set[int] = set()
    blind_work: set[tuple[int, int]] = set()       # (answer, second coder) not yet reconciled
    if viewer is not None:
        for answer_id, second in session.execute(sa.select(
                DoubleCoding.answer_id, DoubleCoding.second_coder_id).where(
                DoubleCoding.round_id == rnd.id, DoubleCoding.reconciled_at.is_(None))):
            if second == viewer.id:
                pending.add(answer_id)
            else:
                blind_work.add((answer_id, second))

    def shown(c) -> bool:
        answer_id, coder_id = c[_ANSWER], c[_CODER_ID]
        if answer_id in pending and coder_id != viewer.id:
            return False
        return c[_AGREED] or (answer_id, coder_id) not in blind_work

    memos: dict[int, list] = defaultdict(list)
    for m in session.execute(
            sa.select(Memo.id, Memo.answer_id, Memo.author_id, Memo.text, Memo.created_at)
            .join(Answer, Memo.answer_id == Answer.id).join(Response, Answer.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id).where(*in_scope).order_by(Memo.id)):
        if m.answer_id in pending and m.author_id != viewer.id:
            continue
        if (m.answer_id, m.author_id) in blind_work:
            continue
        memos[m.answer_id].append(m)

    # Users: every coder and memo author whose work is in the file (a name alone can tell too much).
    names = dict(session.execute(sa.select(User.id, User.name)).all())
    user_guids: dict[str, tuple[str, str]] = {}
    guid_of_coder: dict[tuple[int | None, str], str] = {}

    def user_guid(coder_id: int | None, coder: str) -> str:
        known = guid_of_coder.get((coder_id, coder))
        if known is not None:
            return known
        key = f"id:{coder_id}" if coder_id else f"name:{coder or 'unknown'}"
        if key not in user_guids:
            name = names.get(coder_id) if coder_id else None
            user_guids[key] = (guid("user", key), name or (coder or "unknown coder"))
        guid_of_coder[coder_id, coder] = user_guids[key][0]
        return user_guids[key][0]

    authorities = {a.id: a for a in session.scalars(sa.select(Authority))}
    authority_names: dict[int, str] = {}

    def authority_name(aid: int) -> str:
        if aid not in authority_names:
            a = authorities[aid]
            authority_names[aid] = viewer.authority_display_name(a) if viewer is not None else a.label
        return authority_names[aid]

    var_guid = {name: guid("variable", name) for name in VARIABLES}
    cases: dict[int, list[str]] = defaultdict(list)
    child_cases: dict[int, list[str]] = defaultdict(list)
    # Memos on authorities and cases (their Case is written even when it has no source).
    mq = sa.select(AuthorityMemo).where(AuthorityMemo.round_id == rnd.id)
    if authority_ids is not None:
        mq = mq.where(AuthorityMemo.authority_id.in_(authority_ids))
    case_memos = list(session.scalars(mq.order_by(AuthorityMemo.created_at, AuthorityMemo.id)))
    for m in case_memos:
        user_guid(m.author_id, "")
        cases.setdefault(m.authority_id, [])
        if m.case_id is not None:
            child_cases.setdefault(m.case_id, [])
    used_codes: set[str] = set()
    notes = []
    counts = {"sources": 0, "selections": 0, "codings": 0}

    code_refs: dict[tuple[str, str], str] = {}

    def code_ref(code_id: str, valence: str) -> str:
        key = (code_id, valence)
        if key not in code_refs:
            d = cb.codes.get(code_id)
            code_refs[key] = (code_guid(code_id, valence)
                              if d is not None and has_valence_children(d.valences) and valence in d.valences
                              else code_guid(code_id))
            used_codes.add(code_id)
        return code_refs[key]

    variable_values: dict[tuple, str] = {}

    def variables_xml(role, kg, question) -> str:
        """A source's three ``VariableValue``s: a few hundred kinds in a round, written once each."""
        key = (role, kg, question)
        if key not in variable_values:
            variable_values[key] = "".join(
                f'      <VariableValue>\n        <VariableRef targetGUID="{var_guid[var]}" />\n'
                f"        <TextValue>{escape(value)}</TextValue>\n      </VariableValue>\n"
                for var, value in (("Role", role.label), ("Key group", kg or ""), ("Question", question)))
        return variable_values[key]

    coding_guid, selection_guid, answer_guid = guids_of("coding"), guids_of("selection"), guids_of("answer")

    def source_xml(sg, name, lf, placed, role, kg, question, ms) -> str:
        """One ``TextSource`` as XML text (written directly: a round has tens of thousands).
        ``placed`` holds its codings as ``(start, end, coding row)`` in ``lf``."""
        out = [f'    <TextSource guid="{sg}" name={_attr(name)} plainTextPath="internal://{sg}.txt">\n']
        if len(placed) > 1:
            placed.sort(key=_SPAN)      # stable: codings keep their order within a span
        for (s0, e0), group in itertools.groupby(placed, key=_SPAN):
            codings, made, first = [], [], None
            for _s, _e, (coding_id, code_id, valence, coder_id, coder, stamp, *_) in group:
                user = guid_of_coder.get((coder_id, coder)) or user_guid(coder_id, coder)
                first = first or user
                if stamp is None:
                    stamp = _when(None)
                else:
                    made.append(stamp)      # as UTC text, times sort as they do as times
                code = code_refs.get((code_id, valence)) or code_ref(code_id, valence)
                codings.append(f'        <Coding guid="{coding_guid(str(coding_id))}" '
                               f'creatingUser="{user}" creationDateTime="{stamp}">\n'
                               f'          <CodeRef targetGUID="{code}" />\n'
                               "        </Coding>\n")
            # Only names can hold characters to escape: guids, numbers and times cannot.
            out.append(f'      <PlainTextSelection guid="{selection_guid(f"{sg}:{s0}:{e0}")}" '
                       f'name={_attr(lf[s0:min(e0, s0 + 60)])} startPosition="{s0}" endPosition="{e0}" '
                       f'creatingUser="{first}" creationDateTime="{min(made) if made else _when(None)}">\n'
                       f'{"".join(codings)}      </PlainTextSelection>\n')
            counts["selections"] += 1
            counts["codings"] += len(codings)
        for m in ms:
            ng = guid("memo", str(m.id))
            out.append(f'      <NoteRef targetGUID="{ng}" />\n')
            user_guid(m.author_id, "")
            notes.append((ng, m))
        out.append(variables_xml(role, kg, question))
        out.append("    </TextSource>\n")
        return "".join(out)

    dialect = session.get_bind().dialect.name
    answers = (sa.select(Answer.id, Answer.text, Answer.question_key, Response.instrument_version_id,
                         Respondent.authority_id, Respondent.role, Respondent.case_id,
                         KeyGroup.code.label("key_group"))
               .join(Response, Answer.response_id == Response.id)
               .join(Respondent, Response.respondent_id == Respondent.id)
               .outerjoin(KeyGroup, Respondent.key_group_id == KeyGroup.id)
               .where(*in_scope, Answer.text.is_not(None), response_counts())
               .order_by(Respondent.authority_id, Answer.id))
    # The codings on answers, in the same order, read alongside them: from the coding table
    # alone, which keeps each coding's authority (the answers' query leaves out those not exported).
    on_answers = (sa.select(*_coding_columns(dialect), Coding.authority_id)
                  .where(Coding.round_id == rnd.id, Coding.answer_id.is_not(None), Coding.coder != INSTRUMENT_CODER)
                  .order_by(Coding.authority_id, Coding.answer_id, Coding.id))
    if authority_ids is not None:
        on_answers = on_answers.where(Coding.authority_id.in_(authority_ids))
    # Imported codings with an excerpt and no answer: one source per respondent.
    loose = (sa.select(*_coding_columns(dialect), Coding.respondent_id, Respondent.authority_id, Respondent.role,
                       Respondent.case_id, KeyGroup.code)
             .join(Respondent, Coding.respondent_id == Respondent.id)
             .outerjoin(KeyGroup, Respondent.key_group_id == KeyGroup.id)
             .where(*in_scope, Coding.round_id == rnd.id, Coding.coder != INSTRUMENT_CODER,
                    Coding.answer_id.is_(None), Coding.excerpt.is_not(None), Coding.excerpt != "")
             .order_by(Coding.respondent_id, Coding.id))

    questions: dict[tuple[int, str], str] = {}

    def answer_sources():
        # The codings come in the answers' order, one group per answer.
        by_answer = itertools.groupby(_rows(session, on_answers), key=operator.itemgetter(_AFTER_CODING, _ANSWER))
        key, group = next(by_answer, (None, None))
        for answer_id, text, question_key, version_id, authority_id, role, case_id, kg in _rows(session, answers):
            mine = []
            while key is not None and key <= (authority_id, answer_id):
                if key == (authority_id, answer_id):
                    mine = [c for c in group if shown(c)]
                key, group = next(by_answer, (None, None))
            if not text.strip():
                continue
            question = questions.get((version_id, question_key))
            if question is None:
                question = questions[version_id, question_key] = question_of(session, version_id, question_key)
            lf, to_lf, _ = lf_text(text)
            yield (answer_guid(str(answer_id)),
                   f"{authority_name(authority_id)} · {role.label} · {question_key} · answer {answer_id}",
                   lf, [_placed(c, lf, to_lf) for c in mine], authority_id, role, kg, question,
                   memos.get(answer_id, ()), case_id)

    def loose_sources():
        rows = [c for c in _rows(session, loose) if shown(c)]
        for rid, group in itertools.groupby(rows, key=operator.itemgetter(_AFTER_CODING)):
            group = list(group)
            parts, placed, pos = [], [], 0
            for c in group:
                excerpt = lf_text(c[_EXCERPT])[0]
                if parts:
                    pos += 2
                placed.append((pos, pos + len(excerpt), c))
                parts.append(excerpt)
                pos += len(excerpt)
            authority_id, role, case_id, kg = group[0][_AFTER_CODING + 1:]
            yield (guid("respondent-excerpts", str(rid)),
                   f"{authority_name(authority_id)} · {role.label} · imported excerpts · respondent {rid}",
                   "\n\n".join(parts), placed, authority_id, role, kg, "imported excerpts", [], case_id)

    # Every source's file has the export's time.
    archive_of = (open(out, "wb") if isinstance(out, (str, os.PathLike)) else contextlib.nullcontext(out))
    with archive_of as fh, tempfile.TemporaryFile() as sources_file, tempfile.TemporaryFile() as qde_file, \
            _DeflatedAside(sources_file) as sources_xml:
        archive = QdpxZip(fh, time.localtime()[:6])
        pending_xml: list[str] = []
        for sg, name, lf, placed, aid, role, kg, question, ms, case_id in itertools.chain(answer_sources(),
                                                                                        loose_sources()):
            pending_xml.append(source_xml(sg, name, lf, placed, role, kg, question, ms))
            if len(pending_xml) == SOURCES_PER_WRITE:
                sources_xml.write("".join(pending_xml).encode("utf-8"))
                pending_xml.clear()
            # Stored, not deflated: an answer is a few hundred bytes, and starting a
            # compressor for each of tens of thousands costs more than it saves.
            archive.add(f"sources/{sg}.txt", lf.encode("utf-8"))
            cases[aid].append(sg)
            if case_id is not None:
                child_cases[case_id].append(sg)
            counts["sources"] += 1
        sources_xml.write("".join(pending_xml).encode("utf-8"))
        sources_xml.finish()
        qde = _Deflated(qde_file)
        _write_project(qde, rnd, cb, session, user_guids, used_codes, var_guid, cases, child_cases,
                       authority_name, sources_xml, counts["sources"], notes, case_memos, user_guid)
        archive.add_deflated("project.qde", qde_file, qde.crc, qde.size, qde.finish())
        archive.close()
    return {**counts, "cases": len(cases), "users": len(user_guids)}


def _write_project(qde: _Deflated, rnd, cb, session, user_guids, used_codes, var_guid, cases, child_cases,
                   authority_name, sources_xml, n_sources, notes, case_memos, user_guid) -> None:
    """``project.qde``: the project element's parts in the order Project.xsd sets, written
    to ``qde``; the sources' XML, already deflated, is spliced in beneath the cases."""
    qde.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    qde.write(f'<Project xmlns="{NS}" name={quoteattr(f"impactmodel: {rnd.name}")} origin="impactmodel" '
              f'creationDateTime="{_when(None)}">\n')
    for _ng, m in notes:
        user_guid(m.author_id, "")
    if user_guids:
        users_el = ET.Element(Q + "Users")
        for g, name in sorted(user_guids.values(), key=lambda x: x[1]):
            _el(users_el, "User", guid=g, name=name)
        qde.write(_fragment(users_el, 1))

    # CodeBook, plus any retired code that codings still use.
    codebook_el = ET.Element(Q + "CodeBook")
    codes_el = _el(codebook_el, "Codes")
    _code_elements(codes_el, cb, NS)
    retired = sorted(used_codes - set(cb.codes))
    if retired:
        grp = _el(codes_el, "Code", guid=guid("group", "retired"), name="Retired codes", isCodable="false")
        labels = dict(session.execute(sa.select(Code.id, Code.label).where(Code.id.in_(retired))).all())
        for cid in retired:
            _el(grp, "Code", guid=code_guid(cid), name=f"{cid}: {labels.get(cid, cid)}", isCodable="true")
    qde.write(_fragment(codebook_el, 1))

    variables_el = ET.Element(Q + "Variables")
    for name in VARIABLES:
        _el(variables_el, "Variable", guid=var_guid[name], name=name, typeOfVariable="Text")
    qde.write(_fragment(variables_el, 1))

    if cases:
        # Written directly: the authorities' cases refer to every source.
        def case_xml(case_guid: str, name: str, sources: list[str]) -> str:
            if not sources:
                return f'    <Case guid="{case_guid}" name={_attr(name)} />\n'
            return "".join((f'    <Case guid="{case_guid}" name={_attr(name)}>\n',
                            *(f'      <SourceRef targetGUID="{sg}" />\n' for sg in sources), "    </Case>\n"))

        qde.write("  <Cases>\n")
        for aid in sorted(cases, key=authority_name):
            qde.write(case_xml(guid("authority", str(aid)), authority_name(aid), cases[aid]))
        case_rows = {c.id: c for c in session.scalars(sa.select(Case).where(Case.round_id == rnd.id))}
        for cid in sorted(child_cases, key=lambda c: (authority_name(case_rows[c].authority_id),
                                                      case_rows[c].reference)):
            qde.write(case_xml(guid("case", str(cid)),
                               f"{authority_name(case_rows[cid].authority_id)} · case {case_rows[cid].reference}",
                               child_cases[cid]))
        qde.write("  </Cases>\n")
    if n_sources:
        qde.write("  <Sources>\n")
        qde.splice(sources_xml)
        qde.write("  </Sources>\n")
    if notes or case_memos:
        notes_el = ET.Element(Q + "Notes")
        for ng, m in notes:
            note = _el(notes_el, "Note", guid=ng, name=f"Memo {m.id}",
                       creatingUser=user_guid(m.author_id, ""), creationDateTime=_when(m.created_at))
            _el(note, "PlainTextContent", m.text)
        for m in case_memos:
            on = (f"case {session.get(Case, m.case_id).reference}" if m.case_id is not None
                  else authority_name(m.authority_id))
            note = _el(notes_el, "Note", guid=guid("authority-memo", str(m.id)), name=f"Memo on {on}",
                       creatingUser=user_guid(m.author_id, ""), creationDateTime=_when(m.created_at))
            _el(note, "PlainTextContent", m.text)
        qde.write(_fragment(notes_el, 1))
    if case_memos:
        links_el = ET.Element(Q + "Links")
        for m in case_memos:
            target = guid("case", str(m.case_id)) if m.case_id is not None else guid("authority", str(m.authority_id))
            _el(links_el, "Link", guid=guid("memo-link", str(m.id)), name="memo", direction="OneWay",
                originGUID=guid("authority-memo", str(m.id)), targetGUID=target)
        qde.write(_fragment(links_el, 1))
    steering = [c for c in cb.codes.values() if c.steering_group]
    if steering:
        sets_el = ET.Element(Q + "Sets")
        steering_set = _el(sets_el, "Set", guid=guid("set", "steering_group"), name=STEERING_SET)
        _el(steering_set, "Description", STEERING_SET_DESCRIPTION)
        for c in steering:
            _el(steering_set, "MemberCode", targetGUID=code_guid(c.id))
        qde.write(_fragment(sets_el, 1))
    description = ET.Element(Q + "Description")
    description.text = f"Open answers of {rnd.name} and their codings, exported by impactmodel."
    qde.write(_fragment(description, 1))
    qde.write("</Project>\n")
