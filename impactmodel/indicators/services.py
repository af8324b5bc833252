"""Importing and exporting indicator figures (CSV), all-or-nothing like the other imports.

A row gives one figure: an authority, an indicator of ``surveys/indicators.yaml``, a
period, optionally a key group, and either ``value`` (in the indicator's unit) or
``numerator`` and ``denominator`` (the app computes the figure, unrounded). Importing a
figure that is already stored (same round, authority, indicator, period and key group)
replaces it. Who may import what is as for the coded and levels imports (``csvio.Permit``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel import sheets
from impactmodel.audit import record
from impactmodel.auth.models import User
from impactmodel.consortium.models import Authority, KeyGroup, Round, authority_key
from impactmodel.indicators import vocabulary
from impactmodel.indicators.models import IndicatorValue
from impactmodel.interchange.csvio import ImportRejected, Permit, Problem, _check_row, _read, _Round, _write

COLUMNS = ["authority", "indicator", "period", "key_group", "value", "numerator", "denominator"]
REQUIRED = ["authority", "indicator", "period"]
# The export adds the rate; an import of the export checks it rather than refusing the column.
EXPORT_COLUMNS = COLUMNS + ["rate_per_10000"]
PERIOD_LENGTH = IndicatorValue.__table__.c.period.type.length
# How far a value given beside its counts may differ from the figure they give (rounding).
AGREEMENT = 1e-9


@dataclass
class IndicatorImport:
    """What an indicators import did (or, checked only, would do)."""

    round: Round | None
    round_name: str
    rows: int
    new_round: bool
    new_authorities: list[str] = field(default_factory=list)
    replaced: int = 0


@dataclass(frozen=True)
class Figure:
    authority: str
    indicator: vocabulary.Indicator
    period: str
    key_group: str | None
    value: float
    numerator: float | None
    denominator: float | None
    rate_per_10000: float | None


def _number(row: dict, column: str, line: int, problems: list[Problem]) -> float | None:
    text = row.get(column) or ""
    try:
        x = float(text)
    except ValueError:
        problems.append(Problem(line, column, f"{text!r} is not a number (write it without thousands "
                                              "separators, such as 1234.5)"))
        return None
    if not math.isfinite(x):
        problems.append(Problem(line, column, f"{text!r} is not a finite number"))
        return None
    return x


def _agrees(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=AGREEMENT, abs_tol=AGREEMENT)


def _figure(row: dict, line: int, voc: vocabulary.Vocabulary, key_groups, problems: list[Problem]) -> Figure | None:
    indicator = voc.get(row["indicator"])
    if indicator is None:
        problems.append(Problem(line, "indicator", f"unknown indicator {row['indicator']!r}: use one of "
                                                   f"{', '.join(voc.indicators)}"))
        return None
    if len(row["period"]) > PERIOD_LENGTH:
        problems.append(Problem(line, "period", f"is longer than {PERIOD_LENGTH} characters"))
        return None
    key_group = row.get("key_group") or None
    if key_group is not None and key_group not in key_groups:
        problems.append(Problem(line, "key_group", f"unknown key group {key_group!r}: the round has "
                                                   f"{', '.join(sorted(key_groups))}"))
        return None
    has_value = bool(row.get("value"))
    counts = [bool(row.get("numerator")), bool(row.get("denominator"))]
    if not has_value and not any(counts):
        problems.append(Problem(line, "value", "is empty: give a value, or a numerator and a denominator"))
        return None
    if any(counts) and not all(counts):
        missing = "denominator" if counts[0] else "numerator"
        problems.append(Problem(line, missing, "is empty: a numerator needs a denominator, and the "
                                               "other way round"))
        return None
    before = len(problems)
    value = _number(row, "value", line, problems) if has_value else None
    numerator = denominator = None
    if all(counts):
        numerator = _number(row, "numerator", line, problems)
        denominator = _number(row, "denominator", line, problems)
        if denominator is not None and denominator <= 0:
            problems.append(Problem(line, "denominator", "must be more than 0"))
        if numerator is not None and numerator < 0:
            problems.append(Problem(line, "numerator", "must not be negative"))
    if len(problems) > before:
        return None
    if numerator is not None:
        computed = indicator.from_counts(numerator, denominator)
        if value is not None and not _agrees(value, computed):
            problems.append(Problem(line, "value", f"{row['value']} is not {indicator.unit.scale:g} × "
                                                   f"numerator / denominator ({computed!r}): give one or "
                                                   "the other, or correct it"))
            return None
        value = computed
    if why := indicator.unit.out_of_range(value):
        problems.append(Problem(line, "value" if numerator is None else "numerator",
                                f"{indicator.id}: {value:g} {why}"))
        return None
    rate = indicator.rate_per_10000(value, numerator, denominator)
    if row.get("rate_per_10000"):
        given = _number(row, "rate_per_10000", line, problems)
        if given is None:
            return None
        if rate is None or not _agrees(given, rate):
            problems.append(Problem(line, "rate_per_10000", "does not match the figure: leave it empty, "
                                                            "the app computes it"))
            return None
    return Figure(row["authority"], indicator, row["period"], key_group, value, numerator, denominator, rate)


def import_indicators(session: Session, stream: IO[str], round_name: str, actor: User | str = "cli",
                      dry_run: bool = False) -> IndicatorImport:
    """Import indicator figures into ``round_name``; commit or change nothing.

    ``actor`` as for ``csvio.import_coded``. A figure named twice in one file is a
    problem (which one is meant?); a figure already stored is replaced. ``dry_run``
    checks every row and says what would be created and replaced, writing nothing.
    """
    target = _Round(session, round_name, Permit.of(actor))
    problems = target.check_round_name()
    rows = _read(stream, EXPORT_COLUMNS, REQUIRED)
    voc = vocabulary.load()
    figures: list[Figure] = []
    first_line: dict[tuple, int] = {}
    for line, row in rows:
        if not _check_row(row, line, REQUIRED, problems) or not target.check_authority(row, line, problems):
            continue
        figure = _figure(row, line, voc, target.key_groups, problems)
        if figure is None:
            continue
        key = (authority_key(figure.authority), figure.indicator.id, figure.period, figure.key_group)
        earlier = first_line.setdefault(key, line)
        if earlier != line:
            problems.append(Problem(line, None, f"line {earlier} already gives {figure.indicator.id} for this "
                                                "authority, period and key group: keep one of them"))
            continue
        figures.append(figure)
    if problems:
        raise ImportRejected(problems)
    stored = _stored(session, target.round)
    existing_names = set(target.existing)
    if dry_run:
        new = {}
        for f in figures:
            new.setdefault(authority_key(f.authority), " ".join(f.authority.split()))
        replaced = sum(1 for f in figures if _stored_key(f, target.existing, target.key_groups) in stored)
        return IndicatorImport(target.round, target.name, len(figures), target.round is None,
                               sorted(n for k, n in new.items() if k not in existing_names), replaced)

    def write() -> IndicatorImport:
        target.begin_writing()
        replaced = 0
        for f in figures:
            authority = target.authority(f.authority)
            key_group_id = target.key_groups[f.key_group] if f.key_group else None
            row = stored.get((authority.id, f.indicator.id, f.period, key_group_id))
            if row is None:
                row = IndicatorValue(round_id=target.round.id, authority_id=authority.id, indicator=f.indicator.id,
                                     period=f.period, key_group_id=key_group_id)
                session.add(row)
            else:
                replaced += 1
            row.value, row.numerator, row.denominator = f.value, f.numerator, f.denominator
            row.rate_per_10000 = f.rate_per_10000
        record(session, actor, "import.indicators", "round", target.round.id, rows=len(figures),
               replaced=replaced)
        result = target.result(len(figures), [])
        return IndicatorImport(target.round, target.name, len(figures), result.new_round,
                               result.new_authorities, replaced)
    return _write(session, write)


def _stored(session: Session, rnd: Round | None) -> dict[tuple, IndicatorValue]:
    if rnd is None:
        return {}
    return {(v.authority_id, v.indicator, v.period, v.key_group_id): v
            for v in session.scalars(sa.select(IndicatorValue).where(IndicatorValue.round_id == rnd.id))}


def _stored_key(f: Figure, existing: dict, key_groups: dict) -> tuple:
    authority_id, _ = existing.get(authority_key(f.authority), (None, None))
    return (authority_id, f.indicator.id, f.period, key_groups.get(f.key_group) if f.key_group else None)


def describe(result: IndicatorImport, *, checked_only: bool = False) -> str:
    """One sentence for people: what was (or would be) imported, created and replaced."""
    n = result.rows
    text = (f"{'All rows are valid: would import' if checked_only else 'Imported'} {n} figure{'' if n == 1 else 's'} "
            f"into {result.round_name!r}")
    created = []
    if result.new_round:
        created.append(f"the new round {result.round_name!r}")
    if result.new_authorities:
        k = len(result.new_authorities)
        created.append(f"{k} new authorit{'y' if k == 1 else 'ies'} ({', '.join(result.new_authorities)})")
    if created:
        text += ", with " + " and ".join(created)
    verb = "would replace" if checked_only else "replaced"
    r = result.replaced
    return f"{text}; {r} {verb} {'a figure' if r == 1 else 'figures'} stored before." if r else f"{text}."


def _text(x: float | None) -> str:
    """A number as the import reads it back exactly; whole numbers without '.0'."""
    if x is None:
        return ""
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)


def export_indicators(session: Session, round_name: str, out: IO[str],
                      authority_ids: set[int] | None = None) -> int:
    """Write the round's figures in the import format plus ``rate_per_10000``; returns the rows.

    ``authority_ids`` limits the export to those authorities (None: all). Importing
    the output stores the same figures.
    """
    rnd = session.scalar(sa.select(Round).where(Round.name == " ".join(round_name.split())))
    if rnd is None:
        raise LookupError(f"no round called {round_name!r}")
    writer = sheets.csv_writer(out)     # a name or period starting "=" is written inert
    writer.writerow(EXPORT_COLUMNS)
    query = (sa.select(IndicatorValue, Authority.name, KeyGroup.code)
             .join(Authority, Authority.id == IndicatorValue.authority_id)
             .outerjoin(KeyGroup, KeyGroup.id == IndicatorValue.key_group_id)
             .where(IndicatorValue.round_id == rnd.id,
                    sa.true() if authority_ids is None else IndicatorValue.authority_id.in_(authority_ids))
             .order_by(Authority.name, IndicatorValue.indicator, IndicatorValue.period, KeyGroup.code))
    n = 0
    for v, name, key_group in session.execute(query):
        writer.writerow([name, v.indicator, v.period, key_group or "", _text(v.value), _text(v.numerator),
                         _text(v.denominator), _text(v.rate_per_10000)])
        n += 1
    return n
