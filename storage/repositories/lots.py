"""Lots: earned points tracked until spent, released or expired, first-expiring-first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.model import Lot, LotDraw, LotState, NewLot
from storage.errors import ConcurrentUpdate
from storage.predicates import AVAILABLE_OPEN, PENDING_OPEN
from storage.sql import Query, Row, Sql, in_list, insert_rows

# The partial-index predicates appear literally in every query below: SQLite only uses a
# partial index when the query's WHERE repeats its terms, and PostgreSQL needs them constant.
_PARTS = {
    "lot": "id, member_id, amount, remaining, state, earned_at, available_at, expires_at",
    "available": AVAILABLE_OPEN,
    "pending": PENDING_OPEN,
}
_INSERT = Query(
    "INSERT INTO lot (member_id, journal_id, amount, remaining, state, earned_at, available_at,"
    " expires_at) VALUES (:member_id, :journal_id, :amount, :amount, :state, :earned_at,"
    " :available_at, :expires_at) RETURNING id"
)
_BY_ID = Query("SELECT {lot} FROM lot WHERE id = :id", **_PARTS)
_DRAWABLE = Query(
    "SELECT {lot} FROM lot WHERE member_id = :member_id AND {available}"
    " ORDER BY expires_at, id LIMIT :limit",
    **_PARTS,
)
_DRAWABLE_AFTER = Query(
    "SELECT {lot} FROM lot WHERE member_id = :member_id AND {available}"
    " AND (expires_at, id) > (:expires_at, :id) ORDER BY expires_at, id LIMIT :limit",
    **_PARTS,
)
# Guarded so that a lot changed since it was read is noticed instead of going negative.
_TAKE = Query(
    "UPDATE lot SET remaining = remaining - :amount WHERE id = :id AND remaining >= :amount"
)
_DUE_PENDING = Query(
    "SELECT {lot} FROM lot WHERE {pending} AND available_at <= :now"
    " ORDER BY available_at, id LIMIT :limit",
    **_PARTS,
)
_DUE_PENDING_OF = Query(
    "SELECT {lot} FROM lot WHERE member_id = :member_id AND {pending}"
    " AND available_at <= :now ORDER BY available_at, id LIMIT :limit",
    **_PARTS,
)
_DUE_EXPIRING = Query(
    "SELECT {lot} FROM lot WHERE {available} AND expires_at <= :now"
    " ORDER BY expires_at, id LIMIT :limit",
    **_PARTS,
)
# Earliest date, then the sum over that date: two seeks on the member's partial index.
_NEXT_RELEASE_SQL = (
    "SELECT available_at, SUM(remaining) FROM lot WHERE member_id = :member_id"
    " AND {pending} AND available_at = (SELECT MIN(available_at) FROM lot"
    " WHERE member_id = :member_id AND {pending}) GROUP BY available_at"
)
_NEXT_EXPIRY_SQL = (
    "SELECT expires_at, SUM(remaining) FROM lot WHERE member_id = :member_id"
    " AND {available} AND expires_at = (SELECT MIN(expires_at) FROM lot"
    " WHERE member_id = :member_id AND {available}) GROUP BY expires_at"
)
_NEXT_RELEASE = Query(_NEXT_RELEASE_SQL, **_PARTS)
_NEXT_EXPIRY = Query(_NEXT_EXPIRY_SQL, **_PARTS)
# Both at once (a balance summary shows both): one round trip instead of two.
_NEXT_DATES = Query(
    "SELECT 'release', r.* FROM ({release}) r UNION ALL SELECT 'expiry', e.* FROM ({expiry}) e",
    release=_NEXT_RELEASE_SQL.format_map(_PARTS),
    expiry=_NEXT_EXPIRY_SQL.format_map(_PARTS),
)
_BATCH = 500  # ids per IN list, well below SQLite's parameter limit
_MOVED = Query("SELECT kind, SUM(amount) FROM lot_movement WHERE lot_id = :id GROUP BY kind")
_INSERT_MOVEMENTS = "INSERT INTO lot_movement (journal_id, lot_id, amount, kind)"
_MAKE_AVAILABLE = "UPDATE lot SET state = 'available' WHERE state = 'pending' AND id IN"


class LotStore:
    """The lot half of `core.ports.LedgerRepository`."""

    __slots__ = ()
    _sql: Sql

    def add_lot(self, lot: NewLot) -> int:
        """Record newly earned points as a lot with everything remaining."""
        bind_time = self._sql.flavor.bind_time
        row = self._sql.one(
            _INSERT,
            {
                "member_id": lot.member_id,
                "journal_id": lot.journal_id,
                "amount": lot.amount,
                "state": lot.state.value,
                "earned_at": bind_time(lot.earned_at),
                "available_at": bind_time(lot.available_at),
                "expires_at": bind_time(lot.expires_at),
            },
        )
        assert row is not None  # INSERT ... RETURNING always returns the row
        return int(row[0])

    def lot(self, lot_id: int) -> Lot:
        """The lot with this id; LookupError if there is none."""
        row = self._sql.one(_BY_ID, {"id": lot_id})
        if row is None:
            raise LookupError(f"no lot {lot_id}")
        return self._lot(row)

    def drawable_lots(
        self, member_id: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[Lot]:
        """Available lots with points left, first-expiring-first, after an (expires_at, id)."""
        params: dict[str, object] = {"member_id": member_id, "limit": limit}
        if after is None:
            return self._lots(_DRAWABLE, params)
        params["expires_at"] = self._sql.flavor.bind_time(after[0])
        params["id"] = after[1]
        return self._lots(_DRAWABLE_AFTER, params)

    def draw(self, journal_id: int, draws: Sequence[LotDraw], kind: str) -> None:
        """Take points out of lots and record which lot gave what to this journal."""
        if not draws:
            return
        params: list[object] = []
        for d in draws:
            if d.amount <= 0:
                raise ValueError(f"draw amount must be positive, got {d.amount}")
            if not self._sql.run(_TAKE, {"id": d.lot_id, "amount": d.amount}):
                raise ConcurrentUpdate(f"lot {d.lot_id} no longer holds {d.amount} points")
            params += (journal_id, d.lot_id, d.amount, kind)
        sql = insert_rows(self._sql.flavor, _INSERT_MOVEMENTS, len(draws), 4)
        self._sql.run_text(sql, params)

    def lot_movements(self, lot_id: int) -> dict[str, int]:
        """Points each kind of journal (redeem, expire, clawback, ...) took from a lot."""
        return {str(kind): int(total) for kind, total in self._sql.all(_MOVED, {"id": lot_id})}

    def make_available(self, lot_ids: Sequence[int]) -> None:
        """Mark pending lots available (their points were released)."""
        for start in range(0, len(lot_ids), _BATCH):
            batch = list(lot_ids[start : start + _BATCH])
            self._sql.run_text(in_list(self._sql.flavor, _MAKE_AVAILABLE, len(batch)), batch)

    def due_pending_lots(self, now: datetime, member_id: int | None, limit: int) -> list[Lot]:
        """Pending lots whose hold ended by `now`, oldest first; of one member if given."""
        params: dict[str, object] = {"now": self._sql.flavor.bind_time(now), "limit": limit}
        if member_id is None:
            return self._lots(_DUE_PENDING, params)
        params["member_id"] = member_id
        return self._lots(_DUE_PENDING_OF, params)

    def due_expiring_lots(self, now: datetime, limit: int) -> list[Lot]:
        """Available lots with points left that expire at or before `now`, soonest first."""
        params = {"now": self._sql.flavor.bind_time(now), "limit": limit}
        return self._lots(_DUE_EXPIRING, params)

    def next_release(self, member_id: int) -> tuple[datetime, int] | None:
        """The earliest date pending points become available, and how many then."""
        return self._next(_NEXT_RELEASE, member_id)

    def next_expiry(self, member_id: int) -> tuple[datetime, int] | None:
        """The earliest expiry date of available points, and how many expire then."""
        return self._next(_NEXT_EXPIRY, member_id)

    def next_dates(
        self, member_id: int
    ) -> tuple[tuple[datetime, int] | None, tuple[datetime, int] | None]:
        """`next_release` and `next_expiry` in one statement."""
        found = {
            str(which): (self._sql.flavor.read_time(moment), int(points))
            for which, moment, points in self._sql.all(_NEXT_DATES, {"member_id": member_id})
        }
        return found.get("release"), found.get("expiry")

    def _next(self, query: Query, member_id: int) -> tuple[datetime, int] | None:
        row = self._sql.one(query, {"member_id": member_id})
        if row is None:
            return None
        return self._sql.flavor.read_time(row[0]), int(row[1])

    def _lots(self, query: Query, params: dict[str, object]) -> list[Lot]:
        return [self._lot(row) for row in self._sql.all(query, params)]

    def _lot(self, row: Row) -> Lot:
        return lot_from_row(self._sql, row)


def lot_from_row(sql: Sql, row: Row) -> Lot:
    """A lot from a row that starts with the `lot` columns of `_PARTS`."""
    read_time = sql.flavor.read_time
    return Lot(
        id=row[0],
        member_id=row[1],
        amount=int(row[2]),
        remaining=int(row[3]),
        state=LotState(row[4]),
        earned_at=read_time(row[5]),
        available_at=read_time(row[6]),
        expires_at=read_time(row[7]),
    )
