"""A response and its answers, for interviews and surveys alike.

The fieldwork services (this module, ``interviews``, ``invitations`` and ``surveys``) are
how other code (views, the CLI, the demo-data generator, imports) changes fieldwork data.
They take the session and the acting user (a ``User``, or a string such as ``"cli"``,
``"demo"`` or ``"respondent"``), check what they are given, write an audit event (ids
and counts only, never what anyone said) and commit.

Every answer arrives once: a response is unique per respondent and instrument
version, an answer per response and question, an invitation's respondent is
unique, and submitting is a conditional update (``submitted_at IS NULL``), so a
double click, a resubmit after Back or two tabs store one response. Races between
requests surface as IntegrityError (or a busy SQLite database) and are retried.
"""
from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, TypeVar

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from impactmodel import codebook as codebook_mod
from impactmodel.audit import record
from impactmodel.codebook.models import CodebookVersion, Coding
from impactmodel.coding import services as coding_services
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Authority, Case, KeyGroup, Respondent, Round
from impactmodel.db import utcnow
from impactmodel.enums import EvidenceCategory, RespondentRole
from impactmodel.fieldwork import instruments as instruments_mod
from impactmodel.fieldwork import safeguarding
from impactmodel.fieldwork.instruments import InstrumentDef
from impactmodel.fieldwork.models import (Answer, Instrument, InstrumentVersion, Response, ResponseMode,
                                          ResponseStatus)
from impactmodel.fieldwork.questions import NOTE_MAX, AnswerInvalid, question_type
from impactmodel.languages import LANGUAGES

T = TypeVar("T")
CODER = "instrument"          # Coding.coder for closed answers coded on arrival
CASE_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _./-]{0,39}$")


# --- Errors -------------------------------------------------------------------------------

class FieldworkError(ValueError):
    """Something the caller asked for cannot be done; the message says why."""


class ResponseLocked(FieldworkError):
    """The response is complete (or its survey submitted): answers can no longer change."""


class StaleAnswer(FieldworkError):
    """A write older than the stored answer (by its client sequence) was ignored."""

    def __init__(self, answer: Answer):
        super().__init__(f"a newer answer to {answer.question_key!r} is already saved")
        self.answer = answer


