"""Queries for the coding workbench: the queue, one answer's context, reliability input.

The one place where ORM rows become plain data for the pages and for
``impactmodel.stats``.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.orm import Session

from impactmodel.auth.models import Role, User
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding
from impactmodel.consortium.models import Authority, KeyGroup, Participation, Respondent, Round
from impactmodel.db import batches
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.models import (Answer, Instrument, InstrumentVersion, Response, open_text,
                                          response_counts)

INSTRUMENT_CODER = "instrument"   # closed answers, coded on arrival


def question_text(definition: dict | None, key: str) -> str:
    """The question as asked (its ``label``), found in a stored instrument definition."""
    def walk(node):
        if isinstance(node, dict):
            if node.get("key") == key and isinstance(node.get("label"), str):
                return node["label"]
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            return None
        for child in children:
            found = walk(child)
            if found:
                return found
        return None
    return walk(definition or {}) or key


# Each instrument definition's question labels by key, built by one walk of it and kept
# by the definition's checksum: versions are frozen, and one checksum is one definition
# wherever it is stored, so what is kept can never be out of date.
_LABELS: dict[str, dict[str, str]] = {}
_LABELS_KEPT = 256


def _labels(definition: dict | None) -> dict[str, str]:
    """The labels :func:`question_text` finds, for every key at once."""
    labels: dict[str, str] = {}

    def walk(node):
        if isinstance(node, dict):
            key, label = node.get("key"), node.get("label")
            if isinstance(key, str) and isinstance(label, str) and label:
                labels.setdefault(key, label)
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            return
        for child in children:
            walk(child)
    walk(definition or {})
    return labels


def question_labels(session: Session, version_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Each instrument version's question labels by key: a definition is read and walked
    once per process, not on every request."""
    wanted = set(version_ids)
    if not wanted:
        return {}
    checksums = dict(session.execute(sa.select(InstrumentVersion.id, InstrumentVersion.checksum)
                                     .where(InstrumentVersion.id.in_(wanted))).all())
    missing = {vid for vid, checksum in checksums.items() if checksum not in _LABELS}
    if missing:
        if len(_LABELS) + len(missing) > _LABELS_KEPT:
            _LABELS.clear()
        for vid, definition in session.execute(sa.select(InstrumentVersion.id, InstrumentVersion.definition)
                                               .where(InstrumentVersion.id.in_(missing))):
            _LABELS[checksums[vid]] = _labels(definition)
    return {vid: _LABELS[checksum] for vid, checksum in checksums.items()}


def visible_authority_ids(session: Session, user: User) -> list[int] | None:
    """Authorities whose answers ``user`` may code; None means every authority."""
    if user.role is Role.ADMIN:
        return None
    if user.role is Role.RESEARCHER:
        return [a.id for a in user.assigned_authorities]
    return []


def _coded_by_people():
    """Answers with at least one coding that a person made."""
    return sa.select(Coding.answer_id).where(Coding.answer_id.is_not(None),
                                             Coding.coder != INSTRUMENT_CODER)


def _coded_by_a_person():
    """The answer in hand has a coding that a person made (a correlated EXISTS: the
    database joins it, where ``NOT IN`` over every coding would be checked row by row)."""
    return sa.exists().where(Coding.answer_id == Answer.id, Coding.coder != INSTRUMENT_CODER)


@dataclass
class QueueFilter:
    round_id: int | None = None
    authority_id: int | None = None
    role: str | None = None
    key_group: str | None = None
    question: str | None = None      # "<instrument version id>:<question key>" (a bare key: any version)
    status: str = "uncoded"          # uncoded | coded | review | all
    search: str | None = None        # words the answer's text must contain

    def args(self) -> dict:
        """As query-string arguments (only those set), to carry between pages."""
        out = {"round": self.round_id, "authority": self.authority_id, "role": self.role,
               "key_group": self.key_group, "question": self.question,
               "status": None if self.status == "uncoded" else self.status, "search": self.search}
        return {k: v for k, v in out.items() if v not in (None, "")}

    def question_parts(self) -> tuple[int | None, str | None]:
        """The instrument version and question key the question filter names."""
        if not self.question:
            return None, None
        version, sep, key = self.question.partition(":")
        if sep and version.isdigit() and key:
            return int(version), key
        return None, self.question


