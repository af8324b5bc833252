"""Codings made in another QDA tool on an exported ``.qdpx``, brought back as one coder's.

The project is read leniently, as NVivo, ATLAS.ti, MAXQDA and QualCoder write it: with
or without the REFI-QDA namespace, GUIDs in any case, source text in
``sources/<file>`` (``plainTextPath="internal://..."``) or inline
(``PlainTextContent``), with or without a byte-order mark, LF or CR LF.

- **Sources** are matched back to answers by the GUID the export wrote, else by the
  ``answer <id>`` at the end of the exported name, else by their text (the same words,
  line endings aside, in exactly one answer of the round).
- **Codes** by the GUID the export wrote, else by name: ``<id> (<valence>)`` or a name
  starting with the code's id. Codes made in the other tool are reported, never added.
- **Spans**: a selection's positions are code points of the source text. A tool may
  count CR LF as one character; when the selection names its text, the reading whose
  words match is taken, otherwise the schema's. A source whose text differs from the
  answer's now places each selection where its words are found exactly once.
- **Which codings are new**: a coding the export wrote (its GUID), or one by another
  of the app's coders that is already stored, is *matched*; one by another app coder
  that is not stored (removed since) is left out; every other coding is the importing
  coder's, and new unless that coder already has it.

All-or-nothing: when a coding cannot be placed nothing is stored, unless the caller
asks to leave such codings out. How the new codings count (first coding, or a blind
second coding entering reliability) is :func:`import_qdpx`'s rule.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel.audit import record
from impactmodel.auth.models import User
from impactmodel.codebook.exchange import ID_NAME, VALENCE_NAME, code_guid, guid, has_valence_children
from impactmodel.codebook.models import Coding, coding_identity
from impactmodel.coding.models import DoubleCoding
from impactmodel.coding.qdpx import lf_text
from impactmodel.coding.queries import INSTRUMENT_CODER
from impactmodel.consortium.models import Respondent, Round
from impactmodel.db import batches, utcnow
from impactmodel.enums import Valence
from impactmodel.fieldwork.models import Answer, Response, response_counts

MAX_FILE_BYTES = 50 * 1024 * 1024
ANSWER_NAME = re.compile(r"answer (\d+)\s*$")
# A valence child as people write it: "(to develop)" as well as "(to_develop)".
LOOSE_VALENCE = re.compile(r"^(?P<id>\S+)\s*\((?P<valence>positive|to[ _]develop|negative)\)$", re.I)


class QdpxRejected(ValueError):
    """The project cannot be imported; nothing was stored."""

    def __init__(self, problems: list[str], report: "QdpxReport | None" = None):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.report = report


@dataclass
class Placed:
    """One coding of the file, placed on an answer."""

    source: str
    answer_id: int
    start: int
    end: int
    code_id: str
    valence: Valence


@dataclass
class QdpxReport:
    """What the project held and what the import did (or would do, when checking)."""

    coder: str
    sources: int = 0
    sources_matched: int = 0
    matched: list[Placed] = field(default_factory=list)       # already in the app
    new: list[Placed] = field(default_factory=list)           # stored as the coder's
    left_out: list[str] = field(default_factory=list)         # another app coder's, no longer stored
    unplaced: list[str] = field(default_factory=list)         # could not be placed: why
    unknown_codes: list[str] = field(default_factory=list)    # codes of the other tool, not in the codebook
    second_codings: int = 0                                   # answers entering double coding
    stored: bool = False


# --- Reading the file ----------------------------------------------------------------

def _strip_namespaces(root: ET.Element) -> ET.Element:
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    return root


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("utf-8")


def _norm_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


@dataclass
class _Source:
    guid: str
    name: str
    text: str | None
    element: ET.Element


def read_project(raw: bytes) -> tuple[ET.Element, list[_Source], list[str]]:
    """The project's root (namespaces removed), its text sources and the problems reading it."""
    if len(raw) > MAX_FILE_BYTES:
        raise QdpxRejected([f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"])
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise QdpxRejected(["this is not a .qdpx file (a zip holding a .qde project)"]) from None
    with zf:
        names = {n.lower(): n for n in zf.namelist()}
        qde = [n for n in zf.namelist() if n.lower().endswith(".qde")]
        if len(qde) != 1:
            raise QdpxRejected(["the .qdpx must hold exactly one .qde project file"])
        try:
            root = _strip_namespaces(ET.fromstring(zf.read(qde[0])))
        except ET.ParseError as exc:
            raise QdpxRejected([f"the project is not well-formed XML: {exc}"]) from None
        if root.tag != "Project":
            raise QdpxRejected(["this is not a REFI-QDA project: the root element must be Project"])
        problems, sources = [], []
        for el in root.iterfind("Sources/TextSource"):
            name = el.get("name") or el.get("guid") or "?"
            content = el.find("PlainTextContent")
            text = None
            if content is not None:
                text = content.text or ""
            else:
                path = el.get("plainTextPath") or ""
                if path.startswith("internal://"):
                    member = path.removeprefix("internal://")
                    found = names.get(f"sources/{member}".lower()) or names.get(member.lower())
                    if found is None:
                        problems.append(f"source {name!r}: its text file {member} is not in the .qdpx")
                    else:
                        try:
                            text = _decode(zf.read(found))
                        except UnicodeDecodeError:
                            problems.append(f"source {name!r}: its text file is not UTF-8")
                elif el.find("PlainTextSelection") is not None:
                    problems.append(f"source {name!r}: its text is outside the .qdpx ({path or 'no path'})")
            sources.append(_Source(_norm_guid(el.get("guid")), name, text, el))
    return root, sources, problems


def _code_map(root: ET.Element, cb) -> tuple[dict[str, tuple[str, Valence] | str], list[str]]:
    """Each code GUID of the project: (code id, valence), or the name of a code not in the codebook."""
    ours: dict[str, tuple[str, str | None]] = {}
    for cid, d in cb.codes.items():
        ours[code_guid(cid)] = (cid, None)
        if has_valence_children(d.valences):
            for v in d.valences:
                ours[code_guid(cid, v)] = (cid, v)
    out: dict[str, tuple[str, Valence] | str] = {}
    unknown: list[str] = []
    for el in root.iterfind(".//CodeBook//Code"):
        g, name = _norm_guid(el.get("guid")), (el.get("name") or "").strip()
        cid, valence = ours.get(g, (None, None))
        if cid is None:
            m = VALENCE_NAME.match(name) or LOOSE_VALENCE.match(name)
            if m:
                cid, valence = m.group("id"), m.group("valence").lower().replace(" ", "_")
            else:
                m = ID_NAME.match(name)
                cid = m.group("id") if m else None
        try:
            out[g] = (cid, cb.check_coding(cid, valence)) if cid in cb.codes else name
        except ValueError:
            out[g] = name
        if isinstance(out[g], str) and el.get("isCodable", "true").lower() != "false":
            unknown.append(name)
    return out, unknown


# --- Matching ------------------------------------------------------------------------

def _resolve_coder(session: Session, coder: str) -> User | None:
    """The account named by e-mail (case-insensitive), else by its exact name if only one has it."""
    coder = coder.strip()
    user = session.scalar(sa.select(User).where(sa.func.lower(User.email) == coder.lower()))
    if user is None:
        named = list(session.scalars(sa.select(User).where(User.name == coder)))
        user = named[0] if len(named) == 1 else None
    return user


def _span(sel: ET.Element, src_text: str, answer_text: str) -> tuple[int, int] | str:
    """The selection's span in the answer's text, or why it cannot be placed."""
    try:
        start, end = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
    except ValueError:
        return "its positions are not whole numbers"
    src_lf, src_to_lf, _ = lf_text(src_text)
    ans_lf, _, ans_to_text = lf_text(answer_text)
    readings = []                                  # (start, end) in the source's LF text
    if 0 <= start < end <= len(src_text):
        readings.append((src_to_lf[start], src_to_lf[end]))          # code points, as the schema says
    if src_lf != src_text and 0 <= start < end <= len(src_lf):
        readings.append((start, end))                                # CR LF counted as one character
    if not readings:
        return f"positions {start}-{end} are outside the source"
    said = lf_text((sel.get("name") or "").strip())[0]
    if said:
        fitting = [r for r in readings if src_lf[r[0]:r[1]].strip().startswith(said)]
        if not fitting:
            return "the words at its positions are not the words it names"
        readings = fitting
    s, e = readings[0]
    if src_lf == ans_lf:
        return ans_to_text[s], ans_to_text[e]
    words = src_lf[s:e]                            # the answer changed: place by its words
    first = ans_lf.find(words)
    if not words or first < 0 or ans_lf.find(words, first + 1) >= 0:
        return "the answer's text changed and its words are not found exactly once"
    return ans_to_text[first], ans_to_text[first + len(words)]


def _answers(session: Session, rnd: Round, authority_ids: set[int] | None) -> dict[int, tuple[Answer, Respondent]]:
    q = (sa.select(Answer, Respondent).join(Response, Answer.response_id == Response.id)
         .join(Respondent, Response.respondent_id == Respondent.id)
         .where(Respondent.round_id == rnd.id, Answer.text.is_not(None), response_counts()))
    if authority_ids is not None:
        q = q.where(Respondent.authority_id.in_(authority_ids))
    return {a.id: (a, r) for a, r in session.execute(q).all() if (a.text or "").strip()}


# --- Importing -----------------------------------------------------------------------

def import_qdpx(session: Session, actor: User | str, raw: bytes, round_name: str, coder: str, *,
                check: bool = False, leave_out_unplaced: bool = False) -> QdpxReport:
    """Bring a project coded in another tool back as ``coder``'s codings; all-or-nothing.

    ``actor`` is the importing User (only answers of authorities they may see are
    matched) or ``"cli"``. ``coder`` is an account's e-mail or name; otherwise the
    codings are recorded under that name. The rule for each answer with new codings:

    - drawn for the coder's blind second coding and not yet finished: stored blind
      (not agreed) and the second coding marked done, so reliability compares it;
    - coded by someone else, not by the coder, not drawn for them: recorded as a
      finished blind second coding (drawn at import) with the codings not agreed, so it
      enters reliability and waits for reconciliation like any second coding; this
      needs the coder's account, and is refused for a name without one;
    - otherwise (not coded, or the coder's own, or reconciled): agreed at once, like
      codings made in the workbench.

    A second coding already marked done cannot take more codings. ``check`` reports
    without storing; ``leave_out_unplaced`` stores the rest when some codings cannot be
    placed (otherwise nothing is stored).
    """
    rnd = session.scalar(sa.select(Round).where(Round.name == round_name))
    if rnd is None:
        raise QdpxRejected([f"no round called {round_name!r}"])
    coder = (coder or "").strip()
    if not coder:
        raise QdpxRejected(["name the coder whose codings these are (an e-mail or a name)"])
    cb = codebook_mod.load()
    codebook_mod.sync(session, cb)
    user = _resolve_coder(session, coder)
    if user is not None and (not user.active or not user.role.can_code):
        raise QdpxRejected([f"{user.name} is not an active coder: only researchers and "
                            "administrators code"])
    report = QdpxReport(coder=user.name if user is not None else coder)
    root, sources, problems = read_project(raw)
    codes, report.unknown_codes = _code_map(root, cb)
    users = {_norm_guid(u.get("guid")): (u.get("name") or "").strip() for u in root.iterfind("Users/User")}

    visible = None if isinstance(actor, str) else actor.visible_authority_ids()
    answers = _answers(session, rnd, visible)
    by_guid = {guid("answer", str(aid)): aid for aid in answers}
    by_text: dict[str, list[int]] = {}
    for aid, (a, _r) in answers.items():
        by_text.setdefault(lf_text(a.text)[0], []).append(aid)

    # Who is who: the app's coders by their exported GUIDs and names.
    people = {u.id: u for u in session.scalars(sa.select(User))}
    app_coder: dict[str, tuple[int | None, str]] = {}   # user GUID or name -> (coder_id, coder)
    names: dict[str, list[User]] = {}
    for u in people.values():
        app_coder[guid("user", f"id:{u.id}")] = (u.id, u.email)
        names.setdefault(u.name.strip().lower(), []).append(u)
    for name, same in names.items():      # a name two accounts share names neither
        if len(same) == 1:
            app_coder[name] = (same[0].id, same[0].email)
    for name in session.scalars(sa.select(Coding.coder).where(Coding.round_id == rnd.id,
                                                              Coding.coder_id.is_(None)).distinct()):
        app_coder[guid("user", f"name:{name}")] = (None, name)
        app_coder[name.strip().lower()] = (None, name)
    me = (user.id, user.email) if user is not None else (None, coder)

    def who(user_guid: str | None) -> tuple[int | None, str] | None:
        g = _norm_guid(user_guid)
        found = app_coder.get(g) or app_coder.get(users.get(g, "").lower())
        return None if found == me else found

    exported_codings = {guid("coding", str(cid)): cid for cid in session.scalars(
        sa.select(Coding.id).where(Coding.round_id == rnd.id))}

    new: dict[str, Placed] = {}
    for src in sources:
        report.sources += 1
        selections = src.element.findall("PlainTextSelection")
        if src.text is None:
            continue
        aid = by_guid.get(src.guid)
        if aid is None:
            m = ANSWER_NAME.search(src.name)
            aid = int(m.group(1)) if m and int(m.group(1)) in answers else None
        if aid is None:
            same = by_text.get(lf_text(src.text)[0], [])
            aid = same[0] if len(same) == 1 else None
        codings = [(sel, c) for sel in selections for c in sel.findall("Coding")]
        if aid is None:
            if codings:
                report.unplaced.append(f"source {src.name!r}: matches no answer of {rnd.name} that you may "
                                       f"see ({len(codings)} coding(s))")
            continue
        report.sources_matched += 1
        answer, resp = answers[aid]
        for sel, c in codings:
            ref = c.find("CodeRef")
            target = codes.get(_norm_guid(ref.get("targetGUID") if ref is not None else None))
            where = f"source {src.name!r}, selection {sel.get('startPosition')}-{sel.get('endPosition')}"
            if target is None or isinstance(target, str):
                report.unplaced.append(f"{where}: code {target or 'missing'!r} is not in the codebook")
                continue
            span = _span(sel, src.text, answer.text)
            if isinstance(span, str):
                report.unplaced.append(f"{where}: {span}")
                continue
            placed = Placed(src.name, aid, span[0], span[1], target[0], target[1])
            if _norm_guid(c.get("guid")) in exported_codings:
                report.matched.append(placed)
                continue
            by = who(c.get("creatingUser") or sel.get("creatingUser"))
            coder_id, coder_name = by or me
            key = coding_identity(answer_id=aid, respondent_id=resp.id, code_id=placed.code_id,
                                  valence=placed.valence, start=placed.start, end=placed.end,
                                  excerpt=answer.text[placed.start:placed.end], coder=coder_name,
                                  coder_id=coder_id)
            if by is not None:
                # Another app coder's coding: already stored, or removed since the export.
                if _existing(session, [key]):
                    report.matched.append(placed)
                else:
                    name = people[coder_id].name if coder_id else coder_name
                    report.left_out.append(f"{where}: {placed.code_id} by {name} is no longer in the app")
                continue
            if key in new:
                continue
            new[key] = placed
    already = _existing(session, list(new))
    for key in list(new):
        if key in already:
            report.matched.append(new.pop(key))
    report.new = list(new.values())

    # How the new codings count, answer by answer.
    touched = sorted({p.answer_id for p in report.new})
    theirs = _coded_by(session, touched)
    drawn = {dc.answer_id: dc for batch in batches(touched) for dc in session.scalars(sa.select(DoubleCoding).where(
        DoubleCoding.answer_id.in_(batch), DoubleCoding.second_coder_id == me[0]))} if me[0] else {}
    blind: dict[int, DoubleCoding | None] = {}   # answer -> its second coding (None: draw it now)
    for aid in touched:
        answer, resp = answers[aid]
        dc = drawn.get(aid)
        others = theirs.get(aid, set()) - {me}
        if dc is not None and dc.reconciled_at is None:
            if dc.second_done_at is not None:
                problems.append(f"answer {aid}: {report.coder}'s blind second coding is marked done, "
                                "so it cannot take more codings")
            blind[aid] = dc
        elif dc is None and others and me not in theirs.get(aid, set()):
            if user is None:
                problems.append(f"answer {aid} is coded by someone else: {coder}'s codings would be a "
                                "second coding, which needs their account (give its e-mail)")
            elif not user.may_see_authority(resp.authority_id):
                problems.append(f"answer {aid}: {user.name} is not assigned to its authority")
            blind[aid] = None
    report.second_codings = len(blind)
    if report.unplaced and not leave_out_unplaced:
        problems.append(f"{len(report.unplaced)} coding(s) could not be placed (listed); nothing was "
                        "imported: fix them, or leave them out")
    if problems:
        raise QdpxRejected(problems, report)
    if check or not report.new:
        return report

    now = utcnow()
    for aid, dc in blind.items():
        if dc is None:
            session.add(DoubleCoding(round_id=rnd.id, answer_id=aid, second_coder_id=user.id,
                                     drawn_by_id=getattr(actor, "id", None), second_done_at=now))
        else:
            dc.second_done_at = now
    for p in report.new:
        answer, resp = answers[p.answer_id]
        session.add(Coding(round_id=rnd.id, respondent_id=resp.id, answer_id=p.answer_id, code_id=p.code_id,
                           valence=p.valence, start=p.start, end=p.end, excerpt=answer.text[p.start:p.end],
                           coder=me[1], coder_id=me[0], agreed=p.answer_id not in blind))
    record(session, actor, "import.qdpx", "round", rnd.id, coder_id=me[0], new=len(report.new),
           matched=len(report.matched), left_out=len(report.left_out), unplaced=len(report.unplaced),
           second_codings=len(blind))
    session.commit()
    report.stored = True
    return report


def _existing(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        found |= set(session.scalars(sa.select(Coding.identity).where(Coding.identity.in_(keys[i:i + 500]))))
    return found


def _coded_by(session: Session, answer_ids: list[int]) -> dict[int, set[tuple[int | None, str]]]:
    """For each answer, who has codings on it (the instrument aside)."""
    out: dict[int, set[tuple[int | None, str]]] = {}
    if not answer_ids:
        return out
    people = dict(session.execute(sa.select(User.id, User.email)).all())
    rows = (row for batch in batches(answer_ids) for row in session.execute(
        sa.select(Coding.answer_id, Coding.coder_id, Coding.coder).where(
            Coding.answer_id.in_(batch), Coding.coder != INSTRUMENT_CODER).distinct()))
    for aid, coder_id, coder in rows:
        out.setdefault(aid, set()).add((coder_id, people.get(coder_id, coder)) if coder_id else (None, coder))
    return out


def describe(report: QdpxReport) -> str:
    """The report as lines of text, for the command line."""
    lines = [f"{report.sources_matched} of {report.sources} source(s) matched answers of the round.",
             f"Matched (already in the app): {len(report.matched)} coding(s).",
             f"New, as {report.coder}'s: {len(report.new)} coding(s) on "
             f"{len({p.answer_id for p in report.new})} answer(s)"
             + (f", {report.second_codings} of them as a blind second coding." if report.second_codings else ".")]
    for p in report.new:
        lines.append(f"  + answer {p.answer_id} [{p.start}:{p.end}] {p.code_id} ({p.valence.value})")
    if report.left_out:
        lines.append(f"Left out (another coder's, removed from the app since): {len(report.left_out)}")
        lines += [f"  - {x}" for x in report.left_out]
    if report.unknown_codes:
        lines.append("Codes not in the codebook (not added): " + ", ".join(sorted(set(report.unknown_codes))))
    if report.unplaced:
        lines.append(f"Could not be placed: {len(report.unplaced)}")
        lines += [f"  ! {x}" for x in report.unplaced]
    return "\n".join(lines)

