"""The coded and levels CSV formats: all-or-nothing imports, and the matching export.

Every row is checked before anything is written. One bad row imports nothing, and
the error names the line, the column and the problem (line 1 is the header).

A user imports only rows of the authorities they may see, and only an administrator's
import may create a round or an authority. The command line (an actor given as a string,
such as ``"cli"``) acts as an administrator. Rows that would store the same thing twice
are stored once and reported.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from typing import IO, Generator, Iterable

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel import sheets
from impactmodel.audit import record
from impactmodel.auth.models import User
from impactmodel.codebook.models import Coding, coding_identity
from impactmodel.coding.models import DoubleCoding
from impactmodel.consortium import services
from impactmodel.consortium.models import Authority, KeyGroup, Participation, Respondent, Round, authority_key
from impactmodel.enums import STAFF_ROLES, RespondentRole
from impactmodel.fieldwork.models import Answer
from impactmodel.inputs import unstorable

CODED_COLUMNS = ["authority", "respondent", "role", "code", "valence", "key_group", "excerpt", "coder"]
CODED_REQUIRED = ["authority", "respondent", "role", "code"]
LEVELS_COLUMNS = ["authority", "respondent", "role", "level"]
LEVELS = [1 + i / 2 for i in range(7)]  # 1, 1.5, ..., 4
MAX_ERRORS_SHOWN = 20
MAX_DUPLICATES_NAMED = 10


@dataclass(frozen=True)
class Problem:
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ImportRejected(ValueError):
    """Nothing was imported; ``problems`` says why, row by row."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:MAX_ERRORS_SHOWN])
        more = len(problems) - MAX_ERRORS_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"Nothing was imported: {len(problems)} problem(s).\n{shown}{tail}")


@dataclass
class ImportResult:
    """What an import did, or with ``dry_run`` what it would do (``round`` is then None
    when the round does not exist yet)."""

    round: Round | None
    round_name: str
    rows: int
    new_round: bool
    new_authorities: list[str]
    respondents_created: int
    # (line, earlier line it repeats) for each row that repeats an earlier one
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    # Codings keep repeated rows (one row per coding); levels leave them out.
    duplicates_kept: bool = False

    @property
    def authorities_created(self) -> int:
        return len(self.new_authorities)


