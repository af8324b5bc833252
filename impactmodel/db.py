"""The database: declarative base, engine per app, and a session per app context.

Plain SQLAlchemy 2. The engine lives in ``app.extensions``; ``db.session`` is
created lazily for the current app context and closed when it ends.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import StaticPool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every engine (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        # Naive values are taken to be UTC already, as utcnow() and the database give them.
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# Ids bound in one statement at most: PostgreSQL allows 65,535 parameters per statement.
ID_BATCH = 5000


def batches(ids: list, size: int = ID_BATCH):
    """``ids`` in slices of at most ``size``, for queries that must name the ids they read."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


class _NoRowEcho(logging.Filter):
    """Drop SQLAlchemy's echo of result rows: rows carry respondents' answers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Row %r"


def make_engine(url: str, *, foreign_keys: bool = True) -> Engine:
    """An engine for ``url``. ``foreign_keys=False`` is for SQLite migrations, whose
    table rebuilds would otherwise cascade deletes.

    Bound parameters are never logged or put into error messages (which reach the
    log): they hold respondents' answers. SQL logging, when turned on, shows statements only.
    """
    kwargs: dict = {"future": True, "hide_parameters": True}
    engine_logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(f, _NoRowEcho) for f in engine_logger.filters):
        engine_logger.addFilter(_NoRowEcho())
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    event.listen(engine, "begin", _began)
    event.listen(engine, "before_cursor_execute", _note_write)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas if foreign_keys else _sqlite_pragmas_no_fk)
    return engine


# Whether the connection's transaction has run anything but SELECT (kept per connection).
WROTE = "impactmodel.wrote"


def _began(connection) -> None:
    connection.info[WROTE] = False


def _note_write(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
    if not statement.lstrip()[:6].upper() == "SELECT":
        connection.info[WROTE] = True


def only_read(session: Session) -> bool:
    """Whether the session's transaction has run only SELECTs and holds no unflushed change."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    return not session.connection().info.get(WROTE, True)


def _sqlite_pragmas(dbapi_connection, _record, foreign_keys: bool = True) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers and one writer overlap.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_pragmas_no_fk(dbapi_connection, record) -> None:
    _sqlite_pragmas(dbapi_connection, record, foreign_keys=False)


class Database:
    """Binds an engine to a Flask app and hands out one session per app context."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["impactmodel.engine"] = engine
        app.teardown_appcontext(self._close_session)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["impactmodel.engine"]

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = Session(bind=self.engine, expire_on_commit=False)
        return g.db_session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is None:
            return
        try:
            # A transaction that only read ends with COMMIT, the same as ROLLBACK for it:
            # psycopg forgets its prepared statements at every ROLLBACK, so each request
            # would have its statements planned afresh by PostgreSQL.
            if _exc is None and only_read(session):
                session.commit()
        finally:
            session.close()


db = Database()
