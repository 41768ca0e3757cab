"""Engines for SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL (psycopg 3, READ COMMITTED)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry

BUSY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_SECONDS = 10
# Execution option read by the "begin" hook: a read-only SQLAlchemy transaction may pass
# `conn.execution_options(sqlite_begin="DEFERRED")` to avoid taking the write lock.
SQLITE_BEGIN_OPTION = "sqlite_begin"


def normalise_url(url: str | URL) -> URL:
    """The URL with a plain postgresql:// rewritten to the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine_for(url: str | URL) -> Engine:
    """An engine configured for the ledger's transaction rules on SQLite or PostgreSQL."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed)
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}")


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # SQLAlchemy's pysqlite recipe: stop sqlite3 from emitting its own (deferred) BEGIN,
    # so that we choose BEGIN IMMEDIATE for writes; a deferred write transaction that later
    # upgrades its lock can fail with SQLITE_BUSY without waiting, and breaks the debit race.
    dbapi_connection.isolation_level = None
    for pragma in (
        "journal_mode = WAL",
        "synchronous = NORMAL",
        "foreign_keys = ON",
        f"busy_timeout = {BUSY_TIMEOUT_MS}",
    ):
        dbapi_connection.execute(f"PRAGMA {pragma}")
    dbapi_connection.create_function("local_day", 2, local_day, deterministic=True)


def local_day(moment: str | None, zone: str | None) -> str | None:
    """SQLite's `local_day(at, 'Europe/Istanbul')`: the ISO calendar day, in that zone, of a
    stored UTC moment (SQLite knows no zones; PostgreSQL says `AT TIME ZONE`)."""
    if moment is None or zone is None:
        return None
    at = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(zone)).date().isoformat()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _postgres_engine(url: URL) -> Engine:
    # Sessions in UTC so timestamptz values come back as UTC; keep any options in the URL
    # (tests put their schema's search_path there).
    given = url.query.get("options", ())
    options = " ".join([*((given,) if isinstance(given, str) else given), "-c timezone=UTC"])
    return create_engine(
        url.difference_update_query(["options"]),
        # A server that does not answer is reported at start-up, not waited on for minutes.
        connect_args={"options": options, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
        isolation_level="READ COMMITTED",
        pool_size=10,
        max_overflow=10,
        pool_recycle=1800,
    )
