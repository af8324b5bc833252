"""``impactmodel import context`` and ``impactmodel export context``: authorities' context
in a round (consortium/context.py) as CSV, one row per authority taking part.

Columns: ``authority``, ``authority_type`` (county, unitary, metropolitan,
london_borough, welsh_unitary), ``children`` (aged 0-19) and ``integrated_since``
(a year). An empty cell clears that value. The round and every authority must
already take part: context describes a participation, so this import creates
nothing else. All-or-nothing, naming line, column and problem. Only an administrator
records context (as on the round's context page); the command line acts as one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel import sheets
from impactmodel.audit import record
from impactmodel.auth.models import User
from impactmodel.consortium import context
from impactmodel.consortium.models import Authority, Participation, Round
from impactmodel.consortium.services import closest_names, find_authority_by_name
from impactmodel.interchange.csvio import ImportRejected, Problem, _read

COLUMNS = ["authority", "authority_type", "children", "integrated_since"]
REQUIRED = ["authority"]
INTEGERS = ("children", "integrated_since")


@dataclass
class ContextImport:
    round: Round
    rows: int


def _whole_number(text: str) -> int | None:
    """A whole number written plainly or with thousands separators ("57,900"); None otherwise."""
    plain = text.replace(",", "")
    return int(plain) if plain.isdigit() else None


def import_contexts(session: Session, stream: IO[str], round_name: str, actor: User | str = "cli",
                    dry_run: bool = False) -> ContextImport:
    """Record the context of each authority named in ``stream`` for ``round_name``; commit or
    change nothing. ``actor`` is the signed-in user of the web Import page, or a string
    (the command line). ``dry_run`` checks every row and writes nothing."""
    if isinstance(actor, User) and not actor.role.can_manage_rounds:
        raise ImportRejected([Problem(None, None, "only an administrator records authorities' context")])
    rnd = session.scalar(sa.select(Round).where(Round.name == round_name.strip()))
    if rnd is None:
        close = closest_names(round_name, list(session.scalars(sa.select(Round.name))))
        hint = f"did you mean {' or '.join(repr(n) for n in close)}? " if close else ""
        raise ImportRejected([Problem(None, None, f"no round called {round_name!r}: {hint}context is recorded "
                                                  "for authorities already taking part in a round")])
    taking_part = {p.authority_id: p for p in session.scalars(
        sa.select(Participation).where(Participation.round_id == rnd.id))}
    problems: list[Problem] = []
    found: list[tuple[Participation, context.Context]] = []
    first_line: dict[int, int] = {}
    for line, row in _read(stream, COLUMNS, REQUIRED):
        if not row.get("authority"):
            problems.append(Problem(line, "authority", "is empty"))
            continue
        authority = find_authority_by_name(session, row["authority"])
        if authority is None or authority.id not in taking_part:
            problems.append(Problem(line, "authority", f"{row['authority']!r} does not take part in {rnd.name}"))
            continue
        if (earlier := first_line.setdefault(authority.id, line)) != line:
            problems.append(Problem(line, "authority", f"line {earlier} already gives this authority's context"))
            continue
        values: dict[str, int | None] = {}
        for column in INTEGERS:
            text = row.get(column) or ""
            values[column] = _whole_number(text) if text else None
            if text and values[column] is None:
                problems.append(Problem(line, column, f"{text!r} is not a whole number"))
        try:
            ctx = context.check(row.get("authority_type") or None, values["children"], values["integrated_since"])
        except context.ContextError as exc:
            problems.append(Problem(line, None, str(exc)))
            continue
        found.append((taking_part[authority.id], ctx))
    if problems:
        raise ImportRejected(problems)
    if not dry_run:
        for part, ctx in found:
            part.authority_type, part.children, part.integrated_since = (ctx.authority_type, ctx.children,
                                                                         ctx.integrated_since)
        session.flush()
        record(session, actor, "import.context", "round", rnd.id, rows=len(found))
        session.commit()
    return ContextImport(rnd, len(found))


def describe(result: ContextImport, checked_only: bool = False) -> str:
    verb = "would record" if checked_only else "recorded"
    return f"{result.round.name}: {verb} the context of {result.rows} authorit{'y' if result.rows == 1 else 'ies'}."


def export_contexts(session: Session, rnd: Round, out: IO[str]) -> None:
    """Every authority taking part in ``rnd`` with its context, by name: the import's columns."""
    writer = sheets.csv_writer(out)
    writer.writerow(COLUMNS)
    for name, kind, children, since in session.execute(
            sa.select(Authority.name, Participation.authority_type, Participation.children,
                      Participation.integrated_since)
            .join(Participation, Participation.authority_id == Authority.id)
            .where(Participation.round_id == rnd.id).order_by(Authority.name)):
        writer.writerow([name, kind or "", "" if children is None else children, "" if since is None else since])
