"""Submissions collected offline: CSV exports of the app's XLSForms from KoboToolbox or ODK.

Each row is one submission: the authority, respondent reference and role the form
carries, the instrument and the checksum of the questions it was answered with, and
the answers. A row becomes a respondent (new, or an existing one without a response to
that instrument), a complete response and its answers, completed as the app completes
one (closed answers coded, open answers queued for coding).

All or nothing, like the other imports: every row is checked first, and one bad row
imports nothing, naming its line, column and problem. Idempotent: a response keeps the
submission's instance id (``meta/instanceID``), and a submission already imported into
the round is left out. Authority boundaries are those of ``csvio.Permit``.

Supported exports (docs/FIELDWORK.md): KoboToolbox "CSV" with "XML values and headers",
groups in headers with the separator ``/`` (or without groups), separated by commas or
semicolons, select_multiple as one space-separated column and/or one 0/1 column per
choice; ODK Central's CSV (groups joined by ``-``, ``meta-instanceID`` and ``KEY``).
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.audit import record
from impactmodel.auth.models import User
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Authority, Respondent, Round, authority_key
from impactmodel.db import utcnow
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork import responses
from impactmodel.fieldwork.instruments import InstrumentDef
from impactmodel.fieldwork.models import Instrument, InstrumentVersion, Response, ResponseMode
from impactmodel.fieldwork.questions import AnswerInvalid, question_type
from impactmodel.interchange import xlsform
from impactmodel.interchange.csvio import (ImportRejected, Permit, Problem, _unstorable_lines,
                                          _write)
from impactmodel.interchange.xlsform import Field, Form

# Where the submission's instance id is, by export: Kobo, ODK Central, ODK Briefcase.
INSTANCE_COLUMNS = ("meta/instanceID", "meta-instanceID", "KEY", "instanceID")
KOBO_UUID = "_uuid"
# Columns the collecting server adds; they carry no answer.
SERVICE_COLUMNS = {"today", "deviceid", "username", "phonenumber", "simserial", "subscriberid",
                   "audit", "SubmissionDate", "SubmitterID", "SubmitterName", "AttachmentsPresent",
                   "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"}
SERVICE_PREFIXES = ("_", "meta/", "meta-", "formhub/")
DELIMITERS = (",", ";", "\t")
TICKED = {"1", "true", "True", "TRUE"}
UNTICKED = {"0", "false", "False", "FALSE", ""}
EXTERNAL_ID_MAX = Response.__table__.c.external_id.type.length


def _service(header: str) -> bool:
    return header in SERVICE_COLUMNS or header in INSTANCE_COLUMNS or header.startswith(SERVICE_PREFIXES)


@dataclass
class SubmissionsResult:
    """What an import did, or with ``dry_run`` what it would do."""

    round: Round | None
    round_name: str
    imported: int
    already: int            # submissions whose instance id the round already has
    new_round: bool
    new_authorities: list[str]
    respondents_created: int


class _Layout:
    """How one form version's fields appear as CSV columns, under each export's headers."""

    def __init__(self, inst: InstrumentDef, version: InstrumentVersion):
        self.inst, self.version = inst, version
        self.form: Form = xlsform.build_form(inst)
        # header -> (field, choice name of a 0/1 column, or None)
        self.columns: dict[str, tuple[Field, str | None]] = {}
        names = Counter(f.name for f in self.form.fields)
        for f in self.form.fields:
            bases = {"/".join(f.path), "-".join(f.path)}
            if names[f.name] == 1:
                bases.add(f.name)       # exported without groups in the headers
            for base in bases:
                self.columns[base] = (f, None)
                if f.multiple:
                    for choice in f.choices:
                        self.columns[f"{base}/{choice}"] = (f, choice)


@dataclass
class _Submission:
    line: int
    instance_id: str
    layout: _Layout
    authority: str
    reference: str
    key_group: str | None
    answers: dict[str, tuple[str | None, Any]] = field(default_factory=dict)
    started_at: datetime | None = None
    completed_at: datetime | None = None


def _read(stream: IO[str]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text = stream.read()
    if text.startswith("\ufeff"):
        text = text[1:]
    if problems := _unstorable_lines(text):
        raise ImportRejected(problems)
    if not text.strip():
        raise ImportRejected([Problem(None, None, "the file is empty: it needs a header row")])
    first = text.split("\n", 1)[0].rstrip("\r")
    delimiter = next((d for d in DELIMITERS
                      if xlsform.CHECKSUM in (h.strip() for h in next(csv.reader([first], delimiter=d)))),
                     None)
    if delimiter is None:
        raise ImportRejected([Problem(1, xlsform.CHECKSUM, "required column is missing: export the "
                                      "submissions as CSV with XML values and headers, from a form "
                                      "written by 'impactmodel export xlsform'")])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        header = [h.strip() for h in next(reader)]
        for values in reader:
            if any(v.strip() for v in values):
                if len(values) != len(header):
                    raise ImportRejected([Problem(reader.line_num, None, f"has {len(values)} fields but "
                                                  f"the header has {len(header)}")])
                rows.append((reader.line_num, values))
    except csv.Error as exc:
        raise ImportRejected([Problem(reader.line_num, None, f"malformed CSV: {exc}")]) from None
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise ImportRejected([Problem(1, h, "column appears more than once") for h in dupes])
    if not rows:
        raise ImportRejected([Problem(None, None, "the file has a header but no rows")])
    return header, rows


def _instance_id(row: dict[str, str]) -> str | None:
    for column in INSTANCE_COLUMNS:
        if row.get(column, "").strip():
            return row[column].strip()
    uuid = row.get(KOBO_UUID, "").strip()
    if uuid:
        return uuid if uuid.startswith("uuid:") else f"uuid:{uuid}"
    return None


def _when(value: str, line: int, column: str, problems: list[Problem]) -> datetime | None:
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        problems.append(Problem(line, column, f"{value!r} is not a date and time (such as "
                                              "2026-11-03T10:15:00+00:00)"))
        return None


class _Reader:
    """Checks the rows against the database as it is, collecting every problem."""

    def __init__(self, session: Session, round_name: str, permit: Permit):
        self.session, self.permit = session, permit
        self.round_name = " ".join(round_name.split())
        self.round = session.scalar(sa.select(Round).where(Round.name == self.round_name))
        self.key_groups = ({kg.code for kg in self.round.key_groups} if self.round
                           else set(consortium.STANDARD_KEY_GROUPS))
        self.layouts: dict[str, _Layout | None] = {}
        self.problems: list[Problem] = []

    def problem(self, line: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(line, column, message))

    def layout(self, checksum: str) -> _Layout | None:
        """The form version with this checksum, as the app stored it (None: unknown)."""
        if checksum not in self.layouts:
            version = self.session.scalar(sa.select(InstrumentVersion)
                                          .where(InstrumentVersion.checksum == checksum))
            self.layouts[checksum] = _Layout(InstrumentDef.from_definition(version.definition),
                                             version) if version else None
        return self.layouts[checksum]

    def check_round(self) -> None:
        limit = Round.__table__.c.name.type.length
        if not self.round_name:
            self.problem(None, "--round", "the round needs a name")
        elif len(self.round_name) > limit:
            self.problem(None, "--round", f"the round name is longer than {limit} characters")
        elif self.round is None and not self.permit.may_create:
            self.problem(None, "--round", f"there is no round {self.round_name!r}, and only an "
                                          "administrator can create a round: choose an existing one")

    def check_authority(self, name: str, line: int) -> bool:
        """Whether the importing user may write to the row's authority (checked first, so
        that no message describes another authority's respondents)."""
        column = xlsform.AUTHORITY
        if not name:
            self.problem(line, column, "is empty")
            return False
        limit = Authority.__table__.c.name.type.length
        if len(name) > limit:
            self.problem(line, column, f"is longer than {limit} characters")
            return False
        authority = consortium.find_authority_by_name(self.session, name)
        if authority is None:
            if not self.permit.may_create:
                self.problem(line, column, f"there is no authority {name!r}, and only an administrator "
                                           "can add one")
                return False
            return True
        if self.permit.authority_ids is not None and authority.id not in self.permit.authority_ids:
            self.problem(line, column, f"you are not assigned to {name!r}")
            return False
        return True

    def check_header(self, header: list[str]) -> None:
        known = {h for layout in self.layouts.values() if layout for h in layout.columns}
        if not known:
            return   # no row names a known form version: the rows say so
        for h in header:
            if h not in known and not _service(h):
                self.problem(1, h or "(blank)", "is not a field of this form: was the form changed "
                                                "outside the app, or exported with labels as headers?")

    def submission(self, line: int, row: dict[str, str]) -> _Submission | None:
        """The row checked as far as it can be; problems are collected, None if any."""
        before = len(self.problems)
        instance_id = _instance_id(row)
        if instance_id is None:
            self.problem(line, "meta/instanceID", "is empty: every submission has an instance id")
            return None
        if len(instance_id) > EXTERNAL_ID_MAX or any(c.isspace() for c in instance_id):
            self.problem(line, "meta/instanceID", f"{instance_id[:50]!r} is not an instance id")
            return None
        layout = self.layout(row.get(xlsform.CHECKSUM, "").strip())
        if layout is None:
            self.problem(line, xlsform.CHECKSUM, "is not a version of an instrument of the app: export "
                                                 "the form again with 'impactmodel export xlsform'")
            return None
        if row.get(xlsform.INSTRUMENT, "").strip() != layout.inst.key:
            self.problem(line, xlsform.INSTRUMENT, f"should be {layout.inst.key!r}, the instrument of "
                                                   "the form version this row names")
            return None
        values: dict[tuple[str, ...], str] = {}
        ticked: dict[tuple[str, ...], set[str]] = {}
        for header, value in row.items():
            if _service(header) and header not in layout.columns:
                continue
            if header not in layout.columns:
                if value.strip():
                    self.problem(line, header, "is not a field of the form version this row was "
                                               "answered with")
                continue
            f, choice = layout.columns[header]
            if choice is None:
                values[f.path] = value
            elif value.strip() in TICKED:
                ticked.setdefault(f.path, set()).add(choice)
            elif value.strip() not in UNTICKED:
                self.problem(line, header, f"{value!r} should be 1 (chosen) or 0")
        form = layout.form
        meta = {f.name: values.get(f.path, "").strip() for f in form.fields if f.question is None}
        authority = " ".join(meta[xlsform.AUTHORITY].split())
        if not self.check_authority(authority, line):
            return None
        reference = meta[xlsform.RESPONDENT]
        limit = Respondent.__table__.c.reference.type.length
        if not reference:
            self.problem(line, xlsform.RESPONDENT, "is empty")
        elif len(reference) > limit:
            self.problem(line, xlsform.RESPONDENT, f"is longer than {limit} characters")
        role = layout.inst.role
        if meta[xlsform.ROLE] != role.value:
            self.problem(line, xlsform.ROLE, f"should be {role.value!r}: the instrument "
                                             f"{layout.inst.key!r} is for {role.label.lower()}s")
        key_group = meta[xlsform.KEY_GROUP] or None
        if key_group is not None and key_group not in self.key_groups:
            self.problem(line, xlsform.KEY_GROUP, f"unknown key group {key_group!r}: the round has "
                                                  f"{', '.join(sorted(self.key_groups))}")
        for name in (xlsform.CONSENT, xlsform.ASSENT):
            if name in meta and meta[name] != xlsform.ACKNOWLEDGED:
                self.problem(line, name, f"should be {xlsform.ACKNOWLEDGED!r}: a submission is "
                                         "imported only with consent recorded")
        sub = _Submission(line, instance_id, layout, authority, reference, key_group,
                          started_at=_when(meta[xlsform.START], line, xlsform.START, self.problems),
                          completed_at=_when(meta[xlsform.END], line, xlsform.END, self.problems))
        self.answers(sub, values, ticked)
        return sub if len(self.problems) == before else None

    def answers(self, sub: _Submission, values: dict, ticked: dict) -> None:
        """Each question's answer, read from its fields and cleaned by its question type."""
        by_question: dict[str, list[Field]] = {}
        for f in sub.layout.form.fields:
            if f.question is not None:
                by_question.setdefault(f.question, []).append(f)
        for key, q in sub.layout.inst.questions.items():
            fields = by_question[key]
            # Problems name the question's column (a feature rating's: its group).
            column = "/".join(fields[0].path[:-1] if q["type"] == "feature_ratings" else fields[0].path)
            text, value, ratings = None, None, {}
            try:
                for f in fields:
                    raw = values.get(f.path, "")
                    if f.part == "text":
                        text = raw or None
                    elif f.part == "rating":
                        if raw.strip():
                            ratings[f.feature] = _choice(f, raw.strip())
                    elif f.multiple:
                        chosen = raw.split() if f.path in values else sorted(ticked.get(f.path, ()))
                        value = [_choice(f, c) for c in chosen]
                    elif raw.strip():
                        value = _choice(f, raw.strip())
                if q["type"] == "feature_ratings":
                    value = ratings
                text, value = question_type(q["type"]).clean(q, text, value)
            except AnswerInvalid as exc:
                self.problem(sub.line, column, str(exc))
                continue
            if not question_type(q["type"]).is_empty(text, value):
                sub.answers[key] = (text, value)
            elif q.get("required"):
                self.problem(sub.line, column, "is required in this instrument, and is empty")
        if not sub.answers:
            self.problem(sub.line, None, "answers no question")


