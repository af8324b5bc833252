"""Fieldwork services: instruments, interviews, survey invitations, answers, submission.

Other code (views, the CLI, the demo-data generator) changes fieldwork data only
through these functions. They take the session and the acting user (a ``User``,
or a string such as ``"cli"``, ``"demo"`` or ``"respondent"``), check what they
are given, write an audit event (ids and counts only, never what anyone said) and
commit.

Every answer arrives once: a response is unique per respondent and instrument
version, an answer per response and question, an invitation's respondent is
unique, and submitting is a conditional update (``submitted_at IS NULL``), so a
double click, a resubmit after Back or two tabs store one response. Races between
requests surface as IntegrityError (or a busy SQLite database) and are retried.
"""
from __future__ import annotations

import random
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, TypeVar

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel.audit import record
from impactmodel.coding import services as coding_services
from impactmodel.coding.models import Coding
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Authority, Case, KeyGroup, Respondent, Round
from impactmodel.db import utcnow
from impactmodel.enums import EvidenceCategory, RespondentRole
from impactmodel.fieldwork import instruments as instruments_mod
from impactmodel.fieldwork.instruments import InstrumentDef
from impactmodel.fieldwork.models import (Answer, Instrument, InstrumentVersion, Invitation,
                                          Response, ResponseMode, ResponseStatus)
from impactmodel.fieldwork.questions import NOTE_MAX, AnswerInvalid, question_type
from impactmodel.languages import LANGUAGES

T = TypeVar("T")
CODER = "instrument"          # Coding.coder for closed answers coded on arrival
MAX_INVITATIONS = 500
CASE_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _./-]{0,39}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Short codes for typing: no 0/O, 1/I/L, 5/S, 2/Z or 8/B to confuse on a printed card.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8


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


class SurveyIncomplete(FieldworkError):
    """Required questions are unanswered. ``missing``: question keys in instrument order."""

    def __init__(self, missing: list[str]):
        super().__init__(f"unanswered required questions: {', '.join(missing)}")
        self.missing = missing


class SurveyEmpty(SurveyIncomplete):
    """Nothing is answered: a survey may skip any question, but not all of them."""

    def __init__(self):
        super().__init__([])


class InvitationNotFound(LookupError):
    """No invitation has this token."""


class InvitationEnded(Exception):
    """The invitation can no longer be used: ``reason`` is ``"expired"`` or ``"submitted"``."""

    def __init__(self, invitation: Invitation, reason: str):
        super().__init__(reason)
        self.invitation, self.reason = invitation, reason


# --- Retrying races -----------------------------------------------------------------------

def _retrying(session: Session, work: Callable[[], T], attempts: int = 8) -> T:
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
    from impactmodel.coding.models import CodebookVersion
    cb = codebook_mod.load()

    def synced() -> bool:
        have = set(session.scalars(sa.select(InstrumentVersion.checksum)
                                   .where(InstrumentVersion.checksum.in_(checksums))))
        return have == checksums and session.scalar(
            sa.select(CodebookVersion.id).where(CodebookVersion.checksum == cb.checksum)) is not None
    if synced():
        return

    def work():
        if not synced():
            codebook_mod.sync(session, cb)
            sync_instruments(session, defs)
        session.commit()
    _retrying(session, work)


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


# --- Looking things up --------------------------------------------------------------------

def _check_access(actor, authority_id: int) -> None:
    may = getattr(actor, "may_see_authority", None)
    if may is not None and not may(authority_id):
        raise PermissionError("you are not assigned to this authority")


def _round(session: Session, value: Round | str | int) -> Round:
    if isinstance(value, Round):
        value = value.id   # the caller's object may belong to another session
    if isinstance(value, int):
        rnd = session.get(Round, value)
    else:
        rnd = session.scalar(sa.select(Round).where(Round.name == str(value).strip()))
    if rnd is None:
        raise FieldworkError(f"there is no round {value!r}")
    return rnd


def _authority(session: Session, value: Authority | str | int) -> Authority:
    if isinstance(value, Authority):
        value = value.id
    if isinstance(value, int):
        authority = session.get(Authority, value)
    else:
        authority = consortium.find_authority_by_name(session, str(value))
    if authority is None:
        raise FieldworkError(f"there is no authority {value!r}")
    return authority


def _key_group(session: Session, rnd: Round, value: KeyGroup | str | int | None) -> KeyGroup | None:
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


