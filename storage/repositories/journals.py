"""Journals: one row per business event, found again by its idempotency key."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from core.model import JournalKind, NewJournal, RecordedJournal
from storage.sql import Query, Sql

_FIND = Query(
    "SELECT id, kind, key, request_hash, effective_at, member_id, meta FROM journal"
    " WHERE key = :key"
)
_INSERT = Query(
    "INSERT INTO journal (kind, key, request_hash, effective_at, created_at, member_id,"
    " actor_id, reverses_id, meta) VALUES (:kind, :key, :request_hash, :effective_at,"
    " :created_at, :member_id, :actor_id, :reverses_id, :meta) RETURNING id"
)


class JournalStore:
    """The journal half of `core.ports.LedgerRepository`."""

    __slots__ = ()
    _sql: Sql

    def find_journal(self, key: str) -> RecordedJournal | None:
        """The journal recorded under this idempotency key, if any."""
        row = self._sql.one(_FIND, {"key": key})
        if row is None:
            return None
        return RecordedJournal(
            id=row[0],
            kind=JournalKind(row[1]),
            key=row[2],
            request_hash=row[3],
            effective_at=self._sql.flavor.read_time(row[4]),
            member_id=row[5],
            meta=json.loads(row[6]),
        )

    def add_journal(self, journal: NewJournal) -> int:
        """Record a journal; a duplicate key raises an IntegrityError the database retries."""
        bind_time = self._sql.flavor.bind_time
        row = self._sql.one(
            _INSERT,
            {
                "kind": journal.kind.value,
                "key": journal.key,
                "request_hash": journal.request_hash,
                "effective_at": bind_time(journal.effective_at),
                "created_at": bind_time(datetime.now(UTC)),
                "member_id": journal.member_id,
                "actor_id": journal.actor_id,
                "reverses_id": journal.reverses_id,
                "meta": json.dumps(journal.meta, separators=(",", ":"), ensure_ascii=False),
            },
        )
        assert row is not None  # INSERT ... RETURNING always returns the row
        return int(row[0])