class AnswersInvalid(FieldworkError):
    """Some answers did not fit their questions; nothing was saved. ``errors``: key -> message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- Retrying races -----------------------------------------------------------------------

def retrying(session: Session, work: Callable[[], T], attempts: int = 8) -> T:
    """Run ``work`` (which commits); on a lost race roll back and run it again.

    A lost race is an IntegrityError (another request inserted the same row first)
    or a busy/locked SQLite database.
    """
    for attempt in range(attempts):
        try:
            return work()
        except IntegrityError:
            session.rollback()
            if attempt == attempts - 1:
                raise
        except OperationalError as exc:
            session.rollback()
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower() \
                    or attempt == attempts - 1:
                raise
        time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")


# --- Instruments --------------------------------------------------------------------------

def loaded_instruments() -> dict[str, InstrumentDef]:
    """The instruments the app loaded at start-up (or, outside an app, from ``surveys/``)."""
    if has_app_context() and "impactmodel.instruments" in current_app.extensions:
        return current_app.extensions["impactmodel.instruments"]
    return instruments_mod.load()


def instrument_for_role(role: RespondentRole | str) -> InstrumentDef:
    """The instrument a respondent in ``role`` answers."""
    role = RespondentRole(role)
    for inst in loaded_instruments().values():
        if inst.role is role:
            return inst
    raise FieldworkError(f"there is no instrument for {role.label.lower()}s")


def sync_instruments(session: Session,
                     instruments: dict[str, InstrumentDef] | None = None) -> dict[str, InstrumentVersion]:
    """Mirror the instruments into ``instrument``/``instrument_version`` by checksum.

    An unchanged instrument makes no new version. A changed one replaces its latest
    version in place if no one has answered that version yet, and otherwise becomes a
    new version (old responses keep theirs). Returns the current version per key.
    Flushes; the caller commits.
    """
    instruments = instruments if instruments is not None else loaded_instruments()
    out: dict[str, InstrumentVersion] = {}
    for key, d in instruments.items():
        inst = session.scalar(sa.select(Instrument).where(Instrument.key == key))
        if inst is None:
            inst = Instrument(key=key, title=d.title, role=d.role)
            session.add(inst)
            session.flush()
        inst.title, inst.role = d.title, d.role
        version = session.scalar(sa.select(InstrumentVersion).where(
            InstrumentVersion.instrument_id == inst.id, InstrumentVersion.checksum == d.checksum))
        if version is None:
            latest = session.scalar(sa.select(InstrumentVersion)
                                    .where(InstrumentVersion.instrument_id == inst.id)
                                    .order_by(InstrumentVersion.version.desc()).limit(1))
            answered = latest is not None and session.scalar(
                sa.select(sa.func.count()).select_from(Response)
                .where(Response.instrument_version_id == latest.id)) > 0
            if latest is not None and not answered:
                latest.definition, latest.checksum = d.definition, d.checksum
                version = latest
            else:
                version = InstrumentVersion(instrument_id=inst.id, checksum=d.checksum,
                                            definition=d.definition,
                                            version=(latest.version + 1) if latest else 1)
                session.add(version)
            session.flush()
        out[key] = version
    return out


def ensure_synced(session: Session) -> None:
    """Make sure the codebook and the loaded instruments are in the database.

    Cheap when they are (one query each). Otherwise syncs and commits (with what the
    session already holds); requests racing to do it on a fresh database lose with an
    IntegrityError, roll back and find the winner's rows.
    """
    defs = loaded_instruments()
    checksums = {d.checksum for d in defs.values()}
    cb = codebook_mod.load()
    # Once a process has seen these definitions stored, it does not look again: versions
    # are never deleted, and a changed file or codebook has new checksums.
    seen = (frozenset(checksums), cb.checksum)
    if has_app_context() and current_app.extensions.get("impactmodel.synced") == seen:
        return

    def synced() -> bool:
        have = set(session.scalars(sa.select(InstrumentVersion.checksum)
                                   .where(InstrumentVersion.checksum.in_(checksums))))
        return have == checksums and session.scalar(
            sa.select(CodebookVersion.id).where(CodebookVersion.checksum == cb.checksum)) is not None
    if not synced():
        def work():
            if not synced():
                codebook_mod.sync(session, cb)
                sync_instruments(session, defs)
            session.commit()
        retrying(session, work)
    if has_app_context():
        current_app.extensions["impactmodel.synced"] = seen


def current_version(session: Session, key: str) -> InstrumentVersion:
    """The stored version of the loaded instrument ``key`` (synced first if need be)."""
    d = loaded_instruments().get(key)
    if d is None:
        raise FieldworkError(f"unknown instrument {key!r}")

    def find():
        return session.scalar(sa.select(InstrumentVersion).join(Instrument).where(
            Instrument.key == key, InstrumentVersion.checksum == d.checksum))
    version = find()
    if version is None:
        ensure_synced(session)
        version = find()
    return version


_definitions: dict[str, InstrumentDef] = {}


def definition_of(response: Response) -> InstrumentDef:
    """The instrument version this response was given on, parsed (cached by checksum)."""
    version = response.instrument_version
    d = _definitions.get(version.checksum)
    if d is None:
        d = _definitions[version.checksum] = InstrumentDef.from_definition(version.definition)
    return d


# --- Where a respondent belongs -----------------------------------------------------------

def check_access(actor, authority_id: int) -> None:
    may = getattr(actor, "may_see_authority", None)
    if may is not None and not may(authority_id):
        raise PermissionError("you are not assigned to this authority")


def resolve_round(session: Session, value: Round | str | int) -> Round:
    if isinstance(value, Round):
        value = value.id   # the caller's object may belong to another session
    if isinstance(value, int):
        rnd = session.get(Round, value)
    else:
        rnd = session.scalar(sa.select(Round).where(Round.name == str(value).strip()))
    if rnd is None:
        raise FieldworkError(f"there is no round {value!r}")
    return rnd


def resolve_authority(session: Session, value: Authority | str | int) -> Authority:
    if isinstance(value, Authority):
        value = value.id
    if isinstance(value, int):
        authority = session.get(Authority, value)
    else:
        authority = consortium.find_authority_by_name(session, str(value))
    if authority is None:
        raise FieldworkError(f"there is no authority {value!r}")
    return authority


def resolve_key_group(session: Session, rnd: Round, value: KeyGroup | str | int | None) -> KeyGroup | None:
    if value in (None, ""):
        return None
    if isinstance(value, KeyGroup):
        kg = value
    elif isinstance(value, int):
        kg = session.get(KeyGroup, value)
    else:
        kg = consortium.key_group(session, rnd, str(value))
    if kg is None or kg.round_id != rnd.id:
        raise FieldworkError(f"{rnd.name} has no key group {value!r}")
    return kg


def clean_case_reference(value: str) -> str:
    """A case pseudonym such as ``LAC-03``; ValueError if it could be anything else."""
    value = " ".join((value or "").split())
    if not CASE_REF_RE.match(value):
        raise FieldworkError("Use a short pseudonym such as LAC-03 (letters, digits, spaces and "
                             "- _ . /, up to 40 characters). Never a child's name.")
    return value


def resolve_case(session: Session, rnd: Round, authority: Authority, value: Case | str | None,
          kg: KeyGroup | None) -> Case | None:
    if value in (None, ""):
        return None
    if isinstance(value, Case):
        if value.round_id != rnd.id or value.authority_id != authority.id:
            raise FieldworkError("that case belongs to another round or authority")
        return value
    return consortium.get_or_create_case(session, rnd, authority, clean_case_reference(value),
                                         kg.id if kg else None)


# --- Answers ------------------------------------------------------------------------------

@dataclass
class SaveReport:
    """What ``save_answers`` did: per question key, the sequence stored or held.

    ``stale``: answers changed elsewhere (a newer sequence, or a version other than the
    one the form was loaded with), kept as stored. ``flagged``: ids of codings that
    need review because the words they coded are no longer found once in the answer.
    """

    saved: dict[str, int | None] = field(default_factory=dict)
    stale: dict[str, int | None] = field(default_factory=dict)
    flagged: list[int] = field(default_factory=list)


def check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise FieldworkError(f"unknown language {language!r}: use {', '.join(LANGUAGES)}")


def _clean_seq(seq: Any) -> int | None:
    if seq is None:
        return None
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2 ** 62:
        raise AnswerInvalid("the save sequence must be a whole number")
    # Sequences are milliseconds on the server's clock (the page tells the browser its
    # offset); one far in the future would make every later edit look stale.
    if seq > (time.time() + 86400) * 1000:
        raise AnswerInvalid("the save sequence is ahead of the server's clock: reload the page")
    return seq


def clean_answers(response: Response, items: Iterable[dict],
                  shown: InstrumentDef | None = None) -> list[dict]:
    """Check answers against the response's instrument version; AnswersInvalid if any fail.

    Each item: ``key`` and any of ``text``, ``value``, ``note``, ``seq``, ``base``.
    ``shown``: that version as the respondent reads it (translated), so messages quote
    the words on their page; a translation changes words only, never what is accepted.
    """
    idef = definition_of(response)
    if shown is not None and shown.checksum == idef.checksum:
        idef = shown
    errors: dict[str, str] = {}
    cleaned = []
    for item in items:
        key = item.get("key")
        q = idef.question(key) if isinstance(key, str) else None
        if q is None:
            errors[str(key)] = gettext("This is not a question of this interview or survey.")
            continue
        try:
            text, value = question_type(q["type"]).clean(q, item.get("text"), item.get("value"))
            note = item.get("note")
            if note is not None and not isinstance(note, str):
                raise AnswerInvalid("A note must be text.")
            note = (note or "").replace("\r\n", "\n").strip() or None
            if note and len(note) > NOTE_MAX:
                raise AnswerInvalid(f"The note is too long: keep it under {NOTE_MAX:,} characters.")
            entry = {"key": key, "text": text, "value": value, "note": note,
                     "seq": _clean_seq(item.get("seq"))}
            if "base" in item:
                # A form save: written only over the version it was loaded with, under a
                # sequence newer than that version, as an autosave would be.
                entry["base"] = _clean_seq(item["base"])
                entry["seq"] = max(int(time.time() * 1000), (entry["base"] or 0) + 1)
            cleaned.append(entry)
        except AnswerInvalid as exc:
            errors[key] = str(exc)
    if errors:
        raise AnswersInvalid(errors)
    return cleaned


def _write(session: Session, actor, response: Response, item: dict, report: SaveReport,
           existing: Answer | None) -> Answer | dict | None:
    """Write one answer; ``existing`` is its stored row, read after the response was claimed.
    Returns the answer's row as it now stands (None when there is none), or for a new
    answer the row to insert, which the caller inserts with the others."""
    key, seq = item["key"], item["seq"]
    if existing is None:
        if item["text"] is None and item["value"] in (None, [], {}) and item["note"] is None:
            report.saved[key] = seq   # nothing to keep: a skipped question makes no row
            return None
        report.saved[key] = seq
        return {"response_id": response.id, "question_key": key, "text": item["text"],
                "value": item["value"], "note": item["note"], "client_seq": seq,
                "language": item.get("language") or "en", "updated_at": utcnow()}
    if "base" in item and (existing.text, existing.value, existing.note) == \
            (item["text"], item["value"], item["note"]):
        return existing   # a form sends every answer; one it leaves as stored is no change at all
    # One conditional UPDATE, so that of two racing writes the newer always wins.
    stmt = sa.update(Answer).where(Answer.id == existing.id)
    if "base" in item:
        base = item["base"]
        stmt = stmt.where(Answer.client_seq.is_(None) if base is None else Answer.client_seq == base)
    elif seq is not None:
        stmt = stmt.where(sa.or_(Answer.client_seq.is_(None), Answer.client_seq < seq))
    values = {"text": item["text"], "value": item["value"], "note": item["note"],
              "updated_at": utcnow()}
    if seq is not None:
        values["client_seq"] = seq
    if item.get("language"):
        values["language"] = item["language"]
    old_text = existing.text
    done = session.execute(stmt.values(**values), execution_options={"synchronize_session": False})
    if not done.rowcount:
        report.stale[key] = existing.client_seq
        return existing
    # The row now holds what was written (the claim keeps other saves out until commit):
    # the loaded row is brought up to date without reading it back.
    for name, written in values.items():
        if name != "updated_at":
            set_committed_value(existing, name, written)
    session.expire(existing, ["updated_at"])
    report.saved[key] = existing.client_seq
    if old_text != item["text"]:
        # Codings of the old words follow them into the new text, or wait for review.
        moved = coding_services.follow_answer_text(session, actor, existing.id, old_text, item["text"])
        report.flagged += moved["flagged"]
    return existing


# The stored answers a save writes over (built once: it runs on every save).
_STORED_ANSWERS = sa.select(Answer).where(Answer.response_id == sa.bindparam("response_id"),
                                          Answer.question_key.in_(sa.bindparam("keys", expanding=True)))


def save_answers(session: Session, actor, response: Response, items: Iterable[dict], *,
                 language: str | None = None, shown: InstrumentDef | None = None) -> SaveReport:
    """Save several answers of one response at once (all checked first; all or nothing).

    Parameters
    ----------
    items : dicts with ``key`` (a question key of the response's instrument version) and
        any of ``text``, ``value``, ``note``: a part left out is not sent and stays as
        stored; only a part sent as None (or empty) clears. Optionally ``seq``: the
        client's autosave sequence (milliseconds); a write whose ``seq`` is not newer
        than the stored one is ignored and reported in ``SaveReport.stale``. Or ``base``:
        the sequence the answer had when a form was loaded (None: no answer yet); the
        write happens only if the stored answer still has it, under a new sequence, and
        is otherwise reported stale; an answer the form leaves as stored is not written.
    language : the language a respondent answers in (``impactmodel.languages``), recorded
        on the response and on each answer written; None leaves both as they are.
    shown : the version as the respondent reads it, for messages (``clean_answers``).

    When an answer's text changes, its span codings are re-anchored
    (``coding.services.follow_answer_text``) in the same transaction.

    Raises AnswersInvalid (nothing saved), ResponseLocked, PermissionError. Autosave
    calls this every few seconds, so it writes no audit event; starting and completing
    do (and re-anchoring codings does).
    """
    if not isinstance(actor, str):     # a respondent ("respondent") answers only their own
        check_access(actor, response.respondent.authority_id)
    if language is not None:
        check_language(language)
    items = list(items)
    keys = [item["key"] for item in items if isinstance(item.get("key"), str)]

    def work() -> SaveReport:
        # Claim the response first, and only while it is in progress: a save racing a
        # "complete" or "send" in another tab either lands before it or is refused.
        # A plain statement (no objects in the session to keep in step with it).
        claimed = session.connection().execute(sa.update(Response).where(
            Response.id == response.id, Response.status == ResponseStatus.IN_PROGRESS)
            .values(updated_at=utcnow(), **({"language": language} if language else {})))
        if not claimed.rowcount:
            session.rollback()
            raise ResponseLocked("this response is complete and can no longer change")
        # The claim locks the response until commit, so its answers read now stay as read:
        # parts an item leaves out are filled from them, and they are what is written over.
        current = {a.question_key: a for a in session.scalars(
            _STORED_ANSWERS, {"response_id": response.id, "keys": keys},
            execution_options={"populate_existing": True})}
        merged = []
        for item in items:
            a = current.get(item.get("key")) if isinstance(item.get("key"), str) else None
            merged.append({**{part: getattr(a, part, None) for part in ("text", "value", "note")}, **item})
        try:
            cleaned = clean_answers(response, merged, shown)
        except AnswersInvalid:
            session.rollback()
            raise
        if language is not None:
            cleaned = [{**item, "language": language} for item in cleaned]
        report = SaveReport()
        # Stored answers are updated first, then the new ones inserted together: one
        # statement for them all (an IntegrityError there means another request inserted
        # one first: retried).
        cleaned.sort(key=lambda item: item["key"] not in current)
        written = [_write(session, actor, response, item, report, current.get(item["key"]))
                   for item in cleaned]
        # The new answers in one statement, as rows come back as objects (``render_nulls``:
        # an empty part is written as NULL, so rows with different parts empty go together).
        new_rows = [row for row in written if isinstance(row, dict)]
        inserted = list(session.scalars(sa.insert(Answer).returning(Answer, sort_by_parameter_order=True),
                                        new_rows, execution_options={"render_nulls": True})) if new_rows else []
        safeguarding.check_answers(session, actor, response.respondent,
                                   [answer for answer in written if isinstance(answer, Answer)] + inserted)
        session.commit()
        return report
    return retrying(session, work)


def save_answer(session: Session, actor, response: Response, question_key: str, *,
                text: str | None = None, value: Any = None, note: str | None = None,
                seq: int | None = None) -> Answer:
    """Save one answer (text, closed value and/or interviewer's note) and commit.

    ``value`` by type: an option id (``single_choice``, ``scale``, ``faces``), a list of
    option ids (``multi_choice``), a level 1-4 in half steps (``level``), a mapping
    feature code -> rating id (``feature_ratings``), a Box 6 category (``evidence``).
    Raises AnswersInvalid (with the message for that key), StaleAnswer, ResponseLocked.
    """
    report = save_answers(session, actor, response, [{"key": question_key, "text": text,
                                                      "value": value, "note": note, "seq": seq}])
    answer = session.scalar(sa.select(Answer).where(Answer.response_id == response.id,
                                                    Answer.question_key == question_key))
    if question_key in report.stale:
        raise StaleAnswer(answer)
    return answer


def answers_of(session: Session, response: Response) -> dict[str, Answer]:
    return {a.question_key: a for a in session.scalars(
        sa.select(Answer).where(Answer.response_id == response.id))}


# What a respondent's page shows of each stored answer: plain rows, as pages only read them.
_SHOWN_ANSWERS = sa.select(Answer.question_key, Answer.text, Answer.value, Answer.note,
                           Answer.client_seq).where(Answer.response_id == sa.bindparam("response_id"))


def shown_answers(session: Session, response: Response) -> dict[str, sa.Row]:
    """The response's answers as a page shows them: question key -> row with ``text``,
    ``value``, ``note`` and ``client_seq``."""
    return {a.question_key: a for a in session.execute(_SHOWN_ANSWERS, {"response_id": response.id})}


def unanswered(session: Session, response: Response, answers: dict[str, Answer] | None = None) -> list[str]:
    """Every question (required or not) still without an answer, in instrument order
    (``answers``: the response's, when the caller has read them)."""
    answers = answers if answers is not None else answers_of(session, response)
    return [key for key, q in definition_of(response).questions.items()
            if (a := answers.get(key)) is None or question_type(q["type"]).is_empty(a.text, a.value)]


def answered_count(session: Session, response: Response, answers: dict[str, Answer] | None = None) -> int:
    return len(definition_of(response).questions) - len(unanswered(session, response, answers))


def missing_required(session: Session, response: Response,
                     answers: dict[str, Answer] | None = None) -> list[str]:
    """Required questions still unanswered, in instrument order (``answers`` as ``unanswered``)."""
    answers = answers if answers is not None else answers_of(session, response)
    out = []
    for key, q in definition_of(response).questions.items():
        a = answers.get(key)
        if q.get("required") and (a is None or question_type(q["type"]).is_empty(a.text, a.value)):
            out.append(key)
    return out


# --- Completing: closed answers coded on arrival ------------------------------------------

def code_closed_answers(session: Session, response: Response,
                        answers: dict[str, Answer] | None = None) -> int:
    """Create agreed ``Coding`` rows (coder ``instrument``) for the closed answers
    (``answers``: the response's, when the caller has read them).

    Replaces earlier instrument codings of this response. Returns the number made.
    """
    respondent = response.respondent
    idef = definition_of(response)
    answers = answers if answers is not None else answers_of(session, response)
    if answers:
        session.execute(sa.delete(Coding).where(Coding.coder == CODER,
                                                Coding.answer_id.in_([a.id for a in answers.values()])),
                        execution_options={"synchronize_session": False})
    made = 0
    for key, answer in answers.items():
        q = idef.question(key)
        if q is None:
            continue
        seen = set()
        for code_id, valence in question_type(q["type"]).codes(q, answer.text, answer.value):
            if (code_id, valence) in seen:   # two options may carry the same code
                continue
            seen.add((code_id, valence))
            session.add(Coding(round_id=respondent.round_id, respondent_id=respondent.id,
                               answer_id=answer.id, code_id=code_id, valence=valence,
                               coder=CODER, agreed=True))
            made += 1
    return made


def _apply_answers(session: Session, response: Response, answers: dict[str, Answer]) -> None:
    """Answers that also live elsewhere: the self-reported level, Box 6 evidence."""
    respondent = response.respondent
    idef = definition_of(response)
    for key, answer in answers.items():
        q = idef.question(key)
        if q is None:
            continue
        if q["type"] == "level" and answer.value is not None and respondent.role.is_staff:
            respondent.impact_level = float(answer.value)
        elif q["type"] == "evidence" and answer.value and respondent.role is RespondentRole.DCS:
            part = consortium.ensure_participation(session, respondent.round, respondent.authority)
            part.evidence = EvidenceCategory(answer.value)


def mark_complete(session: Session, actor, response: Response) -> bool:
    """Mark complete and code; False if another request completed it first. No commit."""
    now = utcnow()
    done = session.execute(
        sa.update(Response).where(Response.id == response.id,
                                  Response.status == ResponseStatus.IN_PROGRESS)
        .values(status=ResponseStatus.COMPLETE, completed_at=now, updated_at=now),
        execution_options={"synchronize_session": False})
    if not done.rowcount:
        return False
    # The row holds what was written: the loaded response is brought up to date without a read.
    for name, value in (("status", ResponseStatus.COMPLETE), ("completed_at", now), ("updated_at", now)):
        set_committed_value(response, name, value)
    codebook_mod.sync(session)   # the code table must hold every id a Coding names
    answers = answers_of(session, response)
    made = code_closed_answers(session, response, answers)
    _apply_answers(session, response, answers)
    record(session, actor, "response.complete", "response", response.id,
           respondent_id=response.respondent_id, round_id=response.respondent.round_id,
           authority_id=response.respondent.authority_id, answers=len(answers), codings=made)
    return True


def add_completed_response(session: Session, actor, respondent: Respondent, version: InstrumentVersion,
                           answers: dict[str, tuple[str | None, Any]], *, mode: ResponseMode,
                           consent_by: str, started_at: datetime, completed_at: datetime,
                           assented_at: datetime | None = None,
                           external_id: str | None = None) -> Response:
    """Store a response collected elsewhere (offline, then imported), complete.

    ``answers``: question key -> (text, value), already cleaned by the question types.
    Completing is the same path as in the app: closed answers are coded, the level and
    Box 6 evidence applied, open answers wait in the coding queue. Flushes and does not
    commit: an import stores all its rows or none.
    """
    response = Response(respondent_id=respondent.id, instrument_version_id=version.id, mode=mode,
                        consent_by=consent_by, consented_at=started_at, assented_at=assented_at,
                        started_at=started_at, external_id=external_id)
    session.add(response)
    session.flush()
    session.add_all(Answer(response_id=response.id, question_key=key, text=text, value=value)
                    for key, (text, value) in answers.items())
    session.flush()
    safeguarding.check_response(session, actor, response)
    mark_complete(session, actor, response)
    response.completed_at = completed_at
    session.flush()
    return response


def complete_response(session: Session, actor, response: Response) -> Response:
    """Mark an interview (or survey response) complete: closed answers are coded, the
    self-reported level is set on the respondent, a director's Box 6 evidence on the
    authority's participation. Idempotent: completing twice changes nothing."""
    check_access(actor, response.respondent.authority_id)

    def work() -> Response:
        mark_complete(session, actor, response)
        session.commit()
        session.refresh(response)
        return response
    return retrying(session, work)