def _case(session: Session, rnd: Round, authority: Authority, value: Case | str | None,
          kg: KeyGroup | None) -> Case | None:
    if value in (None, ""):
        return None
    if isinstance(value, Case):
        if value.round_id != rnd.id or value.authority_id != authority.id:
            raise FieldworkError("that case belongs to another round or authority")
        return value
    return consortium.get_or_create_case(session, rnd, authority, clean_case_reference(value),
                                         kg.id if kg else None)


# --- Interviews ---------------------------------------------------------------------------

REFERENCE_WIDTH = 3


def next_reference(session: Session, rnd: Round, authority: Authority, role: RespondentRole) -> str:
    """A fresh reference ``<role>-<n>`` that fits the ones already in the authority and round.

    The number follows the highest existing ``<role>-<n>`` and is padded to the width
    those references use (the widest, if they differ), or to three digits when there are
    none: after ``manager-01`` ... ``manager-03`` comes ``manager-04``, not ``manager-004``.
    """
    role = RespondentRole(role)
    pattern = re.compile(rf"^{re.escape(role.value)}-(\d+)$")
    taken = set(session.scalars(sa.select(Respondent.reference).where(
        Respondent.round_id == rnd.id, Respondent.authority_id == authority.id)))
    numbered = [m.group(1) for m in map(pattern.match, taken) if m]
    width = max((len(d) for d in numbered), default=REFERENCE_WIDTH)
    n = max((int(d) for d in numbered), default=0) + 1
    while f"{role.value}-{n:0{width}d}" in taken:
        n += 1
    return f"{role.value}-{n:0{width}d}"


def start_interview(session: Session, actor, *, round: Round | str | int,
                    authority: Authority | str | int, role: RespondentRole | str,
                    key_group: KeyGroup | str | int | None = None, case: Case | str | None = None,
                    reference: str | None = None) -> Response:
    """Start (or return the existing) researcher-administered interview.

    Parameters
    ----------
    round, authority : a Round/Authority, its id or its name. The authority takes part
        in the round from now on, if it did not already.
    role : a staff role (``dcs``, ``manager``, ``practitioner``); picks the instrument.
    key_group : optional key-group code (``lac``...) or KeyGroup of the round.
    case : optional case pseudonym (``LAC-03``) or Case; created if new.
    reference : the respondent's reference, unique in the authority and round; a fresh
        one from ``next_reference`` when omitted (``manager-004``, or ``manager-04`` where
        the authority's references for the round have two digits). The same reference
        resumes the interview.

    Returns the Response (mode ``interview``, consent recorded by the researcher).
    Raises PermissionError if ``actor`` may not see the authority, FieldworkError for
    bad input.
    """
    role = RespondentRole(role)
    if not role.is_staff:
        raise FieldworkError("interviews are for directors, managers and practitioners; "
                             "parents and children answer a survey")
    rnd, auth = _round(session, round), _authority(session, authority)
    _check_access(actor, auth.id)
    version = current_version(session, instrument_for_role(role).key)
    kg = _key_group(session, rnd, key_group)
    case_row = _case(session, rnd, auth, case, kg)
    if kg is None and case_row is not None and case_row.key_group_id is not None:
        kg = session.get(KeyGroup, case_row.key_group_id)

    def work() -> Response:
        consortium.ensure_participation(session, rnd, auth)
        ref = (reference or "").strip()
        if ref:  # a known reference resumes that person's interview
            try:
                respondent = consortium.get_or_create_respondent(
                    session, rnd, auth, ref, role, kg.id if kg else None, case_row.id if case_row else None)
            except consortium.RespondentConflict as exc:
                raise FieldworkError(str(exc)) from None
        else:
            # A fresh reference is always a new person: if another researcher took the same
            # number a moment ago, the insert fails and _retrying picks the next one.
            respondent = Respondent(round_id=rnd.id, authority_id=auth.id,
                                    reference=next_reference(session, rnd, auth, role), role=role,
                                    key_group_id=kg.id if kg else None,
                                    case_id=case_row.id if case_row else None)
            session.add(respondent)
            session.flush()
        existing = session.scalar(sa.select(Response).where(Response.respondent_id == respondent.id)
                                  .order_by(Response.id).limit(1))
        if existing is not None:
            return existing
        now = utcnow()
        response = Response(respondent_id=respondent.id, instrument_version_id=version.id,
                            mode=ResponseMode.INTERVIEW, interviewer_id=getattr(actor, "id", None),
                            consent_by="researcher", consented_at=now, started_at=now)
        session.add(response)
        session.flush()
        record(session, actor, "interview.start", "response", response.id, round_id=rnd.id,
               authority_id=auth.id, respondent_id=respondent.id, instrument_version_id=version.id)
        session.commit()
        return response
    return _retrying(session, work)


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


