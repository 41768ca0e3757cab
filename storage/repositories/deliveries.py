"""Inbound deliveries kept until handled, each handling under a lease (see core.deliveries)."""

from __future__ import annotations

from datetime import datetime

from core.deliveries import DONE, HELD, LAPSED, NEW
from storage.sql import Query, Sql

# ON CONFLICT instead of catching the unique violation: on PostgreSQL an error would abort
# the whole transaction.
_STORE = Query(
    "INSERT INTO inbound_delivery (key, received_at, state, holder, lease_until, payload)"
    " VALUES (:key, :now, 'pending', :holder, :until, :payload) ON CONFLICT (key) DO NOTHING"
)
# One statement on both engines: a new delivery (polling, Socket Mode) is inserted held; a
# stored one is taken when this handling holds it already or its lease ran out. On PostgreSQL
# a concurrent acquire or settle holds the row lock, and the WHERE is checked again on the row
# it committed, so two handlings never both get it.
_ACQUIRE = Query(
    "INSERT INTO inbound_delivery (key, received_at, state, holder, lease_until)"
    " VALUES (:key, :now, 'pending', :holder, :until)"
    " ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until"
    " WHERE inbound_delivery.state = 'pending'"
    " AND (inbound_delivery.holder = excluded.holder OR inbound_delivery.lease_until < :now)"
    " RETURNING key"
)
# Holder, not state: a command with two write transactions settles in both.
_SETTLE = Query(
    "UPDATE inbound_delivery SET state = 'done', payload = NULL"
    " WHERE key = :key AND holder = :holder"
)
# A delivery in no table yet (long polling), recorded done by the command's write transaction.
# A concurrent handling of the same key that committed first (its row, another holder) makes
# this one return nothing: on PostgreSQL the insert waits for its commit and then conflicts.
_RECORD = Query(
    "INSERT INTO inbound_delivery (key, received_at, state, holder)"
    " VALUES (:key, :now, 'done', :holder)"
    " ON CONFLICT (key) DO UPDATE SET state = 'done', payload = NULL"
    " WHERE inbound_delivery.holder = excluded.holder"
    " RETURNING key"
)
_STATUS = Query("SELECT state, lease_until FROM inbound_delivery WHERE key = :key")
_TAKE_OVER_SQL = (
    "UPDATE inbound_delivery SET holder = :holder || key, lease_until = :until"
    " WHERE state = 'pending' AND lease_until < :now AND key IN ("
    "SELECT key FROM inbound_delivery WHERE state = 'pending' AND lease_until < :now"
    " AND payload IS NOT NULL AND key LIKE :prefix ORDER BY lease_until LIMIT :limit{lock})"
    " RETURNING key, payload, holder"
)
# The outer WHERE repeats the conditions: PostgreSQL re-checks it on a row that a concurrent
# settle changed, while the IN list was read before.
_TAKE_OVER = Query(
    _TAKE_OVER_SQL.format(lock=""),
    postgresql=_TAKE_OVER_SQL.format(lock=" FOR UPDATE SKIP LOCKED"),
)


class SqlDeliveryRepository:
    """`core.ports.DeliveryRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def store(self, key: str, payload: str, holder: str, now: datetime, until: datetime) -> bool:
        """Keep a delivery for handling; False when it was stored before."""
        bind = self._sql.flavor.bind_time
        params = {
            "key": key,
            "now": bind(now),
            "holder": holder,
            "until": bind(until),
            "payload": payload,
        }
        return self._sql.run(_STORE, params) == 1

    def acquire(self, key: str, holder: str, now: datetime, until: datetime) -> bool:
        """Hold the delivery for one handling; False when handled or held by another."""
        bind = self._sql.flavor.bind_time
        params = {"key": key, "now": bind(now), "holder": holder, "until": bind(until)}
        return self._sql.one(_ACQUIRE, params) is not None

    def settle(self, key: str, holder: str) -> bool:
        """Mark handled by `holder`; False when another handling holds it now."""
        return self._sql.run(_SETTLE, {"key": key, "holder": holder}) == 1

    def status(self, key: str, now: datetime) -> str:
        """NEW, DONE, HELD or LAPSED (core.deliveries), read only."""
        row = self._sql.one(_STATUS, {"key": key})
        if row is None:
            return NEW
        state, lease_until = row
        if state != "pending":
            return DONE
        if lease_until is None or self._sql.flavor.read_time(lease_until) < now:
            return LAPSED
        return HELD

    def record(self, key: str, holder: str, now: datetime) -> bool:
        """Record an unstored delivery handled by `holder`; False when another has it."""
        params = {"key": key, "now": self._sql.flavor.bind_time(now), "holder": holder}
        return self._sql.one(_RECORD, params) is not None

    def take_over(
        self, prefix: str, holder: str, now: datetime, until: datetime, limit: int
    ) -> list[tuple[str, str, str]]:
        """Pending stored deliveries whose lease ran out, each now held by `holder` + key."""
        bind = self._sql.flavor.bind_time
        params = {
            "prefix": prefix + "%",  # a platform's own prefix ("tg:"): no wildcards in it
            "holder": holder,
            "now": bind(now),
            "until": bind(until),
            "limit": limit,
        }
        rows = self._sql.all(_TAKE_OVER, params)
        return [(str(key), str(payload), str(held)) for key, payload, held in rows]
