"""`core.outbox.OutboxQueue` on SQL: batch claims with SKIP LOCKED (PostgreSQL) or under
SQLite's BEGIN IMMEDIATE write lock."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from core.outbox import QueuedMessage
from storage.database import SqlDatabase
from storage.sql import Query, Sql, flavor_for

T = TypeVar("T")

# One statement, so a claim is atomic on both engines; SKIP LOCKED lets several
# dispatchers claim disjoint batches on PostgreSQL.
_CLAIM_SQL = (
    "UPDATE outbox SET not_before = :lease_until, attempts = attempts + 1"
    " WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' AND not_before <= :now"
    " ORDER BY id LIMIT :limit{lock}) RETURNING id, member_id, kind, params, attempts"
)
_CLAIM = Query(
    _CLAIM_SQL.format(lock=""), postgresql=_CLAIM_SQL.format(lock=" FOR UPDATE SKIP LOCKED")
)
_SENT = Query("UPDATE outbox SET status = 'sent', sent_at = :now, last_error = NULL WHERE id = :id")
_REQUEUE = Query(
    "UPDATE outbox SET not_before = :not_before, last_error = :error,"
    " attempts = attempts - :uncounted WHERE id = :id"
)
_FAILED = Query("UPDATE outbox SET status = 'failed', last_error = :error WHERE id = :id")
_BLOCKED = Query("UPDATE outbox SET status = 'blocked', last_error = :error WHERE id = :id")
_MARK_UNREACHABLE = Query(
    "INSERT INTO unreachable (member_id, platform, since)"
    " SELECT member_id, :platform, :now FROM outbox WHERE id = :id"
    " ON CONFLICT (member_id, platform) DO NOTHING"
)
_UNREACHABLE = Query(
    "SELECT 1 FROM unreachable WHERE member_id = :member_id AND platform = :platform"
)
_CLEAR = Query("DELETE FROM unreachable WHERE member_id = :member_id AND platform = :platform")


def unreachable_reason(platform: str) -> str:
    """The last_error of a row blocked because the member is unreachable on `platform`."""
    return f"unreachable:{platform}"


class SqlOutboxQueue:
    """Outbox claiming and settling on the database's engine."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._flavor = flavor_for(database.engine.dialect.name)

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[QueuedMessage]:
        """Due queued rows, leased until `lease_until`, oldest first."""
        bind = self._flavor.bind_time
        params = {"now": bind(now), "lease_until": bind(lease_until), "limit": limit}
        rows = self._run(lambda sql: sql.all(_CLAIM, params))
        return sorted(
            (
                QueuedMessage(int(r[0]), int(r[1]), str(r[2]), _params(r[3]), int(r[4]))
                for r in rows
            ),
            key=lambda message: message.id,
        )

    def mark_sent(self, message_id: int, now: datetime) -> None:
        """Delivered."""
        self._run(
            lambda sql: sql.run(_SENT, {"id": message_id, "now": self._flavor.bind_time(now)})
        )

    def requeue(
        self, message_id: int, not_before: datetime, error: str, failed: bool = True
    ) -> None:
        """Try again at `not_before`; a postponement that was no failure gives back its attempt."""
        params = {
            "id": message_id,
            "not_before": self._flavor.bind_time(not_before),
            "error": error,
            "uncounted": 0 if failed else 1,
        }
        self._run(lambda sql: sql.run(_REQUEUE, params))

    def mark_failed(self, message_id: int, error: str) -> None:
        """Give up on this row."""
        self._run(lambda sql: sql.run(_FAILED, {"id": message_id, "error": error[:500]}))

    def mark_blocked(self, message_id: int, platform: str) -> None:
        """Settle the row as blocked and remember that its member is unreachable there."""
        now = self._flavor.bind_time(datetime.now(UTC))

        def work(sql: Sql) -> None:
            sql.run(_BLOCKED, {"id": message_id, "error": unreachable_reason(platform)})
            sql.run(_MARK_UNREACHABLE, {"id": message_id, "platform": platform, "now": now})

        self._run(work)

    def unreachable(self, member_id: int, platform: str) -> bool:
        """Whether the member blocked the bot on `platform` (a primary-key lookup)."""
        params = {"member_id": member_id, "platform": platform}
        return self._run(lambda sql: sql.one(_UNREACHABLE, params), write=False) is not None

    def clear_unreachable(self, member_id: int, platform: str) -> None:
        """Forget the block (the member wrote to the bot again)."""
        params = {"member_id": member_id, "platform": platform}
        self._run(lambda sql: sql.run(_CLEAR, params))

    def _run(self, work: Callable[[Sql], T], write: bool = True) -> T:
        return self._database.run_sql(work, write=write)


def _params(value: object) -> dict[str, object]:
    loaded = json.loads(value) if isinstance(value, str | bytes) else value
    return dict(loaded) if isinstance(loaded, dict) else {}