def _check_language(language: str) -> None:
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


def _write(session: Session, actor, response: Response, item: dict, report: SaveReport) -> None:
    key, seq = item["key"], item["seq"]
    existing = session.scalar(sa.select(Answer).where(Answer.response_id == response.id,
                                                      Answer.question_key == key)
                              .execution_options(populate_existing=True))
    if existing is None:
        if item["text"] is None and item["value"] in (None, [], {}) and item["note"] is None:
            report.saved[key] = seq   # nothing to keep: a skipped question makes no row
            return
        session.add(Answer(response_id=response.id, question_key=key, text=item["text"],
                           value=item["value"], note=item["note"], client_seq=seq,
                           language=item.get("language") or "en"))
        session.flush()   # an IntegrityError here means another request inserted it: retried
        report.saved[key] = seq
        return
    if "base" in item and (existing.text, existing.value, existing.note) == \
            (item["text"], item["value"], item["note"]):
        return   # a form sends every answer; one it leaves as stored is no change at all
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
    session.expire(existing)
    if not done.rowcount:
        report.stale[key] = existing.client_seq
        return
    report.saved[key] = seq if seq is not None else existing.client_seq
    if old_text != item["text"]:
        # Codings of the old words follow them into the new text, or wait for review.
        moved = coding_services.follow_answer_text(session, actor, existing.id, old_text, item["text"])
        report.flagged += moved["flagged"]


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
    session.refresh(response)
    if response.status is ResponseStatus.COMPLETE:
        raise ResponseLocked("this response is complete and can no longer change")
    _check_access(actor, response.respondent.authority_id)
    stored = answers_of(session, response)
    merged = []
    for item in items:
        a = stored.get(item.get("key")) if isinstance(item.get("key"), str) else None
        merged.append({**{part: getattr(a, part, None) for part in ("text", "value", "note")}, **item})
    cleaned = clean_answers(response, merged, shown)
    if language is not None:
        _check_language(language)
        cleaned = [{**item, "language": language} for item in cleaned]

    def work() -> SaveReport:
        # Claim the response first, and only while it is in progress: a save racing a
        # "complete" or "send" in another tab either lands before it or is refused.
        claimed = session.execute(sa.update(Response).where(
            Response.id == response.id, Response.status == ResponseStatus.IN_PROGRESS)
            .values(updated_at=utcnow(), **({"language": language} if language else {})),
            execution_options={"synchronize_session": False})
        if not claimed.rowcount:
            session.rollback()
            raise ResponseLocked("this response is complete and can no longer change")
        report = SaveReport()
        for item in cleaned:
            _write(session, actor, response, item, report)
        session.commit()
        return report
    return _retrying(session, work)


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


def unanswered(session: Session, response: Response) -> list[str]:
    """Every question (required or not) still without an answer, in instrument order."""
    answers = answers_of(session, response)
    return [key for key, q in definition_of(response).questions.items()
            if (a := answers.get(key)) is None or question_type(q["type"]).is_empty(a.text, a.value)]


def answered_count(session: Session, response: Response) -> int:
    return len(definition_of(response).questions) - len(unanswered(session, response))


def missing_required(session: Session, response: Response) -> list[str]:
    """Required questions still unanswered, in instrument order."""
    answers = answers_of(session, response)
    out = []
    for key, q in definition_of(response).questions.items():
        a = answers.get(key)
        if q.get("required") and (a is None or question_type(q["type"]).is_empty(a.text, a.value)):
            out.append(key)
    return out


# --- Completing: closed answers coded on arrival ------------------------------------------

def code_closed_answers(session: Session, response: Response) -> int:
    """Create agreed ``Coding`` rows (coder ``instrument``) for the closed answers.

    Replaces earlier instrument codings of this response. Returns the number made.
    """
    respondent = response.respondent
    idef = definition_of(response)
    answers = answers_of(session, response)
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


