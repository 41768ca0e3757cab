"""The outbox: messages to send later, queued in the business transaction."""

from __future__ import annotations

import json
from datetime import datetime

from core.model import OutboxMessage
from storage.sql import Query, Sql

# A duplicate dedupe_key is skipped without an error, so the transaction stays usable.
_INSERT = Query(
    "INSERT INTO outbox (member_id, kind, params, dedupe_key, status, attempts, not_before,"
    " created_at) VALUES (:member_id, :kind, :params, :dedupe_key, 'queued', 0, :not_before,"
    " :created_at) ON CONFLICT (dedupe_key) DO NOTHING"
)


class SqlOutboxRepository:
    """`core.ports.OutboxRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, message: OutboxMessage, now: datetime) -> None:
        """Queue a message unless one with the same dedupe key was queued before."""
        bind_time = self._sql.flavor.bind_time
        self._sql.run(
            _INSERT,
            {
                "member_id": message.member_id,
                "kind": message.kind,
                "params": json.dumps(message.params, separators=(",", ":"), ensure_ascii=False),
                "dedupe_key": message.dedupe_key,
                "not_before": bind_time(message.not_before or now),
                "created_at": bind_time(now),
            },
        )