def _choice(f: Field, name: str) -> Any:
    if name not in f.choices:
        raise AnswerInvalid(f"{name!r} is not a choice of this question: the form's choices are "
                            f"{', '.join(f.choices)}")
    return f.choices[name]


def import_submissions(session: Session, stream: IO[str], round_name: str, actor: User | str = "cli",
                       dry_run: bool = False) -> SubmissionsResult:
    """Import a KoboToolbox/ODK CSV export of the app's XLSForms into ``round_name``.

    ``actor`` is the importing User, whose boundaries the rows must keep (``Permit``), or
    a string naming the command line (an administrator). A submission whose instance id
    the round already has is left out and counted in ``SubmissionsResult.already``.
    ``dry_run`` checks every row and says what would be imported, writing nothing.
    Raises ImportRejected (nothing imported) naming each bad row's line and column.
    """
    reader = _Reader(session, round_name, Permit.of(actor))
    reader.check_round()
    header, rows = _read(stream)
    responses.ensure_synced(session)   # the current instruments' versions are stored
    for _, values in rows:
        reader.layout(dict(zip(header, values)).get(xlsform.CHECKSUM, "").strip())
    reader.check_header(header)
    if reader.problems:
        raise ImportRejected(reader.problems)
    stored = _stored_instances(session, [_instance_id(dict(zip(header, v))) for _, v in rows])
    subs: list[_Submission] = []
    already = 0
    first_line: dict[str, int] = {}
    people: dict[tuple[str, str], int] = {}
    for line, values in rows:
        row = dict(zip(header, values))
        sub = reader.submission(line, row)
        if sub is None:
            continue
        if (earlier := first_line.setdefault(sub.instance_id, line)) != line:
            reader.problem(line, "meta/instanceID", f"repeats the submission on line {earlier}")
            continue
        if sub.instance_id in stored:
            if stored[sub.instance_id] != (reader.round.id if reader.round else None):
                reader.problem(line, "meta/instanceID", "this submission was imported into another round")
            else:
                already += 1
            continue
        person = (authority_key(sub.authority), sub.reference)
        if (earlier := people.setdefault(person, line)) != line:
            reader.problem(line, xlsform.RESPONDENT, f"respondent {sub.reference!r} of {sub.authority} "
                                                     f"also answered on line {earlier}")
            continue
        _check_existing(session, reader, sub)
        subs.append(sub)
    if reader.problems:
        raise ImportRejected(reader.problems)
    new: dict[str, str] = {}     # name key -> the file's first spelling
    for sub in subs:
        if authority_key(sub.authority) not in new \
                and consortium.find_authority_by_name(session, sub.authority) is None:
            new[authority_key(sub.authority)] = sub.authority
    new_names = sorted(new.values())
    new_round = reader.round is None
    if dry_run:
        return SubmissionsResult(reader.round, reader.round_name, len(subs), already, new_round,
                                 new_names, sum(1 for s in subs if _respondent(session, reader, s) is None))

    def write() -> SubmissionsResult:
        rnd = consortium.get_or_create_round(session, reader.round_name)
        created = 0
        for sub in subs:
            authority = consortium.find_authority_by_name(session, sub.authority)
            if authority is None:
                if not reader.permit.may_create:   # only if the database changed since checking
                    raise ImportRejected([Problem(sub.line, xlsform.AUTHORITY, "this authority no longer "
                                                  "exists; nothing was imported")])
                authority = consortium.get_or_create_authority(session, sub.authority)
            consortium.ensure_participation(session, rnd, authority)
            key_group = consortium.key_group(session, rnd, sub.key_group) if sub.key_group else None
            existing = _respondent(session, reader, sub, rnd)
            respondent = consortium.get_or_create_respondent(
                session, rnd, authority, sub.reference, sub.layout.inst.role,
                key_group.id if key_group else None)
            created += existing is None
            responses.add_completed_response(
                session, actor, respondent, sub.layout.version, sub.answers, **_how(sub),
                external_id=sub.instance_id)
        record(session, actor, "import.submissions", "round", rnd.id, rows=len(subs), already=already,
               respondents_created=created)
        return SubmissionsResult(rnd, rnd.name, len(subs), already, new_round, new_names, created)
    return _write(session, write)