def _apply_answers(session: Session, response: Response) -> None:
    """Answers that also live elsewhere: the self-reported level, Box 6 evidence."""
    respondent = response.respondent
    idef = definition_of(response)
    for key, answer in answers_of(session, response).items():
        q = idef.question(key)
        if q is None:
            continue
        if q["type"] == "level" and answer.value is not None and respondent.role.is_staff:
            respondent.impact_level = float(answer.value)
        elif q["type"] == "evidence" and answer.value and respondent.role is RespondentRole.DCS:
            part = consortium.ensure_participation(session, respondent.round, respondent.authority)
            part.evidence = EvidenceCategory(answer.value)


def _complete(session: Session, actor, response: Response) -> bool:
    """Mark complete and code; False if another request completed it first. No commit."""
    now = utcnow()
    done = session.execute(
        sa.update(Response).where(Response.id == response.id,
                                  Response.status == ResponseStatus.IN_PROGRESS)
        .values(status=ResponseStatus.COMPLETE, completed_at=now, updated_at=now),
        execution_options={"synchronize_session": False})
    if not done.rowcount:
        return False
    session.expire(response)
    codebook_mod.sync(session)   # the code table must hold every id a Coding names
    made = code_closed_answers(session, response)
    _apply_answers(session, response)
    record(session, actor, "response.complete", "response", response.id,
           respondent_id=response.respondent_id, round_id=response.respondent.round_id,
           authority_id=response.respondent.authority_id, answers=len(answers_of(session, response)),
           codings=made)
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
    _complete(session, actor, response)
    response.completed_at = completed_at
    session.flush()
    return response


def complete_response(session: Session, actor, response: Response) -> Response:
    """Mark an interview (or survey response) complete: closed answers are coded, the
    self-reported level is set on the respondent, a director's Box 6 evidence on the
    authority's participation. Idempotent: completing twice changes nothing."""
    _check_access(actor, response.respondent.authority_id)

    def work() -> Response:
        _complete(session, actor, response)
        session.commit()
        session.refresh(response)
        return response
    return _retrying(session, work)


# --- Survey invitations -------------------------------------------------------------------

def _base(base_url: str | None) -> str:
    return (base_url or (current_app.config["BASE_URL"] if has_app_context()
                         else "http://127.0.0.1:5000")).rstrip("/")


def invitation_url(token: str, base_url: str | None = None) -> str:
    """The absolute link a respondent opens (base: ``BASE_URL``)."""
    return f"{_base(base_url)}/s/{token}"


def code_entry_url(base_url: str | None = None) -> str:
    """The short address where a respondent types the code from their card."""
    return f"{_base(base_url)}/s"


def format_code(code: str | None) -> str:
    """A code as printed: two groups of four (``ACDE-FG34``), easier to copy."""
    return f"{code[:4]}-{code[4:]}" if code else ""


def clean_code(typed: str | None) -> str | None:
    """A typed code in stored form (capitals, no spaces or dashes), or None if it cannot be one."""
    code = re.sub(r"[\s\-–—]", "", typed or "").upper()
    if len(code) != CODE_LENGTH or not all(c in CODE_ALPHABET for c in code):
        return None
    return code


def _new_codes(session: Session, count: int) -> list[str]:
    """``count`` fresh codes, unique among themselves and in the database."""
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        fresh = {"".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                 for _ in range(wanted)} - codes
        taken = set(session.scalars(sa.select(Invitation.code).where(Invitation.code.in_(fresh))))
        codes |= fresh - taken
    return list(codes)