def decode(raw: bytes) -> str:
    """An uploaded or opened file's text; bytes that are not UTF-8 reject it, naming the line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ImportRejected([Problem(line, None, "is not UTF-8 text: save the file as 'CSV UTF-8' "
                                                  "and try again")]) from None


def _unstorable_lines(text: str) -> list[Problem]:
    # Lines as the CSV reader counts them; a quoted value may span several.
    return [Problem(line, None, f"contains {what}, which cannot be stored: remove it and try again")
            for line, physical in enumerate(io.StringIO(text, newline=""), start=1)
            if (what := unstorable(physical))]

@dataclass(frozen=True)
class Permit:
    """What an importing actor may write."""

    authority_ids: set[int] | None   # the authorities rows may name; None: every one
    may_create: bool                 # whether the import may create rounds and authorities

    @classmethod
    def of(cls, actor: User | str) -> Permit:
        if isinstance(actor, str):   # the command line or the demo loader: an administrator
            return cls(None, True)
        if not actor.role.can_import:
            raise ImportRejected([Problem(None, None, "your role may not import data")])
        return cls(actor.visible_authority_ids(), actor.role.can_manage_rounds)


def _read(stream: IO[str], columns: list[str], required: list[str]) -> list[tuple[int, dict]]:
    try:
        text = stream.read()
    except UnicodeDecodeError as exc:
        raise ImportRejected([Problem(None, None, f"the file is not UTF-8 text ({exc.reason})")]) from None
    if text.startswith("\ufeff"):
        text = text[1:]  # spreadsheet programs add a byte-order mark
    if problems := _unstorable_lines(text):
        raise ImportRejected(problems)
    if not text.strip():
        raise ImportRejected([Problem(None, None, "the file is empty: it needs a header row")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [sheets.restore(h).strip() for h in next(reader)]
    except csv.Error as exc:
        raise ImportRejected([Problem(1, None, f"malformed CSV: {exc}")]) from None
    problems = [Problem(1, c, "required column is missing") for c in required if c not in header]
    problems += [Problem(1, h or "(blank)", f"unknown column; expected {', '.join(columns)}")
                 for h in header if h not in columns]
    dupes = {h for h in header if header.count(h) > 1}
    problems += [Problem(1, h, "column appears more than once") for h in sorted(dupes)]
    if problems:
        raise ImportRejected(problems)
    rows = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                problems.append(Problem(line, None, f"has {len(values)} fields but the header has "
                                                    f"{len(header)}"))
                continue
            # Excerpts are kept exactly (spans may begin or end with spaces); identifiers are trimmed.
            # A cell the export marked against formulas loses exactly that mark.
            values = [sheets.restore(v) for v in values]
            rows.append((line, {h: v if h == "excerpt" else v.strip() for h, v in zip(header, values)}))
    except csv.Error as exc:
        raise ImportRejected(problems + [Problem(reader.line_num, None, f"malformed CSV: {exc}")]) from None
    if problems:
        raise ImportRejected(problems)
    if not rows:
        raise ImportRejected([Problem(None, None, "the file has a header but no rows")])
    return rows


def _role(value: str, line: int, problems: list[Problem], *, staff_only=False) -> RespondentRole | None:
    try:
        role = RespondentRole(value)
    except ValueError:
        problems.append(Problem(line, "role", f"unknown role {value!r}: use "
                                f"{', '.join(r.value for r in (STAFF_ROLES if staff_only else RespondentRole))}"))
        return None
    if staff_only and role not in STAFF_ROLES:
        problems.append(Problem(line, "role", f"only staff (dcs, manager, practitioner) report a level, "
                                              f"not {value!r}"))
        return None
    return role


# Column -> the database column whose length bounds it.
LENGTHS = {"authority": Authority.__table__.c.name.type.length,
           "respondent": Respondent.__table__.c.reference.type.length,
           "coder": Coding.__table__.c.coder.type.length}


def _check_row(row: dict, line: int, required: Iterable[str], problems: list[Problem]) -> bool:
    ok = True
    for name in required:
        if not row.get(name):
            problems.append(Problem(line, name, "is empty"))
            ok = False
    for name, limit in LENGTHS.items():
        if len(row.get(name) or "") > limit:
            problems.append(Problem(line, name, f"is longer than {limit} characters"))
            ok = False
    return ok


def _normalise(name: str) -> str:
    return " ".join(name.split())


class _Round:
    """What one import needs to know about its round, looked up once.

    Checking reads the database as it is; writing then creates what is missing.
    Because every row was checked against the same state, writing cannot meet a
    conflict unless another import changed the round meanwhile (then it rolls back).
    """

    def __init__(self, session: Session, round_name: str, permit: Permit):
        self.session = session
        self.permit = permit
        self.name = _normalise(round_name)
        self.round = session.scalar(sa.select(Round).where(Round.name == self.name))
        self.key_groups: dict[str, int | None] = {code: None for code in services.STANDARD_KEY_GROUPS}
        self.people: dict[tuple[str, str], tuple[RespondentRole, str | None, int | None]] = {}
        self.respondents: dict[tuple[str, str], Respondent] = {}
        if self.round is not None:
            self.key_groups = {kg.code: kg.id for kg in self.round.key_groups}
            codes = {v: k for k, v in self.key_groups.items()}
            for resp, name_key in session.execute(
                    sa.select(Respondent, Authority.name_key).join(Authority)
                    .where(Respondent.round_id == self.round.id)):
                key = (name_key, resp.reference)
                self.respondents[key] = resp
                self.people[key] = (resp.role, codes.get(resp.key_group_id), None)
        # name key -> (id, name): authorities are matched ignoring case and spacing.
        self.existing: dict[str, tuple[int, str]] = {
            key: (aid, name) for aid, name, key in session.execute(
                sa.select(Authority.id, Authority.name, Authority.name_key))}
        self.authorities: dict[str, Authority] = {}
        self._new_names: set[str] = set()
        self._new_round = False
        self.created_respondents = 0

    def check_round_name(self) -> list[Problem]:
        limit = Round.__table__.c.name.type.length
        if not self.name:
            return [Problem(None, "--round", "the round needs a name")]
        if len(self.name) > limit:
            return [Problem(None, "--round", f"the round name is longer than {limit} characters")]
        if self.round is None and not self.permit.may_create:
            return [Problem(None, "--round", f"there is no round {self.name!r}, and only an administrator "
                                             "can create a round: choose an existing one")]
        return []

    def check_authority(self, row: dict, line: int, problems: list[Problem]) -> bool:
        """Whether the row's authority is one the importing user may write to.

        A refused row is checked no further, so that no message describes another
        authority's respondents.
        """
        name = _normalise(row["authority"])
        authority_id, _ = self.existing.get(authority_key(name), (None, None))
        if authority_id is None:
            if self.permit.may_create:
                return True
            problems.append(Problem(line, "authority", f"there is no authority {name!r}, and only an "
                                                       f"administrator can add one; {self._yours()}"))
            return False
        if self.permit.authority_ids is None or authority_id in self.permit.authority_ids:
            return True
        problems.append(Problem(line, "authority", f"you are not assigned to {name!r}; {self._yours()}"))
        return False

    def _yours(self) -> str:
        names = sorted(n for i, n in self.existing.values() if i in (self.permit.authority_ids or ()))
        return (f"you can import rows of {', '.join(names)}" if names
                else "you are not assigned to any authority")

    def check_person(self, row: dict, role: RespondentRole, key_group: str | None, line: int,
                     problems: list[Problem]) -> None:
        """One respondent keeps one role and one key group, in the file and in the database."""
        key = (authority_key(row["authority"]), row["respondent"])
        seen_role, seen_group, seen_line = self.people.setdefault(key, (role, key_group, line))
        where = f"on line {seen_line}" if seen_line else "already"
        who = f"respondent {row['respondent']!r} of {_normalise(row['authority'])}"
        if seen_role is not role:
            problems.append(Problem(line, "role", f"{who} is {seen_role.value} {where}"
                                    if seen_line else f"{who} is already recorded as {seen_role.value}"))
        elif key_group and seen_group and key_group != seen_group:
            problems.append(Problem(line, "key_group", f"{who} is in key group {seen_group!r} {where}"))
        elif key_group and not seen_group:
            self.people[key] = (role, key_group, seen_line or line)

    def plan(self, rows: int, rowdicts: Iterable[dict], duplicates: list[tuple[int, int]]) -> ImportResult:
        """What writing would create, without writing."""
        rowdicts = list(rowdicts)
        new = {}     # name key -> the file's first spelling, for names no authority has
        for r in rowdicts:
            name = _normalise(r["authority"])
            if authority_key(name) not in new and services.find_authority_by_name(self.session, name) is None:
                new[authority_key(name)] = name
        names = sorted(new.values())
        new_people = {(authority_key(r["authority"]), r["respondent"]) for r in rowdicts} - set(self.respondents)
        return ImportResult(self.round, self.name, rows, self.round is None, names, len(new_people),
                            duplicates)

    def result(self, rows: int, duplicates: list[tuple[int, int]]) -> ImportResult:
        return ImportResult(self.round, self.name, rows, self._new_round, sorted(self._new_names),
                            self.created_respondents, duplicates)

    def _refuse_creating(self, what: str) -> None:
        # Checking refused this already; it can only happen if the database changed since.
        if not self.permit.may_create:
            raise ImportRejected([Problem(None, None, f"{what} no longer exists, and only an "
                                                      "administrator can create it; nothing was imported")])

    def begin_writing(self) -> None:
        self._new_round = self.round is None
        if self._new_round:
            self._refuse_creating(f"the round {self.name!r}")
        self.round = services.get_or_create_round(self.session, self.name)
        self.key_groups = {kg.code: kg.id for kg in self.round.key_groups}
        self.authorities = {a.name_key: a for a in self.session.scalars(sa.select(Authority))}
        participating = set(self.session.scalars(sa.select(Participation.authority_id)
                                                 .where(Participation.round_id == self.round.id)))
        self._participating = participating

    def authority(self, name: str) -> Authority:
        """The authority called ``name`` taking part in the round, created if the import may."""
        name = _normalise(name)
        authority = self.authorities.get(authority_key(name))
        if authority is None:
            self._refuse_creating(f"the authority {name!r}")
            authority = services.get_or_create_authority(self.session, name)
            self.authorities[authority.name_key] = authority
            self._new_names.add(name)
        if authority.id not in self._participating:
            services.ensure_participation(self.session, self.round, authority)
            self._participating.add(authority.id)
        return authority

    def respondent(self, row: dict, role: RespondentRole) -> Respondent:
        name = _normalise(row["authority"])
        authority = self.authority(name)
        key = (authority_key(name), row["respondent"])
        resp = self.respondents.get(key)
        group = self.people[key][1]
        group_id = self.key_groups.get(group) if group else None
        if resp is None:
            resp = services.get_or_create_respondent(self.session, self.round, authority, row["respondent"],
                                                     role, group_id)
            self.respondents[key] = resp
            self.created_respondents += 1
        elif resp.key_group_id is None and group_id is not None:
            resp.key_group_id = group_id
        return resp


def _write(session: Session, write) -> ImportResult:
    try:
        result = write()
        session.commit()
        return result
    except (SQLAlchemyError, services.RespondentConflict) as exc:
        session.rollback()
        raise ImportRejected([Problem(None, None, "the database refused the import (another change "
                                                  f"may have happened at the same time: {type(exc).__name__}); "
                                                  "try again")]) from exc
    except Exception:
        session.rollback()
        raise


def import_coded(session: Session, stream: IO[str], round_name: str, actor: User | str = "cli",
                 dry_run: bool = False) -> ImportResult:
    """Import codings (one row per code applied) into ``round_name``; commit or change nothing.

    ``actor`` is the importing User, whose boundaries the rows must keep (see ``Permit``),
    or a string naming the command line. A row that would store the same coding as an
    earlier row (same authority, respondent, code, valence, excerpt and coder) is
    listed in ``ImportResult.duplicates`` and stored as a coding of its own, as the export
    writes one row per coding (one person's two closed answers can carry the same code);
    a file whose codings are already in the round is refused. ``dry_run`` checks every row
    and says what would be created, writing nothing.
    """
    target = _Round(session, round_name, Permit.of(actor))
    problems = target.check_round_name()
    rows = _read(stream, CODED_COLUMNS, CODED_REQUIRED)
    cb = codebook_mod.load()
    parsed, lines = [], []
    first_line: dict[tuple, int] = {}
    duplicates: list[tuple[int, int]] = []
    for line, row in rows:
        if not _check_row(row, line, CODED_REQUIRED, problems):
            continue
        if not target.check_authority(row, line, problems):
            continue
        role = _role(row["role"], line, problems)
        try:
            valence = cb.check_coding(row["code"], row.get("valence"))
        except ValueError as exc:
            problems.append(Problem(line, "valence" if row["code"] in cb.codes else "code", str(exc)))
            continue
        key_group = row.get("key_group") or None
        if key_group is not None and key_group not in target.key_groups:
            problems.append(Problem(line, "key_group", f"unknown key group {key_group!r}: the round has "
                                                       f"{', '.join(sorted(target.key_groups))}"))
            continue
        if role is None:
            continue
        target.check_person(row, role, key_group, line, problems)
        coding = (authority_key(row["authority"]), row["respondent"], row["code"], valence,
                  row.get("excerpt") or None, row.get("coder") or "")
        earlier = first_line.setdefault(coding, line)
        if earlier != line:
            duplicates.append((line, earlier))
        parsed.append((row, role, valence))
        lines.append(line)
    if problems:
        raise ImportRejected(problems)
    if dry_run:
        return replace(target.plan(len(parsed), (row for row, *_ in parsed), duplicates), duplicates_kept=True)

    def write() -> ImportResult:
        codebook_mod.sync(session, cb)
        target.begin_writing()
        values = [{"round_id": target.round.id, "respondent_id": target.respondent(row, role).id,
                   "code_id": row["code"], "valence": valence, "excerpt": row.get("excerpt") or None,
                   "coder": row.get("coder") or "", "agreed": True}
                  for row, role, valence in parsed]
        _number_identical_rows(values)
        stored = set()
        keys = [v["identity"] for v in values]
        for i in range(0, len(keys), 500):
            stored |= set(session.scalars(sa.select(Coding.identity).where(
                Coding.identity.in_(keys[i:i + 500]))))
        if stored:
            raise ImportRejected([Problem(line, None, "this coding is already in the round (the same "
                                                      "respondent, code, valence, excerpt and coder): "
                                                      "was this file imported before?")
                                  for line, v in zip(lines, values) if v["identity"] in stored])
        # Several rows to a statement: the database's triggers on codings run once a
        # statement, and a national file holds hundreds of thousands of rows.
        for i in range(0, len(values), IMPORT_ROWS_PER_STATEMENT):
            session.execute(sa.insert(Coding).values(values[i:i + IMPORT_ROWS_PER_STATEMENT]))
        record(session, actor, "import.coded", "round", target.round.id, rows=len(values),
               duplicates=len(duplicates), respondents_created=target.created_respondents)
        return replace(target.result(len(values), duplicates), duplicates_kept=True)
    return _write(session, write)


def _number_identical_rows(values: list[dict]) -> None:
    """Give each row its coding identity; identical rows are numbered 0, 1, ... so they
    stay distinct codings (an export can hold two: two closed answers of one person
    carrying the same code)."""
    seen: dict[str, int] = {}
    for v in values:
        plain = coding_identity(answer_id=None, respondent_id=v["respondent_id"], code_id=v["code_id"],
                                valence=v["valence"], start=None, end=None, excerpt=v["excerpt"],
                                coder=v["coder"], coder_id=None)
        occurrence = seen[plain] = seen.get(plain, -1) + 1
        v["identity"] = coding_identity(answer_id=None, respondent_id=v["respondent_id"],
                                        code_id=v["code_id"], valence=v["valence"], start=None,
                                        end=None, excerpt=v["excerpt"], coder=v["coder"],
                                        coder_id=None, occurrence=occurrence)


def import_levels(session: Session, stream: IO[str], round_name: str, actor: User | str = "cli",
                  dry_run: bool = False) -> ImportResult:
    """Import staff members' self-reported levels of impact; commit or change nothing.

    ``actor`` as for ``import_coded``. A row repeating an earlier row's respondent and
    level is listed in ``ImportResult.duplicates``; another level for the same
    respondent is a problem. ``dry_run`` checks every row and says what would be
    created, writing nothing.
    """
    target = _Round(session, round_name, Permit.of(actor))
    problems = target.check_round_name()
    rows = _read(stream, LEVELS_COLUMNS, LEVELS_COLUMNS)
    parsed = []
    levels: dict[tuple[str, str], tuple[float, int]] = {}
    duplicates: list[tuple[int, int]] = []
    for line, row in rows:
        if not _check_row(row, line, LEVELS_COLUMNS, problems):
            continue
        if not target.check_authority(row, line, problems):
            continue
        role = _role(row["role"], line, problems, staff_only=True)
        try:
            level = float(row["level"])
        except ValueError:
            problems.append(Problem(line, "level", f"{row['level']!r} is not a number: use 1 to 4 "
                                                   "in steps of 0.5"))
            continue
        if level not in LEVELS:
            problems.append(Problem(line, "level", f"{row['level']} is out of range: use 1 to 4 in "
                                                   "steps of 0.5"))
            continue
        if role is None:
            continue
        first = levels.setdefault((authority_key(row["authority"]), row["respondent"]), (level, line))
        if first[0] != level:
            problems.append(Problem(line, "level", f"respondent {row['respondent']!r} already has level "
                                                   f"{first[0]:g} on line {first[1]}"))
            continue
        target.check_person(row, role, None, line, problems)
        if first[1] != line:
            duplicates.append((line, first[1]))
            continue
        parsed.append((row, role, level))
    if problems:
        raise ImportRejected(problems)
    if dry_run:
        return target.plan(len(parsed), (row for row, *_ in parsed), duplicates)

    def write() -> ImportResult:
        target.begin_writing()
        for row, role, level in parsed:
            target.respondent(row, role).impact_level = level
        record(session, actor, "import.levels", "round", target.round.id, rows=len(parsed),
               duplicates=len(duplicates))
        return target.result(len(parsed), duplicates)
    return _write(session, write)


def describe(result: ImportResult, *, checked_only: bool = False) -> str:
    """One sentence for people: what was (or, checked only, would be) imported and created."""
    verb = "would import" if checked_only else "imported"
    created = []
    if result.new_round:
        created.append(f"the new round {result.round_name!r}")
    if result.new_authorities:
        created.append(f"{len(result.new_authorities)} new authorit{'y' if len(result.new_authorities) == 1 else 'ies'} "
                       f"({', '.join(result.new_authorities)})")
    created.append(f"{result.respondents_created} new respondent{'' if result.respondents_created == 1 else 's'}")
    head = "All rows are valid: " if checked_only else ""
    text = (f"{head}{verb.capitalize() if not head else verb} {result.rows} row{'' if result.rows == 1 else 's'} "
            f"into {result.round_name!r}, with {', '.join(created[:-1]) + ' and ' if len(created) > 1 else ''}"
            f"{created[-1]}.")
    repeats = describe_duplicates(result.duplicates, checked_only=checked_only, kept=result.duplicates_kept)
    return f"{text} {repeats}".rstrip()


def describe_duplicates(duplicates: list[tuple[int, int]], *, checked_only: bool = False,
                        kept: bool = False) -> str:
    """Which rows repeat an earlier one, and whether they are (or would be) kept; '' if none."""
    if not duplicates:
        return ""
    n = len(duplicates)
    named = ", ".join(f"line {line} repeats line {earlier}"
                      for line, earlier in duplicates[:MAX_DUPLICATES_NAMED])
    more = f" and {n - MAX_DUPLICATES_NAMED} more" if n > MAX_DUPLICATES_NAMED else ""
    rows = f"{n} row{'' if n == 1 else 's'} repeat{'s' if n == 1 else ''} an earlier row exactly ({named}{more})"
    if kept:
        verb = "would each be" if checked_only else "each was"
        return (f"{rows}: {verb} stored as a coding of its own, as an export writes one row per coding. "
                "If a repeat is a mistake, remove it and import again.")
    verb = "would be" if checked_only else ("was" if n == 1 else "were")
    return f"{rows}: {verb} left out, so nothing is stored twice."


def excerpt_of(excerpt: str | None, answer_text: str | None, start: int | None, end: int | None) -> str:
    """The words a coding covers: its stored excerpt, else its span of the answer."""
    if excerpt:
        return excerpt
    if answer_text and start is not None:
        return answer_text[start:end]
    return ""


# Codings stored by one INSERT of an import (about a dozen values each: within what
# PostgreSQL and SQLite bind in one statement).
IMPORT_ROWS_PER_STATEMENT = 1000
# Rows read from the database at a time by an export (a server-side cursor on PostgreSQL).
YIELD_PER = 2000


def _agreed_codings(rnd: Round, authority_ids: set[int] | None, blind_coder_id: int | None,
                    *columns) -> sa.Select:
    """``columns`` of the round's agreed codings, in the export's order, limited as
    :func:`coded_rows` says."""
    query = (sa.select(*columns).select_from(Coding)
             .join(Respondent, Coding.respondent_id == Respondent.id)
             .join(Authority, Respondent.authority_id == Authority.id)
             .where(Coding.round_id == rnd.id, Coding.agreed.is_(True),
                    sa.true() if authority_ids is None else Respondent.authority_id.in_(authority_ids))
             .order_by(Authority.name, Respondent.reference, Coding.id))
    if blind_coder_id is not None:
        pending = (sa.select(DoubleCoding.answer_id)
                   .where(DoubleCoding.second_coder_id == blind_coder_id,
                          DoubleCoding.second_done_at.is_(None)))
        query = query.where(sa.or_(Coding.answer_id.is_(None), Coding.answer_id.not_in(pending)))
    return query


def coded_rows(session: Session, rnd: Round, authority_ids: set[int] | None = None,
               blind_coder_id: int | None = None):
    """The round's agreed codings as rows of ``CODED_COLUMNS``, read a batch at a time.

    Plain column selects, no ORM objects: a round of any size is exported in flat memory.
    ``authority_ids`` limits the rows to those authorities (None: all).
    ``blind_coder_id`` leaves out the answers that user still has to code blind, so a
    download cannot show a second coder what the first coder decided.
    """
    key_groups = dict(session.execute(sa.select(KeyGroup.id, KeyGroup.code)
                                      .where(KeyGroup.round_id == rnd.id)).all())
    # Role and valence as the text stored: the file holds their values, and making an
    # enum member of each of them per row costs time for nothing.
    query = _agreed_codings(rnd, authority_ids, blind_coder_id,
                            Authority.name, Respondent.reference, sa.type_coerce(Respondent.role, sa.String),
                            Coding.code_id, sa.type_coerce(Coding.valence, sa.String), Respondent.key_group_id,
                            Coding.excerpt, Coding.answer_id, Coding.start, Coding.end, Coding.coder)
    # Through the session's connection: plain rows, without the ORM's work on each one.
    result = session.connection().execute(query.execution_options(yield_per=YIELD_PER))
    try:
        for batch in result.partitions():
            texts = _span_texts(session, batch)
            for (authority, reference, role, code_id, valence, key_group_id, excerpt, answer_id,
                 start, end, coder) in batch:
                yield [authority, reference, role, code_id, valence, key_groups.get(key_group_id, ""),
                       excerpt_of(excerpt, texts.get(answer_id), start, end), coder]
    finally:
        result.close()


def _span_texts(session: Session, batch) -> dict[int, str | None]:
    """The texts of the answers whose codings in ``batch`` (a batch of ``coded_rows``'
    rows) kept a span but no excerpt: codings made before excerpts were stored. Read
    for those few alone, not joined to every row: the words are in the excerpt otherwise."""
    ids = {row.answer_id for row in batch if not row.excerpt and row.start is not None and row.answer_id}
    if not ids:
        return {}
    return dict(session.execute(sa.select(Answer.id, Answer.text).where(Answer.id.in_(ids))).all())


def coded_cells(rnd: Round, authority_ids: set[int] | None = None,
                blind_coder_id: int | None = None) -> sa.Select:
    """:func:`coded_rows` as one PostgreSQL query: the same rows in the same order, each
    cell already spreadsheet-safe text (``sheets.neutralised_sql``), for ``sheets.copy_csv``."""
    span = sa.case((Coding.end.is_(None), sa.func.substr(Answer.text, Coding.start + 1)),
                   else_=sa.func.substr(Answer.text, Coding.start + 1, Coding.end - Coding.start))
    # excerpt_of(): the stored excerpt, else the span of the answer, read for those rows
    # alone. Each branch is neutralised on its own, so that no row works out its excerpt twice.
    excerpt = sa.case((Coding.excerpt != "", sheets.neutralised_sql(Coding.excerpt)),
                      (Coding.start.is_not(None), sa.select(sheets.neutralised_sql(span))
                       .where(Answer.id == Coding.answer_id).scalar_subquery()))
    cells = [sheets.neutralised_sql(cell) for cell in (
        Authority.name, Respondent.reference, sa.type_coerce(Respondent.role, sa.Text), Coding.code_id,
        sa.type_coerce(Coding.valence, sa.Text), KeyGroup.code)]
    return (_agreed_codings(rnd, authority_ids, blind_coder_id, *cells, excerpt,
                            sheets.neutralised_sql(Coding.coder))
            .outerjoin(KeyGroup, sa.and_(KeyGroup.id == Respondent.key_group_id, KeyGroup.round_id == rnd.id)))


def coded_csv(session: Session, rnd: Round, authority_ids: set[int] | None = None,
              blind_coder_id: int | None = None) -> Generator[bytes, None, None]:
    """The coded CSV in UTF-8 (header first), a line at a time, limited as :func:`coded_rows` says.

    On PostgreSQL the database writes the rows (:func:`coded_cells`), which takes a
    fraction of the time; elsewhere they are written here. The text is the same.
    """
    yield from sheets.csv_lines([CODED_COLUMNS])
    if session.get_bind().dialect.name == "postgresql":
        yield from sheets.copy_csv(session.connection(), coded_cells(rnd, authority_ids, blind_coder_id))
    else:
        yield from sheets.csv_lines(coded_rows(session, rnd, authority_ids, blind_coder_id))


def export_coded(session: Session, round_name: str, out: IO[str],
                 authority_ids: set[int] | None = None, blind_coder_id: int | None = None) -> int:
    """Write the round's agreed codings in the import format (see :func:`coded_csv`).
    Returns the row count.

    Cells are written spreadsheet-safe (``sheets``); the import restores them.
    """
    rnd = session.scalar(sa.select(Round).where(Round.name == _normalise(round_name)))
    if rnd is None:
        raise LookupError(f"no round called {round_name!r}")
    lines = -1          # the header is no row
    for lines, line in enumerate(coded_csv(session, rnd, authority_ids, blind_coder_id)):
        out.write(line.decode())
    return lines
