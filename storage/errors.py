"""Which database failures are transient, so that re-running the unit of work is the fix."""

from __future__ import annotations

import sqlite3

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError

SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14

# Unique keys two concurrent requests can both try to insert; the loser's re-run finds the
# winner's row (same journal key or receipt, same chat identity) or draws a new member code.
_RACY_PG_CONSTRAINTS = frozenset(
    {"uq_journal_key", "purchase_pkey", "identity_pkey", "uq_member_code", "uq_member_code_key"}
)
_RACY_SQLITE_COLUMNS = frozenset(
    {
        "journal.key",
        "purchase.receipt",
        "identity.platform, identity.external_id",
        "member.code",
        "member.code_key",
    }
)
_PG_RETRY_STATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


class ConcurrentUpdate(Exception):
    """A row changed between our read and our write; re-running the work sees the new state."""


def is_transient(exc: BaseException) -> bool:
    """True when the same work, re-run in a new transaction, may well succeed."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, ConcurrentUpdate):
        return True
    if isinstance(exc, sqlite3.Error):
        return _sqlite_transient(exc)
    if isinstance(exc, psycopg.Error):
        return _postgres_transient(exc)
    return False


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database cannot serve any unit of work right now ("busy", "full", "read-only",
    "unreachable"), or None when the failure is the work's own (a bug, a constraint)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        reasons = {
            SQLITE_BUSY: "busy",
            SQLITE_LOCKED: "busy",
            SQLITE_FULL: "full",
            SQLITE_READONLY: "read-only",
            SQLITE_IOERR: "unreachable",
            SQLITE_CANTOPEN: "unreachable",
        }
        return reasons.get(code, "busy" if "database is locked" in str(exc) else None)
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate or ""
        if state == "53100":  # disk_full
            return "full"
        if state == "25006":  # read_only_sql_transaction: a standby, or a read-only server
            return "read-only"
        if state in _PG_RETRY_STATES or state == "55P03":  # lock_not_available
            return "busy"
        if state.startswith(("08", "53", "57P")) or (
            isinstance(exc, psycopg.OperationalError) and not state
        ):  # connection lost or refused, out of resources, shutting down
            return "unreachable"
    return None


def _sqlite_transient(exc: sqlite3.Error) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        prefix = "UNIQUE constraint failed: "
        message = str(exc)
        return message.startswith(prefix) and message[len(prefix) :] in _RACY_SQLITE_COLUMNS
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # extended codes keep the base in 8 bits
        return code in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in str(exc)
    return False


def _postgres_transient(exc: psycopg.Error) -> bool:
    if exc.sqlstate in _PG_RETRY_STATES:
        return True
    if isinstance(exc, pg_errors.UniqueViolation):
        return exc.diag.constraint_name in _RACY_PG_CONSTRAINTS
    # A connection lost before or during the transaction (say, a server restart); the pool
    # drops it, and the re-run gets a fresh one.
    return isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None
