"""The coded and levels CSV formats: all-or-nothing imports, and the matching export.

Every row is checked before anything is written. One bad row imports nothing, and
the error names the line, the column and the problem (line 1 is the header).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import IO, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel.audit import record
from impactmodel.coding.models import Coding
from impactmodel.consortium import services
from impactmodel.consortium.models import Authority, KeyGroup, Respondent, Round
from impactmodel.enums import STAFF_ROLES, RespondentRole

CODED_COLUMNS = ["authority", "respondent", "role", "code", "valence", "key_group", "excerpt", "coder"]
CODED_REQUIRED = ["authority", "respondent", "role", "code"]
LEVELS_COLUMNS = ["authority", "respondent", "role", "level"]
LEVELS = [1 + i / 2 for i in range(7)]  # 1, 1.5, ..., 4
MAX_ERRORS_SHOWN = 20


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
    round: Round
    rows: int
    authorities_created: int
    respondents_created: int


def _read(stream: IO[str], columns: list[str], required: list[str]) -> list[tuple[int, dict]]:
    try:
        text = stream.read()
    except UnicodeDecodeError as exc:
        raise ImportRejected([Problem(None, None, f"the file is not UTF-8 text ({exc.reason})")]) from None
    if text.startswith("\ufeff"):
        text = text[1:]  # spreadsheet programs add a byte-order mark
    if not text.strip():
        raise ImportRejected([Problem(None, None, "the file is empty: it needs a header row")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
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
            rows.append((line, {h: v.strip() for h, v in zip(header, values)}))
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


def _check_required(row: dict, line: int, names: Iterable[str], problems: list[Problem]) -> bool:
    ok = True
    for name in names:
        if not row.get(name):
            problems.append(Problem(line, name, "is empty"))
            ok = False
    return ok


class _Respondents:
    """Respondents of one round, found or made once per (authority, reference)."""

    def __init__(self, session: Session, rnd: Round | None):
        self.session, self.round = session, rnd
        self.authorities = {a.name: a for a in session.scalars(sa.select(Authority))}
        self.known: dict[tuple[str, str], Respondent] = {}
        self.roles: dict[tuple[str, str], tuple[RespondentRole, int]] = {}
        if rnd is not None:
            for r in session.scalars(sa.select(Respondent).where(Respondent.round_id == rnd.id)):
                self.known[(r.authority.name, r.reference)] = r
        self.created_authorities = 0
        self.created_respondents = 0

    def check_role(self, authority: str, reference: str, role: RespondentRole, line: int,
                   problems: list[Problem]) -> None:
        key = (" ".join(authority.split()), reference)
        existing = self.known.get(key)
        if existing is not None and existing.role is not role:
            problems.append(Problem(line, "role", f"respondent {reference!r} of {authority} is already "
                                                  f"recorded as {existing.role.value}"))
            return
        seen = self.roles.setdefault(key, (role, line))
        if seen[0] is not role:
            problems.append(Problem(line, "role", f"respondent {reference!r} of {authority} is "
                                                  f"{seen[0].value} on line {seen[1]}"))

    def get(self, authority_name: str, reference: str, role: RespondentRole,
            key_group_id: int | None) -> Respondent:
        name = " ".join(authority_name.split())
        authority = self.authorities.get(name)
        if authority is None:
            authority = services.get_or_create_authority(self.session, name)
            self.authorities[name] = authority
            self.created_authorities += 1
        services.ensure_participation(self.session, self.round, authority)
        resp = self.known.get((name, reference))
        if resp is None:
            resp = services.get_or_create_respondent(self.session, self.round, authority, reference,
                                                     role, key_group_id)
            self.known[(name, reference)] = resp
            self.created_respondents += 1
        elif key_group_id is not None and resp.key_group_id is None:
            resp.key_group_id = key_group_id
        return resp


def _key_groups(session: Session, round_name: str) -> dict[str, int | None]:
    rnd = session.scalar(sa.select(Round).where(Round.name == round_name))
    if rnd is None:
        return {code: None for code in services.STANDARD_KEY_GROUPS}
    return {kg.code: kg.id for kg in session.scalars(sa.select(KeyGroup).where(KeyGroup.round_id == rnd.id))}


def import_coded(session: Session, stream: IO[str], round_name: str, actor="cli") -> ImportResult:
    """Import codings (one row per code applied) into ``round_name``; commit or change nothing."""
    rows = _read(stream, CODED_COLUMNS, CODED_REQUIRED)
    cb = codebook_mod.load()
    key_groups = _key_groups(session, round_name)
    existing_round = session.scalar(sa.select(Round).where(Round.name == round_name))
    checker = _Respondents(session, existing_round)
    problems: list[Problem] = []
    parsed = []
    for line, row in rows:
        if not _check_required(row, line, CODED_REQUIRED, problems):
            continue
        role = _role(row["role"], line, problems)
        try:
            valence = cb.check_coding(row["code"], row.get("valence"))
        except ValueError as exc:
            column = "valence" if row["code"] in cb.codes else "code"
            problems.append(Problem(line, column, str(exc)))
            continue
        kg = row.get("key_group") or None
        if kg is not None and kg not in key_groups:
            problems.append(Problem(line, "key_group", f"unknown key group {kg!r}: the round has "
                                                       f"{', '.join(sorted(key_groups))}"))
            continue
        if role is None:
            continue
        checker.check_role(row["authority"], row["respondent"], role, line, problems)
        parsed.append((row, role, valence, kg))
    if problems:
        raise ImportRejected(problems)

    try:
        codebook_mod.sync(session, cb)
        rnd = services.get_or_create_round(session, round_name)
        key_groups = _key_groups(session, round_name)
        respondents = _Respondents(session, rnd)
        values = []
        for row, role, valence, kg in parsed:
            resp = respondents.get(row["authority"], row["respondent"], role, key_groups.get(kg) if kg else None)
            values.append({"round_id": rnd.id, "respondent_id": resp.id, "code_id": row["code"],
                           "valence": valence, "excerpt": row.get("excerpt") or None,
                           "coder": row.get("coder") or "", "agreed": True})
        session.execute(sa.insert(Coding), values)
        record(session, actor, "import.coded", "round", rnd.id, rows=len(values),
               respondents_created=respondents.created_respondents)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return ImportResult(rnd, len(values), respondents.created_authorities, respondents.created_respondents)


def import_levels(session: Session, stream: IO[str], round_name: str, actor="cli") -> ImportResult:
    """Import staff members' self-reported levels of impact; commit or change nothing."""
    rows = _read(stream, LEVELS_COLUMNS, LEVELS_COLUMNS)
    existing_round = session.scalar(sa.select(Round).where(Round.name == round_name))
    checker = _Respondents(session, existing_round)
    problems: list[Problem] = []
    parsed = []
    seen: dict[tuple[str, str], tuple[float, int]] = {}
    for line, row in rows:
        if not _check_required(row, line, LEVELS_COLUMNS, problems):
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
        key = (" ".join(row["authority"].split()), row["respondent"])
        first = seen.setdefault(key, (level, line))
        if first[0] != level:
            problems.append(Problem(line, "level", f"respondent {row['respondent']!r} already has level "
                                                   f"{first[0]:g} on line {first[1]}"))
            continue
        checker.check_role(row["authority"], row["respondent"], role, line, problems)
        parsed.append((row, role, level))
    if problems:
        raise ImportRejected(problems)
    try:
        rnd = services.get_or_create_round(session, round_name)
        respondents = _Respondents(session, rnd)
        for row, role, level in parsed:
            respondents.get(row["authority"], row["respondent"], role, None).impact_level = level
        record(session, actor, "import.levels", "round", rnd.id, rows=len(parsed))
        session.commit()
    except Exception:
        session.rollback()
        raise
    return ImportResult(rnd, len(parsed), respondents.created_authorities, respondents.created_respondents)


