"""Leader election for the scheduler: one process per shop runs the time-driven sweeps."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, cast

from sqlalchemy import Engine

log = logging.getLogger(__name__)

# "LOYL" as a 32-bit int; the second key is the schema, so shops sharing one PostgreSQL
# database in separate schemas (as the tests do) elect separate leaders.
LEADER_KEY = int.from_bytes(b"LOYL", "big")
LOST = "lost the leader lock's connection"
RETAKEN = "took the leader lock again on a new connection"
_TRY_LOCK = "SELECT pg_try_advisory_lock(%s::int4, hashtext(current_schema()))"


def leader_name(pid: int | None = None) -> str:
    """The application name of a process's leader connection (its own id by default)."""
    return f"loyalty-leader:{os.getpid() if pid is None else pid}"


class SoleLeader:
    """SQLite: one process serves a shop, so it always leads."""

    def try_acquire(self) -> bool:
        """Always True."""
        return True

    def release(self) -> None:
        """Nothing to release."""


class AdvisoryLockLeader:
    """PostgreSQL: a session-level advisory lock held on a dedicated connection.

    The lock lives exactly as long as that connection, so a leader that dies (or loses its
    connection) frees it for the next worker that tries.
    """

    def __init__(self, engine: Engine, key: int = LEADER_KEY) -> None:
        self._engine = engine
        self._key = key
        self._connection: Any = None
        # The scheduler calls from worker threads; one attempt at a time.
        self._guard = threading.Lock()

    def try_acquire(self) -> bool:
        """True while this process holds the lock, taking it if it is free."""
        with self._guard:
            lost = False
            if self._connection is not None:
                if self._still_connected():
                    return True
                log.warning(LOST)
                self._close()
                lost = True
            connection = self._connect()
            try:
                held = bool(connection.execute(_TRY_LOCK, (self._key,)).fetchone()[0])
            except BaseException:
                connection.close()
                raise
            if held:
                self._connection = connection
                if lost:  # the scheduler still leads, so it logs nothing: say it here
                    log.warning(RETAKEN)
            else:
                connection.close()
            return held

    def release(self) -> None:
        """Give the lock up by ending its session."""
        with self._guard:
            self._close()

    def _connect(self) -> Any:
        # A pooled connection detached from the pool: it keeps the engine's connect options
        # (timezone, search_path) but never goes back to the pool with the lock still held.
        raw = self._engine.raw_connection()
        connection = cast(Any, raw.driver_connection)
        raw.detach()
        connection.autocommit = True  # no transaction left idle for the life of the process
        # Who leads shows in pg_stat_activity (and the lock in pg_locks), by process id.
        connection.execute("SELECT set_config('application_name', %s, false)", (leader_name(),))
        return connection

    def _still_connected(self) -> bool:
        try:
            self._connection.execute("SELECT 1").fetchone()
        except Exception:
            return False
        return True

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


def leader_for(engine: Engine) -> SoleLeader | AdvisoryLockLeader:
    """The leader election that suits the engine's database."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLockLeader(engine)
    return SoleLeader()