def _how(sub: _Submission) -> dict:
    """How the response was given: mode, who consented, and when."""
    now = utcnow()
    inst = sub.layout.inst
    started, completed = sub.started_at or sub.completed_at or now, sub.completed_at or now
    if inst.mode == "interview":
        how = {"mode": ResponseMode.INTERVIEW, "consent_by": "researcher"}
    else:
        # Answered on a field worker's device, so with their help.
        child = inst.role is RespondentRole.CHILD
        how = {"mode": ResponseMode.ASSISTED, "consent_by": "parent" if child else "self",
               "assented_at": started if child else None}
    return {**how, "started_at": started, "completed_at": completed}


def _stored_instances(session: Session, ids: list[str | None]) -> dict[str, int]:
    """Instance id -> round id, for the ids some response already has."""
    wanted = sorted({i for i in ids if i})
    out = {}
    for i in range(0, len(wanted), 500):
        out.update(session.execute(
            sa.select(Response.external_id, Respondent.round_id).join(Respondent)
            .where(Response.external_id.in_(wanted[i:i + 500]))).all())
    return out


def _respondent(session: Session, reader: _Reader, sub: _Submission, rnd: Round | None = None):
    rnd = rnd or reader.round
    if rnd is None:
        return None
    return session.scalar(sa.select(Respondent).join(Authority).where(
        Respondent.round_id == rnd.id, Authority.name_key == authority_key(sub.authority),
        Respondent.reference == sub.reference))


