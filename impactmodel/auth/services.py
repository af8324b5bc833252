"""Passwords, log-in throttling and account changes."""
from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy.orm import Session

from impactmodel.audit import record
from impactmodel.auth.models import LoginAttempt, Role, User
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

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A change to an account that cannot be made; the message says why."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    return _hasher()[0].hash(password)


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
    from impactmodel.consortium.models import Authority
    email = email.strip()
    if "@" not in email:
        raise AccountError("Enter an e-mail address such as name@example.org.")
    if session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email.lower())):
        raise AccountError(f"There is already an account for {email}.")
    if role is Role.AUTHORITY_CONTACT and authority_id is None:
        raise AccountError("An authority contact must belong to an authority.")
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
    from impactmodel.consortium.models import Authority
    if role is Role.AUTHORITY_CONTACT and authority_id is None:
        raise AccountError("An authority contact must belong to an authority.")
    if getattr(actor, "id", None) == user.id and (role is not Role.ADMIN or not active):
        raise AccountError("You cannot remove your own administrator access.")
    user.name = name.strip() or user.email
    user.role = role
    user.active = active
    user.authority_id = authority_id if role is Role.AUTHORITY_CONTACT else None
    user.assigned_authorities = list(session.scalars(
        sa.select(Authority).where(Authority.id.in_(list(assigned_authority_ids))))) \
        if role is Role.RESEARCHER else []
    if password:
        user.password_hash = hash_password(password)
    record(session, actor, "user.update", "user", user.id, role=role.value, active=active,
           password_changed=bool(password))
    session.commit()
