"""Changing codings: span coding, memos, double coding and reconciliation.

Every function takes the session and the acting user, checks that the user may
code the answer's authority, writes an audit event (ids and codes only, never
what a respondent wrote) and commits.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel.audit import record
from impactmodel.auth.models import User
from impactmodel.codebook.models import Coding, coding_identity
from impactmodel.coding import offsets, undo
from impactmodel.coding.models import DoubleCoding, Memo
from impactmodel.coding.queries import INSTRUMENT_CODER
from impactmodel.consortium.models import Respondent
from impactmodel.db import utcnow
from impactmodel.enums import Valence
from impactmodel.fieldwork.models import Answer, Response, response_counts

MAX_MEMO = 5000


class CodingError(ValueError):
    """A change that cannot be made; the message says why (shown beside the field)."""


class NotAllowed(PermissionError):
    """The user may not code this answer (another authority, or another coder's blind work)."""


class AlreadyApplied(CodingError):
    """The same coding (answer, span, code, valence, coder) is already stored: ``coding_id``."""

    def __init__(self, code_id: str, coding_id: int | None):
        super().__init__(f"{code_id} is already applied to this span with this valence")
        self.coding_id = coding_id


@dataclass(frozen=True)
class AnswerContext:
    answer: Answer
    respondent: Respondent
    blind: DoubleCoding | None      # set while the user is this answer's blind second coder


def answer_context(session: Session, actor: User, answer_id: int) -> AnswerContext:
    """The answer with its respondent, after the access check. LookupError if unknown."""
    row = session.execute(
        sa.select(Answer, Respondent).join(Response, Answer.response_id == Response.id)
        .join(Respondent, Response.respondent_id == Respondent.id)
        .where(Answer.id == answer_id, response_counts())).first()
    if row is None:  # unknown, or part of a survey its respondent has not sent
        raise LookupError(f"no answer {answer_id}")
    answer, respondent = row
    if not actor.role.can_code or not actor.may_see_authority(respondent.authority_id):
        raise NotAllowed("you are not assigned to this authority")
    blind = session.scalar(sa.select(DoubleCoding).where(
        DoubleCoding.answer_id == answer_id, DoubleCoding.second_coder_id == actor.id,
        DoubleCoding.reconciled_at.is_(None)))
    return AnswerContext(answer, respondent, blind)


def _check_open(ctx: AnswerContext) -> None:
    """Refuse changes to a blind second coding once its coder has marked it done.

    The coding measured by the reliability report must be the one made blind: after
    ``done`` it stays as it is until the answer is reconciled (then the answer is
    coded like any other).
    """
    if ctx.blind is not None and ctx.blind.second_done_at is not None:
        raise CodingError("your blind coding of this answer is marked done, so it cannot "
                          "change until the answer is reconciled")


def _check_first_coding_frozen(session: Session, ctx: AnswerContext) -> None:
    """While an answer waits for (or has) a blind second coding not yet reconciled, the
    first coding stays as it was drawn: the reliability report compares those two."""
    if ctx.blind is not None:
        return  # the blind coder's own coding (see _check_open)
    drawn = session.scalar(sa.select(DoubleCoding.id).where(
        DoubleCoding.answer_id == ctx.answer.id, DoubleCoding.reconciled_at.is_(None)).limit(1))
    if drawn is not None:
        raise CodingError("this answer was drawn for double coding: its coding stays as it is "
                          "until the two codings are reconciled")


def visible_codings(session: Session, ctx: AnswerContext, actor: User) -> list[Coding]:
    """The codings this user sees on the answer.

    A blind second coder sees only their own codings; everyone else sees the
    agreed codings (those scores use), never a second coder's blind work.
    """
    q = sa.select(Coding).where(Coding.answer_id == ctx.answer.id, Coding.coder != INSTRUMENT_CODER)
    if ctx.blind is not None:
        q = q.where(Coding.coder_id == actor.id, Coding.agreed.is_(False))
    else:
        q = q.where(Coding.agreed.is_(True))
    return list(session.scalars(q.order_by(Coding.start, Coding.id)))


def visible_memos(session: Session, ctx: AnswerContext, actor: User) -> list[Memo]:
    q = sa.select(Memo).where(Memo.answer_id == ctx.answer.id)
    if ctx.blind is not None:
        q = q.where(Memo.author_id == actor.id)   # others' memos could reveal their codes
    else:   # nor may a blind second coder's memos reveal theirs before reconciliation
        q = q.where(Memo.author_id.not_in(sa.select(DoubleCoding.second_coder_id).where(
            DoubleCoding.answer_id == ctx.answer.id, DoubleCoding.reconciled_at.is_(None))))
    return list(session.scalars(q.order_by(Memo.created_at, Memo.id)))


def _check_span(text: str, start: int | None, end: int | None) -> tuple[int | None, int | None]:
    if start is None and end is None:
        return None, None
    if start is None or end is None:
        raise CodingError("a span needs both a start and an end")
    if not (0 <= start < end <= len(text)):
        raise CodingError(f"the span {start}-{end} is outside the answer (0 to {len(text)})")
    return start, end


def _codable(session: Session, code_id: str, valence: str | None) -> Valence:
    cb = codebook_mod.load()
    codebook_mod.sync(session, cb)
    try:
        return cb.check_coding(code_id, valence)
    except ValueError as exc:
        raise CodingError(str(exc)) from None


def _editable(session: Session, actor: User, coding_id: int) -> tuple[Coding, AnswerContext]:
    coding = session.get(Coding, coding_id)
    if coding is None or coding.answer_id is None:
        raise LookupError(f"no coding {coding_id} on an answer")
    ctx = answer_context(session, actor, coding.answer_id)
    if coding.coder == INSTRUMENT_CODER:
        raise NotAllowed("codings of closed answers are made by the instrument")
    if coding not in visible_codings(session, ctx, actor):
        raise NotAllowed("that coding is not yours to change")
    _check_open(ctx)
    _check_first_coding_frozen(session, ctx)
    return coding, ctx


def add_coding(session: Session, actor: User, answer_id: int, code_id: str, valence: str | None,
               start: int | None, end: int | None, *,
               suggestion_confidence: float | None = None) -> Coding:
    """Apply ``code_id`` with ``valence`` to ``answer.text[start:end]`` (Python indexes).

    Parameters
    ----------
    session, actor
        The database session and the user coding.
    answer_id
        The answer coded.
    code_id, valence
        A codebook id and one of the valences it allows (None: its default).
    start, end
        The span, or both None for the whole answer.
    suggestion_confidence
        Set when the coder accepted the code from a suggestion
        (``impactmodel.coding.suggest.accept``): the confidence shown.

    Returns
    -------
    Coding
        The new row: agreed at once, unless ``actor`` is the answer's blind second coder.

    Raises
    ------
    CodingError, NotAllowed, LookupError
    """
    ctx = answer_context(session, actor, answer_id)
    _check_open(ctx)
    _check_first_coding_frozen(session, ctx)
    text = ctx.answer.text or ""
    if not text.strip():
        raise CodingError("this answer has no text to code")
    start, end = _check_span(text, start, end)
    val = _codable(session, code_id, valence)
    excerpt = text[start:end] if start is not None else None
    identity = coding_identity(answer_id=answer_id, respondent_id=ctx.respondent.id, code_id=code_id,
                               valence=val, start=start, end=end, excerpt=excerpt,
                               coder=actor.email, coder_id=actor.id)
    _refuse_twice(session, code_id, identity)
    coding = Coding(round_id=ctx.respondent.round_id, respondent_id=ctx.respondent.id,
                    answer_id=answer_id, code_id=code_id, valence=val, start=start, end=end,
                    excerpt=excerpt, coder=actor.email, coder_id=actor.id, agreed=ctx.blind is None,
                    suggested=suggestion_confidence is not None,
                    suggestion_confidence=suggestion_confidence)
    session.add(coding)
    try:
        session.flush()
    except IntegrityError:
        # Another request stored the same coding a moment ago (the unique identity).
        session.rollback()
        _refuse_twice(session, code_id, identity)
        raise
    record(session, actor, "coding.add", "coding", coding.id, answer_id=answer_id, code=code_id,
           valence=val.value, start=start, end=end, blind=ctx.blind is not None,
           **({"suggested": suggestion_confidence} if suggestion_confidence is not None else {}))
    session.commit()
    return coding


def _refuse_twice(session: Session, code_id: str, identity: str | None) -> None:
    """AlreadyApplied if a coding with this identity is stored."""
    existing = session.scalar(sa.select(Coding.id).where(Coding.identity == identity)) \
        if identity is not None else None
    if existing is not None:
        raise AlreadyApplied(code_id, existing)


def update_coding(session: Session, actor: User, coding_id: int, *, code_id: str | None = None,
                  valence: str | None = None, start: int | None = None,
                  end: int | None = None) -> Coding:
    """Change a coding's code, valence or span (Python indexes); None leaves a part as it is."""
    coding, ctx = _editable(session, actor, coding_id)
    changed = {}
    new_code = code_id or coding.code_id
    if code_id is not None or valence is not None:
        val = _codable(session, new_code, valence or (coding.valence.value if code_id is None else None))
        if new_code != coding.code_id:
            changed["code"] = [coding.code_id, new_code]
            coding.code_id = new_code
        if val is not coding.valence:
            changed["valence"] = [coding.valence.value, val.value]
            coding.valence = val
    if start is not None or end is not None:
        text = ctx.answer.text or ""
        s, e = _check_span(text, start, end)
        if (s, e) != (coding.start, coding.end) or coding.needs_review:
            changed["span"] = [[coding.start, coding.end], [s, e]]
            coding.start, coding.end = s, e
            coding.excerpt = text[s:e]     # the excerpt follows the span
            coding.needs_review = False    # its coder has placed it again
    if changed:
        record(session, actor, "coding.update", "coding", coding.id, answer_id=coding.answer_id,
               coder=coding.coder, **changed)
        code = coding.code_id
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise AlreadyApplied(code, None) from None
    return coding


def follow_answer_text(session: Session, actor, answer_id: int, old_text: str | None,
                       new_text: str | None) -> dict[str, list[int]]:
    """Re-anchor the span codings of an answer whose text has just changed. No commit:
    the caller saving the answer commits, so the text and its codings change together.

    Each coding's excerpt is looked for in the new text (``offsets.reanchor``): still at
    its place, it stays; found exactly once, its span moves there; otherwise the coding
    keeps its excerpt, loses its span and is flagged ``needs_review`` for its coder, so
    no span ever points outside the text. A flagged coding whose excerpt is later found
    once is placed again. Returns ``{"moved": [...], "flagged": [...]}`` (coding ids).
    """
    text = new_text or ""
    codings = list(session.scalars(sa.select(Coding).where(
        Coding.answer_id == answer_id, Coding.coder != INSTRUMENT_CODER,
        sa.or_(Coding.start.is_not(None), Coding.needs_review.is_(True))).order_by(Coding.id)))
    if not codings:
        return {"moved": [], "flagged": []}
    plan: dict[int, tuple[int, int] | None] = {}
    for c in codings:
        if c.excerpt is None and c.start is not None and c.end <= len(old_text or ""):
            c.excerpt = old_text[c.start:c.end]    # made before excerpts were kept
        plan[c.id] = offsets.reanchor(c.excerpt, c.start, c.end, text)
    # A coding moved onto a span where its coder already has the same code stays
    # flagged rather than become a second copy of it.
    taken: set[str] = set(session.scalars(sa.select(Coding.identity).where(
        Coding.answer_id == answer_id, Coding.identity.is_not(None),
        Coding.id.not_in([c.id for c in codings]))))
    for c in codings:
        span = plan[c.id]
        if span is None:
            continue
        key = coding_identity(answer_id=answer_id, respondent_id=c.respondent_id, code_id=c.code_id,
                              valence=c.valence, start=span[0], end=span[1], excerpt=c.excerpt,
                              coder=c.coder, coder_id=c.coder_id)
        if key in taken:
            plan[c.id] = None
        taken.add(key)
    changing = [c for c in codings if (plan[c.id] is None) != c.needs_review
                or (plan[c.id] is not None and plan[c.id] != (c.start, c.end))]
    if not changing:
        return {"moved": [], "flagged": []}
    # Two codings may swap places: free every changing key first, then set the new ones.
    for c in changing:
        c.needs_review = True
    session.flush()
    moved, flagged = [], []
    for c in changing:
        span = plan[c.id]
        if span is None:
            c.start = c.end = None
            flagged.append(c.id)
        else:
            c.start, c.end = span
            c.needs_review = False
            moved.append(c.id)
    session.flush()
    record(session, actor, "coding.reanchor", "answer", answer_id, moved=moved, flagged=flagged)
    return {"moved": moved, "flagged": flagged}


def delete_coding(session: Session, actor: User, coding_id: int) -> None:
    """Remove a coding (the audit log keeps who removed which code). The coding and its
    memos are kept as they were, so that the remover can undo it (``restore_coding``)."""
    coding, _ctx = _editable(session, actor, coding_id)
    undo.keep_removed(session, actor, coding)
    record(session, actor, "coding.delete", "coding", coding.id, answer_id=coding.answer_id,
           code=coding.code_id, valence=coding.valence.value, start=coding.start, end=coding.end,
           coder=coding.coder)
    session.delete(coding)
    session.commit()


def restore_coding(session: Session, actor: User, coding_id: int) -> Coding:
    """Undo the removal of coding ``coding_id``: the same row (id, code, valence, span,
    words, coder, agreed, suggestion, time made) and its memos come back.

    Only who removed it may undo it, and only while they could still change it (a blind
    coding marked done, or a first coding drawn since, stays as it is). If the answer
    was edited since, the coding follows its words as any coding does (``offsets.reanchor``).
    """
    removed = undo.latest_removal(session, coding_id)
    if removed is None:
        raise LookupError(f"no removed coding {coding_id} to restore")
    ctx = answer_context(session, actor, removed.answer_id)
    if removed.removed_by_id != actor.id:
        raise CodingError("only who removed a coding can undo its removal")
    _check_open(ctx)
    _check_first_coding_frozen(session, ctx)
    coding, memos = undo.rebuild(session, removed)
    text = ctx.answer.text or ""
    if coding.start is not None and text[coding.start:coding.end] != coding.excerpt:
        span = offsets.reanchor(coding.excerpt, coding.start, coding.end, text)
        coding.start, coding.end = span if span is not None else (None, None)
        coding.needs_review = span is None
    _refuse_twice(session, coding.code_id, coding.current_identity())
    session.add(coding)
    session.flush()
    for memo in memos:
        memo.coding_id = coding.id
        session.add(memo)
    removed.restored_at = utcnow()
    session.flush()
    record(session, actor, "coding.restore", "coding", coding.id, answer_id=coding.answer_id,
           code=coding.code_id, valence=coding.valence.value, start=coding.start, end=coding.end,
           coder=coding.coder, memos=len(memos), removed_id=removed.coding_id)
    session.commit()
    return coding


def add_memo(session: Session, actor: User, answer_id: int, text: str,
             coding_id: int | None = None) -> Memo:
    """A coder's note on an answer, or on one of its codings."""
    ctx = answer_context(session, actor, answer_id)
    _check_open(ctx)
    text = (text or "").strip()
    if not text:
        raise CodingError("write the memo first")
    if len(text) > MAX_MEMO:
        raise CodingError(f"a memo is at most {MAX_MEMO} characters")
    if coding_id is not None:
        coding = session.get(Coding, coding_id)
        if coding is None or coding not in visible_codings(session, ctx, actor):
            raise CodingError("that coding is not on this answer")
    memo = Memo(answer_id=answer_id, coding_id=coding_id, author_id=actor.id, text=text)
    session.add(memo)
    session.flush()
    record(session, actor, "memo.add", "memo", memo.id, answer_id=answer_id, coding_id=coding_id)
    session.commit()
    return memo


def delete_memo(session: Session, actor: User, memo_id: int) -> None:
    memo = session.get(Memo, memo_id)
    if memo is None:
        raise LookupError(f"no memo {memo_id}")
    ctx = answer_context(session, actor, memo.answer_id)
    if memo not in visible_memos(session, ctx, actor):
        raise NotAllowed("that memo is not yours to remove")
    if memo.author_id != actor.id and actor.role.value != "admin":
        raise NotAllowed("only the memo's author can remove it")
    _check_open(ctx)
    record(session, actor, "memo.delete", "memo", memo.id, answer_id=memo.answer_id)
    session.delete(memo)
    session.commit()


# --- Double coding -----------------------------------------------------------------

def shared_authority_ids(first: User, second: User) -> set[int] | None:
    """The authorities both users may see; None when both see every authority."""
    a, b = first.visible_authority_ids(), second.visible_authority_ids()
    if a is None or b is None:
        return b if a is None else a
    return a & b


def double_coding_population(session: Session, round_id: int, second_coder: User,
                             authority_ids: set[int] | None = None) -> list[int]:
    """Coded open answers of the round that ``second_coder`` could code blind.

    First-coded (an agreed coding made by a person), in one of ``authority_ids`` (None:
    any) that the second coder may see, not coded by the second coder, and not already
    drawn for them.
    """
    within = second_coder.visible_authority_ids()
    if authority_ids is not None:
        within = authority_ids if within is None else within & authority_ids
    # One statement, however many answers the round has: the second coder's own codings
    # and earlier draws are subqueries, never lists of ids.
    own = sa.select(Coding.answer_id).where(Coding.coder_id == second_coder.id, Coding.answer_id.is_not(None))
    drawn = sa.select(DoubleCoding.answer_id).where(DoubleCoding.second_coder_id == second_coder.id)
    q = (sa.select(Coding.answer_id).join(Answer, Coding.answer_id == Answer.id)
         .join(Response, Answer.response_id == Response.id)
         .join(Respondent, Response.respondent_id == Respondent.id)
         .where(Coding.round_id == round_id, Coding.agreed.is_(True), Coding.coder != INSTRUMENT_CODER,
                Coding.answer_id.not_in(own), Coding.answer_id.not_in(drawn))
         .distinct().order_by(Coding.answer_id))
    if within is not None:
        q = q.where(Respondent.authority_id.in_(within))
    return list(session.scalars(q))


def draw_double_sample(session: Session, actor: User, round_id: int, second_coder_id: int,
                       share: float, seed: int, authority_id: int | None = None) -> list[DoubleCoding]:
    """Draw ``share`` of the round's coded answers (at least one) for a blind second coder.

    Only answers of authorities that both ``actor`` and the second coder may see are
    drawn: a draw freezes the answers' first coding until reconciliation, which no one
    may do to another authority's answers. The draw is reproducible: the same
    population and ``seed`` give the same answers (``random.Random(seed).sample`` over
    the sorted answer ids).
    """
    if not actor.role.can_code:
        raise NotAllowed("your role may not code")
    if authority_id is not None and not actor.may_see_authority(authority_id):
        raise NotAllowed("you are not assigned to this authority")
    if not 0 < share <= 1:
        raise CodingError("the share must be more than 0% and at most 100%")
    second = session.get(User, second_coder_id)
    if second is None or not second.active or not second.role.can_code:
        raise CodingError("choose an active researcher or administrator as the second coder")
    shared = shared_authority_ids(actor, second)
    if authority_id is not None:
        shared = {authority_id} if shared is None else shared & {authority_id}
    if shared == set():
        where = "that authority" if authority_id is not None else "any of your authorities"
        raise CodingError(f"{second.name} is not assigned to {where}: a draw covers only "
                          "authorities you both may see")
    population = double_coding_population(session, round_id, second, shared)
    if not population:
        raise CodingError(f"there are no coded answers that {second.name} could code blind "
                          "in the authorities you are both assigned to (they must not have "
                          "coded the answer or have it drawn already)")
    n = min(len(population), max(1, math.ceil(share * len(population) - 1e-9)))
    chosen = sorted(random.Random(seed).sample(population, n))
    rows = [DoubleCoding(round_id=round_id, answer_id=a, second_coder_id=second.id, drawn_by_id=actor.id)
            for a in chosen]
    session.add_all(rows)
    session.flush()
    record(session, actor, "double_coding.draw", "round", round_id, second_coder_id=second.id,
           share=share, seed=seed, population=len(population), drawn=n, authority_id=authority_id)
    session.commit()
    return rows


class ConfirmNoCode(CodingError):
    """Finishing a blind coding with no code needs the coder to say that none applies."""


def finish_second_coding(session: Session, actor: User, answer_id: int, *,
                         no_code_applies: bool = False) -> DoubleCoding:
    """The blind second coder has finished this answer.

    With no code applied, the coder must confirm (``no_code_applies``) that no code of
    the codebook applies; that is then recorded as their decision, which the
    reliability report counts (it agrees with another such decision and differs from an
    answer not coded yet). Without the confirmation ``ConfirmNoCode`` is raised and
    nothing changes, so one stray key cannot finish an answer uncoded.
    """
    ctx = answer_context(session, actor, answer_id)
    if ctx.blind is None:
        raise CodingError("this answer is not waiting for your blind second coding")
    if ctx.blind.second_done_at is None:
        n = session.scalar(sa.select(sa.func.count()).select_from(Coding).where(
            Coding.answer_id == answer_id, Coding.coder_id == actor.id, Coding.agreed.is_(False)))
        if n == 0 and not no_code_applies:
            raise ConfirmNoCode("you applied no code to this answer: confirm that no code "
                                "of the codebook applies to it, or apply one first")
        if n and no_code_applies:
            raise CodingError(f"you applied {n} code{'s' if n != 1 else ''} to this answer, so it "
                              "cannot also be marked as one that no code applies to")
        ctx.blind.second_done_at = utcnow()
        ctx.blind.no_code_applies = n == 0
        record(session, actor, "double_coding.done", "double_coding", ctx.blind.id,
               answer_id=answer_id, codings=n, no_code_applies=n == 0)
        session.commit()
    return ctx.blind


def reconcile(session: Session, actor: User, answer_id: int, keep: set[tuple[str, str]]) -> dict:
    """Settle a double-coded answer: ``keep`` is the set of (code, valence) that stand.

    The codings that scores and ``export coded`` use (``agreed=True``) become exactly one
    coder's codings for each kept pair: the first coder's where they applied it,
    otherwise the earliest second coder's. Every other coding of the answer is kept,
    not agreed, so the reliability report still sees what each coder did.
    """
    ctx = answer_context(session, actor, answer_id)
    rows = list(session.scalars(sa.select(DoubleCoding).where(DoubleCoding.answer_id == answer_id)
                                .order_by(DoubleCoding.id)))
    if not rows:
        raise CodingError("this answer was not drawn for double coding")
    if any(r.second_done_at is None for r in rows):
        raise CodingError("the second coding of this answer is not finished yet")
    if any(r.second_coder_id == actor.id for r in rows):
        raise NotAllowed("a second coder cannot reconcile their own double coding")
    second_order = [r.second_coder_id for r in rows]
    codings = list(session.scalars(sa.select(Coding).where(
        Coding.answer_id == answer_id, Coding.coder != INSTRUMENT_CODER)))
    slots: dict[int, list[Coding]] = {}
    for c in codings:
        slot = second_order.index(c.coder_id) + 1 if c.coder_id in second_order else 0
        slots.setdefault(slot, []).append(c)
    union = {(c.code_id, c.valence.value) for c in codings}
    unknown = set(keep) - union
    if unknown:
        raise CodingError(f"only codes one of the coders applied can be kept, not {sorted(unknown)}")
    for c in codings:
        c.agreed = False
    kept = 0
    for pair in sorted(keep):
        for slot in sorted(slots):
            mine = [c for c in slots[slot] if (c.code_id, c.valence.value) == pair]
            if mine:
                for c in mine:
                    c.agreed = True
                    kept += 1
                break
    now = utcnow()
    for r in rows:
        r.reconciled_at = now
    record(session, actor, "double_coding.reconcile", "answer", answer_id,
           kept=sorted(f"{c}:{v}" for c, v in keep), dropped=sorted(f"{c}:{v}" for c, v in union - set(keep)),
           agreed_codings=kept)
    session.commit()
    return {"kept": len(keep), "dropped": len(union - set(keep))}