def question_value(version_id: int, key: str) -> str:
    """The question filter's value for one question of one instrument version."""
    return f"{version_id}:{key}"


def _contains(column, words: str):
    """``column`` holds ``words`` (as typed, case aside; ``%`` and ``_`` match themselves)."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def _open_answers(session: Session, user: User, round_id: int | None, *columns):
    """``columns`` of the open answers (non-empty text, in responses that count) that
    ``user`` may code, in the round when one is given: what every queue starts from."""
    q = (sa.select(*columns)
         .join(Response, Answer.response_id == Response.id)
         .join(Respondent, Response.respondent_id == Respondent.id)
         .where(open_text(), response_counts()))
    visible = visible_authority_ids(session, user)
    if visible is not None:
        q = q.where(Respondent.authority_id.in_(visible))
    if round_id:
        q = q.where(Respondent.round_id == round_id)
    return q


def _matching(user: User, flt: QueueFilter) -> list:
    """The conditions of ``flt`` beyond its round, on one open answer."""
    out = []
    if flt.authority_id:
        out.append(Respondent.authority_id == flt.authority_id)
    if flt.role:
        out.append(Respondent.role == RespondentRole(flt.role))
    if flt.key_group:
        out.append(Respondent.key_group_id.in_(sa.select(KeyGroup.id).where(KeyGroup.code == flt.key_group)))
    version_id, key = flt.question_parts()
    if key:
        out.append(Answer.question_key == key)
    if version_id is not None:
        out.append(Response.instrument_version_id == version_id)
    if flt.search and flt.search.strip():
        out.append(_contains(Answer.text, flt.search.strip()))
    if flt.status == "uncoded":
        out.append(~_coded_by_a_person())
    elif flt.status == "coded":
        out.append(_coded_by_a_person())
    elif flt.status == "review":
        # Codings flagged when their answer was edited, that this user sees on the answer.
        out.append(sa.exists().where(Coding.answer_id == Answer.id, Coding.needs_review.is_(True),
                                     sa.or_(Coding.agreed.is_(True), Coding.coder_id == user.id)))
    return out


def queue_query(session: Session, user: User, flt: QueueFilter):
    """Open answers (non-empty text) matching ``flt`` that ``user`` may code, in id order."""
    return _open_answers(session, user, flt.round_id, Answer.id).where(*_matching(user, flt)).order_by(Answer.id)


@dataclass
class QueuePage:
    ids: list[int]                  # the page's answers, in id order
    total: int                      # answers in the queue, on every page


def questions_answered(session: Session, user: User, round_id: int | None) -> dict[tuple[str, int], int]:
    """How many open answers ``user`` may code in the round reply to each question:
    ``{(question key, instrument version): n}`` (read from the open answers' index). Its
    keys are the question filter's choices."""
    return {(key, version): n for key, version, n in session.execute(
        _open_answers(session, user, round_id, Answer.question_key, Response.instrument_version_id,
                      sa.func.count())
        .group_by(Answer.question_key, Response.instrument_version_id))}


def _only_by_question(flt: QueueFilter) -> bool:
    """``flt`` narrows the round's open answers by question at most."""
    return flt.status == "all" and not (flt.authority_id or flt.role or flt.key_group
                                        or (flt.search and flt.search.strip()))


def queue_page(session: Session, user: User, flt: QueueFilter, page: int, per_page: int,
               answered: dict[tuple[str, int], int] | None = None) -> QueuePage:
    """One page of the queue and how many answers it holds. ``answered`` (from
    :func:`questions_answered`, for the same user and round) already holds the count
    when the filter picks by question at most, so it is not counted again."""
    q = queue_query(session, user, flt)
    if answered is not None and _only_by_question(flt):
        version_id, key = flt.question_parts()
        total = sum(n for (k, v), n in answered.items()
                    if (key is None or k == key) and (version_id is None or v == version_id))
    else:
        total = session.scalar(sa.select(sa.func.count()).select_from(q.order_by(None).subquery()))
    ids = list(session.scalars(q.offset((page - 1) * per_page).limit(per_page))) if total else []
    return QueuePage(ids, total)


def neighbours(session: Session, ids_query, answer_id: int) -> tuple[int | None, int | None]:
    """The ids just before and after ``answer_id`` among those ``ids_query`` selects (one id
    column), found by the database rather than by reading every id."""
    sub = ids_query.order_by(None).subquery()
    (column,) = sub.c
    return (session.scalar(sa.select(sa.func.max(column)).where(column < answer_id)),
            session.scalar(sa.select(sa.func.min(column)).where(column > answer_id)))


def blind_queue_query(session: Session, user: User, flt: QueueFilter, *, include: int | None = None):
    """A select of the answers waiting for ``user``'s blind second coding that match ``flt``
    (its status aside: every answer drawn has a first coding), in id order; ``include`` is
    kept even when it is no longer waiting (the answer on screen)."""
    everything = QueueFilter(**{**flt.__dict__, "status": "all"})
    matching = queue_query(session, user, everything).subquery()
    return (sa.select(DoubleCoding.answer_id).where(
        DoubleCoding.second_coder_id == user.id, DoubleCoding.reconciled_at.is_(None),
        sa.or_(DoubleCoding.second_done_at.is_(None), DoubleCoding.answer_id == include),
        DoubleCoding.answer_id.in_(sa.select(matching.c.id)))
        .order_by(DoubleCoding.answer_id))


def blind_queue_ids(session: Session, user: User, flt: QueueFilter, *, include: int | None = None) -> list[int]:
    """The ids of :func:`blind_queue_query`."""
    return list(session.scalars(blind_queue_query(session, user, flt, include=include)))


@dataclass
class AnswerRow:
    """An answer as the workbench shows it: no respondent reference, no case."""

    id: int
    text: str
    question_key: str
    question: str
    role: RespondentRole
    authority: Authority
    round: Round
    key_group: str | None
    respondent_id: int
    coded: bool = False
    n_codings: int = 0
    key_group_label: str | None = None     # what readers see ("Looked-after children")


def answer_rows(session: Session, ids: list[int]) -> list[AnswerRow]:
    """The rows for ``ids``, in that order (read a bounded batch of ids at a time)."""
    by_id = {}
    for batch in batches(ids):
        rows = session.execute(
            sa.select(Answer.id, Answer.text, Answer.question_key, Respondent, Response.instrument_version_id,
                      KeyGroup.code, KeyGroup.label)
            .join(Response, Answer.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .join(Authority, Respondent.authority_id == Authority.id)
            .join(Round, Respondent.round_id == Round.id)
            .outerjoin(KeyGroup, Respondent.key_group_id == KeyGroup.id)
            # The rows name their authority and round: read with them, not one by one.
            .options(orm.contains_eager(Respondent.authority), orm.contains_eager(Respondent.round))
            .where(Answer.id.in_(batch))).all()
        counts = dict(session.execute(
            sa.select(Coding.answer_id, sa.func.count()).where(
                Coding.answer_id.in_(batch), Coding.coder != INSTRUMENT_CODER, Coding.agreed.is_(True))
            .group_by(Coding.answer_id)).all())
        coded = set(session.scalars(_coded_by_people().where(Coding.answer_id.in_(batch))))
        labels = session.info.setdefault("question_labels", {})
        labels.update(question_labels(session, {row[4] for row in rows} - set(labels)))
        for answer_id, text, question_key, resp, version_id, kg, kg_label in rows:
            by_id[answer_id] = AnswerRow(
                id=answer_id, text=text or "", question_key=question_key,
                question=question_of(session, version_id, question_key), role=resp.role,
                authority=resp.authority, round=resp.round, key_group=kg, respondent_id=resp.id,
                coded=answer_id in coded, n_codings=counts.get(answer_id, 0),
                key_group_label=kg_label or kg)
    return [by_id[i] for i in ids if i in by_id]


def question_of(session: Session, version_id: int, key: str) -> str:
    """The text of question ``key`` of an instrument version (its labels looked up once
    per request, from :func:`question_labels`)."""
    cache = session.info.setdefault("question_labels", {})
    if version_id not in cache:
        cache.update(question_labels(session, [version_id]))
    return cache.get(version_id, {}).get(key) or key


def answer_row(session: Session, answer_id: int) -> AnswerRow | None:
    rows = answer_rows(session, [answer_id])
    return rows[0] if rows else None


def filter_choices(session: Session, user: User, round_id: int | None,
                   questions: Iterable[tuple[str, int]]) -> dict:
    """Rounds, authorities (as the user may name them), key groups and ``questions``
    ((question key, instrument version) pairs, from :func:`questions_answered`) to filter by."""
    rounds = session.scalars(sa.select(Round).order_by(Round.created_at.desc(), Round.id.desc())).all()
    visible = visible_authority_ids(session, user)
    aq = sa.select(Authority).order_by(Authority.name)
    if round_id:
        aq = aq.join(Participation, Participation.authority_id == Authority.id).where(
            Participation.round_id == round_id)
    if visible is not None:
        aq = aq.where(Authority.id.in_(visible))
    authorities = [(a.id, user.authority_display_name(a)) for a in session.scalars(aq)]
    kq = sa.select(KeyGroup.code, KeyGroup.label).distinct().order_by(KeyGroup.code)
    if round_id:
        kq = kq.where(KeyGroup.round_id == round_id)
    key_groups = list(dict(session.execute(kq).all()).items())
    versions = {vid: (title, number, instrument_id)
                for vid, title, number, instrument_id in session.execute(
        sa.select(InstrumentVersion.id, Instrument.title, InstrumentVersion.version, Instrument.id)
        .join(Instrument, InstrumentVersion.instrument_id == Instrument.id)
        .where(InstrumentVersion.id.in_({v for _k, v in questions})))} if questions else {}
    labels = question_labels(session, versions) if versions else {}
    # One option per question of each instrument version: two questions that share a
    # key or a wording stay apart. The version is named when an instrument has several.
    several = {}
    for _vid, (_t, _n, instrument_id) in versions.items():
        several[instrument_id] = several.get(instrument_id, 0) + 1
    texts: dict[str, str] = {}
    instruments: dict[str, set[str]] = {}
    keys: dict[str, str] = {}
    for key, version_id in questions:
        title, number, instrument_id = versions.get(version_id, ("", None, None))
        value = question_value(version_id, key)
        texts[value] = labels.get(version_id, {}).get(key) or key
        keys[value] = key
        if title:
            name = f"{title} (version {number})" if several.get(instrument_id, 0) > 1 else title
            instruments.setdefault(value, set()).add(name)
    return {"rounds": rounds, "authorities": authorities, "key_groups": key_groups,
            "questions": question_choices(texts, instruments, keys)}


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to about ``limit`` characters in the middle, keeping its end.

    Questions often differ only in their last words ("...made to your child?",
    "...made to you and your family?"), so cutting the end would make them look alike.
    """
    if len(text) <= limit:
        return text
    head = text[: int(limit * 0.55)].rsplit(" ", 1)[0]
    tail = text[-int(limit * 0.4):]
    tail = tail.split(" ", 1)[1] if " " in tail else tail
    return f"{head} … {tail}"


def question_choices(texts: dict[str, str], instruments: dict[str, set[str]],
                     keys: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """``(value, label, full text)`` for the queue's question filter, every label distinct.

    ``texts`` and ``instruments`` are keyed by the filter's value; ``keys`` gives each
    value's question key (default: the value itself). The label names the instrument(s)
    asking the question, then the question shortened; labels that would still read the
    same get the question key added, then the value.
    """
    keys = keys or {}
    labels = {}
    for key, text in texts.items():
        where = "; ".join(sorted(instruments.get(key, ())))
        labels[key] = f"{where}: {shorten(text)}" if where else shorten(text)
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    out = {key: f"{label} [{keys.get(key, key)}]" if seen[label] > 1 else label for key, label in labels.items()}
    counted: dict[str, int] = {}
    for label in out.values():
        counted[label] = counted.get(label, 0) + 1
    rows = [(key, f"{label} [{key}]" if counted[label] > 1 and key != keys.get(key, key) else label, texts[key])
            for key, label in out.items()]
    return sorted(rows, key=lambda t: t[1].lower())


@dataclass
class DoubleCoded:
    """The finished double-coded answers of a round, as plain data for ``impactmodel.stats``.

    ``slots`` are the rater columns: ``"first"`` (whoever coded the answer first) and
    ``"second"`` (its blind second coder; ``"second 2"``... when an answer was drawn
    for more than one). ``pairs[slot][answer_id]`` is the set of (code, valence)
    that slot applied; an answer missing from a slot was not coded by it.
    """

    units: list[int] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)
    pairs: dict[str, dict[int, set[tuple[str, str]]]] = field(default_factory=dict)
    coders: dict[str, dict[int, str]] = field(default_factory=dict)   # slot -> answer -> who
    reconciled: set[int] = field(default_factory=set)
    respondents: dict[int, int] = field(default_factory=dict)   # answer -> respondent (bootstrap clusters)
    # slot -> answer -> code -> character spans [start, end) (a coding without a span
    # covers the whole answer), and each answer's length: for reliability by span overlap.
    spans: dict[str, dict[int, dict[str, list[tuple[int, int]]]]] = field(default_factory=dict)
    lengths: dict[int, int] = field(default_factory=dict)

    def raters_vary(self) -> bool:
        """Whether different people fill a slot on different answers (Cohen's kappa
        assumes the same two raters throughout)."""
        return any(len(set(self.coders.get(s, {}).values())) > 1 for s in self.slots)

    def codes(self, slot: str) -> dict[int, set[str]]:
        """``{answer_id: codes applied}`` for one slot (valence aside)."""
        return {u: {c for c, _v in p} for u, p in self.pairs.get(slot, {}).items()}

    def presence_mapping(self) -> dict[str, dict[int, set[str]]]:
        return {s: self.codes(s) for s in self.slots}


def double_coded(session: Session, round_id: int, *, authority_ids: list[int] | None = None,
                 leave_out: set[int] = frozenset(), only: list[int] | None = None) -> DoubleCoded:
    """Answers of the round whose blind second coding is finished, with every coder's codes.

    ``leave_out``: answer ids not to include (those the viewer still codes blind).
    ``only``: a page's answer ids, to read those alone (a short list).
    """
    finished = (sa.select(DoubleCoding.answer_id)
                .where(DoubleCoding.round_id == round_id, DoubleCoding.second_done_at.is_not(None)))
    if only is not None:
        finished = finished.where(DoubleCoding.answer_id.in_(only))
    q = (sa.select(DoubleCoding.answer_id, DoubleCoding.second_coder_id, DoubleCoding.reconciled_at,
                   DoubleCoding.no_code_applies, Response.respondent_id)
         .join(Answer, DoubleCoding.answer_id == Answer.id)
         .join(Response, Answer.response_id == Response.id)
         .where(DoubleCoding.answer_id.in_(finished), DoubleCoding.round_id == round_id,
                DoubleCoding.second_done_at.is_not(None))
         .order_by(DoubleCoding.answer_id, DoubleCoding.id))
    if authority_ids is not None:
        q = q.join(Respondent, Response.respondent_id == Respondent.id).where(
            Respondent.authority_id.in_(authority_ids))
    rows = [r for r in session.execute(q) if r.answer_id not in leave_out]
    out = DoubleCoded()
    order: dict[int, list[int]] = {}
    decided_none: dict[int, set[int]] = {}   # answer -> second coders who said no code applies
    for r in rows:
        order.setdefault(r.answer_id, []).append(r.second_coder_id)
        out.respondents[r.answer_id] = r.respondent_id
        if r.no_code_applies:
            decided_none.setdefault(r.answer_id, set()).add(r.second_coder_id)
        if r.reconciled_at is not None:
            out.reconciled.add(r.answer_id)
    out.units = sorted(order)
    width = max((len(v) for v in order.values()), default=1)
    out.slots = ["first", "second"] + [f"second {i}" for i in range(2, width + 1)]
    out.pairs = {s: {} for s in out.slots}
    out.coders = {s: {} for s in out.slots}
    names = dict(session.execute(sa.select(User.id, User.name)).all())
    for u in out.units:
        out.pairs["first"][u] = set()
        for i, coder_id in enumerate(order[u]):
            slot = out.slots[i + 1]
            out.pairs[slot][u] = set()
            out.coders[slot][u] = names.get(coder_id, "?")
    # The answers and codings of every finished draw are read through a subquery (never a
    # list of ids, which PostgreSQL limits to 65,535 parameters); those left out are skipped.
    out.lengths = {a: n for a, n in session.execute(
        sa.select(Answer.id, sa.func.coalesce(sa.func.length(Answer.text), 0))
        .where(Answer.id.in_(finished))) if a in order}
    out.spans = {s: {u: {} for u in out.pairs[s]} for s in out.slots}
    codings = session.execute(
        sa.select(Coding.answer_id, Coding.code_id, Coding.valence, Coding.coder_id, Coding.coder,
                  Coding.start, Coding.end)
        .where(Coding.answer_id.in_(finished), Coding.coder != INSTRUMENT_CODER).order_by(Coding.id))
    for answer_id, code_id, valence, coder_id, coder, start, end in codings:
        if answer_id not in order:
            continue
        seconds = order[answer_id]
        slot = out.slots[seconds.index(coder_id) + 1] if coder_id in seconds else "first"
        out.pairs[slot][answer_id].add((code_id, valence.value if hasattr(valence, "value") else valence))
        span = (start, end) if start is not None else (0, out.lengths.get(answer_id, 0))
        out.spans[slot][answer_id].setdefault(code_id, []).append(span)
        if slot == "first":
            who = names.get(coder_id, coder) if coder_id else coder
            prev = out.coders["first"].get(answer_id)
            out.coders["first"][answer_id] = who if prev in (None, who) else f"{prev}, {who}"
    # A blind coding with no code counts as the decision "no code applies" (an empty set)
    # only when its coder recorded it so; otherwise it is not a coding of the answer.
    # An answer left with its first coding alone is not double-coded at all.
    for u in list(out.units):
        for i, coder_id in enumerate(order[u]):
            slot = out.slots[i + 1]
            if not out.pairs[slot][u] and coder_id not in decided_none.get(u, ()):
                del out.pairs[slot][u]
                del out.spans[slot][u]
                out.coders[slot].pop(u, None)
        if not any(u in out.pairs[s] for s in out.slots[1:]):
            out.units.remove(u)
            for s in out.slots:
                out.pairs[s].pop(u, None)
                out.spans[s].pop(u, None)
                out.coders[s].pop(u, None)
    return out


@dataclass
class DoubleCodingProgress:
    """Where the answers drawn for one second coder in a round stand.

    Every drawn answer is either ``waiting`` (not yet coded blind) or coded blind;
    those coded blind are either ``awaiting`` reconciliation or ``reconciled``. So
    ``drawn == waiting + awaiting + reconciled``, the sum the double-coding page shows.
    """

    coder_id: int
    coder: str
    drawn: int = 0
    waiting: int = 0
    awaiting: int = 0
    reconciled: int = 0

    @property
    def coded_blind(self) -> int:
        return self.awaiting + self.reconciled


def _stage_counts(*columns):
    """``drawn, waiting, awaiting, reconciled`` of the double-coding rows selected, counted
    by the database (grouped by ``columns``, which come first in each row)."""
    return sa.select(*columns, sa.func.count(),
                     sa.func.count().filter(DoubleCoding.second_done_at.is_(None)),
                     sa.func.count().filter(DoubleCoding.second_done_at.is_not(None),
                                            DoubleCoding.reconciled_at.is_(None)),
                     sa.func.count().filter(DoubleCoding.second_done_at.is_not(None),
                                            DoubleCoding.reconciled_at.is_not(None)))


def double_coding_progress(session: Session, round_id: int) -> list[DoubleCodingProgress]:
    """One row per second coder with answers drawn in the round, by name."""
    rows = session.execute(_stage_counts(DoubleCoding.second_coder_id, User.name)
                           .outerjoin(User, User.id == DoubleCoding.second_coder_id)
                           .where(DoubleCoding.round_id == round_id)
                           .group_by(DoubleCoding.second_coder_id, User.name)).all()
    out = [DoubleCodingProgress(coder_id, name or "?", drawn, waiting, awaiting, reconciled)
           for coder_id, name, drawn, waiting, awaiting, reconciled in rows]
    return sorted(out, key=lambda p: (p.coder.lower(), p.coder_id))


@dataclass
class DrawnPage:
    """One page of the answers drawn for a second coder at one stage, oldest first."""

    rows: list[tuple[DoubleCoding, AnswerRow]]
    total: int            # answers at that stage, on every page
    page: int             # the page shown (the last one when asked for one past it)
    pages: int


def _drawn_page(session: Session, stage, total: int, page: int, per_page: int) -> DrawnPage:
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    found = list(session.scalars(sa.select(DoubleCoding).where(stage).order_by(DoubleCoding.answer_id)
                                 .offset((page - 1) * per_page).limit(per_page))) if total else []
    answers = {r.id: r for r in answer_rows(session, [dc.answer_id for dc in found])}
    return DrawnPage([(dc, answers[dc.answer_id]) for dc in found if dc.answer_id in answers],
                     total, page, pages)


def my_double_coding(session: Session, user: User, round_id: int | None, *, page: int = 1,
                     done_page: int = 1, per_page: int = 50) -> dict:
    """The answers drawn for ``user`` in the round, split into waiting and coded blind.

    Returns ``waiting`` and ``awaiting`` (answers coded blind, not yet reconciled) as a
    :class:`DrawnPage` each (``page`` and ``done_page`` of ``per_page``), ``next``: the
    first answer waiting, ``reconciled`` and ``drawn``: counts, and ``elsewhere``:
    ``[(round, n)]`` answers still waiting for ``user`` in other rounds.
    """
    mine = sa.and_(DoubleCoding.second_coder_id == user.id, DoubleCoding.round_id == round_id)
    drawn, waiting, awaiting, reconciled = session.execute(_stage_counts().where(mine)).one()
    waiting_stage = sa.and_(mine, DoubleCoding.second_done_at.is_(None))
    elsewhere = session.execute(
        sa.select(Round, sa.func.count()).join(DoubleCoding, DoubleCoding.round_id == Round.id)
        .where(DoubleCoding.second_coder_id == user.id, DoubleCoding.second_done_at.is_(None),
               DoubleCoding.round_id != round_id if round_id is not None else sa.true())
        .group_by(Round.id).order_by(Round.name)).all()
    return {"waiting": _drawn_page(session, waiting_stage, waiting, page, per_page),
            "awaiting": _drawn_page(session, sa.and_(mine, DoubleCoding.second_done_at.is_not(None),
                                                     DoubleCoding.reconciled_at.is_(None)),
                                    awaiting, done_page, per_page),
            "next": session.scalar(sa.select(sa.func.min(DoubleCoding.answer_id)).where(waiting_stage)),
            "reconciled": reconciled, "drawn": drawn,
            "elsewhere": [(rnd, n) for rnd, n in elsewhere]}


def double_coding_fingerprint(session: Session, round_id: int) -> str:
    """A cheap summary that changes whenever the round's finished double coding does.

    The database raises a draw's ``codings_version`` whenever its answer's codings or
    its draws change (migration 0031), so the finished draws alone tell every change:
    which they are, when the last was finished, and the sum of their versions.
    """
    draws = session.execute(sa.select(sa.func.count(), sa.func.max(DoubleCoding.second_done_at),
                                      sa.func.sum(DoubleCoding.id), sa.func.sum(DoubleCoding.codings_version))
                            .where(DoubleCoding.round_id == round_id,
                                   DoubleCoding.second_done_at.is_not(None))).one()
    return "|".join(str(value) for value in draws)
