"""`core.outbox.OutboxQueue` on SQL: batch claims with SKIP LOCKED (PostgreSQL) or under
SQLite's BEGIN IMMEDIATE write lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from core.delivery import Audience
from core.outbox import OutboxImage, QueuedMessage, Recipient
from storage.audiences import read_audiences
from storage.database import SqlDatabase
from storage.outbox_codec import load_buttons, load_params
from storage.sql import Query, Row, Sql, flavor_for

T = TypeVar("T")

# One statement, so a claim is atomic on both engines; SKIP LOCKED lets several
# dispatchers claim disjoint batches on PostgreSQL. Deferred rows (quiet hours) come back
# once their time has come, like queued ones.
_CLAIM_SQL = (
    "UPDATE outbox SET not_before = :lease_until, attempts = attempts + 1"
    " WHERE id IN (SELECT id FROM outbox WHERE status IN ('queued', 'deferred')"
    " AND not_before <= :now ORDER BY id LIMIT :limit{lock})"
    " RETURNING id, member_id, channel_platform, channel_id, message_key, params, category,"
    " buttons, image_digest, attempts"
)
_CLAIM = Query(
    _CLAIM_SQL.format(lock=""), postgresql=_CLAIM_SQL.format(lock=" FOR UPDATE SKIP LOCKED")
)
_SENT = Query("UPDATE outbox SET status = 'sent', sent_at = :now, last_error = NULL WHERE id = :id")
_REQUEUE = Query(
    "UPDATE outbox SET not_before = :not_before, last_error = :error,"
    " attempts = attempts - :uncounted WHERE id = :id"
)
_DEFER = Query(
    "UPDATE outbox SET status = 'deferred', not_before = :until, last_error = :reason,"
    " attempts = attempts - 1 WHERE id = :id"
)
_SETTLE = Query("UPDATE outbox SET status = :status, last_error = :error WHERE id = :id")
_MARK_UNREACHABLE = Query(
    "INSERT INTO unreachable (member_id, platform, since)"
    " SELECT member_id, :platform, :now FROM outbox WHERE id = :id AND member_id IS NOT NULL"
    " ON CONFLICT (member_id, platform) DO NOTHING"
)
_UNREACHABLE = Query(
    "SELECT 1 FROM unreachable WHERE member_id = :member_id AND platform = :platform"
)
_CLEAR = Query("DELETE FROM unreachable WHERE member_id = :member_id AND platform = :platform")
_IMAGE = Query("SELECT content_type, data FROM outbox_image WHERE digest = :digest")


def unreachable_reason(platform: str) -> str:
    """The last_error of a row blocked because the member is unreachable on `platform`."""
    return f"unreachable:{platform}"


class SqlOutboxQueue:
    """Outbox claiming and settling on the database's engine."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._flavor = flavor_for(database.engine.dialect.name)

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[QueuedMessage]:
        """Due queued or deferred rows, leased until `lease_until`, oldest first."""
        bind = self._flavor.bind_time
        params = {"now": bind(now), "lease_until": bind(lease_until), "limit": limit}
        rows = self._run(lambda sql: sql.all(_CLAIM, params))
        return sorted((_queued(row) for row in rows), key=lambda message: message.id)

    def image(self, digest: str) -> OutboxImage | None:
        """The image stored under `digest`."""
        row = self._run(lambda sql: sql.one(_IMAGE, {"digest": digest}), write=False)
        if row is None:
            return None
        return OutboxImage(content_type=str(row[0]), data=bytes(row[1]))

    def mark_sent(self, message_id: int, now: datetime) -> None:
        """Delivered."""
        self._run(
            lambda sql: sql.run(_SENT, {"id": message_id, "now": self._flavor.bind_time(now)})
        )

    def audiences(self, member_ids: list[int]) -> dict[int, Audience]:
        """The members behind a batch of rows, one query per table (storage.audiences)."""
        return self._run(lambda sql: read_audiences(sql, member_ids), write=False)

    def mark_all_sent(self, sent: list[tuple[int, datetime]]) -> None:
        """Several rows delivered, in one transaction (one commit to wait for, not one each)."""
        bind = self._flavor.bind_time

        def work(sql: Sql) -> None:
            for message_id, now in sent:
                sql.run(_SENT, {"id": message_id, "now": bind(now)})

        self._run(work)

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

    def defer(self, message_id: int, until: datetime, reason: str) -> None:
        """Due again at `until` (the end of quiet hours); the claim was no attempt."""
        params = {"id": message_id, "until": self._flavor.bind_time(until), "reason": reason}
        self._run(lambda sql: sql.run(_DEFER, params))

    def mark_failed(self, message_id: int, error: str) -> None:
        """Give up on this row."""
        self._settle(message_id, "failed", error[:500])

    def mark_skipped(self, message_id: int, reason: str) -> None:
        """Not sent, on purpose (the member opted out of its category)."""
        self._settle(message_id, "skipped", reason)

    def mark_blocked(self, message_id: int, platform: str) -> None:
        """Settle the row as blocked and remember that its member is unreachable there."""
        now = self._flavor.bind_time(datetime.now(UTC))
        reason = unreachable_reason(platform)

        def work(sql: Sql) -> None:
            sql.run(_SETTLE, {"id": message_id, "status": "blocked", "error": reason})
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

    def _settle(self, message_id: int, status: str, error: str) -> None:
        params = {"id": message_id, "status": status, "error": error}
        self._run(lambda sql: sql.run(_SETTLE, params))

    def _run(self, work: Callable[[Sql], T], write: bool = True) -> T:
        return self._database.run_sql(work, write=write)


def _queued(row: Row) -> QueuedMessage:
    member_id, platform, channel = row[1], row[2], row[3]
    recipient = (
        Recipient.member(int(member_id))
        if member_id is not None
        else Recipient.in_channel(str(platform), str(channel))
    )
    return QueuedMessage(
        id=int(row[0]),
        recipient=recipient,
        key=str(row[4]),
        params=load_params(row[5]),
        category=str(row[6]),
        buttons=load_buttons(row[7]),
        image_digest=row[8],
        attempts=int(row[9]),
    )
