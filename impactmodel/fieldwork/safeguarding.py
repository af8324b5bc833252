"""Safeguarding: answers from parents and children that may disclose harm.

``surveys/safeguarding.yaml`` lists the rules (words and patterns). When a parent's or
child's answer is saved (as they type, on Next, on sending, or imported from offline
fieldwork), its text is checked in the same transaction; a match flags the answer for
the researchers of that authority, with the steps of the authority's procedure. It is
never a filter: the answer is stored exactly as given. Flags and their audit events
name the rules matched, never the words.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
import yaml
from flask import current_app
from sqlalchemy.orm import Session

from impactmodel.paths import ROOT
from impactmodel.audit import record
from impactmodel.auth.models import Role
from impactmodel.consortium.models import Authority, Respondent
from impactmodel.db import utcnow
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.models import Answer, Response, SafeguardingFlag

RULES_PATH = ROOT / "surveys" / "safeguarding.yaml"
# Whose words are checked: the people surveyed, not staff interviewed by a researcher.
CHECKED_ROLES = (RespondentRole.PARENT, RespondentRole.CHILD)
ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class RulesInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    pattern: re.Pattern

    def matches(self, text: str) -> bool:
        return self.pattern.search(text) is not None


def _normalised(text: str) -> str:
    """Straight quotes, compatibility forms folded, spacing collapsed: "don’t" is "don't"."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split())


def load(path: Path = RULES_PATH) -> tuple[Rule, ...]:
    """The rules of ``path``, checked: ids unique and well formed, each rule with a
    description and at least one word or pattern, every pattern a valid expression."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesInvalid(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list) or not data["rules"]:
        raise RulesInvalid(f"{path}: expected a list of rules under 'rules'")
    rules, seen = [], set()
    for n, item in enumerate(data["rules"], 1):
        where = f"{path}: rule {n}"
        if not isinstance(item, dict) or not ID_RE.match(str(item.get("id", ""))):
            raise RulesInvalid(f"{where}: needs an id of lower-case letters, digits and _")
        if item["id"] in seen:
            raise RulesInvalid(f"{where}: id {item['id']!r} is used twice")
        seen.add(item["id"])
        words = item.get("words") or []
        patterns = item.get("patterns") or []
        if not isinstance(item.get("description"), str) or not item["description"].strip():
            raise RulesInvalid(f"{where} ({item['id']}): needs a description")
        if not isinstance(words, list) or not isinstance(patterns, list) or not (words or patterns):
            raise RulesInvalid(f"{where} ({item['id']}): needs a list of words or of patterns")
        parts = [r"\b" + r"\s+".join(map(re.escape, str(w).split())) + r"\b" for w in words]
        for p in patterns:
            try:
                re.compile(str(p))
            except re.error as exc:
                raise RulesInvalid(f"{where} ({item['id']}): pattern {p!r}: {exc}") from None
            parts.append(f"(?:{p})")
        rules.append(Rule(item["id"], item["description"].strip(),
                          re.compile("|".join(parts), re.IGNORECASE)))
    return tuple(rules)


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    return load()


def concerns(text: str | None) -> list[str]:
    """The ids of the rules ``text`` matches (empty when none does)."""
    if not text:
        return []
    clean = _normalised(text)
    return [rule.id for rule in rules() if rule.matches(clean)]


def descriptions() -> dict[str, str]:
    return {rule.id: rule.description for rule in rules()}


def check_response(session: Session, actor, response: Response, keys=None) -> list[SafeguardingFlag]:
    """Flag the response's answers (those of ``keys``, or all) whose text matches a rule.

    Called in the transaction that saves the answers, so the flag exists as soon as the
    answer does; the caller commits. A flag already raised on an answer gains any new
    rules, and is raised again if it had been dealt with. Staff answers are not checked.
    """
    respondent = session.get(Respondent, response.respondent_id)
    if respondent.role not in CHECKED_ROLES:
        return []
    query = sa.select(Answer).where(Answer.response_id == response.id, Answer.text.is_not(None))
    if keys is not None:
        query = query.where(Answer.question_key.in_(list(keys)))
    return check_answers(session, actor, respondent, list(session.scalars(query)))


def check_answers(session: Session, actor, respondent: Respondent, answers: list[Answer]) -> list[SafeguardingFlag]:
    """Flag those of ``answers`` (rows of one respondent's response, as just written)
    whose text matches a rule, as ``check_response`` does; the caller commits."""
    if respondent.role not in CHECKED_ROLES:
        return []
    raised = []
    for answer in answers:
        found = concerns(answer.text)
        if not found:
            continue
        flag = session.scalar(sa.select(SafeguardingFlag).where(SafeguardingFlag.answer_id == answer.id))
        if flag is None:
            flag = SafeguardingFlag(answer_id=answer.id, round_id=respondent.round_id,
                                    authority_id=respondent.authority_id, rules=found, flagged_at=utcnow())
            session.add(flag)
        elif set(found) - set(flag.rules):
            flag.rules = sorted(set(flag.rules) | set(found))
            flag.flagged_at, flag.handled_at, flag.handled_by_id = utcnow(), None, None
        else:
            continue
        session.flush()
        record(session, actor, "safeguarding.flag", "answer", answer.id, flag_id=flag.id, rules=found,
               round_id=respondent.round_id, authority_id=respondent.authority_id)
        raised.append(flag)
    return raised


def _visible(user):
    """Flags of the authorities ``user`` may see (every one for an administrator)."""
    query = sa.select(SafeguardingFlag)
    if user.role is not Role.ADMIN:
        query = query.where(SafeguardingFlag.authority_id.in_([a.id for a in user.assigned_authorities]))
    return query


def open_count(session: Session, user) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(
        _visible(user).where(SafeguardingFlag.handled_at.is_(None)).subquery()))


def flags_for(session: Session, user, *, handled: bool, limit: int = 200) -> list[SafeguardingFlag]:
    query = _visible(user).where(SafeguardingFlag.handled_at.is_not(None) if handled
                                 else SafeguardingFlag.handled_at.is_(None))
    order = SafeguardingFlag.handled_at.desc() if handled else SafeguardingFlag.flagged_at
    return list(session.scalars(query.order_by(order, SafeguardingFlag.id).limit(limit)))


def steps_for(authority: Authority) -> str:
    """The authority's own safeguarding procedure, or the app's default steps."""
    return authority.safeguarding_steps or current_app.config["SAFEGUARDING_STEPS"]


def mark_handled(session: Session, actor, flag: SafeguardingFlag) -> SafeguardingFlag:
    """The researcher has followed the procedure for this answer. Commits."""
    if not actor.may_see_authority(flag.authority_id):
        raise PermissionError("you are not assigned to this authority")
    if flag.handled_at is None:
        flag.handled_at, flag.handled_by_id = utcnow(), actor.id
        record(session, actor, "safeguarding.handled", "safeguarding_flag", flag.id,
               answer_id=flag.answer_id, authority_id=flag.authority_id)
    session.commit()
    return flag


def set_steps(session: Session, actor, authority: Authority, steps: str | None) -> Authority:
    """Record (or, with None, clear) the authority's safeguarding procedure. Commits."""
    authority.safeguarding_steps = steps.strip() if steps and steps.strip() else None
    record(session, actor, "authority.safeguarding_steps", "authority", authority.id,
           cleared=authority.safeguarding_steps is None)
    session.commit()
    return authority