def create_invitations(session: Session, actor, *, round: Round | str | int,
                       authority: Authority | str | int, role: RespondentRole | str, count: int,
                       key_group: KeyGroup | str | int | None = None, case: Case | str | None = None,
                       days: int | None = None) -> list[Invitation]:
    """Create ``count`` single-respondent survey links for one round, authority and role.

    Each has a long random token (``secrets.token_urlsafe(32)``) and expires after
    ``days`` (default ``INVITATION_DAYS``, 90). The respondent is created when the link is
    first used. The invitations share a ``batch`` id (for printing). Commits.
    """
    role = RespondentRole(role)
    instrument_for_role(role)  # refuses a role with no instrument
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_INVITATIONS:
        raise FieldworkError(f"the number of links must be from 1 to {MAX_INVITATIONS}")
    rnd, auth = _round(session, round), _authority(session, authority)
    _check_access(actor, auth.id)
    kg = _key_group(session, rnd, key_group)
    case_row = _case(session, rnd, auth, case, kg)
    if kg is None and case_row is not None and case_row.key_group_id is not None:
        kg = session.get(KeyGroup, case_row.key_group_id)
    if days is None:
        days = current_app.config.get("INVITATION_DAYS", 90) if has_app_context() else 90
    ids = dict(round_id=rnd.id, authority_id=auth.id, role=role, key_group_id=kg.id if kg else None,
               case_id=case_row.id if case_row else None, created_by_id=getattr(actor, "id", None))

    def work() -> list[Invitation]:
        # A code drawn at the same moment by another request loses on the unique index: retried.
        consortium.ensure_participation(session, session.get(Round, ids["round_id"]),
                                        session.get(Authority, ids["authority_id"]))
        now = utcnow()
        batch = secrets.token_hex(8)
        invitations = [Invitation(token=secrets.token_urlsafe(32), code=code, created_at=now,
                                  batch=batch, expires_at=now + timedelta(days=int(days)) if days else None,
                                  **ids)
                       for code in _new_codes(session, count)]
        session.add_all(invitations)
        session.flush()
        record(session, actor, "invitation.create", "invitation_batch", batch, round_id=ids["round_id"],
               authority_id=ids["authority_id"], role=role.value, count=count)
        session.commit()
        return invitations
    return _retrying(session, work)