def coding_excerpt(coding: Coding) -> str:
    if coding.excerpt:
        return coding.excerpt
    if coding.answer is not None and coding.start is not None and coding.answer.text:
        return coding.answer.text[coding.start:coding.end]
    return ""


def export_coded(session: Session, round_name: str, out: IO[str]) -> int:
    """Write the round's agreed codings in the import format. Returns the row count."""
    rnd = session.scalar(sa.select(Round).where(Round.name == round_name))
    if rnd is None:
        raise LookupError(f"no round called {round_name!r}")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CODED_COLUMNS)
    key_groups = {kg.id: kg.code for kg in rnd.key_groups}
    query = (sa.select(Coding).join(Respondent, Coding.respondent_id == Respondent.id)
             .join(Authority, Respondent.authority_id == Authority.id)
             .where(Coding.round_id == rnd.id, Coding.agreed.is_(True))
             .order_by(Authority.name, Respondent.reference, Coding.id)
             .options(sa.orm.joinedload(Coding.respondent).joinedload(Respondent.authority),
                      sa.orm.joinedload(Coding.answer)))
    n = 0
    for coding in session.scalars(query):
        r = coding.respondent
        writer.writerow([r.authority.name, r.reference, r.role.value, coding.code_id,
                         coding.valence.value, key_groups.get(r.key_group_id, ""),
                         coding_excerpt(coding), coding.coder])
        n += 1
    return n