def _check_existing(session: Session, reader: _Reader, sub: _Submission) -> None:
    """An existing respondent keeps their role and answers each instrument once."""
    respondent = _respondent(session, reader, sub)
    if respondent is None:
        return
    if respondent.role is not sub.layout.inst.role:
        reader.problem(sub.line, xlsform.RESPONDENT, f"respondent {sub.reference!r} of {sub.authority} is "
                                                     f"already recorded as {respondent.role.value}")
        return
    answered = session.scalar(
        sa.select(sa.func.count()).select_from(Response).join(InstrumentVersion).join(Instrument)
        .where(Response.respondent_id == respondent.id, Instrument.key == sub.layout.inst.key))
    if answered:
        reader.problem(sub.line, xlsform.RESPONDENT, f"respondent {sub.reference!r} of {sub.authority} "
                                                     f"already has a response to {sub.layout.inst.key!r}")


def describe(result: SubmissionsResult, *, checked_only: bool = False) -> str:
    """One sentence for people: what was (or, checked only, would be) imported and created."""
    n = result.imported
    created = []
    if result.new_round:
        created.append(f"the new round {result.round_name!r}")
    if result.new_authorities:
        k = len(result.new_authorities)
        created.append(f"{k} new authorit{'y' if k == 1 else 'ies'} ({', '.join(result.new_authorities)})")
    created.append(f"{result.respondents_created} new respondent{'' if result.respondents_created == 1 else 's'}")
    verb = "All rows are valid: would import" if checked_only else "Imported"
    text = (f"{verb} {n} submission{'' if n == 1 else 's'} into {result.round_name!r}, with "
            f"{', '.join(created[:-1]) + ' and ' if len(created) > 1 else ''}{created[-1]}.")
    if result.already:
        a = result.already
        text += (f" {a} submission{' was' if a == 1 else 's were'} imported before and "
                 f"{'would be' if checked_only else 'was' if a == 1 else 'were'} left out.")
    return text