def _aware(dt: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were stored in UTC.
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


# Days after a link's expiry during which a survey already begun can still be finished.
EXPIRY_GRACE_DAYS = 7


def find_invitation(session: Session, token: str, *, allow_submitted: bool = False) -> Invitation:
    """The invitation for ``token``. Raises InvitationNotFound, or InvitationEnded with
    reason ``"expired"`` or ``"submitted"`` (the latter unless ``allow_submitted``)."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise InvitationNotFound(token)
    invitation = session.scalar(sa.select(Invitation).where(Invitation.token == token))
    if invitation is None:
        raise InvitationNotFound(token)
    if invitation.submitted_at is not None:
        if not allow_submitted:
            raise InvitationEnded(invitation, "submitted")
    elif invitation.expires_at is not None and _aware(invitation.expires_at) <= utcnow():
        # Someone already answering when the link runs out may finish: a short grace
        # period, so a page being typed is not lost at the deadline.
        begun = invitation.respondent_id is not None
        grace = timedelta(days=EXPIRY_GRACE_DAYS)
        if not begun or _aware(invitation.expires_at) + grace <= utcnow():
            raise InvitationEnded(invitation, "expired")
    return invitation


def find_invitation_by_code(session: Session, typed: str) -> Invitation:
    """The invitation whose short code was typed (any case, spaces and dashes ignored).

    Raises InvitationNotFound. Whether it can still be used is for ``find_invitation``
    (the survey's own pages) to say, with its kind pages for ended links.
    """
    code = clean_code(typed)
    invitation = code and session.scalar(sa.select(Invitation).where(Invitation.code == code))
    if not invitation:
        raise InvitationNotFound(typed)
    return invitation


def survey_response(session: Session, invitation: Invitation) -> Response | None:
    """The response begun through this invitation, if any."""
    if invitation.respondent_id is None:
        return None
    return session.scalar(sa.select(Response).where(Response.respondent_id == invitation.respondent_id)
                          .order_by(Response.id).limit(1))


def begin_survey(session: Session, invitation: Invitation, *, consent_by: str,
                 assent: bool = False, mode: ResponseMode | str = ResponseMode.SELF,
                 language: str = "en") -> Response:
    """Record consent and start the invitation's response (the respondent is made now).

    ``consent_by``: ``"self"`` (a parent, or staff) or ``"parent"`` (a parent or carer for
    a child, who must also ``assent``). ``mode``: ``self`` or ``assisted``. Opening the
    link again, or in a second tab, returns the same response. ``language``: the one the
    respondent reads (``impactmodel.languages``). Commits.
    """
    mode = ResponseMode(mode)
    _check_language(language)
    if mode is ResponseMode.INTERVIEW:
        raise FieldworkError("a survey link is answered by the respondent, alone or with help")
    if invitation.role is RespondentRole.CHILD and (consent_by != "parent" or not assent):
        raise FieldworkError("a child takes part with a parent's or carer's consent and their own assent")
    if invitation.role is not RespondentRole.CHILD and consent_by != "self":
        raise FieldworkError("consent must be given by the respondent")
    version = current_version(session, instrument_for_role(invitation.role).key)
    invitation_id = invitation.id

    def work() -> Response:
        inv = session.get(Invitation, invitation_id, populate_existing=True)
        if inv.submitted_at is not None:
            raise InvitationEnded(inv, "submitted")
        if inv.respondent_id is None:
            # The reference comes from the invitation, so two tabs opening the same link
            # at once collide on the unique reference rather than making two people.
            respondent = Respondent(round_id=inv.round_id, authority_id=inv.authority_id,
                                    reference=f"{inv.role.value}-link-{inv.id}", role=inv.role,
                                    key_group_id=inv.key_group_id, case_id=inv.case_id)
            session.add(respondent)
            session.flush()
            claimed = session.execute(sa.update(Invitation).where(
                Invitation.id == inv.id, Invitation.respondent_id.is_(None)).values(
                respondent_id=respondent.id), execution_options={"synchronize_session": False})
            if not claimed.rowcount:
                raise IntegrityError("invitation already claimed", None, Exception())
            session.expire(inv)
        existing = survey_response(session, inv)
        if existing is not None:
            session.commit()
            return existing
        now = utcnow()
        response = Response(respondent_id=inv.respondent_id, instrument_version_id=version.id,
                            mode=mode, consent_by=consent_by, consented_at=now, language=language,
                            assented_at=now if assent else None, started_at=now)
        session.add(response)
        session.flush()
        record(session, "respondent", "survey.begin", "response", response.id,
               invitation_id=inv.id, round_id=inv.round_id, authority_id=inv.authority_id,
               language=language)
        session.commit()
        return response
    response = _retrying(session, work)
    session.refresh(invitation)
    return response


def submit_survey(session: Session, invitation: Invitation, answers: dict[str, dict] | None = None,
                  *, consent_by: str | None = None, assent: bool = True,
                  mode: ResponseMode | str = ResponseMode.SELF) -> Response:
    """Submit the invitation's survey: once. Idempotent: a second submit returns the same
    response and stores nothing.

    Parameters
    ----------
    answers : optional ``{question_key: {"text": ..., "value": ...}}`` saved first (the
        demo-data generator fills a whole survey in one call). Begins the survey if need be,
        with ``consent_by`` (default ``"parent"`` for a child, ``"self"`` otherwise).

    Raises SurveyIncomplete (required questions unanswered; nothing submitted), its
    subclass SurveyEmpty (no question answered at all), AnswersInvalid, InvitationEnded
    (expired).
    """
    session.refresh(invitation)
    if invitation.submitted_at is not None:
        return survey_response(session, invitation)
    response = survey_response(session, invitation)
    if response is None:
        if answers is None:
            missing = missing_required_keys(invitation.role)
            raise SurveyIncomplete(missing) if missing else SurveyEmpty()
        response = begin_survey(session, invitation,
                                consent_by=consent_by or ("parent" if invitation.role is RespondentRole.CHILD
                                                          else "self"),
                                assent=assent, mode=mode)
    if answers:
        if response.status is ResponseStatus.IN_PROGRESS:
            save_answers(session, "respondent", response,
                         [{"key": k, **v} for k, v in answers.items()])
    if response.status is ResponseStatus.IN_PROGRESS:
        missing = missing_required(session, response)
        if missing:
            raise SurveyIncomplete(missing)
        if not answered_count(session, response):
            raise SurveyEmpty()
    invitation_id = invitation.id

    def work() -> Response:
        # Claim the submission first: of two racing requests only one matches.
        claimed = session.execute(sa.update(Invitation).where(
            Invitation.id == invitation_id, Invitation.submitted_at.is_(None)).values(
            submitted_at=utcnow()), execution_options={"synchronize_session": False})
        if claimed.rowcount:
            _complete(session, "respondent", response)
            record(session, "respondent", "survey.submit", "invitation", invitation_id,
                   response_id=response.id, round_id=invitation.round_id,
                   authority_id=invitation.authority_id)
        session.commit()
        return response
    _retrying(session, work)
    session.refresh(invitation)
    session.refresh(response)
    return response


def missing_required_keys(role: RespondentRole) -> list[str]:
    return [k for k, q in instrument_for_role(role).questions.items() if q.get("required")]


def invitation_status(invitation: Invitation) -> str:
    """``submitted``, ``expired``, ``started`` or ``not_opened``."""
    if invitation.submitted_at is not None:
        return "submitted"
    if invitation.expires_at is not None and _aware(invitation.expires_at) <= utcnow():
        return "expired"
    return "started" if invitation.respondent_id is not None else "not_opened"
