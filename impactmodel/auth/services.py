"""Passwords, log-in throttling and account changes."""
from __future__ import annotations

import hashlib
import hmac
import re
import threading
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from impactmodel.audit import record
from impactmodel.auth.models import LoginAttempt, Role, User
from impactmodel.consortium.models import Authority
from impactmodel.db import utcnow

@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_cost: int) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)
    # Verifying against a dummy hash when the e-mail is unknown keeps the timing the same.
    return hasher, hasher.hash("not a real password")


def _hasher() -> tuple[PasswordHasher, str]:
    """Argon2id; production uses the library's defaults (RFC 9106's second recommendation)."""
    cfg = current_app.config
    return _hasher_for(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"])


# Length and guessability, no composition rules (NCSC and NIST SP 800-63B): long
# passphrases are welcome, common passwords and the account's own details are not.
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MIN_PASSWORD_SCORE = 3           # zxcvbn's 0-4 scale; 3 needs at least 10^8 guesses
ZXCVBN_MAX_LENGTH = 72           # the library refuses longer input; its cost grows with length
CONTEXT_WORDS = ("impactmodel", "larc")   # this service's own names
# zxcvbn keeps the user inputs in a module-level dictionary, so checks take turns.
_zxcvbn_lock = threading.Lock()


class AccountError(ValueError):
    """A change to an account that cannot be made; the message says why."""


class PasswordRejected(AccountError):
    """The password is too short, too long or too easy to guess."""


class WrongPassword(AccountError):
    """The current password given to confirm a change is not the account's."""


def _identifiers(email: str, name: str) -> list[str]:
    """Words of the account's own details a guesser would try first."""
    email, name = email.strip().lower(), name.strip().lower()
    local, _, domain = email.partition("@")
    words = {email, domain, *domain.split(".")}
    for text in (local, name):  # "jane.doe" and "Jane Doe": whole, in parts and run together
        parts = re.split(r"[\W_]+", text)
        words.update([text, "".join(parts), *parts])
    return sorted(w for w in words if len(w) >= 3)


def check_password(password: str, *, email: str, name: str) -> None:
    """Refuse a password that is short, or easy to guess from common passwords and
    from the account's e-mail address and name; the message says why."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    # A longer passphrase is judged by its first 72 characters, which must hold up alone.
    with _zxcvbn_lock:
        result = zxcvbn(password[:ZXCVBN_MAX_LENGTH],
                        user_inputs=[*_identifiers(email, name), *CONTEXT_WORDS])
    if result["score"] >= MIN_PASSWORD_SCORE:
        return
    reasons = []
    known = {m["matched_word"] for m in result["sequence"] if m.get("dictionary_name") == "user_inputs"}
    if known - set(CONTEXT_WORDS):
        reasons.append("It contains the account's e-mail address or name.")
    if known & set(CONTEXT_WORDS):
        reasons.append("It contains the name of this service.")
    if result["feedback"]["warning"]:
        reasons.append(result["feedback"]["warning"])
    reasons += result["feedback"]["suggestions"] or ["Add another word or two. Uncommon words are better."]
    raise PasswordRejected(" ".join(["This password is too easy to guess.", *reasons]))


def hash_password(password: str) -> str:
    """The Argon2id hash to store; check_password decides first whether to accept it."""
    return _hasher()[0].hash(password)


def end_sessions(user: User) -> None:
    """Every session signed in as ``user`` before this ends at the next request (the
    caller commits). A SQL increment, so two changes at once both count."""
    user.session_version = User.session_version + 1


def _digest(text: str) -> str:
    # Keyed, so the table cannot be reversed by hashing known addresses.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, text.strip().lower().encode(), hashlib.sha256).hexdigest()


def throttled(session: Session, email: str, remote_addr: str) -> bool:
    """True when too many recent failures for this address or from this client."""
    cfg = current_app.config
    since = utcnow() - timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"])
    failures = sa.select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    by_email = session.scalar(failures.where(LoginAttempt.key == _digest(email)))
    by_addr = session.scalar(failures.where(LoginAttempt.remote_addr == _digest(remote_addr)))
    return by_email >= cfg["LOGIN_MAX_FAILURES"] or by_addr >= cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]


def guesses_throttled(session: Session, purpose: str, remote_addr: str, limit: int) -> bool:
    """True when this client failed ``limit`` times at ``purpose`` within the window.

    For credentials other than passwords (a survey's short code, say): failures are
    kept in the same table as log-in attempts, under a key naming the purpose.
    """
    since = utcnow() - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    return session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.key == _digest(f"purpose:{purpose}"), LoginAttempt.succeeded.is_(False),
        LoginAttempt.remote_addr == _digest(remote_addr), LoginAttempt.at >= since)) >= limit


def code_check_allowed(session: Session, purpose: str, remote_addr: str, *, free: int,
                       window: timedelta, burst: int, refill: timedelta) -> tuple[bool, bool]:
    """Whether this client may have a code checked now, and whether it is being slowed.

    The first ``free`` wrong codes within ``window`` cost nothing. After that the client
    is slowed, never locked out: it may have ``burst`` more codes checked at once and one
    more every ``refill``, valid or not, so a classroom behind one address that made
    typos still gets in with a correct code, while a guesser is held to a few checks an
    hour (docs/FIELDWORK.md gives the arithmetic). Returns (allowed, slowed).
    """
    now = utcnow()
    key, addr = _digest(f"purpose:{purpose}"), _digest(remote_addr)
    fails = session.scalars(sa.select(LoginAttempt.at).where(
        LoginAttempt.key == key, LoginAttempt.succeeded.is_(False), LoginAttempt.remote_addr == addr,
        LoginAttempt.at >= now - window).order_by(LoginAttempt.at).limit(free)).all()
    if len(fails) < free:
        return True, False
    slowed_since = _aware(fails[-1])
    checks = session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.key == _digest(f"purpose:{purpose}:slowed"), LoginAttempt.remote_addr == addr,
        LoginAttempt.at >= slowed_since))
    earned = int((now - slowed_since) / refill)
    return checks < burst + earned, True


def note_code_check(session: Session, purpose: str, remote_addr: str, *, found: bool, slowed: bool) -> None:
    """Record a code check: a wrong code counts towards slowing; a slowed check uses one up."""
    if not found:
        session.add(LoginAttempt(key=_digest(f"purpose:{purpose}"), remote_addr=_digest(remote_addr),
                                 succeeded=False))
    if slowed:
        session.add(LoginAttempt(key=_digest(f"purpose:{purpose}:slowed"), remote_addr=_digest(remote_addr),
                                 succeeded=found))
    session.commit()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


def note_failed_guess(session: Session, purpose: str, remote_addr: str) -> None:
    session.add(LoginAttempt(key=_digest(f"purpose:{purpose}"), remote_addr=_digest(remote_addr),
                             succeeded=False))
    session.commit()


def authenticate(session: Session, email: str, password: str, remote_addr: str) -> User | None:
    """Check a log-in, record the attempt and commit. Returns the user or None."""
    user = session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
    ok = False
    hasher, dummy = _hasher()
    try:
        ok = hasher.verify(user.password_hash if user else dummy, password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(key=_digest(email), remote_addr=_digest(remote_addr), succeeded=ok))
    # Attempts older than the throttling window serve no purpose: keep the table small.
    window = timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < utcnow() - window))
    if ok:
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        user.last_login_at = utcnow()
        record(session, user, "auth.login", "user", user.id)
    session.commit()
    return user if ok else None


def create_user(session: Session, actor, *, email: str, name: str, role: Role, password: str,
                authority_id: int | None = None, assigned_authority_ids=()) -> User:
    email = email.strip()
    if "@" not in email:
        raise AccountError("Enter an e-mail address such as name@example.org.")
    if session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email.lower())):
        raise AccountError(f"There is already an account for {email}.")
    if role is Role.AUTHORITY_CONTACT and authority_id is None:
        raise AccountError("An authority contact must belong to an authority.")
    check_password(password, email=email, name=name)
    user = User(email=email, name=name.strip() or email, role=role,
                password_hash=hash_password(password),
                authority_id=authority_id if role is Role.AUTHORITY_CONTACT else None)
    if role is Role.RESEARCHER and assigned_authority_ids:
        user.assigned_authorities = list(session.scalars(
            sa.select(Authority).where(Authority.id.in_(list(assigned_authority_ids)))))
    session.add(user)
    session.flush()
    record(session, actor, "user.create", "user", user.id, role=role.value)
    session.commit()
    return user


def update_user(session: Session, actor, user: User, *, name: str, role: Role, active: bool,
                authority_id: int | None, assigned_authority_ids=(), password: str | None = None) -> None:
    """Change an account. A new password, deactivation, or a change of role or of the
    authorities the account may see ends the account's sessions, so nobody keeps access
    they no longer have."""
    if role is Role.AUTHORITY_CONTACT and authority_id is None:
        raise AccountError("An authority contact must belong to an authority.")
    if getattr(actor, "id", None) == user.id and (role is not Role.ADMIN or not active):
        raise AccountError("You cannot remove your own administrator access.")
    name = name.strip() or user.email
    if password:
        check_password(password, email=user.email, name=name)
    before = _access(user)
    user.name = name
    user.role = role
    user.active = active
    user.authority_id = authority_id if role is Role.AUTHORITY_CONTACT else None
    user.assigned_authorities = list(session.scalars(
        sa.select(Authority).where(Authority.id.in_(list(assigned_authority_ids))))) \
        if role is Role.RESEARCHER else []
    if password:
        user.password_hash = hash_password(password)
    sessions_ended = bool(password) or _access(user) != before
    if sessions_ended:
        end_sessions(user)
    record(session, actor, "user.update", "user", user.id, role=role.value, active=active,
           password_changed=bool(password), sessions_ended=sessions_ended)
    session.commit()


def _access(user: User) -> tuple:
    """What an account may do and see: a change to any of it ends its sessions."""
    return (user.role, user.active, user.authority_id,
            frozenset(a.id for a in user.assigned_authorities))


def change_own_password(session: Session, user: User, *, current: str, new: str) -> None:
    """A signed-in user sets a new password; their other sessions end."""
    hasher, _dummy = _hasher()
    try:
        hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise WrongPassword("That is not your current password.") from None
    check_password(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    end_sessions(user)
    record(session, user, "user.password_change", "user", user.id)
    session.commit()


def sign_out(session: Session, user: User) -> None:
    """End every session of ``user``, this one and any copy of its cookie."""
    end_sessions(user)
    record(session, user, "auth.logout", "user", user.id)
    session.commit()
